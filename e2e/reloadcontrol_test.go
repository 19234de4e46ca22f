//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// TestReloadMetricsListen: in config mode, a reload (ucarpctl reload, over
// the control socket) that changes metrics-listen moves the listener, and
// one that changes control is refused for that key with a WARNING while
// the rest applies; the group stays MASTER throughout.
func TestReloadMetricsListen(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	sock := filepath.Join(l.Dir, "u.sock")
	addrA := netip.AddrPortFrom(h.Addr, 9342).String()
	addrB := netip.AddrPortFrom(h.Addr, 9343).String()
	path := filepath.Join(l.Dir, "u.conf")
	write := func(control, metrics string, skew int) {
		conf := fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\ncontrol = %q\nmetrics-listen = %q\n"+
			"\n[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\n", h.IfName, h.Addr, control, metrics, groupVIP(1), skew)
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(sock, addrA, 0)
	p, err := h.Start("ucarp", oursBin, "--config="+path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Signal(syscall.SIGTERM)
	if !lab.Eventually(15*time.Second, func() bool {
		out, err := ctl(h, ctlBin, sock, false, "status")
		return err == nil && strings.Contains(out, "MASTER")
	}) {
		t.Fatalf("no MASTER:\n%s", p.Log())
	}
	if body, err := get(h, addrA, "/metrics"); err != nil || !strings.Contains(body, "ucarp_state{") {
		t.Fatalf("metrics on %s: %v", addrA, err)
	}
	write(filepath.Join(l.Dir, "other.sock"), addrB, 10)
	if out, err := ctl(h, ctlBin, sock, false, "reload"); err != nil {
		t.Fatalf("ucarpctl reload: %v\n%s", err, out)
	}
	if !p.WaitLog("Metrics and status page on http://"+addrB+"/", 1, 10*time.Second) {
		t.Fatalf("the listener did not move:\n%s", p.Log())
	}
	if body, err := get(h, addrB, "/metrics"); err != nil || !strings.Contains(body, `ucarp_state{`) {
		t.Fatalf("metrics on %s after the reload: %v", addrB, err)
	}
	if _, err := get(h, addrA, "/metrics"); err == nil {
		t.Fatalf("%s still answers after the reload", addrA)
	}
	if !p.WaitLog("[WARNING] Reload: control changed from "+sock, 1, time.Second) {
		t.Fatalf("the refused control key is not logged:\n%s", p.Log())
	}
	// The rest applied (the advskew), the socket stayed, the group kept MASTER.
	gs := statusOf(t, h, ctlBin, sock)
	if len(gs) != 1 || gs[0].State != "MASTER" || gs[0].Timing.AdvSkew != 10 {
		t.Fatalf("after the reload: %+v", gs)
	}
	if p.Count("Switching to state") != 2 { // INIT -> BACKUP -> MASTER, nothing since
		t.Fatalf("the reload disturbed the group:\n%s", p.Log())
	}
}
