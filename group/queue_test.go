package group

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vrrp"
)

// TestQueuedAdvert checks what the reader hands to the loop: a CARP
// advert's fields as the machine's event, its source as received (the
// loop unmaps it for the machine, and compares it as received with its
// own), a VRRPv3 advert's event and checksum form as they are.
func TestQueuedAdvert(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:198.51.100.12")
	r := received{hdr: carp.Header{Version: 2, Type: 1, VHID: 7, AdvBase: 2, AdvSkew: 9, Demote: 3, Counter: 1 << 40}, src: mapped}
	q := r.queue(false)
	want := carp.Event{Kind: carp.EventAdvert, Src: mapped, AdvBase: 2, AdvSkew: 9, Demote: 3, Counter: 1 << 40}
	if q.ev != want || q.err != nil {
		t.Errorf("CARP: %+v, want %+v", q.ev, want)
	}
	v := received{vrrp: carp.Event{Kind: carp.EventAdvert, Src: netip.MustParseAddr("198.51.100.13"), Counter: 200<<16 | 100}, form: vrrp.ChecksumForm(1)}
	if q := v.queue(true); q.ev != v.vrrp || q.form != v.form {
		t.Errorf("VRRPv3: %+v", q)
	}
	// The queue's element is what every group holds rxQueueLen of.
	if n := unsafe.Sizeof(queued{}); n > 104 {
		t.Errorf("a queued advert takes %d bytes, want at most 104 (docs/PERF.md, Memory)", n)
	}
}

// TestDropLimitsLazy: the rate limits of the drop log lines are made by
// the first drop logged; a group that drops nothing has none, and one
// that does logs and reports as before.
func TestDropLimitsLazy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.debug = false })
		defer h.close()
		h.at(2 * time.Second)
		limits := func() bool { h.d.limMu.Lock(); defer h.d.limMu.Unlock(); return h.d.limits != nil }
		if limits() {
			t.Fatal("rate limits made with no drop")
		}
		for range 20 {
			h.receive(1, 0, func(p *carp.Packet) { p.TTL = 254 })
		}
		h.at(3 * time.Second)
		if !limits() {
			t.Fatal("no rate limits after drops")
		}
		if n := h.logs.count("TTL"); n < 10 || n > 14 {
			t.Fatalf("%d lines of bad TTL, want the burst of 10\n%s", n, h.logs)
		}
		h.at(20 * time.Second)
		if !strings.Contains(h.logs.String(), "more packets dropped as bad-ttl") {
			t.Fatalf("no report of the lines left out:\n%s", h.logs)
		}
	})
}
