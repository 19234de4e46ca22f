package config

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestPeers: the peer key, a string or a list, at the top (every group's
// default) or in a group (which overrides it), IPv4 and IPv6 with a
// link-local zone.
func TestPeers(t *testing.T) {
	dual := "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\npass = \"s3cret\"\naddr = [\"192.0.2.100\", \"2001:db8::100\"]\n"
	for _, tc := range []struct {
		name string
		toml string
		want [][]string // each group's peers
	}{
		{"none", minimal + "[[group]]\nvhid = 1\n", [][]string{nil}},
		{"one, as a string", minimal + "peer = \"192.0.2.12\"\n[[group]]\nvhid = 1\n", [][]string{{"192.0.2.12"}}},
		{"a list at the top, another in a group", minimal + "peer = [\"192.0.2.12\", \"192.0.2.13\"]\n[[group]]\nvhid = 1\n[[group]]\nvhid = 2\npeer = [\"192.0.2.14\"]\n",
			[][]string{{"192.0.2.12", "192.0.2.13"}, {"192.0.2.14"}}},
		{"both families, link-local with its zone", dual + "[[group]]\nvhid = 1\npeer = [\"192.0.2.12\", \"fe80::12%eth0\", \"2001:db8::12\"]\n",
			[][]string{{"192.0.2.12", "fe80::12%eth0", "2001:db8::12"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got [][]string
			for _, g := range f.Groups {
				var ps []string
				for _, p := range g.Peers {
					ps = append(ps, p.String())
				}
				got = append(got, ps)
				if c := g.GroupConfig(); !slices.Equal(c.Peers, g.Peers) {
					t.Errorf("group.Config.Peers %v, want %v", c.Peers, g.Peers)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("peers %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPeerErrors: every bad peer is a clear error naming the file, line
// and key (as --check prints it).
func TestPeerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		want string
	}{
		{"not an address", minimal + "[[group]]\nvhid = 1\npeer = \"host.example\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: "host.example" is not an IPv4 or IPv6 address`},
		{"not a string", minimal + "[[group]]\nvhid = 1\npeer = 3\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: must be a string or an array of strings, not an integer`},
		{"empty list", minimal + "[[group]]\nvhid = 1\npeer = []\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: the list of peers is empty (leave the key out for multicast)`},
		{"own source", minimal + "[[group]]\nvhid = 1\npeer = \"192.0.2.11\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer 192.0.2.11 is this host's own source address (srcip)`},
		{"multicast", minimal + "[[group]]\nvhid = 1\npeer = \"224.0.0.18\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer 224.0.0.18 is not a unicast address`},
		{"IPv6 multicast", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\npass = \"s3cret\"\naddr = \"2001:db8::100\"\n[[group]]\nvhid = 1\npeer = \"ff02::12\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer ff02::12 is not a unicast address`},
		{"a family the group has no address in", minimal + "[[group]]\nvhid = 1\npeer = \"2001:db8::12\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer 2001:db8::12 is IPv6 but the group has no IPv6 address`},
		{"the virtual address", minimal + "[[group]]\nvhid = 1\npeer = \"192.0.2.100\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer 192.0.2.100 is one of the group's virtual addresses`},
		{"with nomcast", minimal + "[[group]]\nvhid = 1\nnomcast = true\npeer = \"192.0.2.12\"\n",
			`u.conf:8: group #1 (eth0 vhid 1): peer: peer 192.0.2.12: nomcast sends every IPv4 advert as an Ethernet broadcast; leave it out with IPv4 peers`},
		{"twice", minimal + "[[group]]\nvhid = 1\npeer = [\"192.0.2.12\", \"192.0.2.12\"]\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer 192.0.2.12 is listed twice`},
		{"zone of another interface", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\npass = \"s3cret\"\naddr = \"2001:db8::100\"\n[[group]]\nvhid = 1\npeer = \"fe80::12%eth1\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: peer fe80::12%eth1: the zone must be the group's interface eth0`},
		{"zone on a global address", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\npass = \"s3cret\"\naddr = \"2001:db8::100\"\n[[group]]\nvhid = 1\npeer = \"2001:db8::12%eth0\"\n",
			`u.conf:7: group #1 (eth0 vhid 1): peer: "2001:db8::12%eth0": only a link-local IPv6 address takes a %zone`},
		{"a bad default is reported at the top", minimal + "peer = \"224.0.0.1\"\n[[group]]\nvhid = 1\n",
			`u.conf:6: group #1 (eth0 vhid 1): peer: peer 224.0.0.1 is not a unicast address`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if got := err.Error(); !strings.Contains(got, tc.want) {
				t.Errorf("Parse:\n got %q\nwant %q", got, tc.want)
			}
			checkErrors(t, "u.conf", err)
		})
	}
}

// TestCheckPeers: CheckPeers on a group of the command line.
func TestCheckPeers(t *testing.T) {
	g := Group{Interface: "eth0", SrcIP: netip.MustParseAddr("192.0.2.11"), Addr: netip.MustParsePrefix("192.0.2.100/32"),
		Peers: []netip.Addr{netip.MustParseAddr("192.0.2.12")}}
	if msg := CheckPeers(g); msg != "" {
		t.Fatalf("a good peer: %s", msg)
	}
	g.Peers = append(g.Peers, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::ffff:192.0.2.13"))
	if msg := CheckPeers(g); !strings.Contains(msg, "loopback") || !strings.Contains(msg, "write the IPv4 address") {
		t.Fatalf("got %q", msg)
	}
}
