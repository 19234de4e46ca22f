package main

import (
	"bytes"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestVMACOption: --vmac without a value names the macvlan after the
// group, --vmac=NAME names it; off without it; the bad names and the
// settings it does not go with are refused with the reason.
func TestVMACOption(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a virtual MAC is a Linux macvlan: refused on " + runtime.GOOS)
	}
	base := []string{"-i", "eth0", "-v", "51", "-s", "198.51.100.1"}
	for _, tc := range []struct {
		args []string
		want string // the VMAC; "!" + part of the message: refused
	}{
		{[]string{"--protocol=vrrp3", "--vip=198.51.100.100"}, ""},
		{[]string{"--protocol=vrrp3", "--vip=198.51.100.100", "--vmac"}, "vrrp.51"},
		{[]string{"--protocol=vrrp3", "--vip=2001:db8::100", "--vmac"}, "vrrp6.51"},
		{[]string{"-p", "secret", "--vip=198.51.100.100", "--vmac"}, "carp.51"},
		{[]string{"--protocol=vrrp3", "--vip=198.51.100.100", "--vmac=vweb"}, "vweb"},
		{[]string{"--protocol=vrrp3", "--vip=198.51.100.100", "--vmac=abcdefghijklmnop"}, "!longer than 15 bytes"},
		{[]string{"--protocol=vrrp3", "--vip=198.51.100.100", "--vmac=eth0"}, "!is the group's interface"},
		{[]string{"--protocol=vrrp3", "--vip=198.51.100.100", "--vmac", "--peer=198.51.100.2"}, "!unicast peers"},
		{[]string{"-p", "secret", "--vip=198.51.100.100", "--vmac", "-M"}, "!nomcast"},
		{[]string{"-p", "secret", "--vip=198.51.100.100", "--vmac", "-u", "/up", "-d", "/down"}, "!manage the addresses"},
	} {
		var log bytes.Buffer
		res := parseCommandLine("ucarp", append(slices.Clone(base), tc.args...), false, newLogger(&log, &log, nil), io.Discard)
		if msg, refused := strings.CutPrefix(tc.want, "!"); refused {
			if !res.done || res.exit == 0 || !strings.Contains(log.String(), "Invalid --vmac: ") || !strings.Contains(log.String(), msg) {
				t.Errorf("%q: not refused with %q: %q", tc.args, msg, log.String())
			}
			continue
		}
		if res.done {
			t.Fatalf("%q: exit %d: %s", tc.args, res.exit, log.String())
		}
		if got := res.cfg.GroupConfig().VMAC; got != tc.want {
			t.Errorf("%q: VMAC %q, want %q", tc.args, got, tc.want)
		}
	}
}
