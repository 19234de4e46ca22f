package node

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// TestAddrCacheFollowsTheTable makes random changes to an interface's
// addresses, the daemon's through the cache (additions, renewals,
// removals) and an administrator's behind its back, each followed by its
// events as the node applies them, and checks after each that the cache
// is the table (lifetimes aside), having listed it only after its own
// additions and removals.
func TestAddrCacheFollowsTheTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		h := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParsePrefix("198.51.100.1/24"))
		done := make(chan struct{})
		defer close(done)
		events, _ := h.WatchAddresses(done)
		c := &addrCache{sys: h.Addresses()}
		go func() {
			for ev := range events {
				c.apply(ev)
			}
		}()
		rng := rand.New(rand.NewPCG(1, 2))
		prefix := func() netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + rng.IntN(4))}), []int{24, 32}[rng.IntN(2)])
		}
		ours := func(p netip.Prefix) vip.Address {
			return vip.Address{Prefix: p, Label: "eth0:ucarp", Proto: vip.ProtoCARP}
		}
		strip := func(as []vip.Address) []string {
			var out []string
			for _, a := range as {
				a.Lifetime = 0
				out = append(out, a.String())
			}
			slices.Sort(out)
			return out
		}
		var ownChanges int
		for i := range 2000 {
			var op string
			switch p := prefix(); rng.IntN(6) {
			case 0, 1:
				op = "renew or add " + p.String()
				if c.AddAddress(ours(p)) == nil {
					if _, err := c.Find(p.Addr()); err != nil {
						t.Fatal(err)
					}
				}
				ownChanges++
			case 2:
				op = "remove " + p.String()
				c.DeleteAddress(ours(p))
				ownChanges++
			case 3:
				op = "administrator adds " + p.String()
				h.ChangeAddresses(func(a *viptest.Addrs) { a.Add(vip.Address{Prefix: p}) })
			case 4:
				op = "administrator removes " + p.String()
				h.ChangeAddresses(func(a *viptest.Addrs) { a.DeleteAddress(vip.Address{Prefix: p}) })
			case 5:
				op = "administrator flushes"
				h.ChangeAddresses(func(a *viptest.Addrs) { a.Flush() })
			}
			synctest.Wait()
			want, _ := h.Addrs().Addresses()
			got, err := c.Addresses()
			if err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprint(strip(got)), fmt.Sprint(strip(want)); g != w {
				t.Fatalf("step %d (%s): cache %s, table %s", i, op, g, w)
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.lists > ownChanges {
			t.Fatalf("%d listings for %d changes of the daemon's", c.lists, ownChanges)
		}
		t.Logf("%d listings for 2000 changes, %d of them the daemon's", c.lists, ownChanges)
	})
}

// TestAddrCacheApplyChanged: the event of a renewal made through the
// cache changes nothing (lifetime aside), so the node wakes no group for
// it; any other event changes the table.
func TestAddrCacheApplyChanged(t *testing.T) {
	p := netip.MustParsePrefix("198.51.100.100/32")
	ours := vip.Address{Prefix: p, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 3 * time.Second}
	c := &addrCache{sys: viptest.New("eth0")}
	if err := c.AddAddress(ours); err != nil { // an addition: the cache lists again
		t.Fatal(err)
	}
	if _, err := c.Find(p.Addr()); err != nil {
		t.Fatal(err)
	}
	renewed := ours
	renewed.Lifetime = 2 * time.Second // the kernel's count, a moment later
	relabelled := ours
	relabelled.Label = "eth0:x"
	for _, tt := range []struct {
		name string
		ev   platform.AddrEvent
		want bool
	}{
		{"a renewal's event", platform.AddrEvent{Addr: renewed}, false},
		{"the label changed", platform.AddrEvent{Addr: relabelled}, true},
		{"the protocol changed", platform.AddrEvent{Addr: vip.Address{Prefix: p, Label: "eth0:x"}}, true},
		{"deleted", platform.AddrEvent{Addr: ours, Deleted: true}, true},
		{"deleted again", platform.AddrEvent{Addr: ours, Deleted: true}, false},
		{"added", platform.AddrEvent{Addr: ours}, true},
		{"resync", platform.AddrEvent{Resync: true}, true},
		{"anything while not known", platform.AddrEvent{Addr: ours}, true},
	} {
		if got := c.apply(tt.ev); got != tt.want {
			t.Errorf("%s: changed %v, want %v", tt.name, got, tt.want)
		}
	}
}
