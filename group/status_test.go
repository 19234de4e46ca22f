package group

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		s := h.d.Status()
		if s.State != carp.Backup || s.Reason != carp.ReasonStart || !s.Since.Equal(h.t0) {
			t.Fatalf("at start: %v since %v (%v)", s.State, s.Since, s.Reason)
		}
		if s.AddrState != AddrAbsent || s.Addr != loopVIP {
			t.Fatalf("address %v %v, want absent", s.Addr, s.AddrState)
		}
		if s.AdvBase != 1 || s.AdvSkew != 100 || s.DeadTime != us(3_390_625) || s.Interface != "eth0" || s.VHID != 1 {
			t.Fatalf("timing %+v", s)
		}
		h.at(4 * time.Second)
		s = h.d.Status()
		if s.State != carp.Master || s.Reason != carp.ReasonMasterDown || s.Since.Sub(h.t0) != us(3_390_625) {
			t.Fatalf("after the dead time: %v since %v (%v)", s.State, s.Since.Sub(h.t0), s.Reason)
		}
		if s.AddrState != AddrConfigured {
			t.Fatalf("address %v, want configured", s.AddrState)
		}
		// A faster master: this one steps down.
		h.receive(1, 10, nil)
		s = h.d.Status()
		if s.State != carp.Backup || s.Reason != carp.ReasonPreferredMaster || s.AddrState != AddrAbsent {
			t.Fatalf("after a preferred master: %v (%v), address %v", s.State, s.Reason, s.AddrState)
		}
		want := []Transition{
			{h.t0, carp.Init, carp.Backup, carp.ReasonStart},
			{h.t0.Add(us(3_390_625)), carp.Backup, carp.Master, carp.ReasonMasterDown},
			{h.t0.Add(4 * time.Second), carp.Master, carp.Backup, carp.ReasonPreferredMaster},
		}
		if fmt.Sprint(s.Transitions) != fmt.Sprint(want) {
			t.Fatalf("transitions\n%v\nwant\n%v", s.Transitions, want)
		}
		if len(s.Peers) != 1 || s.Peers[0] != (Peer{Source: loopPeer, AdvBase: 1, AdvSkew: 10, Counter: 500, LastSeen: h.t0.Add(4 * time.Second)}) {
			t.Fatalf("peers %+v", s.Peers)
		}
		c := s.Counters
		if c.Valid != 1 || c.Transitions != 3 || c.Sent == 0 || c.GARPs != 1 || len(c.Dropped) != 0 {
			t.Fatalf("counters %+v", c)
		}
		// A wrong password is counted by reason.
		h.receive(1, 10, func(p *carp.Packet) { p.Header.Digest[0] ^= 1 })
		if c := h.d.Status().Counters; c.Dropped[carp.DropBadDigest.String()] != 1 || c.Valid != 1 {
			t.Fatalf("after a bad digest: %+v", c)
		}
	})
}

func TestStatusBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.Preempt = true; c.AdvSkew = 0 })
		defer h.close()
		h.at(4 * time.Second) // MASTER
		// 20 peers, each a slower master: each is answered, none wins.
		for i := range 20 {
			src := netip.AddrFrom4([4]byte{198, 51, 100, byte(20 + i)})
			h.receive(2, 0, func(p *carp.Packet) { p.Src = src })
			time.Sleep(10 * time.Millisecond)
		}
		s := h.d.Status()
		if len(s.Peers) != maxPeers {
			t.Fatalf("%d peers, want %d", len(s.Peers), maxPeers)
		}
		if first, last := s.Peers[0].Source, s.Peers[maxPeers-1].Source; first != netip.MustParseAddr("198.51.100.24") || last != netip.MustParseAddr("198.51.100.39") {
			t.Fatalf("peers from %v to %v, want the last 16 heard", first, last)
		}
		// 20 transitions: demotions (SIGUSR2) and takeovers.
		for range 10 {
			h.d.Demote()
			time.Sleep(10 * time.Second)
			synctest.Wait()
		}
		s = h.d.Status()
		if len(s.Transitions) != maxTransitions || s.Counters.Transitions < 20 {
			t.Fatalf("%d transitions kept of %d", len(s.Transitions), s.Counters.Transitions)
		}
		last := s.Transitions[maxTransitions-1]
		if last.To != carp.Master || !last.Time.Equal(s.Since) || last.Reason != s.Reason {
			t.Fatalf("last transition %+v, status since %v (%v)", last, s.Since, s.Reason)
		}
	})
}

// TestSetDemotion: a demoted MASTER advertises the demoted skew, and a
// preempting peer that now outranks it takes over by the rules.
func TestSetDemotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second) // MASTER, advert due at 4.78125 s
		h.d.SetDemotion(DemotionAdmin, 100)
		h.at(5 * time.Second)
		ads := h.conn.adverts()
		if last := ads[len(ads)-1]; last.h.AdvSkew != 200 || last.at.Sub(h.t0) != us(4_781_250) {
			t.Fatalf("last advert skew %d at %v, want 200 at 4.78125s", last.h.AdvSkew, last.at.Sub(h.t0))
		}
		if s := h.d.Status(); s.Demotion != 100 || s.AdvSkew != 100 || s.State != carp.Master {
			t.Fatalf("status %v demotion %d advskew %d", s.State, s.Demotion, s.AdvSkew)
		}
		// The peer, advskew 150, preempts and advertises: this one steps down.
		h.receive(1, 150, nil)
		if s := h.d.Status(); s.State != carp.Backup || s.Reason != carp.ReasonPreferredMaster {
			t.Fatalf("after the peer's advert: %v (%v)", s.State, s.Reason)
		}
		// Promoted, with -P off, it stays BACKUP while the peer advertises.
		h.d.SetDemotion(DemotionAdmin, 0)
		for range 5 {
			time.Sleep(time.Second)
			h.receive(1, 150, nil)
		}
		if s := h.d.Status(); s.State != carp.Backup || s.Demotion != 0 {
			t.Fatalf("promoted without -P: %v, demotion %d", s.State, s.Demotion)
		}
	})
}

// TestPromotePreempts: with -P, a promoted BACKUP takes the MASTER back
// when it next hears the slower peer.
func TestPromotePreempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.Preempt = true })
		defer h.close()
		h.d.SetDemotion(DemotionAdmin, 100)
		for range 5 {
			time.Sleep(time.Second)
			h.receive(1, 150, nil)
		}
		if s := h.d.Status(); s.State != carp.Backup {
			t.Fatalf("demoted with -P: %v, want BACKUP", s.State)
		}
		h.d.SetDemotion(DemotionAdmin, 0)
		time.Sleep(time.Second)
		h.receive(1, 150, nil)
		if s := h.d.Status(); s.State != carp.Master || s.Reason != carp.ReasonPreempt {
			t.Fatalf("promoted with -P: %v (%v), want MASTER (preempt)", s.State, s.Reason)
		}
	})
}

// TestDemotionSources: the operator's and the probes' demotions add up,
// capped at 255, and taking one back leaves the other.
func TestDemotionSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second)
		steps := []struct {
			source      string
			level, want int
		}{
			{DemotionAdmin, 100, 100},
			{DemotionHealth, 100, 200},
			{DemotionHealth, 255, 255}, // capped
			{DemotionAdmin, 0, 255},
			{DemotionHealth, 50, 50}, // the operator's promote did not undo the probes'
			{DemotionHealth, 0, 0},
		}
		for _, st := range steps {
			if got := h.d.SetDemotion(st.source, st.level); got != st.want {
				t.Fatalf("SetDemotion(%s, %d) = %d, want %d", st.source, st.level, got, st.want)
			}
			if s := h.d.Status(); s.Demotion != st.want || s.Demotions[st.source] != st.level {
				t.Fatalf("after SetDemotion(%s, %d): status demotion %d, by source %v", st.source, st.level, s.Demotion, s.Demotions)
			}
		}
		h.d.SetDemotion(DemotionHealth, 30)
		h.d.SetDemotion(DemotionAdmin, 40)
		h.at(6 * time.Second)
		ads := h.conn.adverts()
		if last := ads[len(ads)-1]; last.h.AdvSkew != 170 {
			t.Fatalf("last advert skew %d, want 170 (advskew 100 + 30 + 40)", last.h.AdvSkew)
		}
	})
}
