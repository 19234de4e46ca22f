package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestAddrList: addr as a list gives the group every address, IPv4 and
// IPv6 with their default prefix lengths; the first is the scripts' $2 and
// CARP_VIPS lists them all. demote is read, a group's overriding the top.
func TestAddrList(t *testing.T) {
	toml := "interface = \"eth0\"\nsrcip = \"198.51.100.11\"\npass = \"x\"\ndemote = 3\n" +
		"[[group]]\nvhid = 1\naddr = [\"198.51.100.100\", \"2001:db8::100\", \"198.51.100.101/24\", \"2001:db8::101/64\"]\n" +
		"[[group]]\nvhid = 2\naddr = \"2001:db8::200\"\ndemote = 0\n"
	f, err := Parse("u.conf", []byte(toml), files.read)
	if err != nil {
		t.Fatal(err)
	}
	g := f.Groups[0]
	want := []netip.Prefix{
		netip.MustParsePrefix("198.51.100.100/32"), netip.MustParsePrefix("2001:db8::100/128"),
		netip.MustParsePrefix("198.51.100.101/24"), netip.MustParsePrefix("2001:db8::101/64"),
	}
	if !slices.Equal(g.Addrs(), want) || g.AddrArg != "198.51.100.100" || g.Demote != 3 {
		t.Fatalf("group 1: %v %q demote %d", g.Addrs(), g.AddrArg, g.Demote)
	}
	if got := g.VIPsEnv(); got != "198.51.100.100 2001:db8::100 198.51.100.101 2001:db8::101" {
		t.Fatalf("CARP_VIPS %q", got)
	}
	g = f.Groups[1]
	if !slices.Equal(g.Addrs(), []netip.Prefix{netip.MustParsePrefix("2001:db8::200/128")}) || g.Demote != 0 || g.MoreAddrs != nil {
		t.Fatalf("group 2: %v demote %d", g.Addrs(), g.Demote)
	}
	for _, tc := range []struct{ addr, want string }{
		{`[]`, "the list of virtual addresses is empty"},
		{`["198.51.100.100", "198.51.100.100/24"]`, "the virtual address 198.51.100.100 is listed twice"},
		{`["2001:db8::1", "::"]`, "the virtual address cannot be ::"},
		{`["2001:db8::1", "fe80::1"]`, "the virtual address fe80::1 is IPv6 link-local (fe80::/10)"},
		{`["fe80::1/64"]`, "the virtual address fe80::1 is IPv6 link-local (fe80::/10)"},
		{`["2001:db8::1", 5]`, "must be a string or an array of strings, not an integer"},
		{`["2001:db8::1/129"]`, `"2001:db8::1/129" is not an IPv4 or IPv6 address`},
	} {
		_, err := Parse("u.conf", []byte(minimal+"[[group]]\nvhid = 1\naddr = "+tc.addr+"\n"), files.read)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("addr = %s: %v, want %q", tc.addr, err, tc.want)
		}
	}
	if _, err := Parse("u.conf", []byte(minimal+"[[group]]\nvhid = 1\ndemote = 256\n"), files.read); err == nil {
		t.Error("demote = 256 accepted")
	}
}
