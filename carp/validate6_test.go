package carp

import (
	"net/netip"
	"testing"
)

var (
	testSelf6 = netip.MustParseAddr("fe80::11")
	testPeer6 = netip.MustParseAddr("fe80::12")
	testVIP6  = netip.MustParseAddr("2001:db8::100")
)

// advert6 returns the CARP bytes of a valid IPv6 advert from the peer
// for 198.51.100.100 and 2001:db8::100, then lets raw change them.
func advert6(t testing.TB, raw func(b []byte)) []byte {
	t.Helper()
	h := Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: 100, AuthLen: 7, Counter: 42}
	a, err := NewAuth([]byte("carplab"), 1, []netip.Addr{testVIP, testVIP6})
	if err != nil {
		t.Fatal(err)
	}
	a.Sign(&h)
	b, _ := h.MarshalBinary()
	if raw != nil {
		raw(b)
	}
	return b
}

func TestValidator6Check(t *testing.T) {
	tests := []struct {
		name string
		raw  func(b []byte)
		src  netip.Addr
		dst  netip.Addr
		hops int
		trim int
		want DropReason
	}{
		{name: "valid", want: DropNone},
		{name: "valid, destination unknown", dst: netip.Addr{}, want: DropNone},
		{name: "valid with other type, authlen and demote", raw: func(b []byte) { b[0], b[3], b[4] = 0x22, 9, 5; fixCARPChecksum(b, 0) }, want: DropNone},
		{name: "own source", src: testSelf6, want: DropOwnSource},
		{name: "own source with zone", src: testSelf6.WithZone("eth0"), want: DropOwnSource},
		{name: "short", trim: 1, want: DropBogusSize},
		{name: "hop limit 254", hops: 254, want: DropBadTTL},
		{name: "hop limit 1", hops: 1, want: DropBadTTL},
		{name: "version 3", raw: func(b []byte) { b[0] = 0x31; fixCARPChecksum(b, 0) }, want: DropBadVersion},
		{name: "other vhid", raw: func(b []byte) { b[1] = 2; fixCARPChecksum(b, 0) }, want: DropOtherVHID},
		{name: "other group", dst: netip.MustParseAddr("ff02::1"), want: DropOtherGroup},
		{name: "bad checksum", raw: func(b []byte) { b[6]++ }, want: DropBadChecksum},
		{name: "bad digest", raw: func(b []byte) { b[20]++; fixCARPChecksum(b, 0) }, want: DropBadDigest},
	}
	a, _ := NewAuth([]byte("carplab"), 1, []netip.Addr{testVIP6, testVIP})
	v := NewValidator6(testSelf6, GroupIPv6, 1, a)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := advert6(t, tt.raw)
			b = b[:len(b)-tt.trim]
			src, dst, hops := testPeer6, GroupIPv6, HopLimit
			if tt.src.IsValid() {
				src = tt.src
			}
			if tt.dst != GroupIPv6 && (tt.dst.IsValid() || tt.name == "valid, destination unknown") {
				dst = tt.dst
			}
			if tt.hops != 0 {
				hops = tt.hops
			}
			var h Header
			d := v.Check(b, src, dst, hops, &h)
			if d.Reason != tt.want {
				t.Fatalf("%v (%s), want %v", d.Reason, d, tt.want)
			}
			if d.Accepted() && h.Counter != 42 {
				t.Fatalf("header %+v", h)
			}
		})
	}
}
