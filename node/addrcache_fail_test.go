package node

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// TestAddrCacheEventDuringFirstListing: after a failed first listing, an
// event that comes while the next one runs is not lost when it lands
// (found by review: the copy lacked the address for good).
func TestAddrCacheEventDuringFirstListing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		h := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParsePrefix("198.51.100.1/24"))
		done := make(chan struct{})
		defer close(done)
		events, _ := h.WatchAddresses(done)
		c := &addrCache{sys: h.Addresses()}
		h.Addrs().Fail(errors.New("boom"))
		c.prime()
		h.Addrs().Fail(nil)
		go func() {
			for ev := range events {
				c.apply(ev)
			}
		}()
		release := h.Addrs().BlockListingEarly()
		c.Find(netip.MustParseAddr("198.51.100.100")) // starts the listing
		synctest.Wait()
		h.ChangeAddresses(func(a *viptest.Addrs) { a.Add(vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/32")}) })
		synctest.Wait()
		release(nil)
		synctest.Wait()
		got, err := c.Find(netip.MustParseAddr("198.51.100.100"))
		synctest.Wait()
		got2, _ := c.Find(netip.MustParseAddr("198.51.100.100"))
		want, _ := h.Addrs().Snapshot()
		t.Logf("copy %v %v (again %v) stale=%v; table %v", got, err, got2, c.stale, want)
		if len(got2) == 0 {
			t.Errorf("copy lacks the address the kernel has, and no listing follows")
		}
	})
}

// TestAddrCacheFailedListingRetried: a BACKUP looks only when told, so a
// failed listing is logged and made again by the cache itself; the
// address someone added meanwhile (its events lost) is then removed.
func TestAddrCacheFailedListingRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		peer, conn := thirdHost(t, &lan, carp.IPProtocol)
		if err := a.Apply([]Spec{a.spec(1, 100)}); err != nil {
			t.Fatal(err)
		}
		defer a.Stop(syscall.SIGTERM)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				conn.WritePacket(advert(peer, 1, 0))
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
			}
		}()
		settle(5 * time.Second)
		wantHolders(t, "", a)
		addrs := a.host.Addrs()
		release := addrs.BlockListing()
		a.host.MissAddrEvents(func(t *viptest.Addrs) { t.Add(vip.Address{Prefix: vipOf(1)}) })
		settle(2 * time.Second)
		release(errors.New("ETIMEDOUT"))
		settle(60 * time.Second)
		t.Logf("after 60 s: BACKUP holds the VIP: %v; errors logged: %d; listings %d", addrs.Has(vipOf(1).Addr()), a.logs.count("[ERROR]"), addrs.Listings())
		if addrs.Has(vipOf(1).Addr()) {
			t.Errorf("BACKUP still holds the address 60 s after the failed listing")
		}
		if n := a.logs.count("unable to list the addresses"); n != 0 {
			t.Errorf("the failed listing logged %d times, want none (its retry succeeded)", n)
		}
	})
}
