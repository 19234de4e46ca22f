package vip

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"

	"github.com/mdlayher/ndp"
)

// TestUnsolicitedNAVectors builds the unsolicited NAs of bsd-carp-spec §9.6
// (VIP 2001:db8::100, vhid 7's virtual MAC, from fe80::2) byte for byte,
// and parses them back.
func TestUnsolicitedNAVectors(t *testing.T) {
	mac := net.HardwareAddr{0, 0, 0x5e, 0, 1, 7}
	src, target := netip.MustParseAddr("fe80::2"), netip.MustParseAddr("2001:db8::100")
	for _, tt := range []struct {
		name   string
		router bool
		frame  string
	}{
		{"O-freebsd", false, "33330000000100005e00010786dd6000000000203afffe800000000000000000000000000002ff0200000000000000000000000000018800ca5c2000000020010db8000000000000000000000100020100005e000107"},
		{"RO-openbsd-forwarding", true, "33330000000100005e00010786dd6000000000203afffe800000000000000000000000000002ff02000000000000000000000000000188004a5ca000000020010db8000000000000000000000100020100005e000107"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, _ := hex.DecodeString(tt.frame)
			got, err := UnsolicitedNA(mac, src, target, tt.router)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame\n got %x\nwant %x", got, want)
			}
			m, err := ndp.ParseMessage(want[ethernetHeaderLen+40:])
			if err != nil {
				t.Fatal(err)
			}
			na, ok := m.(*ndp.NeighborAdvertisement)
			if !ok || na.TargetAddress != target || !na.Override || na.Solicited || na.Router != tt.router {
				t.Fatalf("parsed %+v", m)
			}
			if len(na.Options) != 1 || !bytes.Equal(na.Options[0].(*ndp.LinkLayerAddress).Addr, mac) {
				t.Fatalf("options %+v", na.Options)
			}
		})
	}
	for _, bad := range []struct {
		src, target string
		mac         net.HardwareAddr
	}{
		{"198.51.100.1", "2001:db8::100", mac},
		{"fe80::2", "198.51.100.100", mac},
		{"fe80::2", "2001:db8::100", net.HardwareAddr{1, 2}},
	} {
		if _, err := UnsolicitedNA(bad.mac, netip.MustParseAddr(bad.src), netip.MustParseAddr(bad.target), false); err == nil {
			t.Errorf("%v from %v (%v): no error", bad.target, bad.src, bad.mac)
		}
	}
}
