package node

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// watchedCache gives c the address table of eth0 of a new LAN host and
// applies the host's address events to it, as the node does, until the
// test ends; the caller primes it.
func watchedCache(t *testing.T, c *addrCache) *platformtest.Host {
	var lan platformtest.LAN
	h := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParsePrefix("198.51.100.1/24"))
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	events, _ := h.WatchAddresses(done)
	c.sys = h.Addresses()
	go func() {
		for ev := range events {
			c.apply(ev)
		}
	}()
	return h
}

// TestAddrCacheFollowsTheTable makes random changes to an interface's
// addresses, the daemon's through the cache (additions, renewals,
// removals) and an administrator's behind its back, each followed by its
// events as the node applies them, and checks after each that the cache
// is the table (lifetimes aside), having listed it only after its own
// additions and removals.
func TestAddrCacheFollowsTheTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &addrCache{}
		h := watchedCache(t, c)
		c.prime()
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
			want, _ := h.Addrs().Snapshot()
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
	c.prime()
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
		{"after a resync, the copy is served: what it holds changes nothing", platform.AddrEvent{Addr: renewed}, false},
		{"after a resync, a deletion", platform.AddrEvent{Addr: ours, Deleted: true}, true},
	} {
		if got := c.apply(tt.ev); got != tt.want {
			t.Errorf("%s: changed %v, want %v", tt.name, got, tt.want)
		}
	}
}

// advertTimes are the times of the CARP adverts of vhid that host sent
// since from.
func advertTimes(lan *platformtest.LAN, host *platformtest.Host, vhid uint8, from time.Time) []time.Time {
	var out []time.Time
	for _, f := range lan.Sent() {
		var p carp.Packet
		if !f.ARP && f.Host == host && !f.Time.Before(from) && p.UnmarshalBinary(f.Data) == nil && p.Header.VHID == vhid {
			out = append(out, f.Time)
		}
	}
	return out
}

// TestHeldListingDelaysNoAdvert: a MASTER at -b 0 -k 5 (an advert every
// 19.5 ms) whose address someone removes adds it back, which makes the
// interface's table be listed again; the kernel holds that listing for a
// second (its rtnl lock taken by another process). No advert is late
// meanwhile: the group is served the copy, which holds the address it
// added, so it does not add it back again either. Before, the group's
// next look listed the table itself and waited.
func TestHeldListingDelaysNoAdvert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		s := a.spec(1, 5)
		s.Config.AdvBase = 0
		if err := a.Apply([]Spec{s}); err != nil {
			t.Fatal(err)
		}
		defer a.Stop(syscall.SIGTERM)
		settle(5 * time.Second)
		wantHolders(t, "1", a)
		addrs := a.host.Addrs()
		release := addrs.BlockListing()
		defer release(nil) // before Stop: nothing is left waiting
		lists := addrs.Listings()
		start := time.Now()
		a.host.ChangeAddresses(func(t *viptest.Addrs) { t.DeleteAddress(vip.Address{Prefix: vipOf(1)}) })
		settle(time.Second)
		if addrs.Listings() != lists+1 {
			t.Fatalf("%d listings started while one was held, want 1", addrs.Listings()-lists)
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
		const readded = "was removed from eth0 by someone else: adding it back"
		if !addrs.Has(vipOf(1).Addr()) || a.logs.count(readded) != 1 {
			t.Fatalf("the address: held %v, added back %d times (want once); logs:\n%s",
				addrs.Has(vipOf(1).Addr()), a.logs.count(readded), a.logs)
		}
		release(nil)
		settle(time.Second)
		if !addrs.Has(vipOf(1).Addr()) || a.logs.count(readded) != 1 || a.logs.count("[ERROR]") != 0 {
			t.Fatalf("after the listing: held %v; logs:\n%s", addrs.Has(vipOf(1).Addr()), a.logs)
		}
	})
}

// TestHeldListingBackupLooksAgain: the events of an administrator's
// "ip addr add" of a BACKUP's address are lost (the kernel's resync);
// while the listing that follows is held, the group sees the copy
// without it, and once the listing is back it is told, looks again and
// removes the address: two hosts must not answer for it.
func TestHeldListingBackupLooksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := backupBehind(t, &lan)
		addrs := a.host.Addrs()
		release := addrs.BlockListing()
		defer release(nil)
		a.host.MissAddrEvents(func(t *viptest.Addrs) { t.Add(vip.Address{Prefix: vipOf(1)}) })
		settle(2 * time.Second)
		if !addrs.Has(vipOf(1).Addr()) {
			t.Fatalf("removed before the listing came back; logs:\n%s", a.logs)
		}
		release(nil)
		settle(100 * time.Millisecond)
		if addrs.Has(vipOf(1).Addr()) || a.logs.count("configured by someone else: only the MASTER may hold the virtual address") != 1 {
			t.Fatalf("the BACKUP kept the address after the listing; logs:\n%s", a.logs)
		}
	})
}

// TestAddrCacheHeldListings makes random changes to an interface's
// addresses, as TestAddrCacheFollowsTheTable does, while the kernel holds
// the listings for random stretches and sometimes loses the events of an
// administrator's change (a resync). No look ever waits (a look that did
// would block the bubble for good: synctest reports it), at most one
// listing is in flight, and once the listings are let go the copy is the
// table again, with every group told whose address the last listings
// corrected.
func TestAddrCacheHeldListings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		told := map[netip.Addr]bool{}
		var mu sync.Mutex
		c := &addrCache{notify: func(all bool, addrs []netip.Addr) {
			mu.Lock()
			defer mu.Unlock()
			for _, a := range addrs {
				told[a] = true
			}
		}}
		h := watchedCache(t, c)
		c.prime()
		rng := rand.New(rand.NewPCG(3, 4))
		prefix := func() netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + rng.IntN(4))}), []int{24, 32}[rng.IntN(2)])
		}
		ours := func(p netip.Prefix) vip.Address {
			return vip.Address{Prefix: p, Label: "eth0:ucarp", Proto: vip.ProtoCARP}
		}
		strip := func(as []vip.Address) string {
			var out []string
			for _, a := range as {
				a.Lifetime = 0
				out = append(out, a.String())
			}
			slices.Sort(out)
			return fmt.Sprint(out)
		}
		peek := func() []vip.Address { // the copy, without a look
			c.mu.Lock()
			defer c.mu.Unlock()
			return slices.Clone(c.list)
		}
		var release func(error)
		var held, resyncs int
		for i := range 3000 {
			p := prefix()
			switch rng.IntN(9) {
			case 0:
				if release == nil {
					release = h.Addrs().BlockListing()
					if rng.IntN(2) == 0 {
						release = h.Addrs().BlockListingEarly()
					}
					break
				}
				// What the listings let go change in the copy, they tell.
				before := peek()
				mu.Lock()
				clear(told)
				mu.Unlock()
				release(nil)
				release = nil
				synctest.Wait()
				after := peek()
				mu.Lock()
				for _, a := range diff(before, after) {
					if !told[a] {
						t.Fatalf("step %d: the listing changed %s (%s -> %s) and told no one", i, a, strip(before), strip(after))
					}
				}
				mu.Unlock()
			case 1, 2:
				c.AddAddress(ours(p))
			case 3:
				c.DeleteAddress(ours(p))
			case 4:
				h.ChangeAddresses(func(a *viptest.Addrs) { a.Add(vip.Address{Prefix: p}) })
			case 5:
				h.ChangeAddresses(func(a *viptest.Addrs) { a.DeleteAddress(vip.Address{Prefix: p}) })
			case 6:
				resyncs++
				h.MissAddrEvents(func(a *viptest.Addrs) { a.DeleteAddress(vip.Address{Prefix: p}) })
			case 7:
				resyncs++
				h.MissAddrEvents(func(a *viptest.Addrs) { a.Add(vip.Address{Prefix: p}) })
			case 8:
				h.ChangeAddresses(func(a *viptest.Addrs) { a.Flush() })
			}
			if rng.IntN(2) == 0 {
				if _, err := c.Find(p.Addr()); err != nil { // never waits
					t.Fatalf("step %d: %v", i, err)
				}
			}
			synctest.Wait()
			c.mu.Lock()
			if c.listing && release != nil {
				held++
			}
			c.mu.Unlock()
			if release != nil {
				continue
			}
			// Without a look (a BACKUP looks only when told): the
			// copy is confirmed, and right.
			want, _ := h.Addrs().Snapshot()
			c.mu.Lock()
			got, stale, listing := slices.Clone(c.list), c.stale, c.listing
			c.mu.Unlock()
			if g, w := strip(got), strip(want); g != w || stale || listing {
				t.Fatalf("step %d, no listing held: cache %s (stale %v, listing %v), table %s", i, g, stale, listing, w)
			}
		}
		if release != nil {
			release(nil)
			synctest.Wait()
		}
		if held < 100 || resyncs < 100 {
			t.Fatalf("only %d steps with a listing held, %d resyncs", held, resyncs)
		}
		t.Logf("%d steps with a listing held, %d resyncs, %d listings", held, resyncs, c.lists)
	})
}

// TestAddrCacheReplayBounded: while a listing is held, the events kept
// to replay on its result stay bounded: one per prefix (a replay needs
// only each prefix's last), and at most maxSeen prefixes, past which the
// listing's result is dropped for another listing's. Either way the copy
// is the table once the listings are let go.
func TestAddrCacheReplayBounded(t *testing.T) {
	pfx := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, byte(100 + i>>8), byte(i)}), 32)
	}
	for _, tt := range []struct {
		name     string
		prefixes int // distinct prefixes changed while the listing is held
		most     int // the most events kept at once
	}{
		{"few prefixes, many events", 4, 4},
		{"more prefixes than kept", 3 * maxSeen, maxSeen},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sys := viptest.New("eth0")
				c := &addrCache{sys: sys}
				c.prime()
				release := sys.BlockListingEarly() // shows the table before the events
				defer release(nil)
				c.apply(platform.AddrEvent{Resync: true})
				synctest.Wait()
				most := 0
				for i := range 10000 {
					ev := platform.AddrEvent{Addr: vip.Address{Prefix: pfx(i % tt.prefixes), Label: "eth0"}, Deleted: i/tt.prefixes%2 == 1}
					if ev.Deleted {
						sys.DeleteAddress(ev.Addr)
					} else {
						sys.Add(ev.Addr)
					}
					c.apply(ev)
					c.mu.Lock()
					most = max(most, len(c.seen))
					c.mu.Unlock()
				}
				if most > tt.most {
					t.Errorf("%d events kept for the replay, want at most %d", most, tt.most)
				}
				// The copy is right once the held listing is in, whether
				// its result was used or another listing (held too) is
				// on its way, and after that one.
				next := sys.BlockListing()
				defer next(nil)
				for _, let := range []func(error){release, next} {
					let(nil)
					synctest.Wait()
					want, _ := sys.Snapshot()
					c.mu.Lock()
					got := slices.Clone(c.list)
					c.mu.Unlock()
					key := func(a, b vip.Address) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) }
					slices.SortFunc(got, key)
					slices.SortFunc(want, key)
					if !slices.Equal(got, want) {
						t.Fatalf("copy of %d addresses, table of %d", len(got), len(want))
					}
				}
				if c.listing || c.stale {
					t.Fatalf("listing %v, stale %v after the listings", c.listing, c.stale)
				}
			})
		})
	}
}
