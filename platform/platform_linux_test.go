package platform

import (
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ucarp-go/ucarp/vip"
)

// inThrowawayNamespace runs fn on a thread moved into a new, unnamed
// network namespace holding a veth pair (eth0, peer0), both up. The
// namespace disappears with its last reference when fn returns.
func inThrowawayNamespace(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: a throw-away network namespace needs root; CI runs as root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"eth0", "peer0"} {
		l, _ := netlink.LinkByName(n)
		netlink.LinkSetUp(l)
	}
	fn()
}

func setLink(t *testing.T, name string, up bool) {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if up {
		err = netlink.LinkSetUp(l)
	} else {
		err = netlink.LinkSetDown(l)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// nextState waits for the next link state that satisfies ok.
func nextState(t *testing.T, ch <-chan LinkState, ok func(LinkState) bool) LinkState {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case st := <-ch:
			if ok(st) {
				return st
			}
		case <-deadline:
			t.Fatal("no such link state within 5 s")
		}
	}
}

func TestLinuxLinkEvents(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New("nosuch0"); err == nil {
			t.Fatal("New of a missing interface")
		}
		done := make(chan struct{})
		defer close(done)
		ch, err := sys.WatchLink(done)
		if err != nil {
			t.Fatal(err)
		}
		running := func(st LinkState) bool { return st.Up && st.Running }
		nextState(t, ch, running)  // the state at subscription
		setLink(t, "peer0", false) // the cable: carrier lost
		nextState(t, ch, func(st LinkState) bool { return st.Up && !st.Running })
		if st, _ := sys.LinkState(); !st.Up || st.Running {
			t.Fatalf("LinkState %+v", st)
		}
		setLink(t, "peer0", true)
		nextState(t, ch, running)
		setLink(t, "eth0", false) // ifdown
		nextState(t, ch, func(st LinkState) bool { return !st.Up })
		l, _ := netlink.LinkByName("eth0")
		netlink.LinkDel(l) // the interface goes (and its peer with it)
		nextState(t, ch, func(st LinkState) bool { return st.Gone })
		if st, _ := sys.LinkState(); !st.Gone {
			t.Fatalf("LinkState after removal %+v", st)
		}
	})
}

func TestLinuxAddresses(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		defer close(done)
		changes, err := sys.WatchAddresses(done)
		if err != nil {
			t.Fatal(err)
		}
		addrs := sys.Addresses()
		v := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/32"), Label: "eth0:ucarp", Lifetime: 4 * time.Second}
		if err := addrs.AddAddress(v); err != nil {
			t.Fatal(err)
		}
		select {
		case <-changes:
		case <-time.After(5 * time.Second):
			t.Fatal("no address event")
		}
		list, err := addrs.Addresses()
		if err != nil || !slices.ContainsFunc(list, func(a vip.Address) bool { return a.Prefix == v.Prefix && a.Label == v.Label }) {
			t.Fatalf("addresses %+v, %v", list, err)
		}
		l, _ := netlink.LinkByName("eth0")
		kernel, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		if len(kernel) != 1 || kernel[0].ValidLft <= 0 || kernel[0].ValidLft > 4 {
			t.Fatalf("lifetime not set: %+v", kernel)
		}
		// Adding again renews the lifetime instead of failing with EEXIST.
		if err := addrs.AddAddress(v); err != nil {
			t.Fatalf("renewal: %v", err)
		}
		// Deleting with another label deletes nothing: only our copy goes.
		if err := addrs.DeleteAddress(vip.Address{Prefix: v.Prefix, Label: "eth0:other"}); err == nil {
			t.Fatal("deleted an address by the wrong label")
		}
		if err := addrs.DeleteAddress(v); err != nil {
			t.Fatal(err)
		}
		if list, _ := addrs.Addresses(); len(list) != 0 {
			t.Fatalf("left %+v", list)
		}
		// A lifetime makes the kernel remove the address by itself.
		short := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.101/32"), Label: "eth0:ucarp", Lifetime: time.Second}
		if err := addrs.AddAddress(short); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if list, _ := addrs.Addresses(); len(list) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the kernel did not expire the address")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestLinuxPrivileges(t *testing.T) {
	sys := &linuxOS{}
	caps, err := effectiveCaps()
	if err != nil {
		t.Skip(err)
	}
	err = sys.CheckPrivileges(true)
	if full := caps&(1<<capNetRaw) != 0 && caps&(1<<capNetAdmin) != 0; full != (err == nil) {
		t.Fatalf("caps %x, error %v", caps, err)
	}
}
