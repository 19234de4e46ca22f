package group

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
)

// fastMaster starts a group at -b 0 -k 5 (an advert every 19.53 ms, a
// 2 s lifetime renewed about once a second) and lets it become MASTER.
func fastMaster(t *testing.T) *harness {
	h := startHarness(t, func(c *testConfig) { c.AdvBase, c.AdvSkew = 0, 5 })
	h.at(5 * time.Second)
	if h.state() != carp.Master {
		t.Fatalf("state %v", h.state())
	}
	return h
}

// waitRenewalPosted blocks the renewals and waits, on the fake clock, for
// the next one to be posted; it returns how to let it go.
func waitRenewalPosted(t *testing.T, h *harness) (release func(error), adds int) {
	t.Helper()
	release = h.addrs.Block()
	n0 := h.addrs.Adds()
	for i := 0; h.addrs.Adds() == n0; i++ {
		if i > 2000 {
			release(nil)
			t.Fatal("no renewal in 2 s")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
	}
	return release, h.addrs.Adds()
}

// TestLoopRenewalNeverDelaysAdverts: a renewal the kernel holds for a
// second (its rtnl lock taken by another process) delays no advert of a
// MASTER at -b 0 -k 5, and no other renewal is posted meanwhile; once
// back, it counts from when it was posted.
func TestLoopRenewalNeverDelaysAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := fastMaster(t)
		defer h.close()
		release, adds := waitRenewalPosted(t, h)
		a0 := len(h.conn.adverts())
		time.Sleep(time.Second)
		synctest.Wait()
		if n := h.addrs.Adds() - adds; n != 0 {
			release(nil)
			t.Fatalf("%d renewals posted while one was in flight", n)
		}
		interval := carp.AdvertInterval(0, 5)
		ads := h.conn.adverts()[a0-1:]
		if len(ads) < int(time.Second/interval) {
			release(nil)
			t.Fatalf("%d adverts in the second the renewal was held, want %d", len(ads)-1, time.Second/interval)
		}
		for i := 1; i < len(ads); i++ {
			if gap := ads[i].at.Sub(ads[i-1].at); gap > interval {
				release(nil)
				t.Fatalf("advert %d came %v after the one before, want %v", i, gap, interval)
			}
		}
		release(nil)
		synctest.Wait()
		// Posted a second ago, the renewal is due again at once: one more,
		// then none for about half the lifetime. Without the result
		// applied, every tick would renew.
		adds = h.addrs.Adds()
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if n := h.addrs.Adds() - adds; n != 1 {
			t.Fatalf("%d renewals in the 500 ms after the held one came back, want 1", n)
		}
		if !h.addrs.Has(loopVIP.Addr()) {
			t.Fatal("the address is gone")
		}
	})
}

// TestLoopRenewalInFlightAtStepDown: a MASTER that steps down while its
// renewal is held removes the address only once the renewal is done: a
// renewal after the removal would add the address back (a replace
// creates what is not there). The late result changes nothing.
func TestLoopRenewalInFlightAtStepDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := fastMaster(t)
		defer h.close()
		release, adds := waitRenewalPosted(t, h)
		h.receive(0, 1, nil) // a better MASTER: step down (the removal waits)
		time.Sleep(10 * time.Millisecond)
		release(nil)
		synctest.Wait()
		if h.state() != carp.Backup {
			t.Fatalf("state %v; logs:\n%s", h.state(), h.logs)
		}
		if h.addrs.Has(loopVIP.Addr()) {
			t.Fatal("the held renewal put the address back after the step-down")
		}
		for range 200 { // the better MASTER goes on: one second more
			time.Sleep(5 * time.Millisecond)
			h.receive(0, 1, nil)
		}
		if h.state() != carp.Backup || h.addrs.Has(loopVIP.Addr()) || h.addrs.Adds() != adds {
			t.Fatalf("the late renewal's result added the address back: %d adds since; logs:\n%s", h.addrs.Adds()-adds, h.logs)
		}
	})
}

// TestLoopRenewalFailure: a renewal that fails is logged when its result
// comes back, and the address looked at again: gone, a MASTER adds it back
// at once.
func TestLoopRenewalFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := fastMaster(t)
		defer h.close()
		release, _ := waitRenewalPosted(t, h)
		h.addrs.DeleteAddress(vip.Address{Prefix: loopVIP}) // no event: missed
		release(errors.New("boom"))
		synctest.Wait()
		if h.logs.count("[ERROR] Unable to renew the virtual address on eth0: boom") != 1 {
			t.Fatalf("logs:\n%s", h.logs)
		}
		if !h.addrs.Has(loopVIP.Addr()) || h.logs.count("was removed from eth0 by someone else: adding it back") != 1 {
			t.Fatalf("the address was not added back; logs:\n%s", h.logs)
		}
		// Renewed again at the next tick (the failed one moved nothing).
		adds := h.addrs.Adds()
		time.Sleep(carp.AdvertInterval(0, 5))
		synctest.Wait()
		if h.addrs.Adds() == adds {
			t.Fatal("not renewed after the failure")
		}
	})
}

// TestLoopRenewalStaleAfterReload: a reload that gives the address
// another lifetime while a renewal (of the old one) is held makes its
// result stale: the new lifetime is given at the next tick, not half a
// lifetime later.
func TestLoopRenewalStaleAfterReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := fastMaster(t)
		defer h.close()
		release, _ := waitRenewalPosted(t, h)
		cfg := *h.d.cfg
		cfg.DeadRatio = 200 // a 4 s lifetime
		if err := h.d.Reconfigure(cfg); err != nil {
			release(nil)
			t.Fatal(err)
		}
		release(nil)
		synctest.Wait()
		adds := h.addrs.Adds()
		time.Sleep(carp.AdvertInterval(0, 5))
		synctest.Wait()
		if h.addrs.Adds() == adds {
			t.Fatal("the stale renewal's result postponed the new lifetime")
		}
		if as, _ := h.addrs.Addresses(); len(as) != 1 || as[0].Lifetime != vipLifetime(&cfg) {
			t.Fatalf("addresses %v, want the lifetime %v", as, vipLifetime(&cfg))
		}
	})
}

// plantForeign puts, behind the group's back (no event), a copy of the
// address that someone else configured in place of the daemon's: the
// next renewal takes it over.
func plantForeign(h *harness) {
	h.addrs.DeleteAddress(vip.Address{Prefix: loopVIP})
	h.addrs.Add(vip.Address{Prefix: loopVIP, Label: "eth0"})
}

const takenOver = "Virtual address 198.51.100.100 was on eth0, configured by someone else (198.51.100.100/32 label eth0): taken over"

// TestLoopRenewalTakeoverNamedWhenStale: a renewal that took over a copy
// someone else configured names it, even when its result comes back
// stale: after a step-down, whose release waited for it, and after a
// reload. Without the warning, the next look would see the daemon's copy
// only, and the release remove it as the daemon's.
func TestLoopRenewalTakeoverNamedWhenStale(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stale func(h *harness)
	}{
		{"step-down", func(h *harness) { h.receive(0, 1, nil) }},
		{"reload", func(h *harness) {
			cfg := *h.d.cfg
			cfg.DeadRatio = 200
			if err := h.d.Reconfigure(cfg); err != nil {
				h.t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := fastMaster(t)
				defer h.close()
				plantForeign(h)
				release, _ := waitRenewalPosted(t, h)
				defer release(nil)
				tt.stale(h)
				time.Sleep(10 * time.Millisecond)
				release(nil)
				synctest.Wait()
				if h.logs.count(takenOver) != 1 {
					t.Fatalf("the takeover was named %d times, want once; logs:\n%s", h.logs.count(takenOver), h.logs)
				}
			})
		})
	}
}

// TestLoopRenewalsTogether: a MASTER's renewals of its several addresses
// wait for the kernel together (one datagram: the platform batches the
// renewals that wait together), and once let go, each address keeps its
// lifetime. (It failed with a renewer that renewed them one after the
// other.)
func TestLoopRenewalsTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		more := []netip.Prefix{netip.MustParsePrefix("198.51.100.101/32"), netip.MustParsePrefix("198.51.100.102/32")}
		h := startHarness(t, func(c *testConfig) { c.AdvBase, c.AdvSkew, c.MoreAddrs = 0, 5, more })
		defer h.close()
		h.at(5 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		for round := range 2 { // the first renewals, and the next
			adds := h.addrs.Adds()
			release, _ := waitRenewalPosted(t, h)
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
			if n := h.addrs.Adds() - adds; n != 1+len(more) {
				release(nil)
				t.Fatalf("round %d: %d of the %d renewals waiting together", round, n, 1+len(more))
			}
			release(nil)
			synctest.Wait()
			for _, p := range append(more, loopVIP) {
				if !h.addrs.Has(p.Addr()) {
					t.Fatalf("round %d: %s is gone", round, p)
				}
			}
		}
	})
}

// TestLoopRenewalsNoGoroutine: a MASTER's renewals are posted to the
// System (vip.Poster: on Linux, the platform's one renewer for the
// process), not made on goroutines of the group's: with eight addresses
// held by the kernel, the renewals wait on one goroutine (the fake's,
// which stands for the platform's renewer), not eight; and none is made
// through the System's AddAddress, which waits. A goroutine per address
// per renewal mapped back at each renewal the runtime's tables that the
// release of the executable's pages had dropped (docs/PERF.md, "What one
// group maps back").
func TestLoopRenewalsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var more []netip.Prefix
		for i := range 7 {
			more = append(more, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(101 + i)}), 32))
		}
		h := startHarness(t, func(c *testConfig) { c.AdvBase, c.AdvSkew, c.MoreAddrs = 0, 5, more })
		defer h.close()
		h.at(5 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		for round := range 3 {
			synctest.Wait()
			idle := runtime.NumGoroutine()
			adds, posts := h.addrs.Adds(), h.addrs.Posts()
			release, _ := waitRenewalPosted(t, h)
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
			held := runtime.NumGoroutine()
			release(nil)
			synctest.Wait()
			if n := h.addrs.Adds() - adds; n != 1+len(more) || h.addrs.Posts()-posts != n {
				t.Fatalf("round %d: %d renewals, %d of them posted; want %d, all posted", round, n, h.addrs.Posts()-posts, 1+len(more))
			}
			if held-idle > 1 {
				t.Fatalf("round %d: %d goroutines more while the %d renewals were held, want 1 at most", round, held-idle, 1+len(more))
			}
		}
		for _, p := range append(more, loopVIP) {
			if !h.addrs.Has(p.Addr()) {
				t.Fatalf("%s is gone", p)
			}
		}
	})
}
