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
func TestSplitBrainARP(t *testing.T) { testSplitBrain(t, "ipv4") }

// TestSplitBrainNA is TestSplitBrainARP over IPv6: the intruder adds the
// IPv6 VIP by hand and sends an unsolicited Neighbour Advertisement with
// the Override flag; the MASTER logs the conflict and answers with its
// own NA at once, and the observer's neighbour cache ends on its MAC.
func TestSplitBrainNA(t *testing.T) { testSplitBrain(t, "ipv6") }

// testSplitBrain is the split-brain lab of the family fam ("ipv4" or
// "ipv6").
func testSplitBrain(t *testing.T, fam string) {
	l, addr := familyLab(t, 3, fam)
	h1, h2, intruder := l.Hosts[0], l.Hosts[1], l.Hosts[2]
	var (
		p1, p2 *lab.Proc
		add    []string // the intruder's ip command that adds the VIP
		what   string   // the intruder's claim, for the messages
		// claims returns the MAC a captured frame announces addr for,
		// "" for none.
		claims func(f lab.Frame) string
		// parse reads a frame as the daemon's listener does.
		parse func(frame []byte) (vipkg.Claim, error)
	)
	if fam == "ipv6" {
		vip6 := addr.String() + "/64"
		p1 = start6(t, h1, "ucarp", lab.CARP{AdvSkew: 0}, vip6)
		p2 = start6(t, h2, "ucarp", lab.CARP{AdvSkew: 100}, vip6)
		waitHolding(t, l, 15*time.Second, "h1:"+addr.String()+" h2:- h3:-", vip6)
		add = []string{"ip", "-6", "addr", "add", vip6, "dev", intruder.IfName, "nodad"}
		what = "unsolicited neighbour advertisement"
		parse = vipkg.ParseNDClaim
		claims = func(f lab.Frame) string {
			c, err := vipkg.ParseNDClaim(f.Data)
			if err != nil || c.Addr != addr {
				return ""
			}
			if c.MAC.String() == h1.MAC.String() && !unsolicitedNA(f.Data) {
				// Not the daemon's announcement but the kernel's answers
				// (solicited NAs, its own solicitations from the VIP).
				return ""
			}
			return c.MAC.String()
		}
	} else {
		p1 = start(t, h1, "ucarp", ours(lab.CARP{AdvSkew: 0}))
		p2 = start(t, h2, "ucarp", ours(lab.CARP{AdvSkew: 100}))
		waitMasters(t, l, 15*time.Second, h1)
		add = []string{"ip", "addr", "add", addr.String() + "/24", "dev", intruder.IfName}
		what = "gratuitous ARP"
		parse = vipkg.ParseClaim
		claims = func(f lab.Frame) string {
			if !f.IsGARPFor(addr) {
				return ""
			}
			return f.Source().String()
		}
	}

	// The observer talks to the VIP: its cache holds h1's MAC.
	ping, err := l.Observer.Ping(addr, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer ping.Stop()
	onH1 := func() bool { return l.Observer.Neighbour(addr).String() == h1.MAC.String() }
	if !lab.Eventually(5*time.Second, onH1) {
		t.Fatalf("the observer's cache holds %v for the VIP, want h1's %v", l.Observer.Neighbour(addr), h1.MAC)
	}

	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Stop()
	if out, err := intruder.Exec(add...); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	sent := time.Now()
	if err := intruder.Announce(addr); err != nil {
		t.Fatal(err)
	}
	line := "Address conflict: " + addr.String() + " is also claimed by " + intruder.MAC.String() + " on " + h1.IfName
	// The daemon's own timestamp of the line: how long the claim took
	// from the intruder's socket to the MASTER's log, whatever the time
	// the test took to read the log.
	took := p1.MustLastLogTime(t, line).Sub(sent)
	t.Logf("conflict logged %v after the intruder's %s", took, what)
	if took > time.Second {
		t.Errorf("conflict logged %v after the claim, want within one advert interval (1s)", took)
	}

	// On the wire: the intruder's claim, then h1's announcement, at
	// once (kernel timestamps of the bridge's capture).
	var claimed, answered time.Time
	lab.Eventually(3*time.Second, func() bool {
		for _, f := range capture.Frames() {
			switch mac := claims(f); {
			case mac == "":
			case claimed.IsZero() && mac == intruder.MAC.String():
				claimed = f.At
			case !claimed.IsZero() && answered.IsZero() && mac == h1.MAC.String():
				answered = f.At
			}
		}
		return !answered.IsZero()
	})
	if claimed.IsZero() || answered.IsZero() {
		t.Fatalf("no %s of h1 after the intruder's (intruder's at %v)", what, claimed)
	}
	t.Logf("h1 announced the VIP again %v after the intruder's claim", answered.Sub(claimed))
	if answered.Sub(claimed) > time.Second {
		t.Errorf("h1 announced the VIP again %v after the intruder's claim, want within one advert interval (1s)", answered.Sub(claimed))
	}

	// The observer's cache comes back to h1, and stays there while the
	// intruder keeps the address (it answers only what it is asked).
	if !lab.Eventually(5*time.Second, onH1) {
		t.Fatalf("the observer's cache holds %v for the VIP, want h1's %v", l.Observer.Neighbour(addr), h1.MAC)
	}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !onH1() {
			t.Fatalf("the observer's cache went to %v, want h1's %v", l.Observer.Neighbour(addr), h1.MAC)
		}
	}
	if n := p2.Count("Address conflict"); n != 0 {
		t.Errorf("the BACKUP logged %d conflicts", n)
	}
	// The MASTER logs the intruder's claim, and any other it hears: the
	// intruder's kernel, to answer a ping of the observer whose cache it
	// holds for a moment, asks for the observer's MAC from the VIP (an
	// ARP request, a neighbour solicitation), more often under load.
	n := p1.Count("Address conflict")
	heard := 0
	for _, f := range capture.Frames() {
		if c, err := parse(f.Data); err == nil && c.Addr == addr && c.MAC.String() == intruder.MAC.String() {
			heard++
		}
	}
	t.Logf("the MASTER logged %d conflicts; the intruder sent %d claims", n, heard)
	if n < 1 || n > heard {
		t.Errorf("the MASTER logged %d conflicts, want 1 to %d (the intruder's claims on the wire)", n, heard)
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
