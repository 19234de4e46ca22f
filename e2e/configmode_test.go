//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// groupVIP is the address of vhid in the config-mode tests.
func groupVIP(vhid int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + vhid)}) }

// writeConfig writes a config file of three groups for h, with the
// advskew of each vhid from skews, and returns its path.
func writeConfig(t *testing.T, l *lab.Lab, h *lab.Host, skews map[int]int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "interface = %q\nsrcip = %q\npass = \"carplab\"\npreempt = true\n", h.IfName, h.Addr)
	for vhid := 1; vhid <= 3; vhid++ {
		fmt.Fprintf(&b, "\n[[group]]\nname = \"g%d\"\nvhid = %d\naddr = %q\nadvskew = %d\n", vhid, vhid, groupVIP(vhid), skews[vhid])
	}
	path := filepath.Join(l.Dir, h.Name+".conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// holdersOf says which host holds each of the three addresses.
func holdersOf(l *lab.Lab) string {
	return l.Holders([]string{"1", "2", "3"}, []netip.Addr{groupVIP(1), groupVIP(2), groupVIP(3)})
}

func waitHolders(t *testing.T, l *lab.Lab, want string, timeout time.Duration) {
	t.Helper()
	if !lab.Eventually(timeout, func() bool { return holdersOf(l) == want }) {
		t.Fatalf("holders %s after %v, want %s", holdersOf(l), timeout, want)
	}
}

// TestConfigModeGroups: two hosts, each one process with three groups in
// a config file (h1 preferred for 1 and 2, h2 for 3). Each group elects
// on its own; h1's fault moves only h1's groups; a reload that changes
// one group's advskew moves only that group; a reload with a syntax
// error moves nothing and says where the error is.
func TestConfigModeGroups(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	conf1 := writeConfig(t, l, h1, map[int]int{1: 0, 2: 0, 3: 100})
	conf2 := writeConfig(t, l, h2, map[int]int{1: 100, 2: 100, 3: 0})
	for _, c := range []string{conf1, conf2} {
		out, err := exec.Command(oursBin, "--config="+c, "--check").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "3 groups, valid") {
			t.Fatalf("--check %s: %v: %s", c, err, out)
		}
	}
	p1, err := h1.Start("ucarp", oursBin, "--config="+conf1)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := h2.Start("ucarp", oursBin, "--config="+conf2)
	if err != nil {
		t.Fatal(err)
	}
	waitHolders(t, l, "1:h1 2:h1 3:h2", 10*time.Second)
	holdFor(t, l, "1:h1 2:h1 3:h2", 2*time.Second)
	if !strings.Contains(p1.Log(), "interface=eth0 vhid=2") {
		t.Fatalf("lines do not name their group:\n%s", p1.Log())
	}
	// One socket per interface, whatever the number of groups.
	if n := rawSockets(t, p1.Pid()); n != 1 {
		t.Errorf("%d raw sockets for three groups, want 1", n)
	}

	// A reload that makes h1 lose group 2 (advskew 200): only group 2 moves.
	transitions := func(vhid int) int {
		n := 0
		for _, line := range strings.Split(p1.Log(), "\n") {
			if strings.Contains(line, "Switching to state") && strings.HasSuffix(line, fmt.Sprintf(" vhid=%d", vhid)) {
				n++
			}
		}
		return n
	}
	before1, before3 := transitions(1), transitions(3)
	writeConfig(t, l, h1, map[int]int{1: 0, 2: 200, 3: 100})
	p1.Signal(syscall.SIGHUP)
	waitHolders(t, l, "1:h1 2:h2 3:h2", 6*time.Second)
	holdFor(t, l, "1:h1 2:h2 3:h2", 2*time.Second)
	if !p1.WaitLog("Reloaded "+conf1+": 3 groups", 1, time.Second) {
		t.Fatalf("no reload line:\n%s", p1.Log())
	}
	if transitions(1) != before1 || transitions(3) != before3 {
		t.Errorf("groups 1 or 3 changed state on a reload that changed group 2:\n%s", p1.Log())
	}

	// A reload with a syntax error: nothing moves, and the line is named.
	if err := os.WriteFile(conf1, []byte("interface = \"eth0\"\n[[group]\nvhid = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p1.Signal(syscall.SIGHUP)
	if !p1.WaitLog("failed; nothing changed", 1, 5*time.Second) || !strings.Contains(p1.Log(), conf1+":2:") {
		t.Fatalf("no report of the bad file:\n%s", p1.Log())
	}
	holdFor(t, l, "1:h1 2:h2 3:h2", 2*time.Second)

	// h1's cable: its groups go to h2; back, with preempt, h1 takes 1 again.
	h1.CutLink()
	waitHolders(t, l, "1:h2 2:h2 3:h2", 5*time.Second)
	h1.RestoreLink()
	waitHolders(t, l, "1:h1 2:h2 3:h2", 6*time.Second)

	// TERM: every group goes, with a bow-out, and the process exits 0.
	p1.Signal(syscall.SIGTERM)
	if st, ok := p1.Wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("exit %v after TERM:\n%s", st, p1.Log())
	}
	waitHolders(t, l, "1:h2 2:h2 3:h2", time.Second)
	_ = p2
}

// holdFor checks that the holders stay want during d.
func holdFor(t *testing.T, l *lab.Lab, want string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got := holdersOf(l); got != want {
			t.Fatalf("holders %s, want %s", got, want)
		}
	}
}

// rawSockets counts the raw sockets that pid holds.
func rawSockets(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/raw", pid))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 9 && inodes[f[9]] {
			n++
		}
	}
	return n
}
