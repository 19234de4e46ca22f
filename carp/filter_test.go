package carp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"golang.org/x/net/bpf"
)

// runFilter runs SocketFilter(vhids) on pkt in x/net/bpf's VM, as the
// kernel runs it, and reports whether the packet is kept whole.
func runFilter(t testing.TB, vhids []uint8, pkt []byte) bool {
	t.Helper()
	vm, err := bpf.NewVM(SocketFilter(vhids))
	if err != nil {
		t.Fatalf("the program does not load: %v", err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatalf("running the program: %v", err)
	}
	if n != 0 && n < len(pkt) {
		t.Fatalf("kept %d bytes of %d", n, len(pkt))
	}
	return n != 0
}

func TestSocketFilter(t *testing.T) {
	withOptions := func(p *Packet) { p.Options = []byte{1, 1, 1, 0} } // NOP NOP NOP EOL
	tests := []struct {
		name  string
		vhids []uint8
		edit  func(p *Packet)
		raw   func(b []byte) []byte
		keep  bool
	}{
		{name: "an advert of our vhid", vhids: []uint8{1}, keep: true},
		{name: "an advert of one of our vhids", vhids: []uint8{7, 1, 200}, keep: true},
		{name: "in a range of vhids", vhids: []uint8{3, 2, 4}, edit: func(p *Packet) { p.Header.VHID = 3 }, keep: true},
		{name: "first of a range", vhids: []uint8{3, 2, 4}, edit: func(p *Packet) { p.Header.VHID = 2 }, keep: true},
		{name: "last of a range", vhids: []uint8{3, 2, 4}, edit: func(p *Packet) { p.Header.VHID = 4 }, keep: true},
		{name: "vhid 255", vhids: []uint8{254, 255}, edit: func(p *Packet) { p.Header.VHID = 255 }, keep: true},
		{name: "IP options", vhids: []uint8{1}, edit: withOptions, keep: true},
		{name: "trailing bytes", vhids: []uint8{1}, raw: func(b []byte) []byte { return append(b, 0, 0, 0, 0) }, keep: true},
		// What the filter leaves to Check.
		{name: "a forged digest", vhids: []uint8{1}, edit: func(p *Packet) { p.Header.Digest[0] ^= 1 }, keep: true},
		{name: "another destination", vhids: []uint8{1}, edit: func(p *Packet) { p.Dst = testPeer }, keep: true},
		{name: "a bad checksum behind IP options", vhids: []uint8{1}, edit: withOptions, raw: func(b []byte) []byte { b[len(b)-HeaderLen+6] ^= 1; return b }, keep: true},
		{name: "another CARP type", vhids: []uint8{1}, edit: func(p *Packet) { p.Header.Type = 5 }, keep: true},
		// What it drops.
		{name: "no vhid", vhids: nil},
		{name: "another vhid", vhids: []uint8{2}},
		{name: "below a range", vhids: []uint8{3, 2, 4}, edit: func(p *Packet) { p.Header.VHID = 1 }},
		{name: "above a range", vhids: []uint8{3, 2, 4}, edit: func(p *Packet) { p.Header.VHID = 5 }},
		{name: "between two vhids", vhids: []uint8{1, 3}, edit: func(p *Packet) { p.Header.VHID = 2 }},
		{name: "TTL 254", vhids: []uint8{1}, edit: func(p *Packet) { p.TTL = 254 }},
		{name: "TTL 1", vhids: []uint8{1}, edit: func(p *Packet) { p.TTL = 1 }},
		{name: "CARP version 1", vhids: []uint8{1}, edit: func(p *Packet) { p.Header.Version = 1 }},
		{name: "CARP version 3", vhids: []uint8{1}, edit: func(p *Packet) { p.Header.Version = 3 }},
		{name: "IP version 6", vhids: []uint8{1}, raw: func(b []byte) []byte { b[0] = 0x65; return b }},
		{name: "IP header length 16", vhids: []uint8{1}, raw: func(b []byte) []byte { b[0] = 0x44; return b }},
		{name: "one CARP byte short", vhids: []uint8{1}, raw: func(b []byte) []byte { return b[:PacketLen-1] }},
		{name: "20 CARP bytes", vhids: []uint8{1}, raw: func(b []byte) []byte { return b[:IPv4HeaderLen+20] }},
		{name: "the IP header alone", vhids: []uint8{1}, raw: func(b []byte) []byte { return b[:IPv4HeaderLen] }},
		{name: "options and one CARP byte short", vhids: []uint8{1}, edit: withOptions, raw: func(b []byte) []byte { return b[:len(b)-1] }},
		{name: "a bad checksum", vhids: []uint8{1}, raw: func(b []byte) []byte { b[IPv4HeaderLen+6] ^= 1; return b }},
		{name: "a bad checksum, one bit of the digest", vhids: []uint8{1}, raw: func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{name: "a bad IP header checksum", vhids: []uint8{1}, raw: func(b []byte) []byte { b[10] ^= 1; return b }},
		{name: "a bad checksum and trailing bytes", vhids: []uint8{1}, raw: func(b []byte) []byte { b[IPv4HeaderLen+6] ^= 1; return append(b, 0, 0) }},
		{name: "an empty packet", vhids: []uint8{1}, raw: func([]byte) []byte { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := advertFrom(t, tt.edit, tt.raw)
			if got := runFilter(t, tt.vhids, pkt); got != tt.keep {
				t.Errorf("kept %v, want %v (vhids %v, packet % x)", got, tt.keep, tt.vhids, pkt)
			}
		})
	}
}

// TestSocketFilterEveryVHID: with every vhid but one, the program stays
// loadable and keeps each but that one.
func TestSocketFilterEveryVHID(t *testing.T) {
	var vhids []uint8
	for v := 1; v <= 255; v++ {
		if v != 128 {
			vhids = append(vhids, uint8(v))
		}
	}
	// Every other vhid: the most ranges there can be.
	var odd []uint8
	for v := 1; v <= 255; v += 2 {
		odd = append(odd, uint8(v))
	}
	for v := 0; v <= 255; v++ {
		pkt := advertFrom(t, func(p *Packet) { p.Header.VHID = uint8(v) }, nil)
		if got, want := runFilter(t, vhids, pkt), v != 0 && v != 128; got != want {
			t.Errorf("all but 128: vhid %d kept %v", v, got)
		}
		if got, want := runFilter(t, odd, pkt), v%2 == 1; got != want {
			t.Errorf("odd: vhid %d kept %v", v, got)
		}
	}
}

func TestVHIDRanges(t *testing.T) {
	got := vhidRanges([]uint8{9, 1, 2, 3, 3, 5, 255, 254})
	want := [][2]uint8{{1, 3}, {5, 5}, {9, 9}, {254, 255}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// FuzzSocketFilter holds the filter to Check: a packet that a group of
// one of the vhids accepts is kept, and a packet dropped by the filter
// is one that Check drops for one of the reasons the filter takes over.
func FuzzSocketFilter(f *testing.F) {
	f.Add(advertFrom(f, nil, nil), uint8(1), uint8(2))
	f.Add(advertFrom(f, func(p *Packet) { p.TTL = 64 }, nil), uint8(1), uint8(1))
	f.Add(advertFrom(f, func(p *Packet) { p.Header.VHID = 3 }, nil), uint8(1), uint8(2))
	f.Add(advertFrom(f, nil, func(b []byte) []byte { return b[:30] }), uint8(1), uint8(1))
	f.Add(advertFrom(f, nil, func(b []byte) []byte { b[IPv4HeaderLen+6] ^= 1; return b }), uint8(1), uint8(1))
	f.Add(advertFrom(f, func(p *Packet) { p.Options = []byte{1, 1, 1, 0} }, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), uint8(1), uint8(1))
	filtered := map[DropReason]bool{DropNotIPv4: true, DropBogusSize: true, DropBadTTL: true, DropBadVersion: true, DropOtherVHID: true, DropBadChecksum: true}
	f.Fuzz(func(t *testing.T, pkt []byte, a, b uint8) {
		if len(pkt) > 0 && pkt[0]>>4 == 4 && len(pkt) > 9 {
			pkt[9] = IPProtocol // the socket's protocol
		}
		vhids := []uint8{a, b}
		keep := runFilter(t, vhids, pkt)
		for _, v := range vhids {
			var h Header
			d := NewValidator(testSelf, testGroup, v, testAuth(t, "carplab")).Check(pkt, &h)
			if d.Accepted() && !keep {
				t.Fatalf("vhid %d accepts what the filter drops: % x", v, pkt)
			}
			// A bad checksum is tested before the destination by the
			// filter, after it by Check.
			badSum := len(pkt) >= IPv4HeaderLen+HeaderLen && Checksum(pkt[:IPv4HeaderLen+HeaderLen]) != 0
			if !keep && !filtered[d.Reason] && d.Reason != DropTooShort && d.Reason != DropOwnSource && (d.Reason != DropOtherGroup || !badSum) {
				t.Fatalf("the filter drops what vhid %d drops as %s: % x", v, d.Reason, pkt)
			}
		}
	})
}

// TestSocketFilterAnyTTL: with anyTTL (--relax-ttl) the TTL is left to
// Check; everything else is filtered as before.
func TestSocketFilterAnyTTL(t *testing.T) {
	vm, err := bpf.NewVM(SocketFilterTTL([]uint8{1}, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(p *Packet)
		keep bool
	}{
		{"TTL 255", nil, true},
		{"TTL 64", func(p *Packet) { p.TTL = 64 }, true},
		{"TTL 1", func(p *Packet) { p.TTL = 1 }, true},
		{"TTL 64, another vhid", func(p *Packet) { p.TTL = 64; p.Header.VHID = 2 }, false},
		{"TTL 64, CARP version 3", func(p *Packet) { p.TTL = 64; p.Header.Version = 3 }, false},
	} {
		pkt := advertFrom(t, tt.edit, nil)
		n, err := vm.Run(pkt)
		if err != nil || (n != 0) != tt.keep || n != 0 && n < len(pkt) {
			t.Errorf("%s: kept %d bytes of %d (%v), want %v", tt.name, n, len(pkt), err, tt.keep)
		}
	}
	if got, want := len(SocketFilterTTL([]uint8{1}, false)), len(SocketFilter([]uint8{1})); got != want {
		t.Errorf("SocketFilterTTL(false) has %d instructions, SocketFilter %d", got, want)
	}
}

// TestSocketFilterChecksum: on random adverts of vhid 1 whose checksums
// add up, the filter keeps each; with any one bit of the 56 bytes that
// the checksums cover flipped (but the fields it tests first), it drops
// it, as Check would.
func TestSocketFilterChecksum(t *testing.T) {
	vm, err := bpf.NewVM(SocketFilter([]uint8{1}))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pkt := make([]byte, PacketLen)
	for i := range 2000 {
		for j := range pkt {
			pkt[j] = byte(rng.Uint32())
		}
		pkt[0], pkt[8], pkt[9] = 0x45, TTL, IPProtocol
		pkt[IPv4HeaderLen], pkt[IPv4HeaderLen+1] = Version<<4|1, 1
		binary.BigEndian.PutUint16(pkt[10:], 0)
		binary.BigEndian.PutUint16(pkt[10:], Checksum(pkt[:IPv4HeaderLen]))
		binary.BigEndian.PutUint16(pkt[IPv4HeaderLen+6:], 0)
		binary.BigEndian.PutUint16(pkt[IPv4HeaderLen+6:], Checksum(pkt[IPv4HeaderLen:]))
		if Checksum(pkt) != 0 {
			t.Fatalf("test packet: % x", pkt)
		}
		if n, err := vm.Run(pkt); err != nil || n == 0 {
			t.Fatalf("#%d: dropped (%v) with good checksums: % x", i, err, pkt)
		}
		bit := rng.IntN(len(pkt) * 8)
		if k := bit / 8; k == 0 || k == 8 || k == 9 || k == IPv4HeaderLen || k == IPv4HeaderLen+1 {
			continue // a field tested before the checksum
		}
		pkt[bit/8] ^= 1 << (bit % 8)
		if n, err := vm.Run(pkt); err != nil || n != 0 {
			t.Fatalf("#%d: kept (%v) with bit %d flipped: % x", i, err, bit, pkt)
		}
	}
}
