package pair

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fam  Family
		name string
	}{
		{osDebian, Debian, "Debian GNU/Linux 12 (bookworm)"},
		{osUbuntu, Debian, "Ubuntu 24.04.1 LTS"},
		{osRocky, RHEL, "Rocky Linux 9.4 (Blue Onyx)"},
		{osCentOS, RHEL, "CentOS Linux 7 (Core)"},
		{"ID=almalinux\nID_LIKE=\"rhel centos fedora\"\nNAME=AlmaLinux\nVERSION_ID=9\n", RHEL, "AlmaLinux 9"},
		{"ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n# a comment\nPRETTY_NAME='Linux Mint 21'\n", Debian, "Linux Mint 21"},
		{osArch, Unknown, "Arch Linux"},
		{"", Unknown, "an unnamed Linux"},
	} {
		fam, name := ParseOSRelease(tc.in)
		if fam != tc.fam || name != tc.name {
			t.Errorf("%q: got %v %q, want %v %q", tc.in, fam, name, tc.fam, tc.name)
		}
	}
}

func TestParseAddresses(t *testing.T) {
	want := []Iface{{Name: "lo", Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.10/24")}}}
	got, err := ParseIPAddrJSON(ipJSON("203.0.113.10"))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ip -j: %v %+v", err, got)
	}
	if _, err := ParseIPAddrJSON("not json"); err == nil {
		t.Error("ip -j: no error on garbage")
	}
	want[0], want[1] = want[1], want[0]
	want[0].Name, want[1].Name = "vtnet0", "lo0"
	ll := netip.MustParsePrefix("fe80::5a9c:fcff:fe00:1/64")
	want[0].Addrs = append(want[0].Addrs, ll)
	if got := ParseIfconfig(ifconfig("203.0.113.10")); !reflect.DeepEqual(got, want) {
		t.Errorf("ifconfig: %+v", got)
	}
	six, err := ParseIPAddrJSON(ip6JSON)
	if err != nil || len(six) != 2 || six[1].Name != "eth0" || !slices.Equal(six[1].Addrs, []netip.Prefix{ll}) {
		t.Errorf("ip -j -6: %v %+v", err, six)
	}
}

func TestPickInterface(t *testing.T) {
	ifs := []Iface{
		{Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.100/32"), netip.MustParsePrefix("203.0.113.10/24")}},
		{Name: "eth1", Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.10/24")}},
	}
	vip := netip.MustParseAddr("203.0.113.100")
	name, src, sub, err := PickInterface(ifs, vip, "")
	if err != nil || name != "eth0" || src != netip.MustParseAddr("203.0.113.10") || sub != netip.MustParsePrefix("203.0.113.0/24") {
		t.Errorf("got %s %s %s %v", name, src, sub, err)
	}
	// The VIP held now (a rerun, the daemon adds it with the subnet's
	// prefix) is not a source.
	ifs[0].Addrs[0] = netip.MustParsePrefix("203.0.113.100/24")
	if _, src, _, _ := PickInterface(ifs, vip, ""); src != netip.MustParseAddr("203.0.113.10") {
		t.Errorf("picked the VIP itself: %s", src)
	}
	if _, _, _, err := PickInterface(ifs, vip, "eth1"); err == nil {
		t.Error("the VIP is not in eth1's subnet")
	}
}

func TestParseState(t *testing.T) {
	if s := ParseStatusJSON(`{"groups":[{"vhid":3,"state":"BACKUP"},{"vhid":10,"state":"MASTER"}]}`, 10); s != "MASTER" {
		t.Errorf("status --json: %q", s)
	}
	if s := ParseStatusJSON(`{"groups":[]}`, 10); s != "" {
		t.Errorf("no group: %q", s)
	}
	ifc := "vtnet0: flags=...\n\tcarp: BACKUP vhid 1 advbase 1 advskew 100\n\tcarp: MASTER vhid 10 advbase 1 advskew 0\n"
	if s := ParseIfconfigCARP(ifc, 10); s != "MASTER" {
		t.Errorf("ifconfig: %q", s)
	}
	if s := ParseIfconfigCARP(ifc, 1); s != "BACKUP" {
		t.Errorf("ifconfig: %q", s)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"eth0": "eth0", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "/etc/ucarp/vhid1.conf": "/etc/ucarp/vhid1.conf", "$x": "'$x'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestKernelAliases(t *testing.T) {
	f := Facts{Interface: "vtnet0", RCConf: map[string]string{
		"ifconfig_vtnet0_alias0": "inet 203.0.113.50/32",
		"ifconfig_vtnet0_alias1": "inet vhid 10 advskew 0 pass x alias 203.0.113.100/32",
		"ifconfig_vtnet0_alias3": "inet6 vhid 10 advskew 0 pass x alias 2001:db8::100/64",
		"ifconfig_vtnet0_alias4": "inet vhid 10 advskew 0 pass x alias 203.0.113.102/32",
	}}
	addrs := []netip.Addr{netip.MustParseAddr("203.0.113.100"), netip.MustParseAddr("203.0.113.101"), netip.MustParseAddr("2001:db8::100")}
	names, stale := kernelAliases(f, "10", addrs)
	// The aliases that hold an address keep it; a new one takes the first
	// free number; the one for an address no longer asked for is stale.
	if want := []string{"ifconfig_vtnet0_alias1", "ifconfig_vtnet0_alias2", "ifconfig_vtnet0_alias3"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	if len(stale) != 1 || stale[0].name != "ifconfig_vtnet0_alias4" || stale[0].addr != netip.MustParseAddr("203.0.113.102") {
		t.Errorf("stale %+v", stale)
	}
	names, stale = kernelAliases(f, "11", addrs[:1])
	if !slices.Equal(names, []string{"ifconfig_vtnet0_alias2"}) || len(stale) != 0 {
		t.Errorf("the first free alias: %q %+v", names, stale)
	}
}
