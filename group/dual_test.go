package group

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

func TestAddressSet(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		c    Config
		fam  carp.Family
		env  string
	}{
		{"one IPv4, as ucarp", Config{Addr: p("198.51.100.100/32"), AddrArg: "198.51.100.100"}, carp.FamilyIPv4, "198.51.100.100"},
		{"IPv6 only", Config{Addr: p("2001:db8::100/128"), AddrArg: "2001:db8::100", MoreAddrs: []netip.Prefix{p("2001:db8::101/64")}},
			carp.FamilyIPv6, "2001:db8::100 2001:db8::101"},
		{"dual stack", Config{Addr: p("198.51.100.100/24"), AddrArg: "198.51.100.100", MoreAddrs: []netip.Prefix{p("2001:db8::100/128"), p("198.51.100.101/32")}},
			carp.FamilyBoth, "198.51.100.100 2001:db8::100 198.51.100.101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if f := tc.c.families(); f != tc.fam {
				t.Errorf("families %d, want %d", f, tc.fam)
			}
			if e := tc.c.vipsEnv(); e != tc.env {
				t.Errorf("CARP_VIPS %q, want %q", e, tc.env)
			}
		})
	}
}

// TestVIPSet: the set is held when every address is, present and ours
// when any is; Acquire adds what is missing, Release removes every copy;
// IPv6 addresses get no label.
func TestVIPSet(t *testing.T) {
	sys := viptest.New("eth0")
	c := &Config{Interface: "eth0", VHID: 1, Addr: netip.MustParsePrefix("198.51.100.100/32"),
		MoreAddrs: []netip.Prefix{netip.MustParsePrefix("2001:db8::100/64")}}
	s := newVIPSet(sys, c, 4*time.Second)
	if err := sys.Add(vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Proto: vip.ProtoCARP}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Check()
	if err != nil || st.Held || !st.Present || !st.Ours {
		t.Fatalf("one of two: %+v %v", st, err)
	}
	if added, _, err := s.Acquire(); err != nil || !added {
		t.Fatalf("acquire: %v %v", added, err)
	}
	if st, _ := s.Check(); !st.Held {
		t.Fatalf("both: %+v", st)
	}
	as, _ := sys.Addresses()
	for _, a := range as {
		if a.Prefix.Addr().Is6() && a.Label != "" || a.Prefix.Addr().Is4() && a.Label != "eth0:ucarp" {
			t.Errorf("address %v", a)
		}
	}
	if removed, err := s.Release(); err != nil || len(removed) != 2 {
		t.Fatalf("release: %v %v", removed, err)
	}
	if st, _ := s.Check(); st.Present {
		t.Fatalf("after release: %+v", st)
	}
}

// TestAnnounceStep: up to 16 frames go at once; more are spread in
// bursts over the interval.
func TestAnnounceStep(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 0}, {16, 0}, {17, 500 * time.Millisecond}, {32, 500 * time.Millisecond}, {64, 250 * time.Millisecond}} {
		if got := announceStep(tc.n, time.Second); got != tc.want {
			t.Errorf("%d frames: step %v, want %v", tc.n, got, tc.want)
		}
	}
}

// openCARP opens h's CARP socket for multicast group g.
func openCARP(t *testing.T, h *platformtest.Host, g netip.Addr) platform.IPConn {
	t.Helper()
	c, err := h.OpenIP(platform.IPOptions{Protocol: carp.IPProtocol, Group: g})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startLANGroup runs a group of c on host h of a platformtest.LAN, over
// h's own IPv4 and IPv6 sockets, with addrs for its addresses (nil: it
// manages none) and a fixed random source. When Run returns the sockets
// are closed, then done.
func startLANGroup(t *testing.T, h *platformtest.Host, c Config, addrs vip.System) (g *Group, done <-chan struct{}) {
	t.Helper()
	conn, conn6 := openCARP(t, h, defaultGroup), openCARP(t, h, carp.GroupIPv6)
	src6, _ := h.LinkLocal()
	mac, _ := h.HardwareAddr()
	g, err := New(c, Deps{Log: testLog(io.Discard, false).Logger, MAC: mac,
		Conn: conn, Conn6: conn6, Src6: src6, Addrs: addrs, Initial: platform.LinkState{Up: true, Running: true},
		Random: func() uint64 { return 1 }, scripts: newRunner(testLog(io.Discard, false), 0)})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		g.Run()
		conn.Close()
		conn6.Close()
		close(stopped)
	}()
	return g, stopped
}

// TestOwnIPv6Reader: a group that reads its sockets itself (not Shared)
// reads the IPv6 one too: a faster IPv6 master keeps it BACKUP.
func TestOwnIPv6Reader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		me := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 12})
		peer := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 11})
		peer6 := openCARP(t, peer, carp.GroupIPv6)
		peerSrc, _ := peer.LinkLocal()
		c := Config{Interface: "eth0", Src: loopSrc, Mcast: defaultGroup, VHID: 1, Password: []byte("carplab"),
			Addr: netip.MustParsePrefix("2001:db8::100/128"), AddrArg: "2001:db8::100", AdvBase: 1, AdvSkew: 100, DeadRatio: 3}
		g, done := startLANGroup(t, me, c, nil)
		auth, _ := carp.NewAuth([]byte("carplab"), 1, []netip.Addr{c.Addr.Addr()})
		for i := range 10 {
			h := carp.Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AuthLen: 7, Counter: uint64(100 + i)}
			auth.Sign(&h)
			p := carp.NewPacket6(peerSrc, carp.GroupIPv6, h)
			b, _ := p.MarshalBinary()
			if err := peer6.WritePacket(b); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		var st carp.State
		g.inLoop(func() { st = g.m.State() })
		if st != carp.Backup {
			t.Fatalf("state %v after 10 s of a faster IPv6 master", st)
		}
		g.Release()
		<-done
		peer6.Close()
	})
}

// TestStatusDualStack: Status lists every address of a dual-stack group
// (two IPv4, two IPv6), the first first, each with its own state; the
// set is configured only when all are.
func TestStatusDualStack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		me := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 12})
		p := netip.MustParsePrefix
		c := Config{Interface: "eth0", Src: loopSrc, Mcast: defaultGroup, VHID: 1, Password: []byte("carplab"),
			Addr: p("198.51.100.100/24"), AddrArg: "198.51.100.100",
			MoreAddrs: []netip.Prefix{p("198.51.100.101/32"), p("2001:db8::100/64"), p("2001:db8::101/128")},
			AdvBase:   1, AdvSkew: 100, DeadRatio: 3, GARPCount: 1, GARPInterval: time.Second}
		g, done := startLANGroup(t, me, c, me.Addresses())
		defer func() {
			g.Release()
			<-done
		}()
		synctest.Wait()
		want := []AddrStatus{{p("198.51.100.100/24"), AddrAbsent, 0}, {p("198.51.100.101/32"), AddrAbsent, 0},
			{p("2001:db8::100/64"), AddrAbsent, 0}, {p("2001:db8::101/128"), AddrAbsent, 0}}
		check := func(when string, state carp.State, set AddrState) {
			t.Helper()
			s := g.Status()
			if s.State != state || s.AddrState != set || s.Addr != c.Addr || !slices.Equal(s.Addrs, want) {
				t.Fatalf("%s: %v, set %v, first %v, addresses %v; want %v, %v, %v", when, s.State, s.AddrState, s.Addr, s.Addrs, state, set, want)
			}
		}
		check("at start", carp.Backup, AddrAbsent)

		time.Sleep(4 * time.Second) // past the dead time, no peer heard
		synctest.Wait()
		for i := range want {
			want[i].State = AddrConfigured
		}
		check("MASTER", carp.Master, AddrConfigured)

		// Someone removes one IPv6 address: that one shows, and the set is
		// no longer configured.
		if err := me.Addrs().DeleteAddress(vip.Address{Prefix: p("2001:db8::101/128")}); err != nil {
			t.Fatal(err)
		}
		want[3].State = AddrAbsent
		check("one removed", carp.Master, AddrAbsent)
	})
}

// v6Broken is a System on which adding or removing an IPv6 address fails
// (disable_ipv6=1).
type v6Broken struct{ *viptest.Addrs }

var errV6 = errors.New("IPv6 is disabled")

func (s v6Broken) AddAddress(a vip.Address) error {
	if a.Prefix.Addr().Is6() {
		return errV6
	}
	return s.Addrs.AddAddress(a)
}

func (s v6Broken) DeleteAddress(a vip.Address) error {
	if a.Prefix.Addr().Is6() {
		return errV6
	}
	return s.Addrs.DeleteAddress(a)
}

// TestVIPSetActsOnEveryAddress: an address that fails does not keep the
// set from acting on the others: a MASTER holds the IPv4 addresses when
// the IPv6 one cannot be added, and a BACKUP releases them when the IPv6
// one cannot be removed; every error is returned.
func TestVIPSetActsOnEveryAddress(t *testing.T) {
	p := netip.MustParsePrefix
	fake := viptest.New("eth0")
	c := &Config{Interface: "eth0", VHID: 1, Addr: p("2001:db8::100/128"),
		MoreAddrs: []netip.Prefix{p("198.51.100.100/32"), p("198.51.100.101/32")}}
	s := newVIPSet(v6Broken{fake}, c, 4*time.Second)
	added, _, err := s.Acquire()
	if !errors.Is(err, errV6) || !added {
		t.Fatalf("acquire: added %v, err %v", added, err)
	}
	for _, a := range []string{"198.51.100.100", "198.51.100.101"} {
		if !fake.Has(netip.MustParseAddr(a)) {
			t.Errorf("acquire: %s not added", a)
		}
	}
	fake.Add(vip.Address{Prefix: p("2001:db8::100/128"), Proto: vip.ProtoCARP})
	adds := fake.Adds()
	st, _, err := s.Refresh()
	if !errors.Is(err, errV6) || st.Held || !st.Present || fake.Adds()-adds != 2 {
		t.Fatalf("refresh: %+v %v, %d renewed", st, err, fake.Adds()-adds)
	}
	removed, err := s.Release()
	if !errors.Is(err, errV6) || len(removed) != 2 {
		t.Fatalf("release: %v %v", removed, err)
	}
	fake.Add(vip.Address{Prefix: p("198.51.100.100/32"), Proto: vip.ProtoCARP})
	if ours, err := s.RemoveOurs(); !errors.Is(err, errV6) || !ours || fake.Has(netip.MustParseAddr("198.51.100.100")) {
		t.Fatalf("remove ours: %v %v", ours, err)
	}
}
