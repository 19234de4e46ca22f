package group

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

// TestMaintDualStackPeerAdverts: a dual-stack peer sends each MASTER
// advert from its IPv4 address and from its IPv6 link-local address in
// turn; with no announcement seen, the handoff still completes once its
// adverts are steady.
func TestMaintDualStackPeerAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		if m := h.d.SetMaintenance(true); m.Phase != MaintHandoff {
			t.Fatalf("maintenance %+v, want handing-off", m)
		}
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
