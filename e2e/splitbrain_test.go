//go:build linux

package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	vipkg "github.com/ucarp-go/ucarp/vip"
)

// TestSplitBrainARP is issue 15's lab for split-brain healing: a pair of
// our daemons, and a third host that configures the VIP by hand (its
// kernel then answers ARP for it) and announces it with a gratuitous
// ARP, as arping -U does. The MASTER logs the conflict with the
// intruder's MAC within one advert interval and announces the VIP again
// at once: the observer's ARP cache, pulled to the intruder, ends on the
// MASTER's MAC and stays there. The BACKUP, which has no listener, logs
// nothing.
func TestSplitBrainARP(t *testing.T) {
	l := newLab(t, 3)
	h1, h2, intruder := l.Hosts[0], l.Hosts[1], l.Hosts[2]
	p1 := start(t, h1, "ucarp", ours(lab.CARP{AdvSkew: 0}))
	p2 := start(t, h2, "ucarp", ours(lab.CARP{AdvSkew: 100}))
	waitMasters(t, l, 15*time.Second, h1)

	// The observer talks to the VIP: its cache holds h1's MAC.
	ping, err := l.Observer.Ping(vip, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer ping.Stop()
	if !lab.Eventually(5*time.Second, func() bool { return l.Observer.Neighbour(vip).String() == h1.MAC.String() }) {
		t.Fatalf("the observer's cache holds %v for the VIP, want h1's %v", l.Observer.Neighbour(vip), h1.MAC)
	}

	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Stop()
	if out, err := intruder.Exec("ip", "addr", "add", vip.String()+"/24", "dev", intruder.IfName); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	sent := time.Now()
	if err := intruder.Announce(vip); err != nil {
		t.Fatal(err)
	}
	line := "Address conflict: " + vip.String() + " is also claimed by " + intruder.MAC.String() + " on " + h1.IfName
	at := p1.MustLastLogTime(t, line)
	// The daemon's own timestamp of the line: how long the claim took
	// from the intruder's socket to the MASTER's log, whatever the time
	// the test took to read the log.
	took := at.Sub(sent)
	t.Logf("conflict logged %v after the intruder's gratuitous ARP", took)
	if took > time.Second {
		t.Errorf("conflict logged %v after the claim, want within one advert interval (1s)", took)
	}

	// On the wire: the intruder's claim, then h1's gratuitous ARP, at
	// once (kernel timestamps of the bridge's capture).
	var claimed, answered time.Time
	lab.Eventually(3*time.Second, func() bool {
		for _, f := range capture.Frames() {
			switch {
			case !f.IsGARPFor(vip):
			case claimed.IsZero() && f.Source().String() == intruder.MAC.String():
				claimed = f.At
			case !claimed.IsZero() && answered.IsZero() && f.Source().String() == h1.MAC.String():
				answered = f.At
			}
		}
		return !answered.IsZero()
	})
	if claimed.IsZero() || answered.IsZero() {
		t.Fatalf("no gratuitous ARP of h1 after the intruder's (intruder's at %v)", claimed)
	}
	t.Logf("h1 announced the VIP again %v after the intruder's claim", answered.Sub(claimed))
	if answered.Sub(claimed) > time.Second {
		t.Errorf("h1 announced the VIP again %v after the intruder's claim, want within one advert interval (1s)", answered.Sub(claimed))
	}

	// The observer's cache comes back to h1, and stays there while the
	// intruder keeps the address (it answers only what it is asked).
	if !lab.Eventually(5*time.Second, func() bool { return l.Observer.Neighbour(vip).String() == h1.MAC.String() }) {
		t.Fatalf("the observer's cache holds %v for the VIP, want h1's %v", l.Observer.Neighbour(vip), h1.MAC)
	}
	end := time.Now().Add(3 * time.Second)
	for time.Now().Before(end) {
		if got := l.Observer.Neighbour(vip); got.String() != h1.MAC.String() {
			t.Fatalf("the observer's cache went to %v, want h1's %v", got, h1.MAC)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := p2.Count("Address conflict"); n != 0 {
		t.Errorf("the BACKUP logged %d conflicts", n)
	}
	if n := p1.Count("Address conflict"); n != 1 {
		t.Errorf("the MASTER logged %d conflicts, want 1 (one claim)", n)
	}
}

// TestSplitBrainNA is TestSplitBrainARP over IPv6: the intruder adds the
// IPv6 VIP by hand and sends an unsolicited Neighbour Advertisement with
// the Override flag; the MASTER logs the conflict and answers with its
// own NA at once, and the observer's neighbour cache ends on its MAC.
func TestSplitBrainNA(t *testing.T) {
	l := newLab(t, 3)
	if err := l.EnableIPv6(); err != nil {
		t.Fatal(err)
	}
	h1, h2, intruder := l.Hosts[0], l.Hosts[1], l.Hosts[2]
	vip6 := lab.VIP6.String() + "/64"
	p1 := start6(t, h1, "ucarp", lab.CARP{AdvSkew: 0}, vip6)
	p2 := start6(t, h2, "ucarp", lab.CARP{AdvSkew: 100}, vip6)
	waitHolding(t, l, 15*time.Second, "h1:"+lab.VIP6.String()+" h2:- h3:-", vip6)

	ping, err := l.Observer.Ping(lab.VIP6, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer ping.Stop()
	onH1 := func() bool { return l.Observer.Neighbour(lab.VIP6).String() == h1.MAC.String() }
	if !lab.Eventually(5*time.Second, onH1) {
		t.Fatalf("the observer's cache holds %v for the VIP, want h1's %v", l.Observer.Neighbour(lab.VIP6), h1.MAC)
	}
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Stop()
	if out, err := intruder.Exec("ip", "-6", "addr", "add", vip6, "dev", intruder.IfName, "nodad"); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	sent := time.Now()
	if err := intruder.Announce(lab.VIP6); err != nil {
		t.Fatal(err)
	}
	line := "Address conflict: " + lab.VIP6.String() + " is also claimed by " + intruder.MAC.String() + " on " + h1.IfName
	took := p1.MustLastLogTime(t, line).Sub(sent)
	t.Logf("conflict logged %v after the intruder's neighbour advertisement", took)
	if took > time.Second {
		t.Errorf("conflict logged %v after the claim, want within one advert interval (1s)", took)
	}
	// On the wire: the intruder's advertisement, then h1's.
	var claimed, answered time.Time
	lab.Eventually(3*time.Second, func() bool {
		for _, f := range capture.Frames() {
			c, err := vipkg.ParseNDClaim(f.Data)
			switch {
			case err != nil || c.Addr != lab.VIP6:
			case claimed.IsZero() && c.MAC.String() == intruder.MAC.String():
				claimed = f.At
			case !claimed.IsZero() && answered.IsZero() && c.MAC.String() == h1.MAC.String() && unsolicitedNA(f.Data):
				// The daemon's announcement, not the kernel's answers
				// (solicited NAs, its own solicitations from the VIP).
				answered = f.At
			}
		}
		return !answered.IsZero()
	})
	if claimed.IsZero() || answered.IsZero() {
		t.Fatalf("no unsolicited neighbour advertisement of h1 after the intruder's (intruder's at %v)", claimed)
	}
	t.Logf("h1 announced the VIP again %v after the intruder's claim", answered.Sub(claimed))
	if answered.Sub(claimed) > time.Second {
		t.Errorf("h1 announced the VIP again %v after the intruder's claim, want within one advert interval (1s)", answered.Sub(claimed))
	}
	if !lab.Eventually(5*time.Second, onH1) {
		t.Fatalf("the observer's cache holds %v for the VIP, want h1's %v", l.Observer.Neighbour(lab.VIP6), h1.MAC)
	}
	end := time.Now().Add(3 * time.Second)
	for time.Now().Before(end) {
		if !onH1() {
			t.Fatalf("the observer's cache went to %v, want h1's %v", l.Observer.Neighbour(lab.VIP6), h1.MAC)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := p2.Count("Address conflict"); n != 0 {
		t.Errorf("the BACKUP logged %d conflicts", n)
	}
	if n := p1.Count("Address conflict"); n != 1 {
		t.Errorf("the MASTER logged %d conflicts, want 1 (one claim)", n)
	}
}

// unsolicitedNA reports whether frame is an unsolicited Neighbour
// Advertisement: ICMPv6 type 136 to ff02::1 with Solicited clear and
// Override set, as the daemon announces an address (the kernel's answers
// to solicitations have Solicited set and go to the asker).
func unsolicitedNA(frame []byte) bool {
	const eth, ip6 = 14, 40
	if len(frame) < eth+ip6+24 || frame[12] != 0x86 || frame[13] != 0xdd || frame[eth+6] != 58 || frame[eth+ip6] != 136 {
		return false
	}
	dst := netip.AddrFrom16([16]byte(frame[eth+24 : eth+40]))
	flags := frame[eth+ip6+4]
	return dst == netip.MustParseAddr("ff02::1") && flags&0x40 == 0 && flags&0x20 != 0
}
