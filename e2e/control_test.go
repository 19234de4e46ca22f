//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/internal/lab"
)

// ctl runs ucarpctl in h's namespace against socket; as nobody when
// asked (setpriv, after ip netns exec, which needs root).
func ctl(h *lab.Host, bin, socket string, nobody bool, args ...string) (string, error) {
	argv := []string{bin, "--socket=" + socket}
	if nobody {
		argv = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}, argv...)
	}
	return h.Exec(append(argv, args...)...)
}

// statusOf is ucarpctl status --json, run on h.
func statusOf(t *testing.T, h *lab.Host, bin, socket string) []control.Group {
	t.Helper()
	out, err := ctl(h, bin, socket, false, "status", "--json")
	if err != nil {
		t.Fatalf("ucarpctl status on %s: %v\n%s", h.Name, err, out)
	}
	var r struct {
		Groups []control.Group `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("ucarpctl status --json on %s: %v\n%s", h.Name, err, out)
	}
	return r.Groups
}

// stateOf is the state of group g1 that h's daemon reports.
func stateOf(t *testing.T, h *lab.Host, bin, socket string) string {
	t.Helper()
	for _, g := range statusOf(t, h, bin, socket) {
		if g.Name == "g1" {
			return g.State
		}
	}
	t.Fatalf("no group g1 in the status of %s", h.Name)
	return ""
}

// TestControlSocket: a pair in config mode with the control socket on.
// ucarpctl status --json on each host names the right MASTER; demote on
// the MASTER moves the address to the peer, promote brings it back
// (preempt); a caller that is neither root nor in the control group can
// read but not demote.
func TestControlSocket(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	// A directory that nobody may enter, for the sockets and a copy of
	// ucarpctl: the lab's own is private.
	dir, err := os.MkdirTemp("", "ucarp-ctl-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "ucarpctl")
	data, err := os.ReadFile(ctlBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := map[*lab.Host]string{h1: filepath.Join(dir, "h1.sock"), h2: filepath.Join(dir, "h2.sock")}
	start := func(h *lab.Host, skew int) *lab.Proc {
		conf := fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\npreempt = true\ncontrol = %q\n"+
			"\n[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\n", h.IfName, h.Addr, sock[h], groupVIP(1), skew)
		path := filepath.Join(l.Dir, h.Name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := h.Start("ucarp", oursBin, "--config="+path)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1, p2 := start(h1, 0), start(h2, 100)
	defer p1.Signal(syscall.SIGTERM)
	defer p2.Signal(syscall.SIGTERM)
	holder := func() string { return l.Holders([]string{"1"}, []netip.Addr{groupVIP(1)}) }
	waitFor := func(want string, timeout time.Duration) {
		t.Helper()
		if !lab.Eventually(timeout, func() bool { return holder() == want }) {
			t.Fatalf("holder %s after %v, want %s", holder(), timeout, want)
		}
	}
	hold := func(want string, d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if got := holder(); got != want {
				t.Fatalf("holder %s, want %s", got, want)
			}
		}
	}
	waitFor("1:h1", 10*time.Second)
	for _, h := range []*lab.Host{h1, h2} {
		if !lab.Eventually(5*time.Second, func() bool { _, err := os.Stat(sock[h]); return err == nil }) {
			t.Fatalf("no control socket %s:\n%s", sock[h], p1.Log())
		}
	}
	if !p1.WaitLog("Control socket on "+sock[h1], 1, time.Second) {
		t.Fatalf("no line of the control socket:\n%s", p1.Log())
	}
	want := func(s1, s2 string) {
		t.Helper()
		if !lab.Eventually(5*time.Second, func() bool {
			return stateOf(t, h1, bin, sock[h1]) == s1 && stateOf(t, h2, bin, sock[h2]) == s2
		}) {
			t.Fatalf("states %s %s, want %s %s", stateOf(t, h1, bin, sock[h1]), stateOf(t, h2, bin, sock[h2]), s1, s2)
		}
	}
	want(control.StateMaster, control.StateBackup)
	if g := statusOf(t, h2, bin, sock[h2])[0]; len(g.Peers) == 0 || g.Peers[0].Source != h1.Addr {
		t.Fatalf("h2 heard no advert from h1: %+v", g.Peers)
	}

	// Someone else: may read, may not demote.
	for _, s := range sock {
		os.Chmod(s, 0o666)
	}
	if out, err := ctl(h1, bin, sock[h1], true, "status"); err != nil || !strings.Contains(out, "MASTER") {
		t.Fatalf("status as nobody: %v\n%s", err, out)
	}
	out, err := ctl(h1, bin, sock[h1], true, "demote", "g1", "100")
	if err == nil || !strings.Contains(out, "permission") && !strings.Contains(out, "root") {
		t.Fatalf("demote as nobody: %v\n%s", err, out)
	}
	hold("1:h1", 2*time.Second)

	// Root demotes the MASTER: the peer takes over by the rules.
	if out, err := ctl(h1, bin, sock[h1], false, "demote", "g1", "200"); err != nil {
		t.Fatalf("demote: %v\n%s", err, out)
	}
	waitFor("1:h2", 8*time.Second)
	want(control.StateBackup, control.StateMaster)
	if g := statusOf(t, h1, bin, sock[h1])[0]; g.Timing.Demotion != 200 {
		t.Fatalf("h1's demotion %d, want 200", g.Timing.Demotion)
	}
	hold("1:h2", 2*time.Second)

	// Promoted, h1 takes back with preempt.
	if out, err := ctl(h1, bin, sock[h1], false, "promote", "g1"); err != nil {
		t.Fatalf("promote: %v\n%s", err, out)
	}
	waitFor("1:h1", 8*time.Second)
	want(control.StateMaster, control.StateBackup)
	if out, err := ctl(h2, bin, sock[h2], false, "explain", "g1"); err != nil || !strings.Contains(out, h1.Addr.String()) ||
		!strings.Contains(out, "is BACKUP") {
		t.Fatalf("explain on h2: %v\n%s", err, out)
	}

	// Stopped, the daemon removes its socket.
	p1.Signal(syscall.SIGTERM)
	if !lab.Eventually(5*time.Second, func() bool { _, err := os.Stat(sock[h1]); return os.IsNotExist(err) }) {
		t.Fatalf("the socket %s stays after the daemon stopped", sock[h1])
	}
}
