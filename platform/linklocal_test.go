//go:build linux || freebsd

package platform

import (
	"net"
	"net/netip"
	"testing"
)

// TestFirstLinkLocal6: an IPv4 link-local address given as a 16-byte
// slice (as Linux gives every IPv4 address) is not an IPv6 link-local
// address.
func TestFirstLinkLocal6(t *testing.T) {
	ipnet := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip.To16()
		return n
	}
	for _, tc := range []struct {
		name  string
		addrs []net.Addr
		want  string
	}{
		{"IPv4 link-local first", []net.Addr{ipnet("169.254.1.2/16"), ipnet("fe80::1/64")}, "fe80::1"},
		{"IPv4 link-local only", []net.Addr{ipnet("198.51.100.1/24"), ipnet("169.254.1.2/16")}, ""},
		{"global then link-local", []net.Addr{ipnet("2001:db8::1/64"), ipnet("fe80::2/64")}, "fe80::2"},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := firstLinkLocal6(tc.addrs)
			if tc.want == "" {
				if ok {
					t.Fatalf("got %v, want none", a)
				}
				return
			}
			if !ok || a != netip.MustParseAddr(tc.want) {
				t.Fatalf("got %v %v, want %s", a, ok, tc.want)
			}
		})
	}
}
