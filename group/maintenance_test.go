package group

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

// handingOff starts a harness, MASTER at 4 s, and puts it in
// maintenance: it hands off. It stops when the test ends.
func handingOff(t *testing.T) *harness {
	t.Helper()
	h := startHarness(t, nil)
	t.Cleanup(h.close)
	h.at(4 * time.Second)
	if h.state() != carp.Master {
		t.Fatalf("state %v", h.state())
	}
	if m := h.d.SetMaintenance(true); m.Phase != MaintHandoff {
		t.Fatalf("maintenance %+v, want handing-off", m)
	}
	return h
}

// TestMaintDualStackPeerAdverts: a dual-stack peer sends each MASTER
// advert from its IPv4 address and from its IPv6 link-local address in
// turn; with no announcement seen, the handoff still completes once its
// adverts are steady.
func TestMaintDualStackPeerAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := handingOff(t)
		ll := netip.MustParseAddr("fe80::11")
		hd := carp.Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: 0}
		for i := 0; i < 6; i++ {
			time.Sleep(500 * time.Millisecond)
			synctest.Wait()
			src := loopPeer
			if i%2 == 1 {
				src = ll
			}
			r := received{hdr: hd, src: src}
			h.d.inLoop(func() { h.d.maintAdvert(time.Now(), r.queue(false)) })
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		var m Maintenance
		h.d.inLoop(func() { m = h.d.maint.Maintenance })
		if m.Phase != MaintHandedOff || m.Peer != loopPeer {
			t.Fatalf("maintenance %+v, want handed off to %s", m, loopPeer)
		}
	})
}

// TestInLoopAfterStopIsSerialized: once the loop has returned, what
// callers run through it (health, demoter, status) still runs one at a
// time: the demotions map is written from many goroutines at once.
func TestInLoopAfterStopIsSerialized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		h.close()
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src := fmt.Sprintf("probe%d", g)
				for i := 0; i < 200; i++ {
					h.d.SetDemotion(src, i%3)
					h.d.Status()
				}
			}()
		}
		wg.Wait()
	})
}

// TestMaintRenewalOffTheLoop: a handoff keeps the address, and renews
// it; a renewal the kernel holds (its rtnl lock taken by another
// process) does not hold the loop, which hears the peer's MASTER advert
// meanwhile. The address is let go only once the renewal is done (it
// would otherwise put it back).
func TestMaintRenewalOffTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := handingOff(t)
		release, adds := waitRenewalPosted(t, h)
		defer release(nil)
		h.receive(1, 0, nil)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if h.logs.count("is MASTER, waiting for its announcement") != 1 {
			t.Fatalf("the peer's advert was not handled while the renewal was held; logs:\n%s", h.logs)
		}
		for range 4 { // steady adverts, no announcement: the handoff ends
			h.receive(1, 0, nil)
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if !h.addrs.Has(loopVIP.Addr()) || h.addrs.Adds() != adds {
			t.Fatalf("with the renewal held: address %v, %d more renewals", h.addrs.Has(loopVIP.Addr()), h.addrs.Adds()-adds)
		}
		release(nil)
		for range 4 {
			h.receive(1, 0, nil)
			time.Sleep(time.Second)
			synctest.Wait()
		}
		var m Maintenance
		h.d.inLoop(func() { m = h.d.maint.Maintenance })
		if m.Phase != MaintHandedOff || h.addrs.Has(loopVIP.Addr()) {
			t.Fatalf("maintenance %+v, address %v; want handed off, released; logs:\n%s", m, h.addrs.Has(loopVIP.Addr()), h.logs)
		}
	})
}

// TestMaintRenewalFailure: a handoff's renewal that fails is logged as
// the handoff's when its result comes back, and the next tick renews
// again; the address stays until the peer has it.
func TestMaintRenewalFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := handingOff(t)
		release, adds := waitRenewalPosted(t, h)
		release(errors.New("boom"))
		synctest.Wait()
		if h.logs.count("[ERROR] Maintenance: unable to renew 198.51.100.100/32: boom") != 1 {
			t.Fatalf("logs:\n%s", h.logs)
		}
		time.Sleep(2 * time.Second) // a tick of the handoff: 1.39 s
		synctest.Wait()
		if h.addrs.Adds() == adds || !h.addrs.Has(loopVIP.Addr()) {
			t.Fatalf("not renewed again after the failure; logs:\n%s", h.logs)
		}
	})
}
