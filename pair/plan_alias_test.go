package pair

import (
	"net/netip"
	"testing"
)

// TestAliasRevert: a rollback puts an rc.conf alias up as rc does, with
// "alias" (FreeBSD's ifconfig without it replaces the first address), and
// the address of a value is found with "alias" before it or not.
func TestAliasRevert(t *testing.T) {
	for _, tc := range []struct {
		v, cmd, addr string
	}{
		{"inet vhid 1 pass x alias 203.0.113.10/32", "ifconfig vtnet0 inet vhid 1 pass x alias 203.0.113.10/32", "203.0.113.10"},
		{"inet 203.0.113.10/32 vhid 1 pass x", "ifconfig vtnet0 inet 203.0.113.10/32 vhid 1 pass x alias", "203.0.113.10"},
		{"inet 203.0.113.10 netmask 255.255.255.255", "ifconfig vtnet0 inet 203.0.113.10 netmask 255.255.255.255 alias", "203.0.113.10"},
		{"inet6 2001:db8::10 prefixlen 64 -alias", "ifconfig vtnet0 inet6 2001:db8::10 prefixlen 64 -alias", "2001:db8::10"},
		{"inet vhid 1 pass 198.51.100.1 203.0.113.10/32", "ifconfig vtnet0 inet vhid 1 pass 198.51.100.1 203.0.113.10/32 alias", "203.0.113.10"},
	} {
		if got := aliasCommand("vtnet0", tc.v); got != tc.cmd {
			t.Errorf("%q: %q, want %q", tc.v, got, tc.cmd)
		}
		if got := aliasAddr(tc.v); got != netip.MustParseAddr(tc.addr) {
			t.Errorf("%q: address %v, want %s", tc.v, got, tc.addr)
		}
	}
}
