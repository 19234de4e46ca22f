package group

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
)

// vipUp is the copy RHEL's vip-up script leaves: "ip addr add VIP/32 dev
// eth0", no label, no protocol.
var vipUp = vip.Address{Prefix: loopVIP}

// TestLoopForeignCopies: only the MASTER holds the address. A BACKUP
// removes a copy someone else configured, with one WARNING per appearance;
// a MASTER takes over a copy added under it; a MASTER that steps down
// removes every copy, foreign included.
func TestLoopForeignCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(time.Second)
		for i := 1; i <= 2; i++ {
			if err := h.addrs.Add(vipUp); err != nil {
				t.Fatal(err)
			}
			h.addrChg <- struct{}{}
			synctest.Wait()
			if h.addrs.Has(loopVIP.Addr()) {
				t.Fatalf("appearance %d: a BACKUP kept a foreign copy", i)
			}
			if n := h.logs.count("[WARNING] Removed 198.51.100.100/32 label eth0 from eth0, configured by someone else"); n != i {
				t.Fatalf("appearance %d: %d warnings, logs:\n%s", i, n, h.logs)
			}
		}

		h.at(4 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		// Someone flushes the address and vip-up's copy comes back: the
		// next renewal takes it over, so that it goes at the step-down.
		h.addrs.Flush()
		h.addrs.Add(vipUp)
		h.addrChg <- struct{}{}
		h.at(4*time.Second + us(1_390_625) + time.Millisecond)
		as, _ := h.addrs.Addresses()
		if len(as) != 1 || as[0].Proto != vip.ProtoCARP || as[0].Lifetime == 0 {
			t.Fatalf("not taken over: %v", as)
		}
		if h.logs.count("was on eth0, configured by someone else (198.51.100.100/32 label eth0): taken over") != 1 {
			t.Fatalf("logs:\n%s", h.logs)
		}
		// A copy with another prefix length answers ARP too.
		h.addrs.Add(vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/24")})
		h.receive(1, 0, nil) // a better MASTER: step down
		if h.state() != carp.Backup || h.addrs.Has(loopVIP.Addr()) {
			t.Fatalf("state %v, copies left after the step-down", h.state())
		}
		if h.logs.count("[WARNING] Removed 198.51.100.100/24 label eth0 from eth0, configured by someone else") != 1 {
			t.Fatalf("logs:\n%s", h.logs)
		}
	})
}

// TestLoopSourceAddressIsKept: when the virtual address is also --srcip
// (a mistake), a BACKUP does not remove the host's own address.
func TestLoopSourceAddressIsKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.Src = loopVIP.Addr() })
		defer h.close()
		h.addrs.Add(vipUp)
		h.addrChg <- struct{}{}
		h.at(2 * time.Second)
		if !h.addrs.Has(loopVIP.Addr()) {
			t.Fatal("the host's own address was removed")
		}
	})
}

// TestLoopRenewalAtHalfLifetime: a MASTER renews its address's lifetime
// when less than half of it would be left by the next advert: at advbase
// 1 (lifetime 3 s) with every advert, as before; at -b 0 -k 5 (adverts
// every 19.5 ms, lifetime 2 s) about once a second instead of 51 times.
func TestLoopRenewalAtHalfLifetime(t *testing.T) {
	for _, tt := range []struct {
		name             string
		advbase, advskew uint8
		min, max         int // renewals in 10 s
	}{
		{"advbase 1", 1, 0, 10, 10},
		{"-b 0 -k 5", 0, 5, 10, 11},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startHarness(t, func(c *testConfig) { c.AdvBase, c.AdvSkew = tt.advbase, tt.advskew })
				defer h.close()
				h.at(5 * time.Second)
				if h.state() != carp.Master {
					t.Fatalf("state %v", h.state())
				}
				n0 := h.addrs.Adds()
				h.at(15 * time.Second)
				if n := h.addrs.Adds() - n0; n < tt.min || n > tt.max {
					t.Errorf("%d renewals in 10 s, want %d to %d", n, tt.min, tt.max)
				}
				if as, _ := h.addrs.Addresses(); len(as) != 1 || as[0].Lifetime == 0 {
					t.Errorf("addresses %v", as)
				}
			})
		})
	}
}

// TestLoopRenewalAfterReAdd: a MASTER adding back one address that
// someone keeps removing still renews the others in time: the add gives
// no fresh lifetime to the addresses it already held.
func TestLoopRenewalAfterReAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		other := netip.MustParsePrefix("198.51.100.101/32")
		h := startHarness(t, func(c *testConfig) {
			c.DeadRatio = 10 // a 14 s lifetime, renewed about every 5 ticks
			c.MoreAddrs = []netip.Prefix{other}
		})
		defer h.close()
		h.at(15 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		lifetime := vipLifetime(h.d.cfg)
		bound := lifetime/2 + h.d.reconcileInterval()
		h.addrs.Calls()
		last := time.Now()
		var worst time.Duration
		for i := 1; i <= 400; i++ { // 40 s
			time.Sleep(100 * time.Millisecond)
			if i%30 == 0 { // every 3 s, someone removes the other address
				h.addrs.DeleteAddress(vip.Address{Prefix: other})
				h.addrChg <- struct{}{}
			}
			synctest.Wait()
			for _, c := range h.addrs.Calls() {
				if strings.HasPrefix(c, "replace 198.51.100.100/32") {
					last = time.Now()
				}
			}
			worst = max(worst, time.Since(last))
		}
		if worst > bound {
			t.Fatalf("198.51.100.100 went %v without a renewal (lifetime %v, bound %v)", worst, lifetime, bound)
		}
		if !h.addrs.Has(other.Addr()) {
			t.Fatal("the other address was not added back")
		}
	})
}
