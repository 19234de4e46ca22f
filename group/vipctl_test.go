package group

import (
	"net/netip"
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
