package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/group"
)

// vrrpMinimal is a file's top for vrrp3 groups: no pass.
const vrrpMinimal = `interface = "eth0"
srcip = "192.0.2.11"
protocol = "vrrp3"
`

// TestVRRP3Good: the keys of a vrrp3 group, their defaults, vrid as
// vhid's synonym, IPv4 and IPv6 routers of one VRID side by side, and a
// CARP group of the same vhid.
func TestVRRP3Good(t *testing.T) {
	for _, tc := range []struct {
		name  string
		toml  string
		check func(f *File) string
	}{
		{"defaults", vrrpMinimal + "[[group]]\nvhid = 51\naddr = \"192.0.2.100\"\n", func(f *File) string {
			g := f.Groups[0]
			if g.Protocol != group.ProtocolVRRP3 || g.Priority != 100 || g.AdvertInterval != 100 ||
				g.VRRPChecksum != group.ChecksumAuto || g.NoPreempt || g.Preempt || len(g.Password) != 0 {
				return "defaults"
			}
			if c := g.GroupConfig(); c.Protocol != group.ProtocolVRRP3 || c.Priority != 100 || c.AdvertInterval != 100 {
				return "GroupConfig"
			}
			return ""
		}},
		{"every key", vrrpMinimal + "[[group]]\nvrid = 51\naddr = \"192.0.2.100\"\npriority = 255\nadvert-interval = 4095\n" +
			"vrrp-checksum = \"message-only\"\npreempt = false\npreempt-delay = 30\n", func(f *File) string {
			g := f.Groups[0]
			if g.VHID != 51 || g.Priority != 255 || g.AdvertInterval != 4095 || g.VRRPChecksum != group.ChecksumForceMessageOnly || !g.NoPreempt ||
				g.PreemptDelay != 30*time.Second || g.GroupConfig().PreemptDelay != 30*time.Second {
				return "keys"
			}
			return ""
		}},
		{"both families and CARP with one vhid", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\n" +
			"[[group]]\nprotocol = \"vrrp3\"\nvhid = 1\naddr = \"192.0.2.100\"\n" +
			"[[group]]\nprotocol = \"vrrp3\"\nvrid = 1\naddr = [\"2001:db8::100\", \"2001:db8::101\"]\n" +
			"[[group]]\nvhid = 1\npass = \"x\"\naddr = \"192.0.2.101\"\n", func(f *File) string {
			if len(f.Groups) != 3 || !f.Groups[1].ID().IPv6 || f.Groups[0].ID() == f.Groups[2].ID() {
				return "three groups"
			}
			if f.Groups[2].Protocol != group.ProtocolCARP || f.Groups[2].Priority != 0 {
				return "the CARP group"
			}
			return ""
		}},
		{"unicast peers", vrrpMinimal + "[[group]]\nvhid = 1\npeer = [\"192.0.2.2\", \"192.0.2.3\"]\naddr = \"192.0.2.100\"\n" +
			"[[group]]\nvhid = 1\npeer = \"fe80::2\"\naddr = \"2001:db8::100\"\n", func(f *File) string {
			if len(f.Groups[0].Peers) != 2 || len(f.Groups[1].Peers) != 1 || len(f.Groups[1].GroupConfig().Peers) != 1 {
				return "peers"
			}
			return ""
		}},
		{"preempt = true is the default", vrrpMinimal + "preempt = true\n[[group]]\nvhid = 1\naddr = \"192.0.2.100\"\n", func(f *File) string {
			if f.Groups[0].NoPreempt || f.Groups[0].Preempt {
				return "preempt"
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if what := tc.check(f); what != "" {
				t.Errorf("%s: %+v", what, f.Groups)
			}
			if len(f.Warnings) != 0 {
				t.Errorf("warnings: %v", f.Warnings)
			}
		})
	}
}

func TestVRRP3Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		want []string
	}{
		{"two families", vrrpMinimal + "[[group]]\nvhid = 1\naddr = [\"192.0.2.100\", \"2001:db8::100\"]\n",
			[]string{"u.conf:6: group #1 (eth0 vrrp3 vhid 1): addr: a vrrp3 group's addresses are of one family " +
				"(a VRRP virtual router is IPv4 or IPv6): make two groups with the same vhid, one per family"}},
		{"vhid and vrid", vrrpMinimal + "[[group]]\nvhid = 1\nvrid = 1\naddr = \"192.0.2.100\"\n",
			[]string{"u.conf:6: group #1 (eth0 vrrp3 vhid 1): vrid: vhid and vrid are both written: vrid is vhid's other name, keep one"}},
		{"unknown protocol", vrrpMinimal + "[[group]]\nvhid = 1\nprotocol = \"vrrp2\"\naddr = \"192.0.2.100\"\n",
			[]string{`u.conf:6: group #1 (eth0 vrrp3 vhid 1): protocol: "vrrp2" is not a protocol: carp or vrrp3`}},
		{"priority 0", vrrpMinimal + "[[group]]\nvhid = 1\npriority = 0\naddr = \"192.0.2.100\"\n",
			[]string{"u.conf:6: group #1 (eth0 vrrp3 vhid 1): priority: 0 is out of range 1-255"}},
		{"interval 4096", vrrpMinimal + "[[group]]\nvhid = 1\nadvert-interval = 4096\naddr = \"192.0.2.100\"\n",
			[]string{"u.conf:6: group #1 (eth0 vrrp3 vhid 1): advert-interval: 4096 is out of range 1-4095 (centiseconds)"}},
		{"checksum", vrrpMinimal + "[[group]]\nvhid = 1\nvrrp-checksum = \"v2\"\naddr = \"192.0.2.100\"\n",
			[]string{`u.conf:6: group #1 (eth0 vrrp3 vhid 1): vrrp-checksum: "v2" is not a checksum mode: auto, message-only or pseudo-header`}},
		{"the same router twice", vrrpMinimal + "[[group]]\nvhid = 1\naddr = \"192.0.2.100\"\n[[group]]\nvrid = 1\naddr = \"192.0.2.101\"\n",
			[]string{"u.conf:7: group #2 (eth0 vrrp3 vhid 1): the same interface and vhid as the group at line 4"}},
		{"preempt-delay", vrrpMinimal + "[[group]]\nvhid = 1\npreempt-delay = -1\naddr = \"192.0.2.100\"\n",
			[]string{"u.conf:6: group #1 (eth0 vrrp3 vhid 1): preempt-delay: -1 is out of range 0-3600 (seconds)"}},
		{"a global IPv6 peer", vrrpMinimal + "[[group]]\nvhid = 1\npeer = \"2001:db8::2\"\naddr = \"2001:db8::100\"\n",
			[]string{"u.conf:6: group #1 (eth0 vrrp3 vhid 1 ipv6): peer: peer 2001:db8::2: a vrrp3 IPv6 group's peers are link-local addresses (VRRPv3 adverts come from the link-local address)"}},
		{"a peer of the other family", vrrpMinimal + "[[group]]\nvhid = 1\npeer = \"fe80::2\"\naddr = \"192.0.2.100\"\n", nil},
		{"a misspelt key", vrrpMinimal + "[[group]]\nvhid = 1\npriorty = 5\naddr = \"192.0.2.100\"\n", nil},
		{"no vhid nor vrid", vrrpMinimal + "[[group]]\naddr = \"192.0.2.100\"\n",
			[]string{"u.conf:4: group #1: vhid: missing: the virtual host id, 1-255"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			checkErrors(t, "u.conf", err)
			if tc.want != nil {
				if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("got\n%s\nwant\n%s", err, strings.Join(tc.want, "\n"))
				}
			}
		})
	}
}

// TestVRRP3PassWarns: pass has no effect on a vrrp3 group: a warning,
// not an error, and the group is valid.
func TestVRRP3PassWarns(t *testing.T) {
	f, err := Parse("u.conf", []byte(vrrpMinimal+"[[group]]\nvhid = 1\npass = \"x\"\naddr = \"192.0.2.100\"\n"), files.read)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || f.Warnings[0].Error() != "u.conf:6: group #1 (eth0 vrrp3 vhid 1): pass: VRRPv3 has no authentication: pass is not used by a vrrp3 group" {
		t.Fatalf("warnings %q", f.Warnings)
	}
	if f.Groups[0].Addr != netip.MustParsePrefix("192.0.2.100/32") {
		t.Errorf("%+v", f.Groups[0])
	}
}
