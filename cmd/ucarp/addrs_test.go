package main

import (
	"io"
	"slices"
	"testing"
)

// TestRepeatedAddr: one -a is ucarp's; the same address again replaces it
// (ucarp's last -a wins); another --addr is one more address of the group,
// IPv4 or IPv6 with its default prefix length. --demote sets the byte.
func TestRepeatedAddr(t *testing.T) {
	base := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1"}
	for _, tc := range []struct {
		args  []string
		want  []string // every address, the first first; nil: refused
		arg   string
		demot uint8
	}{
		{[]string{"-a", "198.51.100.2"}, []string{"198.51.100.2/32"}, "198.51.100.2", 0},
		{[]string{"-a", "198.51.100.2", "-a", "198.51.100.2/24"}, []string{"198.51.100.2/24"}, "198.51.100.2", 0},
		{[]string{"-a", "198.51.100.2", "--addr", "2001:db8::2", "--addr=198.51.100.3/24", "--addr", "2001:db8::3/64", "--demote", "7"},
			[]string{"198.51.100.2/32", "2001:db8::2/128", "198.51.100.3/24", "2001:db8::3/64"}, "198.51.100.2", 7},
		{[]string{"--addr", "2001:db8::2", "--addr", "2001:db8::3", "--addr", "2001:db8::3/64"},
			[]string{"2001:db8::2/128", "2001:db8::3/64"}, "2001:db8::2", 0},
		{[]string{"-a", "198.51.100.2", "--addr", "::"}, nil, "", 0},
		{[]string{"-a", "198.51.100.2", "--demote", "256"}, nil, "", 0},
		{[]string{"-a", "fe80::1%eth0"}, nil, "", 0},
	} {
		res := parseCommandLine("ucarp", append(slices.Clone(base), tc.args...), false, newLogger(io.Discard, io.Discard, nil), io.Discard)
		if tc.want == nil {
			if !res.done || res.exit == 0 {
				t.Errorf("%q: accepted", tc.args)
			}
			continue
		}
		if res.done {
			t.Fatalf("%q: exit %d", tc.args, res.exit)
		}
		var got []string
		for _, p := range res.cfg.Addrs() {
			got = append(got, p.String())
		}
		if !slices.Equal(got, tc.want) || res.cfg.AddrArg != tc.arg || res.cfg.Demote != tc.demot {
			t.Errorf("%q: %q %q demote %d, want %q %q %d", tc.args, got, res.cfg.AddrArg, res.cfg.Demote, tc.want, tc.arg, tc.demot)
		}
	}
}
