package carp_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vrrp"
)

// TestSocketFilterVRRP: with VRRPv3 groups, the VRRPv3 adverts of their
// VRIDs pass however short, the CARP rules stay for version 2, and with
// no VRID the program is SocketFilter's.
func TestSocketFilterVRRP(t *testing.T) {
	src, dst := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("224.0.0.18")
	v3 := func(vrid uint8, ttl uint8) []byte {
		p := vrrp.NewPacket(src, dst, 1, vrrp.Advert{Version: 3, Type: 1, VRID: vrid, Priority: 100,
			MaxAdvertInterval: 100, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.100")}}, vrrp.ChecksumPseudoHeader)
		p.TTL = ttl
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cp := func(vhid uint8) []byte {
		p := carp.NewPacket(src, dst, 1, carp.Header{Version: 2, Type: 1, VHID: vhid, AuthLen: 7})
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	short := cp(5)[:carp.IPv4HeaderLen+20]
	ttl := func(b []byte, ttl uint8) []byte {
		b = slices.Clone(b)
		b[8] = ttl
		binary.BigEndian.PutUint16(b[10:12], 0)
		binary.BigEndian.PutUint16(b[10:12], carp.Checksum(b[:carp.IPv4HeaderLen]))
		return b
	}
	// unicast is b sent to a peer, 198.51.100.2, rather than to the group
	// (the filter does not read the destination: nor the checksums).
	unicast := func(b []byte) []byte {
		b = slices.Clone(b)
		copy(b[16:20], []byte{198, 51, 100, 2})
		return b
	}
	// keep is what the filter keeps with anyTTL false, keepAny with true.
	tests := []struct {
		name          string
		vhids, vrids  []uint8
		pkt           []byte
		keep, keepAny bool
	}{
		{"VRRPv3 of our VRID", []uint8{5}, []uint8{51}, v3(51, 255), true, true},
		{"VRRPv3 in a range", nil, []uint8{50, 51, 52}, v3(51, 255), true, true},
		{"VRRPv3 of another VRID", []uint8{51}, []uint8{50}, v3(51, 255), false, false},
		{"VRRPv3 to a unicast peer", nil, []uint8{51}, unicast(v3(51, 255)), true, true},
		{"VRRPv3 with TTL 254", nil, []uint8{51}, v3(51, 254), false, true},
		{"VRRPv3 with TTL 1, another VRID", nil, []uint8{50}, v3(51, 1), false, false},
		{"VRRPv3 without VRRP groups", []uint8{51}, nil, v3(51, 255), false, false},
		{"CARP of our vhid", []uint8{5}, []uint8{51}, cp(5), true, true},
		{"CARP of our vhid with TTL 64", []uint8{5}, []uint8{51}, ttl(cp(5), 64), false, true},
		{"CARP of a VRID only", []uint8{5}, []uint8{51}, cp(51), false, false},
		{"CARP of a VRID only with TTL 64", []uint8{5}, []uint8{51}, ttl(cp(51), 64), false, false},
		{"short CARP", []uint8{5}, []uint8{51}, short, false, false},
		{"short CARP with TTL 64", []uint8{5}, []uint8{51}, ttl(short, 64), false, false},
		{"version 1", []uint8{5}, []uint8{5}, func() []byte { b := cp(5); b[carp.IPv4HeaderLen] = 0x11; return b }(), false, false},
	}
	for _, anyTTL := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/anyTTL=%v", tt.name, anyTTL), func(t *testing.T) {
				vm, err := bpf.NewVM(carp.SocketFilterVRRP(tt.vhids, tt.vrids, anyTTL))
				if err != nil {
					t.Fatal(err)
				}
				n, err := vm.Run(tt.pkt)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.keep
				if anyTTL {
					want = tt.keepAny
				}
				if got := n != 0; got != want {
					t.Errorf("kept %v, want %v", got, want)
				}
			})
		}
	}
	for _, anyTTL := range []bool{false, true} {
		if a, b := carp.SocketFilterVRRP([]uint8{1, 2}, nil, anyTTL), carp.SocketFilterTTL([]uint8{1, 2}, anyTTL); !slices.Equal(a, b) {
			t.Errorf("anyTTL=%v without VRIDs: not SocketFilterTTL's program", anyTTL)
		}
	}
}
