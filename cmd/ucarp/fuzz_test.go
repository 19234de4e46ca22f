package main

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// FuzzCommandLine feeds argument lists (NUL-separated) to the parser. Every
// one ends in one of two ways: a configuration the daemon can start from,
// or an exit with something printed; never a panic. Paths stay inside the
// package directory, so that -o never opens a FIFO or a device. (A fuzz
// worker must not change directory: it stops talking to the coordinator.)
func FuzzCommandLine(f *testing.F) {
	for _, seed := range [][]string{
		{"-i", "lo", "-s", "198.51.100.1", "-v", "1", "-p", "x", "-a", "198.51.100.100"},
		{"--int=lo", "--src", "198.51.100.1", "-v10", "-o", "doc.go", "-a", "198.51.100.100/24", "-k", "0x10", "-PzB"},
		{"-i", "lo", "-s", "198.51.100.1", "-v", "255", "-p", "x", "-a", "198.51.100.100", "-b", "300", "-r", "0"},
		{"--bogus"}, {"-v", "-1"}, {"-h"}, {"--passfile"}, {"--garp-count=101"}, {"--script-timeout", "1e9"},
		{"-i", "lo", "-s", "198.51.100.1", "-v", "1", "-p", "x", "-a", "198.51.100.100", "--auth=hmac-sha256", "--keyfile=doc.go",
			"--auth-mode=permissive", "--replay-window=0.5", "--relax-ttl"},
	} {
		f.Add(strings.Join(seed, "\x00"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		for _, a := range args {
			if strings.Contains(a, "..") || strings.Contains(a, "/dev") || strings.Contains(a, "/proc") ||
				strings.Contains(a, "/sys") || strings.HasPrefix(a, "/") || strings.Contains(a, "=/") {
				return
			}
		}
		var out bytes.Buffer
		r := parseCommandLine("ucarp", args, false, newLogger(&out, &out, nil), &out)
		if r.done {
			if out.Len() == 0 {
				t.Fatalf("%q: exit %d without a word", args, r.exit)
			}
			return
		}
		c := r.cfg
		switch {
		case c == nil:
			t.Fatalf("%q: neither a configuration nor an exit", args)
		case c.Interface == "" || c.VHID == 0 || len(c.Password) == 0 || c.DeadRatio == 0:
			t.Fatalf("%q: accepted an incomplete configuration %+v", args, c)
		case !c.SrcIP.Is4() || !c.Addr.IsValid() || c.Addr.Addr().IsUnspecified() || c.AdvBase == 0 && c.AdvSkew == 0:
			t.Fatalf("%q: accepted %+v", args, c)
		case slices.ContainsFunc(c.MoreAddrs, func(p netip.Prefix) bool { return p.Addr() == c.Addr.Addr() || p.Addr().IsUnspecified() }):
			t.Fatalf("%q: accepted %+v", args, c)
		case c.AddrArg == "" || strings.Contains(c.AddrArg, "/"):
			t.Fatalf("%q: script argument %q", args, c.AddrArg)
		}
	})
}
