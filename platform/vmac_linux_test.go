package platform

import (
	"net"
	"os"
	"strings"

	"testing"

	"github.com/vishvananda/netlink"
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

// addMacvlan adds a macvlan of eth0, as another program would.
func addMacvlan(t *testing.T, name, mac string, mode netlink.MacvlanMode) {
	t.Helper()
	hw, _ := net.ParseMAC(mac)
	parent, err := netlink.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkAdd(&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index, HardwareAddr: hw},
		Mode: mode}); err != nil {
		t.Fatal(err)
	}
}

// TestVMACTakeover: a macvlan of the name on the interface is taken over
// only if it is one a killed daemon left (the group's MAC, private mode);
// another's is refused and left alone.
func TestVMACTakeover(t *testing.T) {
	inThrowawayNamespace(t, func() {
		l := newVMACOS(t)
		mac := VirtualMAC(9, false)
		for _, c := range []struct {
			mac  string
			mode netlink.MacvlanMode
		}{{"02:00:00:00:00:09", netlink.MACVLAN_MODE_PRIVATE}, {mac.String(), netlink.MACVLAN_MODE_BRIDGE}} {
			addMacvlan(t, "vrrp.9", c.mac, c.mode)
			_, _, err := l.CreateVMAC(VMACOptions{Name: "vrrp.9", MAC: mac})
			if err == nil || !strings.Contains(err.Error(), "not one a previous run left") {
				t.Fatalf("%s %v: CreateVMAC over another's macvlan: %v, want a clear error", c.mac, c.mode, err)
			}
			old, err := netlink.LinkByName("vrrp.9")
			if err != nil || old.Attrs().HardwareAddr.String() != c.mac {
				t.Fatalf("%s: the other's macvlan is gone or changed: %v %v", c.mac, old, err)
			}
			netlink.LinkDel(old)
		}
		addMacvlan(t, "vrrp.9", mac.String(), netlink.MACVLAN_MODE_PRIVATE)
		v, notes, err := l.CreateVMAC(VMACOptions{Name: "vrrp.9", MAC: mac})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if !strings.Contains(strings.Join(notes, "\n"), "left by a previous run") {
			t.Fatalf("notes %q: want the takeover said", notes)
		}
	})
}

// TestVMACBaseShared: the base interface's ARP settings are put back at
// the last virtual MAC on it, counting another process's (a macvlan of
// the interface with a virtual MAC, as two ucarp of one vhid each make).
func TestVMACBaseShared(t *testing.T) {
	inThrowawayNamespace(t, func() {
		l := newVMACOS(t)
		base := func() string {
			var s []string
			for _, k := range baseARP {
				s = append(s, mustSysctl(t, "ipv4", "eth0", k))
			}
			return strings.Join(s, "/")
		}
		for _, k := range baseARP {
			if err := writeSysctl("ipv4", "eth0", k, "0"); err != nil {
				t.Fatal(err)
			}
		}
		// Another process's, already up: it left the base at 0/0/0 here
		// only to see what ours does.
		addMacvlan(t, "vrrp.7", "00:00:5e:00:01:07", netlink.MACVLAN_MODE_PRIVATE)
		v, _, err := l.CreateVMAC(VMACOptions{Name: "vrrp.9", MAC: VirtualMAC(9, false)})
		if err != nil {
			t.Fatal(err)
		}
		if got := base(); got != "1/1/2" {
			t.Fatalf("base while running: %s, want 1/1/2", got)
		}
		notes, err := v.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := base(); got != "1/1/2" {
			t.Fatalf("base after ours went, the other still up: %s (notes %q), want 1/1/2 kept", got, notes)
		}
		if !strings.Contains(strings.Join(notes, "\n"), "vrrp.7") {
			t.Errorf("notes %q: want the one that keeps them named", notes)
		}
		// Alone: put back.
		old, _ := netlink.LinkByName("vrrp.7")
		netlink.LinkDel(old)
		for _, k := range baseARP {
			writeSysctl("ipv4", "eth0", k, "0")
		}
		if v, _, err = l.CreateVMAC(VMACOptions{Name: "vrrp.9", MAC: VirtualMAC(9, false)}); err != nil {
			t.Fatal(err)
		}
		v.Close()
		if got := base(); got != "0/0/0" {
			t.Fatalf("base after the last went: %s, want 0/0/0 back", got)
		}
	})
}

// TestVMACRemoveLeftover: RemoveVMAC removes the macvlan a run with the
// group's virtual MAC left, and no other.
func TestVMACRemoveLeftover(t *testing.T) {
	inThrowawayNamespace(t, func() {
		l := newVMACOS(t)
		o := VMACOptions{Name: "vrrp.9", MAC: VirtualMAC(9, false)}
		if removed, err := l.RemoveVMAC(o); removed || err != nil {
			t.Fatalf("none there: %v %v", removed, err)
		}
		addMacvlan(t, "vrrp.9", "02:00:00:00:00:09", netlink.MACVLAN_MODE_PRIVATE)
		if removed, err := l.RemoveVMAC(o); removed || err != nil {
			t.Fatalf("another's: %v %v", removed, err)
		}
		old, err := netlink.LinkByName("vrrp.9")
		if err != nil {
			t.Fatalf("another's was removed: %v", err)
		}
		netlink.LinkDel(old)
		addMacvlan(t, "vrrp.9", o.MAC.String(), netlink.MACVLAN_MODE_PRIVATE)
		if removed, err := l.RemoveVMAC(o); !removed || err != nil {
			t.Fatalf("the leftover: %v %v", removed, err)
		}
		if _, err := netlink.LinkByName("vrrp.9"); err == nil {
			t.Fatal("the leftover is still there")
		}
	})
}

// TestVMACCloseFDs: Close closes every socket of the virtual MAC, its
// addresses' netlink socket included.
func TestVMACCloseFDs(t *testing.T) {
	inThrowawayNamespace(t, func() {
		l := newVMACOS(t)
		// The descriptors open, each with what it is ("socket:[inode]"):
		// other tests' handles, collected meanwhile, close theirs (each
		// rtnl's socket opens when it is made), so what counts is that
		// none is open after Close that was not before.
		fds := func() map[string]bool {
			ents, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]bool{}
			for _, e := range ents {
				if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil { // else closed since (ReadDir's own)
					m[e.Name()+" "+target] = true
				}
			}
			return m
		}
		before := fds()
		v, _, err := l.CreateVMAC(VMACOptions{Name: "vrrp.9", MAC: VirtualMAC(9, false)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Addresses().Addresses(); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Close(); err != nil {
			t.Fatal(err)
		}
		for fd := range fds() {
			if !before[fd] {
				t.Fatalf("descriptor %s open after Close, not before", fd)
			}
		}
	})
}

// TestVMACSharesRenewals: a virtual MAC's address renewals go to the
// renewer of the interface it is made on, the node's (ShareRenewals) or
// else the interface's own: one goroutine for both, not one more per
// virtual MAC.
func TestVMACSharesRenewals(t *testing.T) {
	inThrowawayNamespace(t, func() {
		var rs Renewals
		for _, shared := range []*Renewals{&rs, nil} {
			l := newVMACOS(t)
			if shared != nil {
				l.ShareRenewals(shared)
			}
			v, _, err := l.CreateVMAC(VMACOptions{Name: "vrrp.9", MAC: VirtualMAC(9, false)})
			if err != nil {
				t.Fatal(err)
			}
			got, want := v.(*linuxVMAC).rtnl.renewals.Load(), l.rtnl.renewals.Load()
			v.Close()
			if got == nil || got != want || shared != nil && got != shared.r.Load() {
				t.Errorf("given %p: the virtual MAC's renewer %p, the interface's %p; want one for both", shared, got, want)
			}
		}
	})
}
