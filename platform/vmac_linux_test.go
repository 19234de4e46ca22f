package platform

import (
	"testing"
)

// newVMACOS is the linuxOS of eth0 in a throw-away namespace.
func newVMACOS(t *testing.T) *linuxOS {
	t.Helper()
	sys, err := New("eth0")
	if err != nil {
		t.Fatal(err)
	}
	return sys.(*linuxOS)
}

func mustSysctl(t *testing.T, fam, ifname, key string) string {
	t.Helper()
	v, err := readSysctl(fam, ifname, key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVMACIPv6Quiet: a macvlan with IPv6 takes no Router Advertisement
// and makes no SLAAC address (the virtual MAC's, on every host of the
// group) and sends no DAD, set before it is up.
func TestVMACIPv6Quiet(t *testing.T) {
	inThrowawayNamespace(t, func() {
		l := newVMACOS(t)
		v, _, err := l.CreateVMAC(VMACOptions{Name: "vrrp6.9", MAC: VirtualMAC(9, true), IPv6: true})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		for k, want := range map[string]string{"accept_ra": "0", "autoconf": "0", "dad_transmits": "0", "disable_ipv6": "0"} {
			if got := mustSysctl(t, "ipv6", "vrrp6.9", k); got != want {
				t.Errorf("net.ipv6.conf.vrrp6.9.%s = %s, want %s", k, got, want)
			}
		}
	})
}
