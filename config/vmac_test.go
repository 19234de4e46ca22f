package config

import (
	"runtime"
	"strings"
	"testing"
)

// TestVMACGood: vmac = true names the macvlan after the group's protocol,
// family and id; a string names it; false (or nothing) is off; a top's
// true is every group's; the IPv4 and IPv6 routers of one VRID and a CARP
// group of another vhid have theirs side by side.
func TestVMACGood(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a virtual MAC is a Linux macvlan: refused on " + runtime.GOOS)
	}
	for _, tc := range []struct {
		name string
		toml string
		want []string // each group's VMAC
	}{
		{"off by default", vrrpMinimal + "[[group]]\nvhid = 51\naddr = \"192.0.2.100\"\n", []string{""}},
		{"false", vrrpMinimal + "[[group]]\nvhid = 51\nvmac = false\naddr = \"192.0.2.100\"\n", []string{""}},
		{"true, IPv4 router", vrrpMinimal + "[[group]]\nvhid = 51\nvmac = true\naddr = \"192.0.2.100\"\n", []string{"vrrp.51"}},
		{"true, IPv6 router", vrrpMinimal + "[[group]]\nvrid = 51\nvmac = true\naddr = \"2001:db8::100\"\n", []string{"vrrp6.51"}},
		{"a name", vrrpMinimal + "[[group]]\nvhid = 51\nvmac = \"vmac-web_1.2\"\naddr = \"192.0.2.100\"\n", []string{"vmac-web_1.2"}},
		{"15 bytes", vrrpMinimal + "[[group]]\nvhid = 51\nvmac = \"abcdefghijklmno\"\naddr = \"192.0.2.100\"\n", []string{"abcdefghijklmno"}},
		{"a top's true, a group's false", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\nvmac = true\n" +
			"[[group]]\nprotocol = \"vrrp3\"\nvhid = 1\naddr = \"192.0.2.100\"\n" +
			"[[group]]\nprotocol = \"vrrp3\"\nvrid = 1\naddr = \"2001:db8::100\"\n" +
			"[[group]]\nvhid = 2\npass = \"x\"\naddr = \"192.0.2.101\"\n" +
			"[[group]]\nvhid = 3\nvmac = false\npass = \"x\"\naddr = \"192.0.2.102\"\n",
			[]string{"vrrp.1", "vrrp6.1", "carp.2", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, g := range f.Groups {
				got = append(got, g.VMAC)
				if g.GroupConfig().VMAC != g.VMAC {
					t.Errorf("GroupConfig().VMAC %q, want %q", g.GroupConfig().VMAC, g.VMAC)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("VMAC %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVMACErrors: what a virtual MAC cannot be, each error at its line.
func TestVMACErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		want string
	}{
		{"16 bytes", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = \"abcdefghijklmnop\"\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: "abcdefghijklmnop" is longer than 15 bytes, the longest interface name`},
		{"empty", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = \"\"\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: an empty interface name: write vmac = true for the default name`},
		{"a slash", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = \"a/b\"\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: "a/b" is not an interface name`},
		{"a number", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = 1\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: must be true, false or an interface name, not an integer`},
		{"the group's interface", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = \"eth0\"\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: the virtual MAC's interface eth0 is the group's interface: name another`},
		{"scripts manage the address", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = true\nupscript = \"/up\"\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: a virtual MAC needs the daemon to manage the addresses (manage-vip): they go on its macvlan`},
		{"peers", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = true\npeer = \"192.0.2.2\"\naddr = \"192.0.2.100\"\n",
			`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vmac: a virtual MAC sends the adverts to the multicast group: it does not go with unicast peers`},
		{"nomcast", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\n[[group]]\nvhid = 1\npass = \"x\"\nnomcast = true\nvmac = true\naddr = \"192.0.2.100\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): vmac: a virtual MAC sends the adverts to the multicast group: it does not go with nomcast`},
		{"one name for two groups", vrrpMinimal + "[[group]]\nvhid = 1\nvmac = \"v\"\naddr = \"192.0.2.100\"\n" +
			"[[group]]\nvhid = 2\nvmac = \"v\"\naddr = \"192.0.2.101\"\n",
			`u.conf:8: group #2 (eth0 vrrp3 vhid 2): vmac: the virtual MAC interface v is also the one of eth0 vrrp3 vhid 1: name one with vmac = "NAME"`},
		{"the default name on two interfaces", vrrpMinimal + "vmac = true\n[[group]]\nvhid = 1\naddr = \"192.0.2.100\"\n" +
			"[[group]]\ninterface = \"eth1\"\nvhid = 1\naddr = \"192.0.2.101\"\n",
			`u.conf:8: group #2 (eth1 vrrp3 vhid 1): vmac: the virtual MAC interface vrrp.1 is also the one of eth0 vrrp3 vhid 1: name one with vmac = "NAME"`},
		{"one MAC twice on an interface", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\n" +
			"[[group]]\nprotocol = \"vrrp3\"\nvhid = 7\nvmac = true\naddr = \"192.0.2.100\"\n" +
			"[[group]]\nvhid = 7\npass = \"x\"\nvmac = true\naddr = \"192.0.2.101\"\n",
			`u.conf:8: group #2 (eth0 vhid 7): vmac: the virtual MAC 00:00:5e:00:01:07 on eth0 is also the one of eth0 vrrp3 vhid 7`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			checkErrors(t, "u.conf", err)
			if err.Error() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}
