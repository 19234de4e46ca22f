package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestPeerOption: --peer is repeatable, IPv4 or IPv6, and reaches the
// group's config; a bad peer is a clear error and exit 1; without it the
// group is multicast, as ucarp's.
func TestPeerOption(t *testing.T) {
	base := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1", "-a", "198.51.100.100", "--vip", "2001:db8::100"}
	for _, tc := range []struct {
		args []string
		want []string // nil: refused with err
		err  string
	}{
		{nil, []string{}, ""},
		{[]string{"--peer", "198.51.100.2"}, []string{"198.51.100.2"}, ""},
		{[]string{"--peer=198.51.100.2", "--peer", "fe80::2%eth0", "--peer=2001:db8::2"}, []string{"198.51.100.2", "fe80::2%eth0", "2001:db8::2"}, ""},
		{[]string{"--peer=peer.example"}, nil, `[ERROR] Invalid peer: "peer.example" is not an IPv4 or IPv6 address`},
		{[]string{"--peer=198.51.100.1"}, nil, "[ERROR] Invalid peer: peer 198.51.100.1 is this host's own source address (srcip)"},
		{[]string{"--peer=224.0.0.18"}, nil, "[ERROR] Invalid peer: peer 224.0.0.18 is not a unicast address"},
		{[]string{"--peer=198.51.100.100"}, nil, "[ERROR] Invalid peer: peer 198.51.100.100 is one of the group's virtual addresses"},
		{[]string{"--peer=fe80::2%eth1"}, nil, "[ERROR] Invalid peer: peer fe80::2%eth1: the zone must be the group's interface eth0"},
	} {
		var stderr bytes.Buffer
		res := parseCommandLine("ucarp", append(slices.Clone(base), tc.args...), false, newLogger(&stderr, &stderr, nil), io.Discard)
		if tc.want == nil {
			if !res.done || res.exit != 1 || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("%q: exit %d, %q; want 1, %q", tc.args, res.exit, stderr.String(), tc.err)
			}
			continue
		}
		if res.done {
			t.Fatalf("%q: exit %d: %s", tc.args, res.exit, stderr.String())
		}
		got := []string{}
		for _, p := range res.cfg.Peers {
			got = append(got, p.String())
		}
		if !slices.Equal(got, tc.want) || !slices.Equal(res.cfg.GroupConfig().Peers, res.cfg.Peers) {
			t.Errorf("%q: peers %q, want %q", tc.args, got, tc.want)
		}
	}
	// An IPv6 peer of an IPv4-only group.
	var stderr bytes.Buffer
	res := parseCommandLine("ucarp", []string{"-i", "eth0", "-v", "1", "-p", "x", "-s", "198.51.100.1", "-a", "198.51.100.100",
		"--peer", "2001:db8::2"}, false, newLogger(&stderr, &stderr, nil), io.Discard)
	if !res.done || res.exit != 1 || !strings.Contains(stderr.String(), "peer 2001:db8::2 is IPv6 but the group has no IPv6 address") {
		t.Errorf("exit %d, %q", res.exit, stderr.String())
	}
}
