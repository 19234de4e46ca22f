package group

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

var loopPeer2 = netip.MustParseAddr("198.51.100.13")

// TestUnicastOnePeerDown: with two IPv4 peers, one unreachable
// (EHOSTDOWN, as FreeBSD says of a peer whose neighbour entry failed),
// the MASTER keeps sending to the other, counts the peer's failures
// apart and does not demote itself for send failures.
func TestUnicastOnePeerDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.Peers = []netip.Addr{loopPeer, loopPeer2} })
		defer h.close()
		h.conn.mu.Lock()
		h.conn.failTo = loopPeer2
		h.conn.mu.Unlock()
		h.at(30 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		sent := h.conn.adverts()
		if len(sent) < 15 {
			t.Fatalf("%d adverts sent", len(sent))
		}
		for i, p := range sent {
			if dst := netip.AddrFrom4([4]byte(p.raw[16:20])); dst != loopPeer {
				t.Fatalf("advert %d to %v", i, dst)
			}
			if p.h.AdvSkew != 100 {
				t.Fatalf("advert %d with advskew %d: the master demoted itself (logs:\n%s)", i, p.h.AdvSkew, h.logs)
			}
		}
		var s Status
		h.d.inLoop(func() { s = h.d.status() })
		if s.Counters.SendErrors != 0 || s.Counters.PeerSendErrors != uint64(len(sent)) {
			t.Fatalf("send errors %d, peer send errors %d, want 0 and %d", s.Counters.SendErrors, s.Counters.PeerSendErrors, len(sent))
		}
		if n := h.logs.count("Cannot send the advert to peer 198.51.100.13"); n == 0 || n > limitBurst+int(30*time.Second/limitEvery) {
			t.Fatalf("%d lines about the peer", n)
		}

		// Both peers down: that is a send failure.
		h.conn.mu.Lock()
		h.conn.fail = true
		h.conn.mu.Unlock()
		h.at(35 * time.Second)
		h.d.inLoop(func() { s = h.d.status() })
		if s.Counters.SendErrors == 0 {
			t.Fatal("no send error with every peer down")
		}
	})
}

// TestOwn6: the tie-break's own address toward a global IPv6 peer is the
// source the adverts to it come from; none for a link-local or IPv4
// sender, or without IPv6 peers.
func TestOwn6(t *testing.T) {
	global := netip.MustParseAddr("2001:db8::2")
	mine := netip.MustParseAddr("2001:db8::1")
	d := &Group{deps: deps{cfg: &Config{Peers: []netip.Addr{global}},
		source6: func(p netip.Addr) (netip.Addr, bool) { return mine, p == global }}}
	for _, tt := range []struct {
		src, want netip.Addr
	}{
		{global, mine},
		{netip.MustParseAddr("fe80::2"), netip.Addr{}},
		{loopPeer, netip.Addr{}},
		{netip.MustParseAddr("2001:db8::3"), netip.Addr{}},
	} {
		if got := d.own6(tt.src); got != tt.want {
			t.Errorf("own6(%v) = %v, want %v", tt.src, got, tt.want)
		}
	}
	d.cfg.Peers = []netip.Addr{loopPeer}
	if got := d.own6(global); got.IsValid() {
		t.Errorf("own6 without IPv6 peers: %v", got)
	}
}
