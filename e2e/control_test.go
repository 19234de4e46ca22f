//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	start := func(h *lab.Host, skew int, pass string) *lab.Proc {
		return startConfigFile(t, l, h, fmt.Sprintf("interface = %q\nsrcip = %q\npass = %q\npreempt = true\ncontrol = %q\nmetrics-listen = \"127.0.0.1:9342\"\n"+
			"\n[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\n", h.IfName, h.Addr, pass, sock[h], groupVIP(1), skew))
	}
	p1, p2 := start(h1, 0, "carplab"), start(h2, 100, "carplab")
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

	// The metrics, in each host's namespace: promtool accepts them, and
	// ucarp_state names the MASTER.
	for h, master := range map[*lab.Host]string{h1: "1", h2: "0"} {
		m := scrape(t, h, "127.0.0.1:9342", "/metrics")
		if !regexp.MustCompile(`(?m)^ucarp_state\{[^}]*state="MASTER"[^}]*\} ` + master + `$`).MatchString(m) {
			t.Fatalf("%s: no ucarp_state MASTER %s in:\n%s", h.Name, master, m)
		}
		if _, err := exec.LookPath("promtool"); err == nil {
			cmd := exec.Command("promtool", "check", "metrics")
			cmd.Stdin = strings.NewReader(m)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool check metrics on %s: %v\n%s", h.Name, err, out)
			}
		} else {
			t.Logf("promtool not installed (Debian's prometheus): the metrics are not checked with it")
		}
	}
	if page := scrape(t, h1, "127.0.0.1:9342", "/"); !strings.Contains(page, "g1") || !strings.Contains(page, "MASTER") {
		t.Fatalf("the status page lacks the group or its state:\n%s", page)
	}

	// Root demotes the MASTER: the peer takes over by the rules, and a
	// watch on the peer sees it.
	watch, err := h2.Start("watch", bin, "--socket="+sock[h2], "watch")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Kill()
	time.Sleep(200 * time.Millisecond) // the subscription is live once the first line is sent
	if out, err := ctl(h1, bin, sock[h1], false, "demote", "g1", "200"); err != nil {
		t.Fatalf("demote: %v\n%s", err, out)
	}
	waitFor("1:h2", 8*time.Second)
	want(control.StateBackup, control.StateMaster)
	if !watch.WaitLog(`"to":"MASTER"`, 1, 5*time.Second) || !strings.Contains(watch.Log(), `"reason":"preempt"`) {
		t.Fatalf("watch on h2 did not show the takeover:\n%s", watch.Log())
	}
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
	if _, ok := p1.Wait(5 * time.Second); !ok {
		t.Fatal("h1's daemon did not stop")
	}

	// h1 again, with a wrong password: explain on h2 names the drop.
	p1 = start(h1, 0, "wrong")
	defer p1.Signal(syscall.SIGTERM)
	if !lab.Eventually(10*time.Second, func() bool {
		out, _ := ctl(h2, bin, sock[h2], false, "explain", "g1")
		return strings.Contains(out, "dropped as bad-digest") && strings.Contains(out, "password")
	}) {
		out, _ := ctl(h2, bin, sock[h2], false, "explain", "g1")
		t.Fatalf("explain on h2 does not name the bad password:\n%s", out)
	}
}

// scrape GETs path from addr inside h's namespace (a loopback address
// there is not this one's).
func scrape(t *testing.T, h *lab.Host, addr, path string) string {
	t.Helper()
	body, err := get(h, addr, path)
	if err != nil {
		t.Fatalf("%s: %v", h.Name, err)
	}
	return body
}

// get is scrape's request: the body of a 200 answer, or an error.
func get(h *lab.Host, addr, path string) (string, error) {
	var c net.Conn
	if err := h.Do(func() (err error) { c, err = net.DialTimeout("tcp", addr, 2*time.Second); return err }); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(body), err
}

// TestPrometheusScrape: a real Prometheus server in the lab scrapes both
// daemons of a pair (metrics on their lab addresses) and answers a query
// for ucarp_state with the right MASTER.
func TestPrometheusScrape(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (Debian's prometheus package): the scrape by a real server is not tested")
	}
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	target := func(h *lab.Host) string { return netip.AddrPortFrom(h.Addr, 9342).String() }
	for i, h := range []*lab.Host{h1, h2} {
		p := startConfigFile(t, l, h, fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\ncontrol = \"none\"\nmetrics-listen = %q\n"+
			"\n[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\n", h.IfName, h.Addr, target(h), groupVIP(1), 100*i))
		defer p.Signal(syscall.SIGTERM)
	}
	promConf := filepath.Join(l.Dir, "prometheus.yml")
	os.WriteFile(promConf, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"+
		"scrape_configs:\n  - job_name: ucarp\n    static_configs:\n      - targets: [%q, %q]\n", target(h1), target(h2))), 0o644)
	p, err := h1.Start("prometheus", prom, "--config.file="+promConf, "--storage.tsdb.path="+filepath.Join(l.Dir, "tsdb"),
		"--web.listen-address=127.0.0.1:9090")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	query := "/api/v1/query?query=" + url.QueryEscape(`ucarp_state{state="MASTER",name="g1"} == 1`)
	var last string
	if !lab.Eventually(30*time.Second, func() bool {
		body, err := get(h1, "127.0.0.1:9090", query)
		if last = body; err != nil {
			last = err.Error()
			return false
		}
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(last), &r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return false
		}
		return r.Data.Result[0].Metric["instance"] == target(h1)
	}) {
		t.Fatalf("Prometheus does not name %s the MASTER; last answer:\n%s", target(h1), last)
	}
}
