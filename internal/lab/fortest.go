//go:build linux

package lab

import "testing"

// NewForTest builds a lab for the test t: t is skipped where the lab
// cannot run, the daemons' logs are printed if t fails, and everything is
// removed when t ends; IPv6 is on when ipv6.
func NewForTest(t testing.TB, o Options, ipv6 bool) *Lab {
	t.Helper()
	if err := Check(); err != nil {
		t.Skipf("skipped: %v; CI runs these tests as root", err)
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range l.Procs() {
				t.Logf("---- %s/%s (pid %d) %v\n%s", p.Host.Name, p.Name, p.Pid(), p.Argv, p.Log())
			}
		}
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	if ipv6 {
		if err := l.EnableIPv6(); err != nil {
			t.Fatal(err)
		}
	}
	return l
}
