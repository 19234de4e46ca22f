package carp

import (
	"bytes"
	"net/netip"
	"testing"
)

// The seed corpora of the IPv6 targets are in testdata/fuzz/FuzzPacket6
// and testdata/fuzz/FuzzValidator6; f.Add adds the §9.5 frames on top.

func addVectorSeeds6(f *testing.F) {
	for _, v := range bsdFrames6() {
		b := mustHex(f, v.frame)
		if len(b) > HeaderLen {
			b = b[ethernetHeaderLen:]
		}
		f.Add(b)
	}
}

// FuzzPacket6 parses an IPv6 packet, re-encodes it and parses it again:
// the fields must survive, and the re-encoded CARP header must sum to zero.
func FuzzPacket6(f *testing.F) {
	addVectorSeeds6(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet6
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		if len(enc) != Packet6Len || Checksum(enc[IPv6HeaderLen:]) != 0 {
			t.Fatalf("bad re-encoding %x", enc)
		}
		if !bytes.Equal(enc[:4], b[:4]) || !bytes.Equal(enc[6:IPv6HeaderLen], b[6:IPv6HeaderLen]) {
			t.Fatalf("re-encoding changed the IPv6 header: %x -> %x", b[:IPv6HeaderLen], enc[:IPv6HeaderLen])
		}
		var q Packet6
		if err := q.UnmarshalBinary(enc); err != nil {
			t.Fatalf("parsing the re-encoding %x: %v", enc, err)
		}
		p.PayloadLen, q.PayloadLen = 0, 0
		p.Header.Checksum, q.Header.Checksum = 0, 0
		if p != q {
			t.Fatalf("round trip changed the packet\n%+v\n%+v", p, q)
		}
	})
}

// FuzzValidator6 feeds arbitrary CARP bytes (from a peer, to ff02::12,
// with the hop limit of the first byte of the input plus one) to the IPv6
// acceptance checks: they never panic, every outcome is a known reason,
// and an accepted advert stays accepted once re-encoded.
func FuzzValidator6(f *testing.F) {
	for _, v := range bsdFrames6() {
		b := mustHex(f, v.frame)
		f.Add(append([]byte{HopLimit - 1}, b[len(b)-HeaderLen:]...))
	}
	auth, _ := NewAuth([]byte("v6pass"), 7, addrs("2001:db8::100", "fe80::1"))
	v := NewValidator6(netip.MustParseAddr("fe80::9"), GroupIPv6, 7, auth)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		hops := int(b[0]) + 1
		var h Header
		d := v.Check(b[1:], bsdSrc6, GroupIPv6, hops, &h)
		if d.Reason >= NumDropReasons {
			t.Fatalf("unknown reason %d", d.Reason)
		}
		_ = d.String()
		if !d.Accepted() {
			return
		}
		if hops != HopLimit {
			t.Fatalf("accepted with hop limit %d", hops)
		}
		p := NewPacket6(bsdSrc6, GroupIPv6, h)
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if d := v.Check(enc[IPv6HeaderLen:], bsdSrc6, GroupIPv6, HopLimit, &h); !d.Accepted() {
			t.Fatalf("re-encoded advert refused: %v", d)
		}
	})
}
