package node

import (
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// groupStatus is the status of tn's group vhid.
func (tn *testNode) groupStatus(t *testing.T, vhid uint8) group.Status {
	t.Helper()
	tn.mu.Lock()
	m := tn.groups[ID{Interface: "eth0", VHID: vhid}]
	tn.mu.Unlock()
	if m == nil {
		t.Fatalf("no group %d", vhid)
	}
	return m.g.Status()
}

// adverts returns the destinations of the CARP packets that host sent,
// in order.
func adverts(lan *platformtest.LAN, host *platformtest.Host) []netip.Addr {
	var out []netip.Addr
	for _, f := range lan.Sent() {
		if f.ARP || f.Host != host {
			continue
		}
		if f.Data[0]>>4 == 6 {
			out = append(out, netip.AddrFrom16([16]byte(f.Data[24:40])))
		} else {
			out = append(out, netip.AddrFrom4([4]byte(f.Data[16:20])))
		}
	}
	return out
}

// onlyTo fails unless every advert in dsts went to one of want, and at
// least one to each.
func onlyTo(t *testing.T, who string, dsts []netip.Addr, want ...netip.Addr) {
	t.Helper()
	for _, d := range dsts {
		if !slices.Contains(want, d) {
			t.Fatalf("%s sent an advert to %v, want only %v", who, d, want)
		}
	}
	for _, w := range want {
		if !slices.Contains(dsts, w) {
			t.Fatalf("%s sent no advert to %v (sent to %v)", who, w, dsts)
		}
	}
}

// TestUnicastPeersIPv4: two nodes that list each other as peers send
// their adverts to each other only, never to 224.0.0.18; they elect one
// master and fail over both ways. A third host's valid adverts, to the
// group or to a node, are dropped as not-peer and counted, and change
// nothing (it advertises faster than both); listed as a peer by a reload,
// it is heard with no transition, and unlisted again it is dropped again.
func TestUnicastPeersIPv4(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		thirdAddr, conn := thirdHost(t, &lan, carp.IPProtocol)
		sa, sb := a.spec(1, 50), b.spec(1, 100)
		sa.Config.Preempt, sb.Config.Preempt = true, true
		sa.Config.Peers, sb.Config.Peers = []netip.Addr{b.src}, []netip.Addr{a.src}
		startNodes(t, a, b, []Spec{sa}, []Spec{sb})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		// The third host advertises vhid 1 faster than both, to the group
		// and to each node, with the right password.
		for range 10 {
			for _, dst := range []netip.Addr{mcast, a.src, b.src} {
				pkt := advert(thirdAddr, 1, 0)
				p := carp.Packet{}
				_ = p.UnmarshalBinary(pkt)
				p.Dst = dst
				pkt, _ = p.MarshalBinary()
				conn.WritePacket(pkt)
			}
			time.Sleep(time.Second)
		}
		synctest.Wait()
		wantHolders(t, "1 | ", a, b)
		onlyTo(t, "A", adverts(&lan, a.host), b.src)
		for _, tn := range []*testNode{a, b} {
			st := tn.groupStatus(t, 1)
			if n := st.Counters.Dropped[carp.DropNotPeer.String()]; n != 20 {
				t.Fatalf("%s dropped %d adverts as not-peer, want 20 (%v)", tn.src, n, st.Counters.Dropped)
			}
			if len(st.UnicastPeers) != 1 {
				t.Fatalf("status peers %v", st.UnicastPeers)
			}
		}
		if a.logs.count("not a configured peer") == 0 {
			t.Fatalf("no log line for the not-peer drops:\n%s", a.logs)
		}

		// Failover both ways.
		a.host.SetLink(true, false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		wantHolders(t, " | 1", a, b)
		onlyTo(t, "B", adverts(&lan, b.host), a.src)
		a.host.SetLink(true, true)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		wantHolders(t, "1 | ", a, b)

		// A reload that lists the third host on B: in place, no transition.
		before := b.groupStatus(t, 1)
		sb.Config.Peers = []netip.Addr{a.src, thirdAddr}
		if err := b.Apply([]Spec{sb}); err != nil {
			t.Fatal(err)
		}
		p := carp.Packet{}
		_ = p.UnmarshalBinary(advert(thirdAddr, 1, 0)) // preferred: B stays BACKUP
		p.Dst = b.src
		pkt, _ := p.MarshalBinary()
		for range 3 {
			conn.WritePacket(pkt)
			time.Sleep(time.Second)
		}
		synctest.Wait()
		after := b.groupStatus(t, 1)
		if after.Counters.Transitions != before.Counters.Transitions || after.State != before.State {
			t.Fatalf("the reload made a transition: %v -> %v", before.Transitions, after.Transitions)
		}
		notPeer := carp.DropNotPeer.String()
		if after.Counters.Dropped[notPeer] != before.Counters.Dropped[notPeer] ||
			!slices.ContainsFunc(after.Peers, func(p group.Peer) bool { return p.Source == thirdAddr }) {
			t.Fatalf("the new peer's adverts: not-peer drops %d -> %d, heard %v", before.Counters.Dropped[notPeer],
				after.Counters.Dropped[notPeer], after.Peers)
		}
		if !slices.Equal(after.UnicastPeers, sb.Config.Peers) {
			t.Fatalf("status peers %v, want %v", after.UnicastPeers, sb.Config.Peers)
		}
		// Unlisted again: dropped again.
		sb.Config.Peers = []netip.Addr{a.src}
		if err := b.Apply([]Spec{sb}); err != nil {
			t.Fatal(err)
		}
		drops := b.groupStatus(t, 1).Counters.Dropped[carp.DropNotPeer.String()]
		conn.WritePacket(pkt)
		synctest.Wait()
		if n := b.groupStatus(t, 1).Counters.Dropped[carp.DropNotPeer.String()]; n != drops+1 {
			t.Fatalf("not-peer drops %d, want %d", n, drops+1)
		}
		wantHolders(t, "1 | ", a, b)
	})
}

// TestUnicastPeersIPv6: over IPv6, adverts go to a link-local peer from
// the link-local address, and to a global peer from the interface's
// global address (not its virtual address); the pair elects and fails
// over as over IPv4.
func TestUnicastPeersIPv6(t *testing.T) {
	for _, global := range []bool{false, true} {
		name := map[bool]string{false: "link-local", true: "global"}[global]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
				addr := func(tn *testNode) netip.Addr {
					if global {
						return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: tn.src.As4()[3]})
					}
					ll, _ := tn.host.LinkLocal()
					return ll
				}
				for _, tn := range []*testNode{a, b} {
					tn.host.ChangeAddresses(func(t *viptest.Addrs) {
						_ = t.Add(vip.Address{Prefix: netip.PrefixFrom(addr(tn), 64)})
					})
				}
				vips := []string{"2001:db8::100/64"}
				sa, sb := a.dualSpec(0, vips...), b.dualSpec(100, vips...)
				pa, pb := addr(a), addr(b)
				if !global {
					pa, pb = pa.WithZone("eth0"), pb.WithZone("eth0")
				}
				sa.Config.Peers, sb.Config.Peers = []netip.Addr{pb}, []netip.Addr{pa}
				startNodes(t, a, b, []Spec{sa}, []Spec{sb})
				defer b.Stop(syscall.SIGTERM)
				defer a.Stop(syscall.SIGTERM)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if len(held(a, vips...)) != 1 || len(held(b, vips...)) != 0 {
					t.Fatalf("A holds %v, B %v\nlogs A:\n%s\nlogs B:\n%s", held(a, vips...), held(b, vips...), a.logs, b.logs)
				}
				onlyTo(t, "A", adverts(&lan, a.host), addr(b))
				for _, f := range lan.Sent() {
					if f.ARP || f.Host != a.host {
						continue
					}
					if src := netip.AddrFrom16([16]byte(f.Data[8:24])); src != addr(a) || f.Data[7] != 255 {
						t.Fatalf("A's advert from %v hop limit %d, want from %v, 255", src, f.Data[7], addr(a))
					}
				}
				a.host.SetLink(true, false)
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if len(held(b, vips...)) != 1 || len(held(a, vips...)) != 0 {
					t.Fatalf("after A's fault: A holds %v, B %v", held(a, vips...), held(b, vips...))
				}
				onlyTo(t, "B", adverts(&lan, b.host), addr(a))
				a.host.SetLink(true, true)
				time.Sleep(5 * time.Second)
				synctest.Wait()
				if len(held(a, vips...)) != 1 || len(held(b, vips...)) != 0 {
					t.Fatalf("after A's return: A holds %v, B %v\nlogs B:\n%s", held(a, vips...), held(b, vips...), b.logs)
				}
				if n := a.groupStatus(t, 1).Counters.Dropped[carp.DropNotPeer.String()]; n != 0 {
					t.Fatalf("A dropped %d adverts as not-peer", n)
				}
			})
		})
	}
}

// TestReloadOwnLinkLocalPeer: a reload whose IPv6 peer is this host's own
// link-local address (which only the running group knows) is refused and
// keeps the group, its addresses and its settings; a link-local address
// that becomes a listed peer is logged.
func TestReloadOwnLinkLocalPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		addrs := []string{"198.51.100.100/32", "2001:db8::100/128"}
		s := a.dualSpec(0, addrs...)
		a.run(t, s)
		settle(5 * time.Second)
		if h := held(a, addrs...); !slices.Equal(h, addrs) {
			t.Fatalf("holds %v", h)
		}
		a.mu.Lock()
		before := a.groups[s.ID()].g
		a.mu.Unlock()
		ll, _ := a.host.LinkLocal()
		bad := a.dualSpec(0, addrs...)
		bad.Config.Peers = []netip.Addr{ll.WithZone("eth0")}
		if err := a.Apply([]Spec{bad}); err == nil {
			t.Fatal("a reload with this host's own link-local address as peer is accepted")
		}
		settle(5 * time.Second)
		a.mu.Lock()
		after := a.groups[s.ID()]
		a.mu.Unlock()
		if after == nil || after.g != before || len(after.spec.Config.Peers) != 0 {
			t.Fatal("the refused reload replaced or changed the group")
		}
		if h := held(a, addrs...); !slices.Equal(h, addrs) {
			t.Fatalf("holds %v after the refused reload\nlogs:\n%s", h, a.logs)
		}

		// A peer that the link-local address later becomes.
		peer := netip.MustParseAddr("fe80::1:2:3:4")
		good := a.dualSpec(0, addrs...)
		good.Config.Peers = []netip.Addr{peer.WithZone("eth0")}
		if err := a.Apply([]Spec{good}); err != nil {
			t.Fatal(err)
		}
		a.host.SetLinkLocal(peer)
		settle(3 * time.Second)
		if !strings.Contains(a.logs.String(), "this host's own source address") {
			t.Fatalf("no warning when the link-local address became a peer\nlogs:\n%s", a.logs)
		}
	})
}
