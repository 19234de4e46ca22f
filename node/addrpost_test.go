package node

import (
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// TestAddrCachePostsRenewals: a renewal posted through an interface's
// cache is posted to the System below (on Linux, to the platform's one
// renewer for the process; without it, a group's renewals would each get
// a goroutine of their own again), and once its answer is in, the copy
// holds the new lifetime, as after AddAddress; a failed one makes the
// copy be confirmed by a listing.
func TestAddrCachePostsRenewals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := netip.MustParsePrefix("198.51.100.100/32")
		ours := vip.Address{Prefix: p, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 3 * time.Second}
		sys := viptest.New("eth0")
		c := &addrCache{sys: sys}
		c.prime()
		if err := c.AddAddress(ours); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the addition's listing
		renewed := ours
		renewed.Lifetime = 5 * time.Second
		done := make(chan error, 1)
		c.PostAddress(renewed, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := sys.Posts(); n != 1 {
			t.Fatalf("%d renewals posted to the System, want 1", n)
		}
		if as, err := c.Find(p.Addr()); err != nil || len(as) != 1 || as[0].Lifetime != renewed.Lifetime {
			t.Fatalf("the copy holds %v (%v), want the renewed lifetime %v", as, err, renewed.Lifetime)
		}
		lists := sys.Listings()
		boom := errors.New("boom")
		sys.Fail(boom)
		c.PostAddress(renewed, func(err error) { done <- err })
		if err := <-done; !errors.Is(err, boom) {
			t.Fatalf("answer %v, want %v", err, boom)
		}
		sys.Fail(nil)
		synctest.Wait()
		if sys.Listings() == lists {
			t.Fatal("a failed renewal was not confirmed by a listing")
		}
	})
}
