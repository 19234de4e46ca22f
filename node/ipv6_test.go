package node

import (
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// dualSpec is vhid 1 of tn with addrs (the first the scripts' $2).
func (tn *testNode) dualSpec(advskew uint8, addrs ...string) Spec {
	s := tn.spec(1, advskew)
	s.Config.Preempt = true
	var ps []netip.Prefix
	for _, a := range addrs {
		ps = append(ps, netip.MustParsePrefix(a))
	}
	s.Config.Addr, s.Config.AddrArg, s.Config.MoreAddrs = ps[0], ps[0].Addr().String(), ps[1:]
	return s
}

// held lists which of addrs tn holds.
func held(tn *testNode, addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		if tn.host.Addrs().Has(netip.MustParsePrefix(a).Addr()) {
			out = append(out, a)
		}
	}
	return out
}

// TestDualStackFailover: a group of two IPv4 and two IPv6 addresses fails
// over as one, both ways under preempt; its master sends each advert over
// both families; takeover announces each IPv4 address with a gratuitous
// ARP and each IPv6 one with an unsolicited NA; an IPv6-only group does
// the same over IPv6 alone.
func TestDualStackFailover(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs []string
		v4    bool
	}{
		{"dual-stack", []string{"198.51.100.100/32", "198.51.100.101/24", "2001:db8::100/128", "2001:db8::101/64"}, true},
		{"ipv6-only", []string{"2001:db8::100/128", "2001:db8::101/64"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
				startNodes(t, a, b, []Spec{a.dualSpec(0, tc.addrs...)}, []Spec{b.dualSpec(100, tc.addrs...)})
				defer b.Stop(syscall.SIGTERM)
				defer a.Stop(syscall.SIGTERM)
				settle(10 * time.Second)
				if h := held(a, tc.addrs...); !slices.Equal(h, tc.addrs) || len(held(b, tc.addrs...)) != 0 {
					t.Fatalf("A holds %v, B %v\nlogs A:\n%s", h, held(b, tc.addrs...), a.logs)
				}
				// The master's adverts: over IPv6 always, over IPv4 for a
				// dual-stack group, the same count of each.
				v4, v6s := advertsOf(&lan, a, time.Time{})
				for _, p := range v6s {
					if p[7] != 255 || netip.AddrFrom16([16]byte(p[24:40])) != carp.GroupIPv6 {
						t.Fatalf("IPv6 advert %x", p)
					}
				}
				if v6 := len(v6s); v6 == 0 || tc.v4 && v4 != v6 || !tc.v4 && v4 != 0 {
					t.Fatalf("adverts: %d over IPv4, %d over IPv6", v4, v6)
				}
				// The announcements: one frame per address, NAs to 33:33:00:00:00:01.
				var garps, nas int
				for _, f := range a.host.ARP() {
					switch {
					case f.Data[12] == 0x08 && f.Data[13] == 0x06:
						garps++
					case f.Data[12] == 0x86 && f.Data[13] == 0xdd && f.Data[0] == 0x33 && f.Data[5] == 1:
						nas++
					}
				}
				// Two addresses of each family: as many ARPs as NAs, or none.
				wantGARPs := 0
				if tc.v4 {
					wantGARPs = nas
				}
				if nas == 0 || nas%2 != 0 || garps != wantGARPs {
					t.Fatalf("announcements: %d gratuitous ARPs, %d NAs", garps, nas)
				}

				a.host.SetLink(true, false) // A loses its carrier: B takes all
				settle(5 * time.Second)
				if h := held(b, tc.addrs...); !slices.Equal(h, tc.addrs) || len(held(a, tc.addrs...)) != 0 {
					t.Fatalf("after A's fault: A holds %v, B %v", held(a, tc.addrs...), h)
				}
				a.host.SetLink(true, true) // and A, preferred, takes them back
				settle(5 * time.Second)
				if h := held(a, tc.addrs...); !slices.Equal(h, tc.addrs) || len(held(b, tc.addrs...)) != 0 {
					t.Fatalf("after A's return: A holds %v, B %v\nlogs B:\n%s", h, held(b, tc.addrs...), b.logs)
				}
			})
		})
	}
}

// TestManyAddressesSpreadAnnouncements: a takeover of 24 addresses sends
// its 24 announcements in two bursts half an interval apart, not at once.
func TestManyAddressesSpreadAnnouncements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		var addrs []string
		for i := range 24 {
			if i%2 == 0 {
				addrs = append(addrs, netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}).String()+"/32")
			} else {
				addrs = append(addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}).String()+"/128")
			}
		}
		a.run(t, a.dualSpec(0, addrs...))
		<-a.Ready()
		time.Sleep(4 * time.Second) // the dead interval, then the first announcement round
		synctest.Wait()
		byTime := map[time.Time]int{}
		var times []time.Time
		for _, f := range a.host.ARP() {
			if byTime[f.Time] == 0 {
				times = append(times, f.Time)
			}
			byTime[f.Time]++
		}
		if len(times) < 2 || byTime[times[0]] != 16 || byTime[times[1]] != 8 || times[1].Sub(times[0]) != 500*time.Millisecond {
			t.Fatalf("announcement bursts %v at %v", byTime, times)
		}
	})
}

// TestDualStackStatus: through the node, the control API lists every
// address of a dual-stack group (two IPv4, two IPv6) in order, configured
// on the MASTER and not on the BACKUP.
func TestDualStackStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		addrs := []string{"198.51.100.100/32", "198.51.100.101/24", "2001:db8::100/128", "2001:db8::101/64"}
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		startNodes(t, a, b, []Spec{a.dualSpec(0, addrs...)}, []Spec{b.dualSpec(100, addrs...)})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		settle(10 * time.Second)
		for _, tc := range []struct {
			tn *testNode
			on bool
		}{{a, true}, {b, false}} {
			gs := tc.tn.Status()
			if len(gs) != 1 || len(gs[0].Addresses) != len(addrs) {
				t.Fatalf("groups %+v", gs)
			}
			for i, x := range gs[0].Addresses {
				if x.Prefix.String() != addrs[i] || x.Configured != tc.on {
					t.Errorf("%s: address %d is %+v, want %s configured %v", gs[0].State, i, x, addrs[i], tc.on)
				}
			}
		}
	})
}

// advertsOf counts the IPv4 adverts that tn's host sent since from, and
// returns its IPv6 ones.
func advertsOf(lan *platformtest.LAN, tn *testNode, from time.Time) (v4 int, v6 [][]byte) {
	for _, f := range lan.Sent() {
		if f.ARP || f.Host != tn.host || f.Time.Before(from) {
			continue
		}
		switch f.Data[0] >> 4 {
		case 4:
			v4++
		case 6:
			v6 = append(v6, f.Data)
		}
	}
	return v4, v6
}

// lastAdvert6 is the source of the last IPv6 advert tn's host sent since
// from, or the zero Addr.
func lastAdvert6(lan *platformtest.LAN, tn *testNode, from time.Time) netip.Addr {
	_, v6 := advertsOf(lan, tn, from)
	if len(v6) == 0 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(v6[len(v6)-1][8:24]))
}

// TestDualStackWaitsForLinkLocal: a dual-stack group started on an
// interface that never had a carrier (so no link-local address yet)
// starts and waits, as an IPv4 group waits for the carrier; once the
// carrier and the address come, it takes its addresses and advertises
// over IPv6 from that address.
func TestDualStackWaitsForLinkLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		a.host.SetLink(false, false) // no link-local address without a carrier
		a.host.SetLink(true, false)
		addrs := []string{"198.51.100.100/32", "2001:db8::100/128"}
		if err := a.Apply([]Spec{a.dualSpec(0, addrs...)}); err != nil {
			t.Fatalf("start without a link-local address: %v", err)
		}
		defer a.Stop(syscall.SIGTERM)
		settle(10 * time.Second)
		if h := held(a, addrs...); len(h) != 0 {
			t.Fatalf("holds %v without a carrier", h)
		}
		t0 := time.Now()
		a.host.SetLink(true, true)
		settle(5 * time.Second)
		if h := held(a, addrs...); !slices.Equal(h, addrs) {
			t.Fatalf("holds %v once the link is up, want %v\nlogs:\n%s", h, addrs, a.logs)
		}
		ll, _ := a.host.LinkLocal()
		if src := lastAdvert6(&lan, a, t0); src != ll {
			t.Fatalf("IPv6 adverts from %v, want the link-local %v", src, ll)
		}
	})
}

// TestDualStackLinkLocalChanges: when the interface's link-local address
// changes, the group's IPv6 adverts come from the new one; while it has
// none, the group gives its addresses up as without a carrier, and takes
// them again when one comes back.
func TestDualStackLinkLocalChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		addrs := []string{"198.51.100.100/32", "2001:db8::100/128"}
		a.run(t, a.dualSpec(0, addrs...))
		settle(5 * time.Second)
		if h := held(a, addrs...); !slices.Equal(h, addrs) {
			t.Fatalf("holds %v", h)
		}
		next := netip.MustParseAddr("fe80::1:2:3:4")
		a.host.SetLinkLocal(next)
		synctest.Wait()
		t0 := time.Now()
		settle(3 * time.Second)
		if src := lastAdvert6(&lan, a, t0); src != next {
			t.Fatalf("IPv6 adverts from %v after the link-local became %v\nlogs:\n%s", src, next, a.logs)
		}
		a.host.SetLinkLocal(netip.Addr{})
		settle(3 * time.Second)
		if h := held(a, addrs...); len(h) != 0 {
			t.Fatalf("holds %v without a link-local address", h)
		}
		again := netip.MustParseAddr("fe80::5")
		a.host.SetLinkLocal(again)
		settle(5 * time.Second)
		t1 := time.Now()
		settle(2 * time.Second)
		if h := held(a, addrs...); !slices.Equal(h, addrs) {
			t.Fatalf("holds %v once a link-local address is back", h)
		}
		if src := lastAdvert6(&lan, a, t1); src != again {
			t.Fatalf("IPv6 adverts from %v, want %v", src, again)
		}
	})
}

// TestDualStackNoLinkLocalWarns: a running link that never gets a
// link-local address (disable_ipv6=1, addr_gen_mode=none) keeps a
// dual-stack group waiting: the node says why, once, after a few
// seconds, and the group runs when an address comes.
func TestDualStackNoLinkLocalWarns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		a.host.SetLinkLocal(netip.Addr{})
		addrs := []string{"198.51.100.100/32", "2001:db8::100/128"}
		a.run(t, a.dualSpec(0, addrs...))
		const line = "no IPv6 link-local address on eth0: the group waits for one"
		settle(2 * time.Second)
		if n := a.logs.count(line); n != 0 {
			t.Fatalf("warned after 2 s, while DAD may still run:\n%s", a.logs)
		}
		settle(30 * time.Second)
		if h := held(a, addrs...); len(h) != 0 {
			t.Fatalf("holds %v without a link-local address", h)
		}
		a.host.SetLink(true, true) // link messages: still no address
		settle(30 * time.Second)
		if n := a.logs.count(line); n != 1 {
			t.Fatalf("%d warnings, want 1:\n%s", n, a.logs)
		}
		a.host.SetLinkLocal(netip.MustParseAddr("fe80::5"))
		settle(5 * time.Second)
		if h := held(a, addrs...); !slices.Equal(h, addrs) {
			t.Fatalf("holds %v once a link-local address came\n%s", h, a.logs)
		}
	})
}

// TestIPv4GroupIgnoresIPv6Adverts: an IPv4-only group on an interface
// whose IPv6 socket another group opened is not handed a dual-stack
// peer's IPv6 adverts of its vhid: they are for no group here (the
// interface counts them), not packets that are "not CARP" (the group
// counted them so before).
func TestIPv4GroupIgnoresIPv6Adverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		six := a.spec(2, 100)
		six.Config.Addr, six.Config.AddrArg = netip.MustParsePrefix("2001:db8::2/128"), "2001:db8::2"
		startNodes(t, a, b, []Spec{a.spec(1, 100), six}, []Spec{b.dualSpec(0, "198.51.100.101/32", "2001:db8::101/128")})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		settle(10 * time.Second)
		if n := lastAdvert6(&lan, b, time.Time{}); !n.IsValid() {
			t.Fatal("B sent no IPv6 advert")
		}
		if d := a.groupStatus(t, 1).Counters.Dropped; d["not-carp"] != 0 {
			t.Errorf("the IPv4 group dropped %v", d)
		}
		a.mu.Lock()
		ifc := a.ifaces["eth0"]
		a.mu.Unlock()
		if ifc.unknown.Load() == 0 {
			t.Error("the interface counted no packet for no group")
		}
	})
}

// TestDualStackWaitingCountsIPv6Adverts: a dual-stack group that waits
// for its interface's link-local address (as without a carrier) checks a
// peer's IPv6 adverts all the same and counts them as what they are,
// valid adverts of that peer, as it counts the peer's IPv4 ones: none is
// a drop ("not-carp" would send an operator looking for a stray protocol
// on the link), and the peer is listed under its link-local source.
func TestDualStackWaitingCountsIPv6Adverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		a.host.SetLinkLocal(netip.Addr{}) // and none comes
		addrs := []string{"198.51.100.100/32", "2001:db8::100/128"}
		a.run(t, a.dualSpec(0, addrs...))
		b.run(t, b.dualSpec(100, addrs...))
		settle(10 * time.Second)
		if h := held(b, addrs...); !slices.Equal(h, addrs) || len(held(a, addrs...)) != 0 {
			t.Fatalf("A holds %v, B %v", held(a, addrs...), h)
		}
		before := a.groupStatus(t, 1).Counters.Valid
		t0 := time.Now()
		settle(5 * time.Second)
		v4, v6s := advertsOf(&lan, b, t0)
		v6 := len(v6s)
		st := a.groupStatus(t, 1)
		if v6 == 0 || v4 != v6 {
			t.Fatalf("B sent %d IPv4 and %d IPv6 adverts in 5 s", v4, v6)
		}
		if len(st.Counters.Dropped) != 0 {
			t.Errorf("the waiting group dropped %v", st.Counters.Dropped)
		}
		if got := st.Counters.Valid - before; got != uint64(v4+v6) {
			t.Errorf("the waiting group counted %d valid adverts of the %d IPv4 and %d IPv6 that B sent", got, v4, v6)
		}
		llB, _ := b.host.LinkLocal()
		if !slices.ContainsFunc(st.Peers, func(p group.Peer) bool { return p.Source == llB }) {
			t.Errorf("peers %+v: no %v", st.Peers, llB)
		}
	})
}
