package carpauth

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

func TestSealIPv4(t *testing.T) {
	kr := keyring(t, key(3, 0xaa))
	s := newSigner(t, kr)
	plain := advert(t, srcA, 0, 7)
	pkt, err := s.SealIPv4(bytes.Clone(plain), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkt) != carp.PacketLen+TrailerLen || binary.BigEndian.Uint16(pkt[2:4]) != 104 {
		t.Fatalf("%d bytes, total length %d; want 104", len(pkt), binary.BigEndian.Uint16(pkt[2:4]))
	}
	if carp.Checksum(pkt[:20]) != 0 {
		t.Error("bad IPv4 header checksum")
	}
	if !bytes.Equal(pkt[20:56], plain[20:56]) {
		t.Error("the CARP header changed")
	}
	var tr Trailer
	if err := tr.UnmarshalBinary(pkt[56:]); err != nil {
		t.Fatal(err)
	}
	if tr.KeyID != 3 || tr.Seq != seq(0) || tr.Version != 1 {
		t.Errorf("trailer %+v, want key 3, sequence %d", tr, seq(0))
	}

	// What ucarp and this daemon's plain CARP checks make of it: a plain
	// advert, accepted, the trailer ignored (the mixed segment).
	auth, _ := carp.NewAuth([]byte("secret"), 10, vips)
	val := carp.NewValidator(srcB, group, 10, auth)
	var h carp.Header
	if d := val.Check(pkt, &h); !d.Accepted() {
		t.Errorf("carp.Validator drops the sealed advert: %v", d)
	}

	for _, tt := range []struct {
		name string
		pkt  []byte
	}{
		{"already sealed", pkt},
		{"short", plain[:40]},
		{"IPv6", append([]byte{0x60}, plain[1:]...)},
	} {
		if _, err := s.SealIPv4(tt.pkt, t0); err == nil {
			t.Errorf("%s: sealed", tt.name)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	kr := keyring(t, key(1, 0x11))
	t.Run("IPv4", func(t *testing.T) {
		s, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce})
		now := time.Now()
		pkt, err := s.SealIPv4(advert(t, srcA, 0, 7), now)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.CheckIPv4(pkt, now.Add(time.Millisecond)); got != (Verdict{Result: ResultVerified}) {
			t.Fatalf("first: %+v", got)
		}
		if got := v.CheckIPv4(pkt, now.Add(2*time.Millisecond)); got != (Verdict{Drop: true, Result: ResultReplay}) {
			t.Fatalf("again: %+v", got)
		}
		next, _ := s.SealIPv4(advert(t, srcA, 0, 8), now.Add(time.Second))
		if got := v.CheckIPv4(next, now.Add(time.Second)); got.Drop {
			t.Fatalf("next: %+v", got)
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		s, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce})
		h := carp.Header{Version: 2, Type: 1, VHID: 10, AuthLen: 7, AdvBase: 1, Counter: 9}
		hdr, _ := h.MarshalBinary()
		now := time.Now()
		payload, err := s.AppendTrailer(bytes.Clone(hdr), src6A, group6, hdr, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Check(src6A, group6, payload, now); got != (Verdict{Result: ResultVerified}) {
			t.Fatalf("%+v", got)
		}
		// The same bytes from another source: the MAC covers it.
		if got := v.Check(src6B, group6, payload, now); got.Result != ResultBadMAC {
			t.Fatalf("other source: %+v", got)
		}
		if _, err := s.AppendTrailer(nil, src6A, group, hdr, now); err == nil {
			t.Error("mixed families signed")
		}
		if _, err := s.AppendTrailer(nil, src6A, group6, hdr[:35], now); err == nil {
			t.Error("35-byte header signed")
		}
	})
}

// TestTamper changes one byte of a sealed advert at a time: every field
// the MAC covers must fail it.
func TestTamper(t *testing.T) {
	kr := keyring(t, key(1, 0x11), key(2, 0x22))
	s := newSigner(t, kr)
	base := sealed(t, s, srcA, seq(0))
	const tr = 56 // the trailer's offset
	for _, tt := range []struct {
		name string
		off  int
		val  byte
		want Result
	}{
		{"untouched", -1, 0, ResultVerified},
		{"vhid", 21, 11, ResultBadMAC},
		{"advskew 0 to 1", 22, 1, ResultBadMAC},
		{"demote", 24, 1, ResultBadMAC},
		{"advbase 1 to 0", 25, 0, ResultBadMAC},
		{"advbase bow-out", 25, 255, ResultBadMAC},
		{"CARP checksum", 26, 0, ResultBadMAC},
		{"counter", 35, 0xff, ResultBadMAC},
		{"SHA1 digest", 40, 0, ResultBadMAC},
		{"IP source", 15, 9, ResultBadMAC},
		{"IP destination", 19, 19, ResultBadMAC},
		{"reserved", tr + 7, 1, ResultBadMAC},
		{"sequence", tr + 15, 0xff, ResultBadMAC},
		{"tag", tr + 16, 0, ResultBadMAC},
		{"last tag byte", tr + 47, 0, ResultBadMAC},
		{"other known key id", tr + 6, 2, ResultBadMAC},
		{"unknown key id", tr + 6, 9, ResultUnknownKey},
		{"version 2", tr + 4, 2, ResultBadVersion},
		{"length byte", tr + 5, 13, ResultMalformed},
		{"magic", tr, 'u', ResultAbsent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pkt := bytes.Clone(base)
			if tt.off >= 0 {
				if pkt[tt.off] == tt.val {
					t.Fatalf("byte %d is already %#x", tt.off, tt.val)
				}
				pkt[tt.off] = tt.val
			}
			v := newVerifier(t, kr, Config{Mode: Enforce})
			src, dst, payload, _ := PayloadIPv4(pkt)
			got := v.check(src, dst, payload, at(0, 0))
			if got.Result != tt.want || got.Drop != (tt.want != ResultVerified) {
				t.Fatalf("%+v, want %v", got, tt.want)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		v := newVerifier(t, kr, Config{Mode: Enforce})
		if got := v.check(srcA, group, base[20:len(base)-1], at(0, 0)); got.Result != ResultMalformed {
			t.Fatalf("%+v", got)
		}
		// The IP length says 104, the capture has 103.
		if got := v.CheckIPv4(base[:len(base)-1], t0); got.Result != ResultMalformed {
			t.Fatalf("CheckIPv4: %+v", got)
		}
	})
	t.Run("other secret, same id", func(t *testing.T) {
		v := newVerifier(t, keyring(t, key(1, 0x12)), Config{Mode: Enforce})
		if got := v.check(srcA, group, base[20:], at(0, 0)); got.Result != ResultBadMAC {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("other virtual addresses", func(t *testing.T) {
		v, err := NewVerifier(kr, []netip.Addr{vip, netip.MustParseAddr("198.51.100.11")}, Config{Mode: Enforce})
		if err != nil {
			t.Fatal(err)
		}
		if got := v.check(srcA, group, base[20:], at(0, 0)); got.Result != ResultBadMAC {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("addresses in another order", func(t *testing.T) {
		two := []netip.Addr{netip.MustParseAddr("2001:db8::1"), vip, vip}
		s2, _ := NewSigner(kr, two)
		v, _ := NewVerifier(kr, []netip.Addr{vip, netip.MustParseAddr("2001:db8::1")}, Config{Mode: Enforce})
		if got := v.check(srcA, group, sealed(t, s2, srcA, seq(0))[20:], at(0, 0)); got.Result != ResultVerified {
			t.Fatalf("%+v", got)
		}
	})
}

func TestPayloadIPv4(t *testing.T) {
	plain := advert(t, srcA, 0, 7)
	padded := append(bytes.Clone(plain), make([]byte, 8)...) // link-layer padding
	short := bytes.Clone(plain)
	binary.BigEndian.PutUint16(short[2:4], 40) // ucarp does not check it
	for _, tt := range []struct {
		name string
		pkt  []byte
		n    int
		ok   bool
	}{
		{"plain", plain, 36, true},
		{"padding beyond the IP length", padded, 36, true},
		{"IP length too short", short, 36, true},
		{"35 CARP bytes", plain[:55], 0, false},
		{"IPv6", append([]byte{0x60}, plain[1:]...), 0, false},
		{"empty", nil, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, dst, p, ok := PayloadIPv4(tt.pkt)
			if ok != tt.ok || len(p) != tt.n || ok && (src != srcA || dst != group) {
				t.Fatalf("PayloadIPv4 = %v %v %d bytes %v", src, dst, len(p), ok)
			}
		})
	}
}

// step is one advert in a freshness scenario: sequence q from src,
// received at the instant now, and the result expected.
type step struct {
	src  netip.Addr
	q    uint64
	now  instant
	want Result
}

func TestFreshness(t *testing.T) {
	const w = 10 * time.Second
	s := time.Second
	h := time.Hour
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"first advert on time", []step{{srcA, seq(0), at(0, 0), ResultVerified}}},
		{"first advert as old as the window", []step{{srcA, seq(0), at(w, 0), ResultVerified}}},
		{"first advert older than the window", []step{{srcA, seq(0), at(w+1, 0), ResultStale}}},
		{"first advert from a clock an hour ahead", []step{{srcA, seq(h), at(0, 0), ResultFuture}}},
		{"the same advert twice", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(0), at(0, 1), ResultReplay}}},
		{"an older advert after a newer", []step{
			{srcA, seq(s), at(s, s), ResultVerified},
			{srcA, seq(0), at(s, s+1), ResultReplay}}},
		{"a stale advert does not move the sender's state", []step{
			{srcA, seq(0), at(w+s, 0), ResultStale},
			{srcA, seq(0) + 1, at(w, 1), ResultVerified}}},
		{"two senders apart", []step{
			{srcA, seq(2 * s), at(2*s, 0), ResultVerified},
			{srcB, seq(s), at(2*s, 1), ResultVerified},
			{srcB, seq(s), at(2*s, 2), ResultReplay}}},
		{"a sender that keeps pace for a day", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(s), at(s, s), ResultVerified},
			{srcA, seq(24 * h), at(24*h, 24*h), ResultVerified}}},
		{"the receiver's wall clock steps back an hour", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(s), at(s-h, s), ResultVerified},
			{srcA, seq(2 * s), at(2*s-h, 2*s), ResultVerified}}},
		{"the receiver's wall clock steps forward an hour", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(s), at(s+h, s), ResultVerified},
			{srcA, seq(2 * s), at(2*s+h, 2*s), ResultVerified}}},
		{"a sender an hour ahead (after a backward step) keeps pace", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(h + s), at(s, s), ResultVerified},
			{srcA, seq(h + 2*s), at(2*s, 2*s), ResultVerified}}},
		{"held back less than the window", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(s), at(s+w-s, s+w-s), ResultVerified}}},
		{"held back more than the window", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(s), at(s+w+s, s+w+s), ResultStale}}},
		{"held back, judged by the most punctual advert", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			// delivered late, but within the window: accepted, and the
			// anchor stays with the punctual one
			{srcA, seq(s), at(w, w), ResultVerified},
			{srcA, seq(2 * s), at(2*s+w-s, 2*s+w-s), ResultVerified},
			{srcA, seq(3 * s), at(3*s+w+s, 3*s+w+s), ResultStale}}},
		{"a sender restarts with a lower sequence after more than the window: still a replay", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(h), at(s, s), ResultVerified},
			{srcA, seq(20 * s), at(20*s, 20*s), ResultReplay}}},
		{"a lower sequence within the window is a replay", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(h), at(s, s), ResultVerified},
			{srcA, seq(5 * s), at(5*s, 5*s), ResultReplay}}},
		{"after the receiver restarts: a capture from twice the window ago", []step{
			{srcA, seq(0), at(2*w, 0), ResultStale}}},
		{"after the receiver restarts: a capture within the window (the exposure)", []step{
			{srcA, seq(0), at(w/2, 0), ResultVerified},
			{srcA, seq(-time.Second), at(w/2, 1), ResultReplay}}},
		{"receiver clock an hour ahead at its start", []step{
			{srcA, seq(0), at(h, 0), ResultStale}}},
		{"the top of the range", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, ^uint64(0) - 1, at(s, s), ResultVerified},
			{srcA, ^uint64(0), at(2*s, 2*s), ResultVerified},
			{srcA, ^uint64(0), at(3*s, 3*s), ResultReplay}}},
		{"before 1970", []step{
			{srcA, 0, instant{0, 0}, ResultVerified},
			{srcA, 0, instant{0, 1}, ResultReplay}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kr := keyring(t, key(1, 1))
			sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce, Window: w})
			for i, st := range tt.steps {
				pkt := sealed(t, sg, st.src, st.q)
				got := v.check(st.src, group, pkt[20:], st.now)
				if got.Result != st.want || got.Drop != (st.want != ResultVerified) {
					t.Fatalf("step %d: %+v, want %v", i, got, st.want)
				}
			}
		})
	}
}

func TestSequence(t *testing.T) {
	s, h, ms := time.Second, time.Hour, time.Millisecond
	for _, tt := range []struct {
		name string
		at   []instant
		want []uint64
	}{
		{"the wall clock", []instant{at(0, 0), at(s, s), at(2*s, 2*s)}, []uint64{seq(0), seq(s), seq(2 * s)}},
		{"one instant twice", []instant{at(0, 0), at(0, 0), at(0, 0)}, []uint64{seq(0), seq(0) + 1, seq(0) + 2}},
		{"a backward step: the monotonic clock carries on", []instant{at(0, 0), at(s-h, s), at(2*s-h, 2*s)},
			[]uint64{seq(0), seq(s), seq(2 * s)}},
		{"a forward step: the sequence jumps with it", []instant{at(0, 0), at(s+h, s), at(2*s+h, 2*s)},
			[]uint64{seq(0), seq(s + h), seq(2*s + h)}},
		{"a step back and forth", []instant{at(0, 0), at(s-h, s), at(2*s, 2*s), at(3*s, 3*s)},
			[]uint64{seq(0), seq(s), seq(2 * s), seq(3 * s)}},
		{"slewing: the wall clock gains 1 ms", []instant{at(0, 0), at(s+ms, s), at(2*s+ms, 2*s)},
			[]uint64{seq(0), seq(s + ms), seq(2*s + ms)}},
		{"slewing: the wall clock loses 1 ms", []instant{at(0, 0), at(s-ms, s), at(2*s-ms, 2*s)},
			[]uint64{seq(0), seq(s), seq(2 * s)}},
		{"before 1970", []instant{{0, 0}, {0, 0}}, []uint64{1, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var sq Sequence
			for i, a := range tt.at {
				if got := sq.next(a); got != tt.want[i] {
					t.Fatalf("reading %d: %d, want %d (%+d ns)", i, got, tt.want[i], int64(got-tt.want[i]))
				}
			}
		})
	}
	t.Run("time.Now", func(t *testing.T) {
		var sq Sequence
		last := uint64(0)
		for range 1000 {
			n := sq.Next(time.Now())
			if n <= last {
				t.Fatalf("%d after %d", n, last)
			}
			last = n
		}
		if sq.Last() != last {
			t.Fatal("Last")
		}
	})
}

func TestSenderCap(t *testing.T) {
	const w = 10 * time.Second
	kr := keyring(t, key(1, 1))
	sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce, Window: w, MaxSenders: 4})
	src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}) }
	send := func(i int, q uint64, now instant) Verdict {
		return v.check(src(i), group, sealed(t, sg, src(i), q)[20:], now)
	}
	for i := range 100 {
		if got := send(i, seq(0), at(0, time.Duration(i))); got.Result != ResultVerified {
			t.Fatalf("sender %d: %+v", i, got)
		}
		if v.Senders() > 4 {
			t.Fatalf("%d senders remembered after %d", v.Senders(), i+1)
		}
	}
	// The last four are remembered: their adverts again are replays.
	for i := 96; i < 100; i++ {
		if got := send(i, seq(0), at(0, 100)); got.Result != ResultReplay {
			t.Errorf("sender %d: %+v", i, got)
		}
	}
	// The first was forgotten: judged as new, within the window.
	if got := send(0, seq(0), at(0, 101)); got.Result != ResultVerified {
		t.Errorf("sender 0: %+v", got)
	}
	// Silent senders are kept with their last sequence (a dead master's
	// adverts stay replays): after 2w, a new sender evicts only the one
	// heard from least recently (97; 0 came back at 101).
	if got := send(200, seq(2*w), at(2*w, 2*w)); got.Result != ResultVerified {
		t.Fatalf("sender 200: %+v", got)
	}
	if v.Senders() != 4 {
		t.Errorf("%d senders remembered, want 4", v.Senders())
	}
	if got := send(98, seq(0), at(2*w, 2*w+1)); got.Result != ResultReplay {
		t.Errorf("sender 98, silent for 2w, replayed: %+v", got)
	}
	if got := send(97, seq(2*w), at(2*w, 2*w+2)); got.Result != ResultVerified {
		t.Errorf("sender 97, evicted, on time: %+v", got)
	}
	// A forged advert (bad MAC) from a new source is not remembered.
	pkt := sealed(t, sg, src(201), seq(2*w))
	pkt[len(pkt)-1] ^= 1
	if got := v.check(src(201), group, pkt[20:], at(2*w, 2*w)); got.Result != ResultBadMAC || v.Senders() != 4 {
		t.Errorf("forged: %+v, %d senders", got, v.Senders())
	}
}

func TestOffIgnoresTrailer(t *testing.T) {
	v, err := NewVerifier(nil, vips, Config{})
	if err != nil {
		t.Fatal(err)
	}
	pkt := sealed(t, newSigner(t, keyring(t, key(1, 1))), srcA, 1)
	pkt[len(pkt)-1] ^= 1 // a bad tag
	for _, p := range [][]byte{pkt, advert(t, srcA, 0, 7)} {
		if got := v.CheckIPv4(p, t0); got != (Verdict{Result: ResultAbsent}) {
			t.Errorf("%+v", got)
		}
	}
	if _, err := NewVerifier(nil, vips, Config{Mode: Permissive}); err == nil {
		t.Error("permissive without keys")
	}
	if _, err := NewVerifier(nil, nil, Config{}); err == nil {
		t.Error("no addresses")
	}
}

// TestKeyRotation rotates the keys of a running pair in the documented
// steps and checks that neither host drops an advert of the other.
func TestKeyRotation(t *testing.T) {
	old, nw := key(1, 0x11), key(2, 0x22)
	steps := []struct {
		name string
		a, b []Key // each host's key file, first line first
	}{
		{"both on the old key", []Key{old}, []Key{old}},
		{"A adds the new key second", []Key{old, nw}, []Key{old}},
		{"B adds the new key second", []Key{old, nw}, []Key{old, nw}},
		{"A signs with the new key", []Key{nw, old}, []Key{old, nw}},
		{"B signs with the new key", []Key{nw, old}, []Key{nw, old}},
		{"A drops the old key", []Key{nw}, []Key{nw, old}},
		{"B drops the old key", []Key{nw}, []Key{nw}},
	}
	sa, sb := newSigner(t, keyring(t, old)), newSigner(t, keyring(t, old))
	va := newVerifier(t, keyring(t, old), Config{Mode: Enforce})
	vb := newVerifier(t, keyring(t, old), Config{Mode: Enforce})
	tick := time.Duration(0)
	for _, st := range steps {
		ka, kb := keyring(t, st.a...), keyring(t, st.b...)
		sa.SetKeys(ka)
		va.SetKeys(ka)
		sb.SetKeys(kb)
		vb.SetKeys(kb)
		for range 3 {
			tick += time.Second
			now := at(tick, tick)
			if got := vb.check(srcA, group, sealed(t, sa, srcA, seq(tick))[20:], now); got.Drop {
				t.Fatalf("%s: B drops A's advert: %+v", st.name, got)
			}
			if got := va.check(srcB, group, sealed(t, sb, srcB, seq(tick))[20:], now); got.Drop {
				t.Fatalf("%s: A drops B's advert: %+v", st.name, got)
			}
		}
	}
	// And the wrong order does drop: B signs with a key A does not have.
	sb.SetKeys(keyring(t, key(3, 0x33)))
	tick += time.Second
	if got := va.check(srcB, group, sealed(t, sb, srcB, seq(tick))[20:], at(tick, tick)); got != (Verdict{Drop: true, Result: ResultUnknownKey}) {
		t.Fatalf("a key A lacks: %+v", got)
	}
}

// TestPermissiveKeepsState: in the modes that accept what fails, only a
// verified advert moves a sender's state, so that a replay accepted in
// permissive mode cannot open the way for older ones once enforce is on.
func TestPermissiveKeepsState(t *testing.T) {
	s := time.Second
	kr := keyring(t, key(1, 1))
	sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Permissive})
	check := func(q uint64, mono time.Duration) Verdict {
		return v.check(srcA, group, sealed(t, sg, srcA, q)[20:], at(5*s, mono))
	}
	if got := check(seq(5*s), 0); got != (Verdict{Result: ResultVerified}) {
		t.Fatalf("on time: %+v", got)
	}
	if got := check(seq(s), 1); got != (Verdict{Result: ResultReplay}) {
		t.Fatalf("replay in permissive: %+v", got)
	}
	forged := sealed(t, sg, srcB, seq(5*s))
	forged[len(forged)-1] ^= 1
	if got := v.check(srcB, group, forged[20:], at(5*s, 2)); got != (Verdict{Result: ResultBadMAC}) || v.Senders() != 1 {
		t.Fatalf("forged in permissive: %+v, %d senders", got, v.Senders())
	}
	v.SetMode(Enforce)
	if got := check(seq(2*s), 3); got != (Verdict{Drop: true, Result: ResultReplay}) {
		t.Fatalf("older than the last verified, in enforce: %+v", got)
	}
}

// TestConcurrentReload checks adverts on one goroutine while another
// reloads keys and mode, as group.Deliver and a reload do (run with
// -race to see it matter).
func TestConcurrentReload(t *testing.T) {
	kr := keyring(t, key(1, 1))
	sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Permissive})
	pkt := sealed(t, sg, srcA, seq(0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			v.SetKeys(keyring(t, key(1, 1), key(byte(2+i%10), 2)))
			v.SetMode([]Mode{Permissive, Enforce}[i%2])
			_ = v.Senders()
		}
	}()
	for range 200 {
		if d := v.CheckIPv4(pkt, t0); d.Result != ResultVerified && d.Result != ResultReplay {
			t.Fatalf("%+v", d)
		}
	}
	<-done
}

// TestReplayAfterMasterDies is the attack a review found: the master's
// adverts are captured, the master dies, and once it has been silent for
// longer than the window the captures are replayed at the backup. A
// receiver that forgets a quiet sender, and that accepts a first
// sequence ahead of its own clock, takes them (the master's clock ran
// ahead, or its sequence did after a backward step): the backup is held
// down by a dead master. Every replay must be refused, however long the
// master has been silent.
func TestReplayAfterMasterDies(t *testing.T) {
	const w = 10 * time.Second
	s, m := time.Second, time.Minute
	for _, ahead := range []time.Duration{0, w / 2, w, 5 * m} {
		t.Run("master ahead by "+ahead.String(), func(t *testing.T) {
			kr := keyring(t, key(1, 1))
			sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce, Window: w})
			var captured [][]byte
			for i := range 10 {
				// The first advert is on time; then the master's
				// sequence runs ahead (a fast clock that NTP stepped
				// back: Sequence keeps its track), which a known
				// sender may.
				d := time.Duration(i) * s
				q := seq(d)
				if i > 0 {
					q = seq(d + ahead)
				}
				pkt := sealed(t, sg, srcA, q)
				captured = append(captured, pkt)
				if got := v.check(srcA, group, pkt[20:], at(d, d)); got.Result != ResultVerified {
					t.Fatalf("live advert %d: %+v", i, got)
				}
			}
			// The master died after its last advert at 9s. Replay every
			// capture at every second for the next ten minutes.
			for after := s; after <= 10*m; after += s {
				now := at(9*s+after, 9*s+after)
				for i, pkt := range captured {
					if got := v.check(srcA, group, pkt[20:], now); !got.Drop {
						t.Fatalf("capture %d replayed %v after the master died: %+v", i, after, got)
					}
				}
			}
		})
	}
}

// TestFirstAdvertAhead: the first advert of a sender (or the first after
// it went quiet) must be within the window of the receiver's wall clock,
// on either side.
func TestFirstAdvertAhead(t *testing.T) {
	const w = 10 * time.Second
	s := time.Second
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"as far ahead as the window", []step{{srcA, seq(w), at(0, 0), ResultVerified}}},
		{"further ahead than the window", []step{{srcA, seq(w + 1), at(0, 0), ResultFuture}}},
		{"an hour ahead", []step{{srcA, seq(time.Hour), at(0, 0), ResultFuture}}},
		{"ahead after going quiet", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(2*w + w + s), at(2*w, 2*w), ResultFuture},
			{srcA, seq(2*w + s), at(2*w, 2*w+1), ResultVerified}}},
		{"a restarted sender, on time, after going quiet", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(30 * s), at(30*s, 30*s), ResultVerified}}},
		{"a sender whose sequence ran ahead, restarted: a replay until it passes the last", []step{
			{srcA, seq(0), at(0, 0), ResultVerified},
			{srcA, seq(s + 30*s), at(s, s), ResultVerified},
			{srcA, seq(2*w + s), at(2*w+s, 2*w+s), ResultReplay},
			{srcA, seq(40 * s), at(40*s, 40*s), ResultVerified}}},
		{"the top of the range is future", []step{{srcA, ^uint64(0), at(0, 0), ResultFuture}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kr := keyring(t, key(1, 1))
			sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce, Window: w})
			for i, st := range tt.steps {
				got := v.check(st.src, group, sealed(t, sg, st.src, st.q)[20:], st.now)
				if got.Result != st.want || got.Drop != (st.want != ResultVerified) {
					t.Fatalf("step %d: %+v, want %v", i, got, st.want)
				}
			}
		})
	}
}

// TestSteppedSenderResumes: a sender whose wall clock stepped forward and
// back while it sent (its Sequence keeps the track, an hour ahead of the
// wall clock), then went quiet for longer than the window (a BACKUP) and
// sends again (it became MASTER): a receiver that remembers it accepts
// its adverts, while every advert captured before stays a replay.
func TestSteppedSenderResumes(t *testing.T) {
	const w = 10 * time.Second
	s, h := time.Second, time.Hour
	kr := keyring(t, key(1, 1))
	sg, v := newSigner(t, kr), newVerifier(t, kr, Config{Mode: Enforce, Window: w})
	var sq Sequence
	sq.SetWindow(w)
	var captured [][]byte
	send := func(sender, recv instant) Verdict {
		t.Helper()
		pkt := sealed(t, sg, srcA, sq.next(sender))
		captured = append(captured, pkt)
		return v.check(srcA, group, pkt[20:], recv)
	}
	for d := time.Duration(0); d < 10*s; d += s {
		sender := at(d, d)
		if d == 4*s {
			sender = at(d+h, d) // the sender's wall clock steps forward, then back
		}
		if got := send(sender, at(d, d)); got.Result != ResultVerified {
			t.Fatalf("advert at %v: %+v", d, got)
		}
	}
	if sq.Lead() < h-s {
		t.Fatalf("lead %v after the steps, want about an hour", sq.Lead())
	}
	old := len(captured)
	// Quiet for a minute; the captures are replayed meanwhile.
	for d := 10 * s; d < 70*s; d += s {
		for i, pkt := range captured {
			if got := v.check(srcA, group, pkt[20:], at(d, d)); !got.Drop {
				t.Fatalf("capture %d replayed at %v: %+v", i, d, got)
			}
		}
	}
	for d := 70 * s; d < 80*s; d += s {
		if got := send(at(d, d), at(d, d)); got.Result != ResultVerified {
			t.Fatalf("advert at %v after the gap: %+v (lead %v)", d, got, sq.Lead())
		}
	}
	for i, pkt := range captured[:old] {
		if got := v.check(srcA, group, pkt[20:], at(80*s, 80*s)); got.Result != ResultReplay {
			t.Fatalf("capture %d after the sender resumed: %+v", i, got)
		}
	}
}

// TestSequenceRebase: after a gap longer than the window the sequence
// drops its track for max(last+1, wall); within the window it keeps it.
func TestSequenceRebase(t *testing.T) {
	const w = 10 * time.Second
	s, h := time.Second, time.Hour
	for _, tt := range []struct {
		name string
		at   []instant
		want []uint64
	}{
		{"a backward step, then a gap within the window: the track",
			[]instant{at(0, 0), at(s-h, s), at(s+w-h, s+w)}, []uint64{seq(0), seq(s), seq(s + w)}},
		{"a backward step, then a longer gap: the wall clock",
			[]instant{at(0, 0), at(s-h, s), at(s+w+1-h, s+w+1), at(s+w+2-h, s+w+2)},
			[]uint64{seq(0), seq(s), seq(s) + 1, seq(s) + 2}},
		{"a forward step and back, then a longer gap: last+1, never lower",
			[]instant{at(0, 0), at(s+h, s), at(2*s, 2*s), at(time.Minute, time.Minute)},
			[]uint64{seq(0), seq(s + h), seq(2*s + h), seq(2*s+h) + 1}},
		{"a gap on time: the wall clock", []instant{at(0, 0), at(time.Minute, time.Minute)},
			[]uint64{seq(0), seq(time.Minute)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var sq Sequence
			sq.SetWindow(w)
			for i, a := range tt.at {
				if got := sq.next(a); got != tt.want[i] {
					t.Fatalf("reading %d: %d, want %d (%+d ns)", i, got, tt.want[i], int64(got-tt.want[i]))
				}
			}
		})
	}
	var sq Sequence
	sq.next(at(0, 0))
	if sq.Lead() != 0 {
		t.Errorf("lead %v on time", sq.Lead())
	}
	sq.next(at(s-h, s))
	if sq.Lead() != h {
		t.Errorf("lead %v after a step back of an hour", sq.Lead())
	}
}
