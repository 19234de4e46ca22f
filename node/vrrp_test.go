package node

import (
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vrrp"
)

// vrrpVIP is the address of VRRPv3 virtual router vrid in these tests,
// apart from the CARP groups' vipOf.
func vrrpVIP(vrid uint8) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, 200 + vrid}), 32)
}

// vspec is a VRRPv3 group of the node on eth0, managing its address.
func (tn *testNode) vspec(vrid, priority uint8) Spec {
	return Spec{ManageVIP: true, Config: group.Config{Interface: "eth0", Src: tn.src, Mcast: mcast, VHID: vrid,
		Protocol: group.ProtocolVRRP3, Priority: priority, AdvertInterval: 100,
		Addr: vrrpVIP(vrid), AddrArg: vrrpVIP(vrid).Addr().String(), GARPCount: 1, GARPInterval: time.Second,
		WaitWhenDown: true}}
}

// holds reports whether the node holds the address of VRRPv3 vrid.
func (tn *testNode) holds(vrid uint8) bool { return tn.host.Addrs().Has(vrrpVIP(vrid).Addr()) }

// status is the control plane's view of the group named name.
func (tn *testNode) status(t *testing.T, name string) control.Group {
	t.Helper()
	for _, g := range tn.Status() {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %s in %v", name, tn.Groups())
	return control.Group{}
}

// vrrpPair starts A (.11) and B (.12) on lan as VRRPv3 routers of VRID
// 1 with priorities pa and pb, and waits until both are ready; they are
// stopped when the test ends.
func vrrpPair(t *testing.T, lan *platformtest.LAN, pa, pb uint8) (a, b *testNode) {
	t.Helper()
	a, b = newTestNode(lan, 11), newTestNode(lan, 12)
	startNodes(t, a, b, []Spec{a.vspec(1, pa)}, []Spec{b.vspec(1, pb)})
	t.Cleanup(func() { b.Stop(syscall.SIGTERM) })
	t.Cleanup(func() { a.Stop(syscall.SIGTERM) })
	return a, b
}

// vmasters says which of the nodes hold VRRPv3 vrid's address: "A", "B",
// "AB" or "".
func vmasters(vrid uint8, a, b *testNode) string {
	s := ""
	if a.holds(vrid) {
		s += "A"
	}
	if b.holds(vrid) {
		s += "B"
	}
	return s
}

// TestVRRP3Converge: two nodes elect the one of higher priority; of two
// masters of equal priority, the higher primary address (B, .12) stays.
// The tie-break is between masters only (RFC 9568 §6.4.3): a BACKUP
// accepts a master of equal priority whatever its address (§6.4.2), so
// two routers of equal priority that start together elect whichever
// Master_Down_Timer fires first. The tie case keeps them apart until both
// are MASTER, as after a partition.
func TestVRRP3Converge(t *testing.T) {
	for _, tt := range []struct {
		name   string
		pa, pb uint8
		split  bool // A and B cannot hear each other for the first 5 s
		want   string
		reason string // the backup's, at the end
	}{
		{"higher priority wins", 200, 100, false, "A", "start"},
		{"lower priority loses", 100, 200, false, "B", "start"},
		{"tie on the primary address", 100, 100, true, "B", "higher-address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a, b := vrrpPair(t, &lan, tt.pa, tt.pb)
				if tt.split {
					lan.Partition(a.host)
					time.Sleep(5 * time.Second)
					synctest.Wait()
					if got := vmasters(1, a, b); got != "AB" {
						t.Fatalf("masters %q while apart, want AB", got)
					}
					lan.Heal(a.host)
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if got := vmasters(1, a, b); got != tt.want {
					t.Fatalf("masters %q, want %q\nA:\n%s\nB:\n%s", got, tt.want, a.logs, b.logs)
				}
				g := a.status(t, "eth0-vrrp3-1")
				if g.Protocol != "vrrp3" || g.Timing.Priority != tt.pa || g.Timing.AdvertIntervalCS != 100 {
					t.Errorf("status: protocol %q priority %d interval %d", g.Protocol, g.Timing.Priority, g.Timing.AdvertIntervalCS)
				}
				// A backup is silent: the backup has heard the master only.
				backup, master := a, b
				if tt.want == "A" {
					backup, master = b, a
				}
				if g := backup.status(t, "eth0-vrrp3-1"); len(g.Peers) != 1 || g.Peers[0].Source != master.src {
					t.Errorf("the backup's peers %+v, want the master", g.Peers)
				} else if g.Reason != tt.reason {
					t.Errorf("the backup's reason %q, want %q", g.Reason, tt.reason)
				}
				if g := master.status(t, "eth0-vrrp3-1"); g.Reason != "master-down" {
					t.Errorf("the master's reason %q, want master-down", g.Reason)
				}
				if g := master.status(t, "eth0-vrrp3-1"); tt.pa != tt.pb && len(g.Peers) != 0 {
					t.Errorf("the master's peers %+v, want none", g.Peers)
				}
			})
		})
	}
}

// TestVRRP3Takeover: the master's death makes the backup MASTER after
// Master_Down_Interval (3 × 1 s + Skew_Time), its priority-0 leave after
// Skew_Time alone ((256 − 100) / 256 s).
func TestVRRP3Takeover(t *testing.T) {
	mdi := vrrp.MasterDownInterval(100, 100) // 3.609375 s
	skew := vrrp.SkewTime(100, 100)          // 0.609375 s
	t.Run("death", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var lan platformtest.LAN
			a, b := vrrpPair(t, &lan, 200, 100)
			time.Sleep(10*time.Second + 500*time.Millisecond) // between two of A's adverts
			synctest.Wait()
			if got := vmasters(1, a, b); got != "A" {
				t.Fatalf("masters %q before the fault", got)
			}
			var lastAdvert time.Time
			for _, f := range lan.Sent() {
				if f.Host == a.host && !f.ARP {
					lastAdvert = f.Time
				}
			}
			lan.Partition(a.host)
			time.Sleep(mdi - time.Since(lastAdvert) - time.Millisecond)
			synctest.Wait()
			if b.holds(1) {
				t.Fatalf("B took over %v after A's last advert, before Master_Down_Interval %v", time.Since(lastAdvert), mdi)
			}
			time.Sleep(2 * time.Millisecond)
			synctest.Wait()
			if !b.holds(1) {
				t.Fatalf("B did not take over %v after A's last advert", time.Since(lastAdvert))
			}
			if g := b.status(t, "eth0-vrrp3-1"); g.Reason != "master-down" {
				t.Errorf("reason %q, want master-down", g.Reason)
			}
		})
	})
	t.Run("leave", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var lan platformtest.LAN
			a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
			startNodes(t, a, b, []Spec{a.vspec(1, 200)}, []Spec{b.vspec(1, 100)})
			defer b.Stop(syscall.SIGTERM)
			time.Sleep(10*time.Second + 500*time.Millisecond)
			synctest.Wait()
			left := time.Now()
			if err := a.Apply(nil); err != nil { // A's group goes: it leaves with priority 0
				t.Fatal(err)
			}
			synctest.Wait()
			if a.holds(1) {
				t.Fatal("A kept the address")
			}
			time.Sleep(skew - time.Millisecond - time.Since(left))
			synctest.Wait()
			if b.holds(1) {
				t.Fatalf("B took over before Skew_Time %v", skew)
			}
			time.Sleep(2 * time.Millisecond)
			synctest.Wait()
			if !b.holds(1) {
				t.Fatalf("B did not take over Skew_Time (%v) after A left", skew)
			}
			if g := b.status(t, "eth0-vrrp3-1"); g.Reason != "master-left" {
				t.Errorf("reason %q, want master-left", g.Reason)
			}
		})
	})
}

// TestVRRP3Preempt: a router of higher priority that starts after the
// master takes over with Preempt_Mode (the default), not without.
func TestVRRP3Preempt(t *testing.T) {
	for _, noPreempt := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var lan platformtest.LAN
			a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
			b.run(t, b.vspec(1, 100))
			time.Sleep(5 * time.Second)
			synctest.Wait()
			sa := a.vspec(1, 200)
			sa.Config.NoPreempt = noPreempt
			a.run(t, sa)
			time.Sleep(10 * time.Second)
			synctest.Wait()
			want := "A"
			if noPreempt {
				want = "B"
			}
			if got := vmasters(1, a, b); got != want {
				t.Fatalf("no-preempt %v: masters %q, want %q", noPreempt, got, want)
			}
		})
	}
}

// vrrp2 is a VRRPv2 advert of vrid with six addresses: 0x21 as CARP's
// first byte, 16 + 6 × 4 = 40 bytes (a socket filter drops those under
// CARP's 36).
func vrrp2(src netip.Addr, vrid uint8) []byte {
	v := []byte{0x21, vrid, 100, 6, 0, 1, 0, 0}
	for i := range 6 {
		v = append(v, 198, 51, 100, byte(100+i))
	}
	v = append(v, make([]byte, 8)...)
	binaryPut16(v[6:], carp.Checksum(v))
	h := carp.NewPacket(src, mcast, 1, carp.Header{})
	b, _ := h.MarshalBinary()
	b = append(b[:carp.IPv4HeaderLen], v...)
	b[2], b[3] = 0, byte(len(b))
	b[10], b[11] = 0, 0
	binaryPut16(b[10:], carp.Checksum(b[:carp.IPv4HeaderLen]))
	return b
}

func binaryPut16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

// TestVRRP3BesideCARP: a CARP group and a VRRPv3 group of the same vhid
// on one interface each elect with their own packets only; a VRRPv2
// advert of that vhid is counted by the CARP group as such.
func TestVRRP3BesideCARP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		// CARP: A wins (advskew 0); VRRPv3: B wins (priority 200).
		startNodes(t, a, b, []Spec{a.spec(1, 0), a.vspec(1, 100)}, []Spec{b.spec(1, 100), b.vspec(1, 200)})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		peerAddr, conn := thirdHost(t, &lan, carp.IPProtocol)
		for range 10 {
			time.Sleep(time.Second)
			conn.WritePacket(vrrp2(peerAddr, 1))
		}
		synctest.Wait()
		wantHolders(t, "1 | ", a, b)
		if got := vmasters(1, a, b); got != "B" {
			t.Fatalf("VRRPv3 masters %q, want B", got)
		}
		for _, name := range []string{"eth0-1", "eth0-vrrp3-1"} {
			// Each group's master is heard by its backup.
			backup := map[string]*testNode{"eth0-1": b, "eth0-vrrp3-1": a}[name]
			if g := backup.status(t, name); g.Counters.ValidReceived < 5 || len(g.Counters.Dropped) > 1 {
				t.Errorf("%s: %d valid adverts received, dropped %v", name, g.Counters.ValidReceived, g.Counters.Dropped)
			}
			g := a.status(t, name)
			drops := 0
			for r, n := range g.Counters.Dropped {
				if r != "vrrpv2-or-foreign" {
					t.Errorf("%s: dropped %d as %s", name, n, r)
				}
				drops += int(n)
			}
			if want := map[string]int{"eth0-1": 10, "eth0-vrrp3-1": 0}[name]; drops != want {
				t.Errorf("%s: %d packets counted as VRRPv2, want %d (%v)", name, drops, want, g.Counters.Dropped)
			}
		}
		if strings.Contains(a.logs.String(), "digest") || strings.Contains(a.logs.String(), "HMAC") {
			t.Errorf("a VRRPv2 advert was logged as a bad digest:\n%s", a.logs)
		}
	})
}

// TestVRRP3Demotion: a demotion lowers the advertised priority (never to
// 0), and a backup of higher priority then takes over.
func TestVRRP3Demotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := vrrpPair(t, &lan, 200, 180)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := vmasters(1, a, b); got != "A" {
			t.Fatalf("masters %q, want A", got)
		}
		if err := a.Demote("eth0-vrrp3-1", 50); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := vmasters(1, a, b); got != "B" {
			t.Fatalf("masters %q after A's demotion, want B", got)
		}
		if p := a.status(t, "eth0-vrrp3-1").Timing.Priority; p != 150 {
			t.Errorf("A advertises priority %d, want 150", p)
		}
		text, err := a.Explain("eth0-vrrp3-1")
		if err != nil || !strings.Contains(text, "eth0-vrrp3-1 (eth0 vrrp3 vhid 1) is BACKUP") ||
			!strings.Contains(text, "It advertises priority 150 every 100 cs, lowered by a demotion of 50") ||
			!strings.Contains(text, "The master heard, 198.51.100.12, advertises priority 180 every 100 cs") ||
			!strings.Contains(text, "a higher priority, so it wins the election.") {
			t.Errorf("explain: %q, %v", text, err)
		}
		if err := a.Demote("eth0-vrrp3-1", 255); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if p := a.status(t, "eth0-vrrp3-1").Timing.Priority; p != 1 {
			t.Errorf("A demoted by 255 advertises priority %d, want 1", p)
		}
	})
}

// TestVRRP3Reload: a reload that changes priority and interval changes
// them in place, without a transition.
func TestVRRP3Reload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := vrrpPair(t, &lan, 200, 100)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		before := a.status(t, "eth0-vrrp3-1")
		s := a.vspec(1, 150)
		s.Config.AdvertInterval = 50
		if err := a.Apply([]Spec{s}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		after := a.status(t, "eth0-vrrp3-1")
		if after.Counters.Transitions != before.Counters.Transitions || after.State != control.StateMaster {
			t.Fatalf("transitions %d → %d, state %s", before.Counters.Transitions, after.Counters.Transitions, after.State)
		}
		if after.Timing.Priority != 150 || after.Timing.AdvertIntervalCS != 50 {
			t.Errorf("priority %d interval %d, want 150 and 50", after.Timing.Priority, after.Timing.AdvertIntervalCS)
		}
		// Twice the adverts per second now: 20 in 10 s, where 10 before.
		if n := after.Counters.AdvertsSent - before.Counters.AdvertsSent; n < 19 || n > 21 {
			t.Errorf("%d adverts in 10 s at 50 cs", n)
		}
		if g := b.status(t, "eth0-vrrp3-1"); g.Timing.MasterAdverIntervalCS != 50 {
			t.Errorf("B learned an interval of %d cs, want 50", g.Timing.MasterAdverIntervalCS)
		}
	})
}

// TestVRRP3BothFamilies: the IPv4 and the IPv6 virtual router of one VRID
// run side by side, each electing on its own adverts: A wins IPv4, B
// wins IPv6, whose adverts come from its link-local address.
func TestVRRP3BothFamilies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		six := func(tn *testNode, prio uint8) Spec {
			s := tn.vspec(1, prio)
			p := netip.MustParsePrefix("2001:db8::100/128")
			s.Config.Addr, s.Config.AddrArg = p, p.Addr().String()
			return s
		}
		startNodes(t, a, b, []Spec{a.vspec(1, 200), six(a, 100)}, []Spec{b.vspec(1, 100), six(b, 200)})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		v6 := netip.MustParseAddr("2001:db8::100")
		if !a.holds(1) || b.holds(1) || a.host.Addrs().Has(v6) || !b.host.Addrs().Has(v6) {
			t.Fatalf("IPv4 A %v B %v, IPv6 A %v B %v", a.holds(1), b.holds(1), a.host.Addrs().Has(v6), b.host.Addrs().Has(v6))
		}
		g6 := a.status(t, "eth0-vrrp3-1-ipv6")
		if len(g6.Peers) != 1 || !g6.Peers[0].Source.Is6() || !g6.Peers[0].Source.IsLinkLocalUnicast() || g6.Peers[0].Priority != 200 {
			t.Errorf("A's IPv6 router heard %+v, want B's link-local address at priority 200", g6.Peers)
		}
		if g4 := b.status(t, "eth0-vrrp3-1"); len(g4.Peers) != 1 || g4.Peers[0].Source != a.src {
			t.Errorf("B's IPv4 router heard %+v, want A", g4.Peers)
		}
		for _, g := range []control.Group{g6, a.status(t, "eth0-vrrp3-1")} {
			if len(g.Counters.Dropped) != 0 {
				t.Errorf("%s dropped %v", g.Name, g.Counters.Dropped)
			}
		}
	})
}

// vspec6 is an IPv6 VRRPv3 group of the node on eth0 with address addr.
func (tn *testNode) vspec6(vrid, priority uint8, addr string) Spec {
	s := tn.vspec(vrid, priority)
	p := netip.MustParsePrefix(addr)
	s.Config.Addr, s.Config.AddrArg = p, p.Addr().String()
	return s
}

// TestVRRP3NewLinkLocal: when the interface's link-local address changes,
// an IPv6 VRRPv3 router advertises from the new one (its primary
// address) and stays MASTER; the peer keeps it as master, not two.
func TestVRRP3NewLinkLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		const vip6 = "2001:db8::100/128"
		startNodes(t, a, b, []Spec{a.vspec6(1, 200, vip6)}, []Spec{b.vspec6(1, 100, vip6)})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		settle(10 * time.Second)
		if h, hb := held(a, vip6), held(b, vip6); len(h) != 1 || len(hb) != 0 {
			t.Fatalf("A holds %v, B %v", h, hb)
		}
		next := netip.MustParseAddr("fe80::1:2:3:4")
		a.host.SetLinkLocal(next)
		synctest.Wait()
		t0 := time.Now()
		settle(10 * time.Second)
		if src := lastAdvert6(&lan, a, t0); src != next {
			t.Fatalf("IPv6 adverts from %v after the link-local became %v\nlogs:\n%s", src, next, a.logs)
		}
		if h, hb := held(a, vip6), held(b, vip6); len(h) != 1 || len(hb) != 0 {
			t.Fatalf("after the new link-local: A holds %v, B %v", h, hb)
		}
		if g := b.status(t, "eth0-vrrp3-1-ipv6"); len(g.Peers) == 0 || g.Peers[len(g.Peers)-1].Source != next {
			t.Errorf("B heard %+v, want A at %v", g.Peers, next)
		}
	})
}

// TestVRRP3WaitsForLinkLocal: an IPv6 VRRPv3 group started on an
// interface without a carrier (so without a link-local address, its
// primary address) starts and waits; once the carrier and the address
// come, it joins the election and, of higher priority, takes over.
func TestVRRP3WaitsForLinkLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		const vip6 = "2001:db8::100/128"
		a.host.SetLink(false, false) // no link-local address without a carrier
		a.host.SetLink(true, false)
		if err := a.Apply([]Spec{a.vspec6(1, 200, vip6)}); err != nil {
			t.Fatalf("start without a link-local address: %v", err)
		}
		t.Cleanup(func() { a.Stop(syscall.SIGTERM) })
		b.run(t, b.vspec6(1, 100, vip6))
		settle(10 * time.Second)
		if h, hb := held(a, vip6), held(b, vip6); len(h) != 0 || len(hb) != 1 {
			t.Fatalf("without A's carrier: A holds %v, B %v", h, hb)
		}
		t0 := time.Now()
		a.host.SetLink(true, true)
		settle(10 * time.Second)
		if h, hb := held(a, vip6), held(b, vip6); len(h) != 1 || len(hb) != 0 {
			t.Fatalf("once A's link is up: A holds %v, B %v\nlogs:\n%s", h, hb, a.logs)
		}
		ll, _ := a.host.LinkLocal()
		if src := lastAdvert6(&lan, a, t0); src != ll {
			t.Fatalf("IPv6 adverts from %v, want the link-local %v", src, ll)
		}
	})
}
