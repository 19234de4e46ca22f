package pair

import (
	"net/netip"
	"reflect"
	"slices"
	"strconv"
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
	if s := ParseStatusJSON(`{"groups":[{"vhid":3,"state":"BACKUP"},{"vhid":10,"state":"MASTER"}]}`, "", 10); s != "MASTER" {
		t.Errorf("status --json: %q", s)
	}
	two := `{"groups":[{"interface":"eth1","vhid":10,"state":"MASTER"},{"interface":"eth0","vhid":10,"state":"BACKUP"}]}`
	if s := ParseStatusJSON(two, "eth0", 10); s != "BACKUP" {
		t.Errorf("status --json, the vhid on two interfaces: %q", s)
	}
	if s := ParseStatusJSON(`{"groups":[]}`, "", 10); s != "" {
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

// TestKernelAliases: the interface's aliases stay numbered from 0
// without a gap (FreeBSD's rc stops at the first one missing), after
// pair and after unpair.
func TestKernelAliases(t *testing.T) {
	const (
		other = "inet 203.0.113.50/32"
		v100  = "inet vhid 10 advskew 0 pass x alias 203.0.113.100/32"
		v6    = "inet6 vhid 10 advskew 0 pass x alias 2001:db8::100/64"
		v102  = "inet vhid 10 advskew 0 pass x alias 203.0.113.102/32"
		n100  = "inet vhid 10 advskew 0 pass y alias 203.0.113.100/32"
		n101  = "inet vhid 10 advskew 0 pass y alias 203.0.113.101/32"
		n6    = "inet6 vhid 10 advskew 0 pass y alias 2001:db8::100/64"
	)
	addrs := []netip.Addr{netip.MustParseAddr("203.0.113.100"), netip.MustParseAddr("203.0.113.101"), netip.MustParseAddr("2001:db8::100")}
	for _, tc := range []struct {
		name         string
		rc           []string // alias0, alias1, ... ("" for none)
		n            int      // how many of addrs
		pair, unpair []string // the layouts after pair and unpair
		stale        []string
	}{
		{name: "empty", n: 1, pair: []string{n100}},
		{name: "after the others", rc: []string{other, other}, n: 2, pair: []string{other, other, n100, n101}, unpair: []string{other, other}},
		{
			name: "each keeps its place, the new one last, the stale one's place taken",
			rc:   []string{other, v100, v6, v102}, n: 3,
			pair: []string{other, n100, n6, n101}, unpair: []string{other, "", "", ""},
			stale: []string{"203.0.113.102"},
		},
		{
			name: "a stale alias before another's moves it down",
			rc:   []string{v102, other, v100}, n: 1,
			pair: []string{other, n100, ""}, unpair: []string{other, "", ""},
			stale: []string{"203.0.113.102"},
		},
		{
			name: "unpair moves the others down",
			rc:   []string{other, v100, other, v6}, n: 3,
			pair: []string{other, n100, other, n6, n101}, unpair: []string{other, other, "", ""},
		},
		{
			name: "a gap is closed", rc: []string{other, "", other}, n: 1,
			pair: []string{other, other, n100}, unpair: []string{other, other, ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Facts{Interface: "vtnet0", RCConf: map[string]string{"ifconfig_vtnet0": "inet 203.0.113.10/24"}}
			for i, v := range tc.rc {
				if v != "" {
					f.RCConf["ifconfig_vtnet0_alias"+strconv.Itoa(i)] = v
				}
			}
			values := []string{n100, n101, n6}[:tc.n]
			pair, unpair, stale := kernelAliases(f, "10", addrs[:tc.n], values)
			for _, c := range []struct {
				what string
				got  []Setting
				want []string
			}{{"pair", pair, tc.pair}, {"unpair", unpair, tc.unpair}} {
				var got []string
				for i, s := range c.got {
					if want := "ifconfig_vtnet0_alias" + strconv.Itoa(i); s.Name != want || s.File != "/etc/rc.conf" {
						t.Errorf("%s: setting %d is %s in %s, want %s", c.what, i, s.Name, s.File, want)
					}
					got = append(got, s.Value)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("%s:\n got %q\nwant %q", c.what, got, c.want)
				}
			}
			var st []string
			for _, a := range stale {
				st = append(st, a.String())
			}
			if !slices.Equal(st, tc.stale) {
				t.Errorf("stale %q, want %q", st, tc.stale)
			}
		})
	}
}
