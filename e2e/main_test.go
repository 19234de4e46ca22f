//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

var oursBin string

// ctlBin is cmd/ucarpctl, built with oursBin.
var ctlBin string

// TestMain builds the daemon into a temporary directory and removes it
// before exiting: os.Exit runs no deferred call.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if lab.Check() == nil {
		dir, err := os.MkdirTemp("", "ucarp-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if oursBin, err = lab.BuildOurs(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if ctlBin, err = lab.BuildCtl(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// newLab builds a lab for one test; on failure the daemons' logs are
// printed before everything is removed.
func newLab(t *testing.T, hosts int) *lab.Lab {
	t.Helper()
	return lab.NewForTest(t, lab.Options{Hosts: hosts}, false)
}

// familyLab builds a lab for one test of the family fam ("ipv4" or
// "ipv6": IPv6 on) and returns the family's VIP.
func familyLab(t *testing.T, hosts int, fam string) (*lab.Lab, netip.Addr) {
	t.Helper()
	if fam == "ipv6" {
		return lab.NewForTest(t, lab.Options{Hosts: hosts}, true), lab.VIP6
	}
	return lab.NewForTest(t, lab.Options{Hosts: hosts}, false), lab.VIP
}

// needUcarp skips when Debian's ucarp, the interop peer, is missing;
// make test installs it.
func needUcarp(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(lab.DebianUcarp); err != nil {
		t.Skipf("skipped: %s is not installed (make test installs Debian's ucarp package)", lab.DebianUcarp)
	}
}

func ours(c lab.CARP) lab.CARP {
	c.Bin = oursBin
	return c
}

func theirs(c lab.CARP) lab.CARP {
	c.Bin = lab.DebianUcarp
	c.Scripts = true
	return c
}

func start(t *testing.T, h *lab.Host, name string, c lab.CARP) *lab.Proc {
	t.Helper()
	p, err := h.StartCARP(name, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func names(hs []*lab.Host) []string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Name)
	}
	return s
}

// startConfigFile writes conf as h's config file in the lab's directory
// and starts ours on it (--config=FILE).
func startConfigFile(t *testing.T, l *lab.Lab, h *lab.Host, conf string) *lab.Proc {
	t.Helper()
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

// pingVIP starts the observer's ping of the VIP every interval, stopped
// when t ends, and fails t with notAnswered unless the VIP answers within
// 5 s.
func pingVIP(t *testing.T, l *lab.Lab, interval time.Duration, notAnswered string) *lab.Pinger {
	t.Helper()
	ping, err := l.Observer.Ping(vip, interval)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ping.Stop)
	before := time.Now()
	if !lab.Eventually(5*time.Second, func() bool { return ping.Replied(before) }) {
		t.Fatal(notAnswered)
	}
	return ping
}

// waitMasters waits until exactly the hosts want hold the VIP.
func waitMasters(t *testing.T, l *lab.Lab, timeout time.Duration, want ...*lab.Host) {
	t.Helper()
	if !lab.Eventually(timeout, func() bool { return slices.Equal(names(l.Masters()), names(want)) }) {
		t.Fatalf("VIP holders %v after %v, want %v", names(l.Masters()), timeout, names(want))
	}
}

// holdMasters checks that exactly want hold the VIP during d.
func holdMasters(t *testing.T, l *lab.Lab, d time.Duration, want ...*lab.Host) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if got := names(l.Masters()); !slices.Equal(got, names(want)) {
			t.Fatalf("VIP holders %v, want %v", got, names(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answersARP checks that the observer's ARP for the VIP is answered by
// exactly h.
func answersARP(t *testing.T, l *lab.Lab, h *lab.Host) {
	t.Helper()
	macs, err := l.Observer.WhoHas(lab.VIP, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(macs) != 1 || macs[0].String() != h.MAC.String() {
		t.Fatalf("ARP for the VIP answered by %v, want only %s (%v)", macs, h.Name, h.MAC)
	}
}

var vip = lab.VIP

func readProc(pid int, name string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	return string(b), err
}
