package node

import (
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vrrp"
)

// vgroupStatus is the status of tn's VRRPv3 IPv4 group vrid.
func (tn *testNode) vgroupStatus(t *testing.T, vrid uint8) group.Status {
	t.Helper()
	tn.mu.Lock()
	m := tn.groups[ID{Interface: "eth0", VHID: vrid, Protocol: group.ProtocolVRRP3}]
	tn.mu.Unlock()
	if m == nil {
		t.Fatalf("no vrrp3 group %d", vrid)
	}
	return m.g.Status()
}

// TestVRRP3UnicastPeers: two VRRPv3 routers that list each other as
// unicast peers send their adverts to each other only, never to
// 224.0.0.18, elect the higher priority and fail over both ways. A third
// router's valid adverts of the same VRID and a higher priority, to the
// group or to a node, are dropped as not-peer and counted, and change
// nothing; a reload lists it on B in place and unlists it. A sends the pseudo-header checksum, which covers the peer's
// address, and B follows it.
func TestVRRP3UnicastPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		thirdAddr, conn := thirdHost(t, &lan, vrrp.IPProtocol)
		sa, sb := a.vspec(1, 200), b.vspec(1, 100)
		sa.Config.Peers, sb.Config.Peers = []netip.Addr{b.src}, []netip.Addr{a.src}
		// A's checksum covers the destination (the peer), B follows it.
		sa.Config.Checksum = group.ChecksumForcePseudoHeader
		startNodes(t, a, b, []Spec{sa}, []Spec{sb})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		adv := vrrp.Advert{Version: vrrp.Version, Type: vrrp.TypeAdvertisement, VRID: 1, Priority: 254,
			MaxAdvertInterval: 50, Addrs: []netip.Addr{vrrpVIP(1).Addr()}}
		for range 10 {
			for _, dst := range []netip.Addr{mcast, a.src, b.src} {
				p := vrrp.NewPacket(thirdAddr, dst, 1, adv, vrrp.ChecksumPseudoHeader)
				pkt, err := p.AppendBinary(nil)
				if err != nil {
					t.Fatal(err)
				}
				conn.WritePacket(pkt)
			}
			time.Sleep(time.Second)
		}
		synctest.Wait()
		if got := vmasters(1, a, b); got != "A" {
			t.Fatalf("masters %q, want A\nA:\n%s\nB:\n%s", got, a.logs, b.logs)
		}
		onlyTo(t, "A", adverts(&lan, a.host), b.src)
		for _, tn := range []*testNode{a, b} {
			st := tn.vgroupStatus(t, 1)
			if n := st.Counters.Dropped["not-peer"]; n != 20 {
				t.Fatalf("%s dropped %d adverts as not-peer, want 20 (%v)", tn.src, n, st.Counters.Dropped)
			}
		}
		if g := b.status(t, "eth0-vrrp3-1"); len(g.Peers) != 1 || g.Peers[0].Source != a.src {
			t.Errorf("B heard %+v, want A only", g.Peers)
		}

		// Failover both ways: A's carrier goes, B takes over and sends
		// to A only; it comes back and A, of higher priority, preempts.
		a.host.SetLink(true, false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := vmasters(1, a, b); got != "B" {
			t.Fatalf("masters %q after A's carrier loss, want B\nB:\n%s", got, b.logs)
		}
		onlyTo(t, "B", adverts(&lan, b.host), a.src)
		a.host.SetLink(true, true)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := vmasters(1, a, b); got != "A" {
			t.Fatalf("masters %q after A's carrier came back, want A\nA:\n%s", got, a.logs)
		}
		onlyTo(t, "A", adverts(&lan, a.host), b.src)
		// A reload that lists the third router on B: in place, its
		// adverts are heard (B stays BACKUP); unlisted again, dropped again.
		before := b.vgroupStatus(t, 1)
		sb.Config.Peers = []netip.Addr{a.src, thirdAddr}
		if err := b.Apply([]Spec{sb}); err != nil {
			t.Fatal(err)
		}
		tp := vrrp.NewPacket(thirdAddr, b.src, 1, adv, vrrp.ChecksumPseudoHeader)
		pkt, err := tp.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		conn.WritePacket(pkt)
		synctest.Wait()
		after := b.vgroupStatus(t, 1)
		if after.Counters.Transitions != before.Counters.Transitions || after.Counters.Dropped["not-peer"] != before.Counters.Dropped["not-peer"] ||
			!slices.ContainsFunc(after.Peers, func(p group.Peer) bool { return p.Source == thirdAddr }) {
			t.Fatalf("after the reload: transitions %d -> %d, not-peer %d -> %d, heard %v", before.Counters.Transitions,
				after.Counters.Transitions, before.Counters.Dropped["not-peer"], after.Counters.Dropped["not-peer"], after.Peers)
		}
		sb.Config.Peers = []netip.Addr{a.src}
		if err := b.Apply([]Spec{sb}); err != nil {
			t.Fatal(err)
		}
		conn.WritePacket(pkt)
		synctest.Wait()
		if n := b.vgroupStatus(t, 1).Counters.Dropped["not-peer"]; n != before.Counters.Dropped["not-peer"]+1 {
			t.Fatalf("not-peer drops %d after the third router was unlisted, want %d", n, before.Counters.Dropped["not-peer"]+1)
		}
		if got := vmasters(1, a, b); got != "A" {
			t.Fatalf("masters %q after the reloads, want A", got)
		}
		for _, tn := range []*testNode{a, b} {
			if c := tn.vgroupStatus(t, 1).Counters; c.SendErrors != 0 || c.Dropped["bad-checksum"] != 0 {
				t.Errorf("%s: %d send errors, drops %v", tn.src, c.SendErrors, c.Dropped)
			}
		}
		if b.logs.count("uses the pseudo-header checksum") == 0 {
			t.Errorf("B did not follow A's checksum form:\n%s", b.logs)
		}
	})
}
