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

func TestParseNDClaim(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0x5e, 0, 0, 8}
	src := netip.MustParseAddr("fe80::1")
	vaddr := netip.MustParseAddr("2001:db8::10")
	na, err := UnsolicitedNA(mac, src, vaddr, false)
	if err != nil {
		t.Fatal(err)
	}
	// Without its option, the advertisement claims at the frame's source.
	bare := bytes.Clone(na[:len(na)-8])
	bare[14+5] -= 8
	fixChecksum(bare)
	otherSrc := bytes.Clone(bare)
	copy(otherSrc[6:12], mac)
	hop := bytes.Clone(na)
	hop[14+7] = 64
	arp, _ := GratuitousARP(mac, netip.MustParseAddr("198.51.100.10"))
	for _, tc := range []struct {
		name  string
		frame []byte
		want  netip.Addr
	}{
		{"unsolicited NA", na, vaddr},
		{"padded", append(bytes.Clone(na), make([]byte, 4)...), vaddr},
		{"NA without the option", otherSrc, vaddr},
		{"hop limit 64", hop, netip.Addr{}},
		{"ARP", arp, netip.Addr{}},
		{"truncated", na[:len(na)-10], netip.Addr{}},
		{"short", na[:40], netip.Addr{}},
		{"empty", nil, netip.Addr{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseNDClaim(tc.frame)
			if !tc.want.IsValid() {
				if err == nil {
					t.Fatalf("ParseNDClaim = %+v, want an error", c)
				}
				return
			}
			if err != nil || c.Addr != tc.want || !bytes.Equal(c.MAC, mac) {
				t.Fatalf("ParseNDClaim = %+v, %v; want %v at %v", c, err, tc.want, mac)
			}
		})
	}
}

// fixChecksum recomputes the ICMPv6 checksum of an IPv6 frame.
func fixChecksum(frame []byte) {
	ip := frame[14:]
	icmp := ip[40:]
	icmp[2], icmp[3] = 0, 0
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip[8:40])
	sum += uint32(len(icmp)) + 58
	add(icmp)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	icmp[2], icmp[3] = byte(c>>8), byte(c)
}

// FuzzParseNDClaim: a claim parsed is a claim that an unsolicited NA of
// its MAC parses to again.
func FuzzParseNDClaim(f *testing.F) {
	na, _ := UnsolicitedNA(net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::5"), false)
	f.Add(na)                             // our announcement
	f.Add(append(na, make([]byte, 4)...)) // padded
	f.Add(na[:70])                        // cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseNDClaim(b)
		if err != nil {
			return
		}
		again, err := UnsolicitedNA(c.MAC, netip.MustParseAddr("fe80::1"), c.Addr, false)
		if err != nil {
			t.Fatalf("claim %+v: %v", c, err)
		}
		c2, err := ParseNDClaim(again)
		if err != nil || c2.Addr != c.Addr || !bytes.Equal(c2.MAC, c.MAC) {
			t.Fatalf("claim %+v parses again to %+v, %v", c, c2, err)
		}
	})
}
