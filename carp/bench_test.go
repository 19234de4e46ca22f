package carp

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkEncodeSign is the send path: the next header, its digest, and
// the 56-byte packet into a reused buffer.
func BenchmarkEncodeSign(b *testing.B) {
	auth := testAuth(b, "carplab")
	buf := make([]byte, 0, PacketLen)
	h := Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AuthLen: 7}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Counter = uint64(i)
		auth.Sign(&h)
		p := NewPacket(testSelf, testGroup, uint16(i), h)
		var err error
		if buf, err = p.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeVerify is the receive path: every check of ucarp's,
// the digest included, on a valid advert.
func BenchmarkDecodeVerify(b *testing.B) {
	pkt := advertFrom(b, nil, nil)
	v := NewValidator(testSelf, testGroup, 1, testAuth(b, "carplab"))
	var h Header
	b.ReportAllocs()
	for b.Loop() {
		if d := v.Check(pkt, &h); !d.Accepted() {
			b.Fatal(d)
		}
	}
}

// BenchmarkDecodeBadDigest is the cost of a forged advert, the most
// expensive packet to drop.
func BenchmarkDecodeBadDigest(b *testing.B) {
	pkt := advertFrom(b, func(p *Packet) { testAuth(b, "wrong").Sign(&p.Header) }, nil)
	v := NewValidator(testSelf, testGroup, 1, testAuth(b, "carplab"))
	var h Header
	b.ReportAllocs()
	for b.Loop() {
		if d := v.Check(pkt, &h); d.Reason != DropBadDigest {
			b.Fatal(d)
		}
	}
}

// BenchmarkMachineStep is one BACKUP step on a received advert, the most
// frequent event of a quiet cluster.
func BenchmarkMachineStep(b *testing.B) {
	m := newTestMachine(b, nil)
	m.Handle(t0, Event{Kind: EventStart}, nil)
	ev := Event{Kind: EventAdvert, Src: netip.MustParseAddr("198.51.100.12"), AdvBase: 1, AdvSkew: 0}
	out := make([]Action, 0, 16)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		ev.Counter++
		out = m.Handle(now, ev, out[:0])
	}
}

// BenchmarkMasterAdvert is one MASTER advert: the timer event and the
// header it produces.
func BenchmarkMasterAdvert(b *testing.B) {
	m := newTestMachine(b, nil)
	m.Handle(t0, Event{Kind: EventStart}, nil)
	m.Handle(m.timers[TimerMasterDown], TimerEvent(TimerMasterDown), nil)
	out := make([]Action, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		out = m.Handle(m.timers[TimerAdvert], TimerEvent(TimerAdvert), out[:0])
	}
}
