//go:build linux

package e2e

import (
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// The lab tests of IPv6 and dual-stack groups (issue 14).

// start6 starts ours on h with the addresses addrs in place of the lab's
// IPv4 VIP (the first is ucarp's --addr, the others --vip).
func start6(t *testing.T, h *lab.Host, name string, c lab.CARP, addrs ...string) *lab.Proc {
	t.Helper()
	c.Bin = oursBin
	var args []string
	for _, a := range c.Args(h) {
		if a == "--addr="+lab.VIP.String() {
			for i, x := range addrs {
				if i == 0 {
					args = append(args, "--addr="+x)
				} else {
					args = append(args, "--vip="+x)
				}
			}
			continue
		}
		args = append(args, a)
	}
	p, err := h.Start(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newLab6 is a lab of two hosts with IPv6 on.
func newLab6(t *testing.T) *lab.Lab {
	t.Helper()
	l := newLab(t, 2)
	if err := l.EnableIPv6(); err != nil {
		t.Fatal(err)
	}
	return l
}

// holding lists, for each host, which of addrs it holds ("-" for none).
func holding(l *lab.Lab, addrs ...string) string {
	var out []string
	for _, h := range l.Hosts {
		var s []string
		for _, a := range addrs {
			p := netip.MustParsePrefix(a)
			if p.Addr().Is4() && h.HasAddr(p.Addr()) || p.Addr().Is6() && h.HasAddr6(p.Addr()) {
				s = append(s, p.Addr().String())
			}
		}
		if len(s) == 0 {
			s = []string{"-"}
		}
		out = append(out, h.Name+":"+strings.Join(s, ","))
	}
	return strings.Join(out, " ")
}

// waitHolding waits until holding(l, addrs...) is want.
func waitHolding(t *testing.T, l *lab.Lab, timeout time.Duration, want string, addrs ...string) {
	t.Helper()
	if !lab.Eventually(timeout, func() bool { return holding(l, addrs...) == want }) {
		t.Fatalf("holders %q after %v, want %q", holding(l, addrs...), timeout, want)
	}
}

// TestIPv6OnlyFailover: an IPv6-only group fails over when its master's
// cable is pulled; the observer's ping -6 to the VIP resumes, and its
// neighbour entry for the VIP changes to the new holder's MAC at once,
// from the unsolicited Neighbour Advertisement, without waiting for the
// entry to expire (its reachable time is 30 s). The delay from the
// takeover to the change is reported, not asserted.
func TestIPv6OnlyFailover(t *testing.T) {
	l := newLab6(t)
	vip6 := lab.VIP6.String() + "/64"
	start6(t, l.Hosts[0], "ucarp", lab.CARP{}, vip6)
	p2 := start6(t, l.Hosts[1], "ucarp", lab.CARP{AdvSkew: 100}, vip6)
	waitHolding(t, l, 10*time.Second, "h1:"+lab.VIP6.String()+" h2:-", vip6)
	obs := l.Observer
	if !lab.Eventually(5*time.Second, func() bool { return obs.Ping6(lab.VIP6, 200*time.Millisecond) }) {
		t.Fatal("the VIP does not answer ping -6 before the fault")
	}
	if mac := obs.Neighbour(lab.VIP6); mac.String() != l.Hosts[0].MAC.String() {
		t.Fatalf("the observer's neighbour entry is %v, want h1's %v", mac, l.Hosts[0].MAC)
	}
	if err := l.Hosts[0].CutLink(); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	for _, p := range l.Procs() {
		if p.Host == l.Hosts[0] {
			p.Kill()
		}
	}
	// Poll the observer's entry from the fault on, every millisecond or so.
	var changed time.Time
	if !lab.Eventually(10*time.Second, func() bool {
		if obs.Neighbour(lab.VIP6).String() == l.Hosts[1].MAC.String() {
			changed = time.Now()
			return true
		}
		return false
	}) {
		t.Fatalf("the observer's neighbour entry is still %v 10 s after the fault", obs.Neighbour(lab.VIP6))
	}
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	if !l.Hosts[1].HasAddr6(lab.VIP6) {
		t.Fatal("h2 does not hold the VIP")
	}
	if !lab.Eventually(5*time.Second, func() bool { return obs.Ping6(lab.VIP6, 200*time.Millisecond) }) {
		t.Fatal("ping -6 did not resume after the takeover")
	}
	t.Logf("h2 MASTER %v after the fault; the observer's neighbour entry showed h2's MAC %v after the takeover",
		took.Sub(fault).Round(time.Millisecond), changed.Sub(took).Round(time.Millisecond))
}

// TestDualStackFailsOverAsOne: a group of two IPv4 and two IPv6 addresses
// moves as one to the backup when the master stops, and back under
// preempt when it returns; its adverts go over both families.
func TestDualStackFailsOverAsOne(t *testing.T) {
	l := newLab6(t)
	addrs := []string{lab.VIP.String() + "/24", "198.51.100.101/24", lab.VIP6.String() + "/64", lab.VIP6b.String() + "/64"}
	all := "198.51.100.100,198.51.100.101,2001:db8::100,2001:db8::101"
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	p1 := start6(t, l.Hosts[0], "ucarp", lab.CARP{Preempt: true, Shutdown: true}, addrs...)
	start6(t, l.Hosts[1], "ucarp", lab.CARP{AdvSkew: 100}, addrs...)
	waitHolding(t, l, 10*time.Second, "h1:"+all+" h2:-", addrs...)
	time.Sleep(1500 * time.Millisecond) // a few adverts of the master
	var v4, v6 int
	for _, f := range capture.Stop() {
		if len(f.Data) > 21 && f.Data[12] == 0x86 && f.Data[13] == 0xdd && f.Data[20] == 112 {
			v6++
		}
		if f.IsCARP() {
			v4++
		}
	}
	if v4 == 0 || v6 == 0 {
		t.Fatalf("adverts captured: %d over IPv4, %d over IPv6", v4, v6)
	}
	p1.Signal(syscall.SIGTERM)
	if _, ok := p1.Wait(5 * time.Second); !ok {
		t.Fatal("h1 did not stop")
	}
	waitHolding(t, l, 5*time.Second, "h1:- h2:"+all, addrs...)
	start6(t, l.Hosts[0], "ucarp-again", lab.CARP{Preempt: true, Shutdown: true}, addrs...)
	waitHolding(t, l, 10*time.Second, "h1:"+all+" h2:-", addrs...)
	if !lab.Eventually(5*time.Second, func() bool { return l.Observer.Ping6(lab.VIP6b, 200*time.Millisecond) }) {
		t.Fatal("the second IPv6 address does not answer ping -6")
	}
	t.Logf("adverts captured in 1.5 s: %d over IPv4, %d over IPv6", v4, v6)
}

// TestGracefulHandoffIPv6: a MASTER stopped with -z bows out over IPv6,
// and its backup takes over at once by the "going to time out" rule.
func TestGracefulHandoffIPv6(t *testing.T) {
	l := newLab6(t)
	vip6 := lab.VIP6.String() + "/64"
	p1 := start6(t, l.Hosts[0], "ucarp", lab.CARP{Shutdown: true}, vip6)
	p2 := start6(t, l.Hosts[1], "ucarp", lab.CARP{AdvSkew: 100}, vip6)
	waitHolding(t, l, 10*time.Second, "h1:"+lab.VIP6.String()+" h2:-", vip6)
	stop := time.Now()
	p1.Signal(syscall.SIGTERM)
	if st, ok := p1.Wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("exit %v (ended %v)", st, ok)
	}
	waitHolding(t, l, 5*time.Second, "h1:- h2:"+lab.VIP6.String(), vip6)
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	if d := took.Sub(stop); d > time.Second || p2.Count("Putting MASTER DOWN (going to time out)") != 1 {
		t.Fatalf("h2 took over %v after the stop; log:\n%s", d, p2.Log())
	}
	t.Logf("h2 MASTER %v after SIGTERM", took.Sub(stop).Round(time.Microsecond))
}

// TestDualStackStartsBeforeCarrier: a dual-stack daemon started on an
// interface that has had no carrier since it came up (so the kernel has
// made it no IPv6 link-local address yet) starts and waits, then takes
// its addresses once the cable is plugged, and answers ping -6.
func TestDualStackStartsBeforeCarrier(t *testing.T) {
	l := newLab6(t)
	h := l.Hosts[0]
	addrs := []string{lab.VIP.String() + "/24", lab.VIP6.String() + "/64"}
	// Unplugged, and set down and up: the link-local address goes with the
	// down and is not made again without a carrier.
	for _, step := range []func() error{h.CutLink, func() error { return h.SetLink(false) }, func() error { return h.SetLink(true) }} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if !lab.Eventually(5*time.Second, func() bool { _, err := h.LinkLocal(); return err != nil }) {
		t.Fatal("h1 still has a link-local address without a carrier")
	}
	p := start6(t, h, "ucarp", lab.CARP{}, addrs...)
	time.Sleep(4 * time.Second) // longer than the dead interval
	if _, ok := p.Wait(0); ok {
		t.Fatalf("the daemon exited without a link-local address:\n%s", p.Log())
	}
	waitHolding(t, l, time.Second, "h1:- h2:-", addrs...)
	if err := h.RestoreLink(); err != nil {
		t.Fatal(err)
	}
	waitHolding(t, l, 10*time.Second, "h1:"+lab.VIP.String()+","+lab.VIP6.String()+" h2:-", addrs...)
	if !lab.Eventually(5*time.Second, func() bool { return l.Observer.Ping6(lab.VIP6, 200*time.Millisecond) }) {
		t.Fatal("the IPv6 VIP does not answer ping -6 once the cable is back")
	}
}
