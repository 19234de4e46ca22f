package node

import (
	"errors"
	"net/netip"
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
		c := &addrCache{}
		h := watchedCache(t, c)
		h.Addrs().Fail(errors.New("boom"))
		c.prime()
		h.Addrs().Fail(nil)
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
		a := backupBehind(t, &lan)
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

// TestListingsFailingCopyServed: while the kernel fails every listing
// (events missed, so the copy is to be confirmed), the groups are served
// the copy, kept by the events and the daemon's own changes: a MASTER
// goes on renewing its address's lifetime (it expired before, the VIP
// gone from every host) and a group added meanwhile starts (its start
// failed). The failure is logged once, by the cache's retry; once the
// listings come back, nothing more is.
func TestListingsFailingCopyServed(t *testing.T) {
	const failed = "unable to list the addresses; listing again"
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, addrs := masterFailingListings(t, &lan)
		a.host.MissAddrEvents(func(*viptest.Addrs) {})
		adds, lists := addrs.Adds(), addrs.Listings()
		settle(20 * time.Second)
		if n := addrs.Adds() - adds; n < 15 {
			t.Errorf("%d renewals in 20 s of failed listings, want one a second; logs:\n%s", n, a.logs)
		}
		// The retries' (1, 2, 4, 8 s later), not the looks'.
		if n := addrs.Listings() - lists; n > 5 {
			t.Errorf("%d listings in 20 s of failures, want the retries' only", n)
		}
		if err := a.Apply([]Spec{a.spec(1, 0), a.spec(2, 0)}); err != nil {
			t.Fatalf("a group added while listings fail: %v", err)
		}
		settle(5 * time.Second)
		wantHolders(t, "1,2", a)
		if n, m := a.logs.count(failed), a.logs.count("[ERROR]"); n != 1 || m != 1 {
			t.Errorf("the failed listings logged %d times, %d errors, want 1; logs:\n%s", n, m, a.logs)
		}
		addrs.FailListings(nil)
		lists = addrs.Listings()
		settle(20 * time.Second)
		if addrs.Listings() == lists || a.logs.count("[ERROR]") != 1 {
			t.Errorf("after the listings came back: %d listings; logs:\n%s", addrs.Listings()-lists, a.logs)
		}
	})
}

// backupBehind starts a node on lan with group 1 (advskew 100) and a
// third host that sends a MASTER's adverts for it every second until
// the test ends, and waits 5 s: the node is BACKUP.
func backupBehind(t *testing.T, lan *platformtest.LAN) *testNode {
	t.Helper()
	a := newTestNode(lan, 11)
	peer, conn := thirdHost(t, lan, carp.IPProtocol)
	a.run(t, a.spec(1, 100))
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
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
	return a
}

// TestListingsFailingBackupRemoves: while the kernel fails every
// listing, a BACKUP whose address an administrator adds (its events
// come) is served the copy that holds it, and removes it: two hosts must
// not answer for it. It kept it before, having got the error.
func TestListingsFailingBackupRemoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := backupBehind(t, &lan)
		addrs := a.host.Addrs()
		addrs.FailListings(errors.New("ENOBUFS"))
		a.host.MissAddrEvents(func(*viptest.Addrs) {})
		settle(time.Second)
		a.host.ChangeAddresses(func(t *viptest.Addrs) { t.Add(vip.Address{Prefix: vipOf(1)}) })
		settle(time.Second)
		if addrs.Has(vipOf(1).Addr()) {
			t.Fatalf("the BACKUP kept the address while listings failed; logs:\n%s", a.logs)
		}
	})
}

// masterFailingListings is a node, MASTER of group 1, whose address
// table's listings fail from now on.
func masterFailingListings(t *testing.T, lan *platformtest.LAN) (*testNode, *viptest.Addrs) {
	t.Helper()
	a := newTestNode(lan, 11)
	a.run(t, a.spec(1, 0))
	settle(5 * time.Second)
	wantHolders(t, "1", a)
	addrs := a.host.Addrs()
	addrs.FailListings(errors.New("ENOBUFS"))
	return a, addrs
}

// TestListingsFailingOneRetry: while the listings fail, every resync (and
// every change) asks for the copy to be confirmed; the cache's retry of a
// failed listing is the one that does it. Each failure used to set a
// retry timer of its own, so a resync a second while listings failed left
// a chain of retries every 10 s per resync: 360 listings in the next
// minute instead of the one chain's 6.
func TestListingsFailingOneRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, addrs := masterFailingListings(t, &lan)
		for range 60 { // an event storm: the socket overruns once a second
			a.host.MissAddrEvents(func(*viptest.Addrs) {})
			settle(time.Second)
		}
		lists := addrs.Listings()
		settle(60 * time.Second)
		if n := addrs.Listings() - lists; n > 7 {
			t.Errorf("%d listings in the minute after the resyncs, want one retry every 10 s", n)
		}
		wantHolders(t, "1", a)
		addrs.FailListings(nil)
		lists = addrs.Listings()
		settle(15 * time.Second)
		if addrs.Listings() == lists {
			t.Errorf("no listing once they succeed again")
		}
	})
}
