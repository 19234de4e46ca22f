package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPairUsage: mistakes in pair's command line are usage errors (exit
// 2) found before any host is reached.
func TestPairUsage(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	long := filepath.Join(dir, "long")
	os.WriteFile(long, []byte("twenty bytes is long\n"), 0o600)
	ok := []string{"--vip=203.0.113.100/24", "--vhid=10", "--passfile=" + pass}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"pair", "a"}, exitUsage, "needs two hosts"},
		{[]string{"pair", "--vhid=10", "a", "b"}, exitUsage, "--vip is required"},
		{[]string{"pair", "--vip=203.0.113.100", "--vip=203.0.113.100/24", "--vhid=10", "a", "b"}, exitUsage, "the VIP 203.0.113.100 is given twice"},
		{[]string{"pair", "--vip=2001:db8::100/64", "--vhid=10", "a", "b"}, exitUsage, "no IPv4 VIP"},
		{[]string{"pair", "--vip=203.0.113.100", "--vip=ff02::1", "--vhid=10", "a", "b"}, exitUsage, "not a unicast address"},
		{[]string{"pair", "--vip=bogus", "--vhid=10", "a", "b"}, exitUsage, "not ADDR or ADDR/PREFIX"},
		{[]string{"pair", "--vip=203.0.113.100", "a", "b"}, exitUsage, "--vhid is required"},
		{append([]string{"pair", "--freebsd=jail"}, append(ok, "a", "b")...), exitUsage, "ours or kernel"},
		{append([]string{"pair", "--preferred=c"}, append(ok, "a", "b")...), exitUsage, "neither host"},
		{[]string{"pair", "--vip=203.0.113.100", "--vhid=10", "--passfile=" + long, "a", "b"}, exitError, "ucarp keeps 19"},
		{[]string{"pair", "--vip=203.0.113.100", "--vhid=10", "--passfile=" + filepath.Join(dir, "none"), "a", "b"}, exitError, "--passfile"},
		{[]string{"sniff", "--vhid=10"}, exitUsage, "usage: ucarpctl sniff"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"pair", "--help"}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), "--verify-failover") {
		t.Errorf("pair --help: %d %q", code, out.String())
	}
}
