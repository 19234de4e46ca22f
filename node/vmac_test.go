package node

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/config"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
)

// vmacHolds says which of the nodes hold VRRPv3 vrid's address on their
// macvlan name: "A", "B", "AB" or "".
func vmacHolds(vrid uint8, name string, a, b *testNode) string {
	s := ""
	for i, tn := range []*testNode{a, b} {
		if v := tn.host.VMAC(name); v != nil && v.Addrs().Has(vrrpVIP(vrid).Addr()) {
			s += string(rune('A' + i))
		}
	}
	return s
}

// TestVMACNodes: two nodes whose VRRPv3 group has a virtual MAC: each
// makes its macvlan at the start; they elect one MASTER (the peer's
// adverts, from the shared virtual MAC, reach the macvlan alone, as on
// Linux), which holds the address on its macvlan and not on its
// interface, and whose adverts and gratuitous ARP leave from the virtual
// MAC; a group that stops removes its macvlan, and the other takes over.
func TestVMACNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		sa, sb := a.vspec(1, 200), b.vspec(1, 100)
		sa.Config.VMAC, sb.Config.VMAC = "vrrp.1", "vrrp.1"
		startNodes(t, a, b, []Spec{sa}, []Spec{sb})
		defer b.Stop(syscall.SIGTERM)
		const vmac = "00:00:5e:00:01:01"
		for _, tn := range []*testNode{a, b} {
			if got := tn.host.VMACs(); len(got) != 1 || got["vrrp.1"] != vmac {
				t.Fatalf("%s: macvlans %v, want vrrp.1 %s", tn.host, got, vmac)
			}
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := vmacHolds(1, "vrrp.1", a, b); got != "A" || vmasters(1, a, b) != "" {
			t.Fatalf("on the macvlans %q, on the interfaces %q; want A's macvlan alone\nA:\n%s\nB:\n%s",
				got, vmasters(1, a, b), a.logs, b.logs)
		}
		var adverts, garps int
		for _, f := range lan.Sent() {
			if f.Host != a.host {
				continue
			}
			switch {
			case !f.ARP && f.Src.String() == vmac:
				adverts++
			case !f.ARP:
				t.Fatalf("A sent an advert from %s", f.Src)
			case bytes.Equal(f.Data[6:12], []byte{0, 0, 0x5e, 0, 1, 1}):
				garps++
			default:
				t.Fatalf("A sent a frame from %x", f.Data[6:12])
			}
		}
		if adverts == 0 || garps == 0 {
			t.Fatalf("A sent %d adverts and %d gratuitous ARP from the virtual MAC", adverts, garps)
		}
		a.Stop(syscall.SIGTERM)
		if got := a.host.VMACs(); len(got) != 0 {
			t.Fatalf("A stopped: macvlans %v", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := vmacHolds(1, "vrrp.1", a, b); got != "B" {
			t.Fatalf("on the macvlans %q, want B's\nB:\n%s", got, b.logs)
		}
	})
}

// TestVMACReload: a reload that turns the virtual MAC on replaces the
// group, whose address moves to the new macvlan; turning it off removes
// the macvlan and puts the address back on the interface.
func TestVMACReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		defer a.Stop(syscall.SIGTERM)
		plain := a.vspec(1, 200)
		withVMAC := plain
		withVMAC.Config.VMAC = "vrrp.1"
		addr := vrrpVIP(1).Addr()
		step := func(what string, s Spec, onIf, onVMAC bool, vmacs int) {
			t.Helper()
			if err := a.Apply([]Spec{s}); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(10 * time.Second)
			synctest.Wait()
			v := a.host.VMAC("vrrp.1")
			if a.host.Addrs().Has(addr) != onIf || (v != nil && v.Addrs().Has(addr)) != onVMAC || len(a.host.VMACs()) != vmacs {
				t.Fatalf("%s: on the interface %v, on the macvlan %v, macvlans %v\n%s",
					what, a.host.Addrs().Has(addr), v != nil && v.Addrs().Has(addr), a.host.VMACs(), a.logs)
			}
		}
		step("start", plain, true, false, 0)
		step("vmac on", withVMAC, false, true, 1)
		step("vmac off", plain, true, false, 0)
	})
}

// TestVMACStaleOtherSide: a daemon killed while MASTER without a virtual
// MAC leaves the address on the interface, one with a virtual MAC leaves
// its macvlan with the address on it; the next start, with the other
// setting, removes them before its first election. A macvlan of the
// default name with another MAC is someone else's: it stays.
func TestVMACStaleOtherSide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		defer func() { a.Stop(syscall.SIGTERM) }() // the last node
		addr := vrrpVIP(1)
		stale := vip.Address{Prefix: addr, Label: vip.Label("eth0", 1), Proto: vip.ProtoCARP}
		if err := a.host.Addrs().AddAddress(stale); err != nil {
			t.Fatal(err)
		}
		withVMAC := a.vspec(1, 100)
		withVMAC.Config.VMAC = "vrrp.1"
		if err := a.Apply([]Spec{withVMAC}); err != nil {
			t.Fatal(err)
		}
		if a.host.Addrs().Has(addr.Addr()) {
			t.Fatalf("started with vmac: the address a run without it left is still on the interface\n%s", a.logs)
		}
		if !strings.Contains(a.logs.String(), "Removed "+addr.String()+" left on eth0 by a previous run") {
			t.Fatalf("the removal is not logged:\n%s", a.logs)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if v := a.host.VMAC("vrrp.1"); v == nil || !v.Addrs().Has(addr.Addr()) || a.host.Addrs().Has(addr.Addr()) {
			t.Fatalf("MASTER with vmac: want the address on vrrp.1 alone\n%s", a.logs)
		}

		// Killed as it is, it would leave the macvlan with the address:
		// made here after a stop; a start without vmac removes it.
		a.Stop(syscall.SIGTERM)
		v, _, err := a.host.CreateVMAC(platform.VMACOptions{Name: "vrrp.1", MAC: platform.VirtualMAC(1, false)})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Addresses().AddAddress(stale); err != nil {
			t.Fatal(err)
		}
		a.Node = New(a.Node.deps)
		if err := a.Apply([]Spec{a.vspec(1, 100)}); err != nil {
			t.Fatal(err)
		}
		if got := a.host.VMACs(); len(got) != 0 {
			t.Fatalf("started without vmac: macvlans %v left\n%s", got, a.logs)
		}
		if !strings.Contains(a.logs.String(), "Removed the macvlan vrrp.1") {
			t.Fatalf("the removal is not logged:\n%s", a.logs)
		}
		a.Stop(syscall.SIGTERM)

		// Someone else's vrrp.1: left alone.
		other, _ := net.ParseMAC("02:00:00:00:00:99")
		if _, _, err := a.host.CreateVMAC(platform.VMACOptions{Name: "vrrp.1", MAC: other}); err != nil {
			t.Fatal(err)
		}
		a.Node = New(a.Node.deps)
		if err := a.Apply([]Spec{a.vspec(1, 100)}); err != nil {
			t.Fatal(err)
		}
		if got := a.host.VMACs(); got["vrrp.1"] != other.String() {
			t.Fatalf("someone else's vrrp.1 was removed: %v\n%s", got, a.logs)
		}
	})
}

// TestDefaultVMACName: node's default macvlan name is config's.
func TestDefaultVMACName(t *testing.T) {
	for _, c := range []group.Config{
		{VHID: 7, Addr: vrrpVIP(7)},
		{VHID: 7, Addr: netip.MustParsePrefix("2001:db8::7/128")},
		{VHID: 7, Protocol: group.ProtocolVRRP3, Addr: vrrpVIP(7)},
		{VHID: 7, Protocol: group.ProtocolVRRP3, Addr: netip.MustParsePrefix("2001:db8::7/128")},
	} {
		s := Spec{Config: c}
		if got, want := defaultVMACName(c), config.DefaultVMACName(c.Protocol, s.ID().IPv6, c.VHID); got != want {
			t.Errorf("%v %v: %s, config says %s", c.Protocol, c.Addr, got, want)
		}
	}
}

// TestVMACLost: a macvlan that someone else removes or sets down stops
// its group (as its interface gone would), said at ERROR: the addresses
// are nowhere, and the next start makes it again.
func TestVMACLost(t *testing.T) {
	for _, lost := range []platform.LinkState{{Gone: true}, {Up: false}} {
		synctest.Test(t, func(t *testing.T) {
			var lan platformtest.LAN
			a := newTestNode(&lan, 11)
			defer func() { a.Stop(syscall.SIGTERM) }()
			s := a.vspec(1, 200)
			s.Config.VMAC = "vrrp.1"
			if err := a.Apply([]Spec{s}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if vmacHolds(1, "vrrp.1", a, a) == "" {
				t.Fatalf("not MASTER on its macvlan\n%s", a.logs)
			}
			a.host.VMAC("vrrp.1").SetLink(lost)
			time.Sleep(time.Second)
			synctest.Wait()
			done := a.Done(s.ID())
			synctest.Wait()
			if !strings.Contains(a.logs.String(), "[ERROR] The virtual MAC interface vrrp.1 was ") {
				t.Fatalf("%+v: not said at ERROR\n%s", lost, a.logs)
			}
			select {
			case <-done:
			default:
				t.Fatalf("%+v: the group runs on\n%s", lost, a.logs)
			}
			if got := a.host.VMACs(); len(got) != 0 || a.host.Addrs().Has(vrrpVIP(1).Addr()) {
				t.Fatalf("%+v: macvlans %v, address on the interface %v", lost, got, a.host.Addrs().Has(vrrpVIP(1).Addr()))
			}
			vmacStatus := func() string {
				for _, g := range a.Status() {
					return fmt.Sprintf("%s lost=%v", g.VMAC, g.VMACLost)
				}
				return "no group"
			}
			if got := vmacStatus(); got != "vrrp.1 lost=true" {
				t.Fatalf("%+v: status %s, want the macvlan lost", lost, got)
			}
			if err := a.Apply([]Spec{s}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if vmacHolds(1, "vrrp.1", a, a) == "" || vmacStatus() != "vrrp.1 lost=false" {
				t.Fatalf("%+v: restarted, not MASTER on a new macvlan (status %s)\n%s", lost, vmacStatus(), a.logs)
			}
		})
	}
}

// TestVMACHeldListingDelaysNoAdvert: the addresses of a group's macvlan
// make no event, so its table is listed at each look, but off the
// group's loop, one listing at a time: a MASTER at -b 0 -k 5 whose
// listing the kernel holds for a second (its rtnl lock taken by another
// process) sends every advert on time, and keeps its address.
func TestVMACHeldListingDelaysNoAdvert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		s := a.spec(1, 5)
		s.Config.AdvBase, s.Config.VMAC = 0, "carp.1"
		if err := a.Apply([]Spec{s}); err != nil {
			t.Fatal(err)
		}
		defer a.Stop(syscall.SIGTERM)
		settle(5 * time.Second)
		addrs := a.host.VMAC("carp.1").Addrs()
		if !addrs.Has(vipOf(1).Addr()) {
			t.Fatalf("the macvlan does not hold the address; logs:\n%s", a.logs)
		}
		release := addrs.BlockListing()
		defer release(nil)
		lists := addrs.Listings()
		start := time.Now()
		settle(time.Second)
		if n := addrs.Listings() - lists; n != 1 {
			t.Fatalf("%d listings started while one was held, want 1", n)
		}
		interval := carp.AdvertInterval(0, 5)
		ads := advertTimes(&lan, a.host, 1, start.Add(-interval))
		if len(ads) < int(time.Second/interval) {
			t.Fatalf("%d adverts in the second the listing was held, want %d", len(ads)-1, time.Second/interval)
		}
		for i := 1; i < len(ads); i++ {
			if gap := ads[i].Sub(ads[i-1]); gap > interval {
				t.Fatalf("advert %d came %v after the one before, want %v", i, gap, interval)
			}
		}
		release(nil)
		settle(time.Second)
		if !addrs.Has(vipOf(1).Addr()) || a.logs.count("[ERROR]") != 0 {
			t.Fatalf("after the listing: held %v; logs:\n%s", addrs.Has(vipOf(1).Addr()), a.logs)
		}
	})
}
