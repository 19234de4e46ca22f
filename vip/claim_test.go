package vip

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

func TestParseClaim(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0x5e, 0, 0, 7}
	vaddr := netip.MustParseAddr("198.51.100.10")
	garp, err := GratuitousARP(mac, vaddr)
	if err != nil {
		t.Fatal(err)
	}
	ipv4 := append(bytes.Clone(garp[:12]), 0x08, 0x00)
	ipv4 = append(ipv4, garp[14:]...)
	for _, tc := range []struct {
		name  string
		frame []byte
		want  netip.Addr
	}{
		{"gratuitous ARP", garp, vaddr},
		{"padded to 60 bytes", append(bytes.Clone(garp), make([]byte, 18)...), vaddr},
		{"IPv4, not ARP", ipv4, netip.Addr{}},
		{"short", garp[:20], netip.Addr{}},
		{"empty", nil, netip.Addr{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseClaim(tc.frame)
			if !tc.want.IsValid() {
				if err == nil {
					t.Fatalf("ParseClaim = %+v, want an error", c)
				}
				return
			}
			if err != nil || c.Addr != tc.want || !bytes.Equal(c.MAC, mac) {
				t.Fatalf("ParseClaim = %+v, %v; want %v at %v", c, err, tc.want, mac)
			}
		})
	}
}

// FuzzParseClaim: a claim parsed is a claim that a gratuitous ARP of
// its sender parses to again.
func FuzzParseClaim(f *testing.F) {
	garp, _ := GratuitousARP(net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("203.0.113.5"))
	f.Add(garp)                              // ucarp's announcement
	f.Add(append(garp, make([]byte, 18)...)) // padded by the NIC
	f.Add(garp[:30])                         // cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClaim(b)
		if err != nil {
			return
		}
		again, err := GratuitousARP(c.MAC, c.Addr)
		if err != nil {
			t.Fatalf("claim %+v: %v", c, err)
		}
		c2, err := ParseClaim(again)
		if err != nil || c2.Addr != c.Addr || !bytes.Equal(c2.MAC, c.MAC) {
			t.Fatalf("claim %+v parses again to %+v, %v", c, c2, err)
		}
	})
}
