//go:build linux

package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// TestInterop pairs ours with Debian's ucarp in both roles, with and
// without --preempt, over multicast and --nomcast. In each case the
// preferred node (advskew 0) wins, fails over to the other when it dies,
// and the VIP comes back to it (by preemption with -P; otherwise when the
// other dies in turn). After every convergence exactly one node holds the
// VIP and answers ARP for it.
func TestInterop(t *testing.T) {
	needUcarp(t)
	for _, nomcast := range []bool{false, true} {
		for _, oursPreferred := range []bool{true, false} {
			for _, preempt := range []bool{false, true} {
				name := fmt.Sprintf("preferred=%s/preempt=%v/nomcast=%v", map[bool]string{true: "ours", false: "ucarp"}[oursPreferred], preempt, nomcast)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					interop(t, oursPreferred, preempt, nomcast)
				})
			}
		}
	}
}

func interop(t *testing.T, oursPreferred, preempt, nomcast bool) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1] // h1 is preferred
	preferred := lab.CARP{Preempt: preempt, Nomcast: nomcast, Shutdown: true}
	other := lab.CARP{AdvSkew: 100, Nomcast: nomcast, Shutdown: true}
	mk := func(isOurs bool, c lab.CARP) lab.CARP {
		if isOurs {
			return ours(c)
		}
		return theirs(c)
	}
	c1, c2 := mk(oursPreferred, preferred), mk(!oursPreferred, other)
	// ucarp reads adverts up to 1 s late (libpcap): allow for it.
	const converge = 12 * time.Second

	p1 := start(t, h1, "first", c1)
	p2 := start(t, h2, "first", c2)
	waitMasters(t, l, converge, h1)
	holdMasters(t, l, 3*time.Second, h1)
	answersARP(t, l, h1)

	// The preferred node dies: the other takes over.
	h1.CutLink()
	p1.Kill()
	if !lab.Eventually(converge, func() bool { return h2.HasAddr(vip) }) {
		t.Fatal("no takeover by the other node")
	}
	answersARP(t, l, h2)

	// The preferred node comes back.
	h1.RestoreLink()
	start(t, h1, "again", c1)
	if preempt {
		waitMasters(t, l, converge, h1)
		holdMasters(t, l, 3*time.Second, h1)
		answersARP(t, l, h1)
		return
	}
	waitMasters(t, l, converge, h2)
	holdMasters(t, l, 3*time.Second, h2)
	answersARP(t, l, h2)
	// Then the other dies: back to the preferred one.
	h2.CutLink()
	p2.Kill()
	if !lab.Eventually(converge, func() bool { return h1.HasAddr(vip) }) {
		t.Fatal("no takeover back to the preferred node")
	}
	answersARP(t, l, h1)
}

// TestInteropTieBreak makes ours and ucarp both MASTER with the same
// interval (a partition, then its healing): they must agree on the winner,
// the lower address as ucarp compares it on x86, so that the pair never
// stays with two masters.
func TestInteropTieBreak(t *testing.T) {
	needUcarp(t)
	for _, oursLow := range []bool{true, false} {
		t.Run(map[bool]string{true: "ours has the lower address", false: "ucarp has the lower address"}[oursLow], func(t *testing.T) {
			t.Parallel()
			l := newLab(t, 2)
			low, high := ours(lab.CARP{}), theirs(lab.CARP{})
			if !oursLow {
				low, high = high, low
			}
			l.Hosts[1].CutLink()
			start(t, l.Hosts[0], "low", low)
			start(t, l.Hosts[1], "high", high.WithExtra("--ignoreifstate"))
			waitMasters(t, l, 12*time.Second, l.Hosts[0], l.Hosts[1])
			l.Hosts[1].RestoreLink()
			waitMasters(t, l, 12*time.Second, l.Hosts[0])
			holdMasters(t, l, 4*time.Second, l.Hosts[0])
		})
	}
}

// TestInteropBowOut stops our MASTER with -z: ucarp, as BACKUP, takes over
// through its own "going to time out" rule, without waiting its dead time.
func TestInteropBowOut(t *testing.T) {
	needUcarp(t)
	l := newLab(t, 2)
	p1 := start(t, l.Hosts[0], "ours", ours(lab.CARP{Shutdown: true}))
	p2 := start(t, l.Hosts[1], "ucarp", theirs(lab.CARP{AdvSkew: 100}))
	waitMasters(t, l, 12*time.Second, l.Hosts[0])
	holdMasters(t, l, time.Second, l.Hosts[0])
	stop := time.Now()
	p1.Signal(syscall.SIGTERM)
	if !p2.WaitLog("Putting MASTER DOWN (going to time out)", 1, 5*time.Second) {
		t.Fatalf("ucarp did not take over through the bow-out:\n%s", p2.Log())
	}
	waitMasters(t, l, 5*time.Second, l.Hosts[1])
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	// ucarp reads packets up to 1 s late (libpcap); its dead time is 3.39 s.
	if d := took.Sub(stop); d > 1500*time.Millisecond {
		t.Fatalf("ucarp took over %v after the stop", d)
	}
	t.Logf("ucarp MASTER %v after our SIGTERM (its dead time: 3.39 s)", took.Sub(stop).Round(time.Millisecond))
}
