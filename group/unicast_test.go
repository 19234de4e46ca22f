package group

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/carpauth"
	"github.com/ucarp-go/ucarp/platform"
)

var loopPeer2 = netip.MustParseAddr("198.51.100.13")

// TestUnicastOnePeerDown: with two IPv4 peers, one unreachable
// (EHOSTDOWN, as FreeBSD says of a peer whose neighbour entry failed),
// the MASTER keeps sending to the other, counts the peer's failures
// apart and does not demote itself for send failures.
func TestUnicastOnePeerDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.Peers = []netip.Addr{loopPeer, loopPeer2} })
		defer h.close()
		h.conn.mu.Lock()
		h.conn.failTo = loopPeer2
		h.conn.mu.Unlock()
		h.at(30 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		sent := h.conn.adverts()
		if len(sent) < 15 {
			t.Fatalf("%d adverts sent", len(sent))
		}
		for i, p := range sent {
			if dst := netip.AddrFrom4([4]byte(p.raw[16:20])); dst != loopPeer {
				t.Fatalf("advert %d to %v", i, dst)
			}
			if p.h.AdvSkew != 100 {
				t.Fatalf("advert %d with advskew %d: the master demoted itself (logs:\n%s)", i, p.h.AdvSkew, h.logs)
			}
		}
		var s Status
		h.d.inLoop(func() { s = h.d.status() })
		if s.Counters.SendErrors != 0 || s.Counters.PeerSendErrors != uint64(len(sent)) {
			t.Fatalf("send errors %d, peer send errors %d, want 0 and %d", s.Counters.SendErrors, s.Counters.PeerSendErrors, len(sent))
		}
		if n := h.logs.count("Cannot send the advert to peer 198.51.100.13"); n == 0 || n > limitBurst+int(30*time.Second/limitEvery) {
			t.Fatalf("%d lines about the peer", n)
		}

		// Both peers down: that is a send failure.
		h.conn.mu.Lock()
		h.conn.fail = true
		h.conn.mu.Unlock()
		h.at(35 * time.Second)
		h.d.inLoop(func() { s = h.d.status() })
		if s.Counters.SendErrors == 0 {
			t.Fatal("no send error with every peer down")
		}
	})
}

// TestOwn6: the tie-break's own address toward a global IPv6 peer is the
// source the adverts to it come from; none for a link-local or IPv4
// sender, or without IPv6 peers.
func TestOwn6(t *testing.T) {
	global := netip.MustParseAddr("2001:db8::2")
	mine := netip.MustParseAddr("2001:db8::1")
	d := &Group{deps: deps{cfg: &Config{Peers: []netip.Addr{global}},
		source6: func(p netip.Addr) (netip.Addr, bool) { return mine, p == global }}}
	for _, tt := range []struct {
		src, want netip.Addr
	}{
		{global, mine},
		{netip.MustParseAddr("fe80::2"), netip.Addr{}},
		{loopPeer, netip.Addr{}},
		{netip.MustParseAddr("2001:db8::3"), netip.Addr{}},
	} {
		if got := d.own6(tt.src); got != tt.want {
			t.Errorf("own6(%v) = %v, want %v", tt.src, got, tt.want)
		}
	}
	d.cfg.Peers = []netip.Addr{loopPeer}
	if got := d.own6(global); got.IsValid() {
		t.Errorf("own6 without IPv6 peers: %v", got)
	}
}

// recConn is an advert socket that records what is written and reads
// nothing.
type recConn struct {
	mu     sync.Mutex
	sent   [][]byte
	closed chan struct{}
}

func (c *recConn) ReadPacket([]byte) (int, error) { <-c.closed; return 0, net.ErrClosed }
func (c *recConn) Close() error                   { close(c.closed); return nil }
func (c *recConn) WritePacket(pkt []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, slices.Clone(pkt))
	return nil
}
func (c *recConn) packets() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// TestUnicastAuth: --peer with --auth=hmac-sha256, two IPv4 peers and a
// global IPv6 one: every advert carries the trailer, its tag covers its
// own destination (the same advert to another peer is a bad MAC), and the
// sequences increase strictly over both families, in the order sent.
func TestUnicastAuth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		peer6 := netip.MustParseAddr("2001:db8::2")
		own6 := netip.MustParseAddr("2001:db8::c")
		src6 := netip.MustParseAddr("fe80::c")
		peers := []netip.Addr{loopPeer, loopPeer2, peer6}
		kr := testKeys(t, 4)
		vip6 := netip.MustParsePrefix("2001:db8::100/128")
		c := Config{Interface: "eth0", Src: loopSrc, Mcast: defaultGroup, VHID: 1, Password: []byte("carplab"),
			Addr: loopVIP, AddrArg: loopVIP.Addr().String(), MoreAddrs: []netip.Prefix{vip6}, AdvBase: 1, AdvSkew: 0,
			DeadRatio: 3, Peers: peers, Auth: authConfig(kr, carpauth.Enforce)}
		var order []*recConn // the conn of each packet, in the order written
		var omu sync.Mutex
		conn, conn6 := &recConn{closed: make(chan struct{})}, &recConn{closed: make(chan struct{})}
		wrap := func(rc *recConn) platform.IPConn {
			return orderConn{rc, func() { omu.Lock(); order = append(order, rc); omu.Unlock() }}
		}
		g, err := New(c, Deps{Log: testLog(io.Discard, false).Logger, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 12},
			Conn: wrap(conn), Conn6: wrap(conn6), Src6: src6, Initial: platform.LinkState{Up: true, Running: true},
			Source6: func(p netip.Addr) (netip.Addr, bool) { return own6, p == peer6 },
			Random:  func() uint64 { return 1 }, scripts: newRunner(testLog(io.Discard, false), 0)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { g.Run(); close(done) }()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if s := g.Status(); s.State != carp.Master {
			t.Fatalf("state %v", s.State)
		}
		g.Release()
		<-done
		conn.Close()
		conn6.Close()

		v4, v6 := conn.packets(), conn6.packets()
		if len(v4) < 10 || len(v6) < 5 || len(v4) != 2*len(v6) {
			t.Fatalf("%d IPv4 and %d IPv6 adverts", len(v4), len(v6))
		}
		addrs := []netip.Addr{loopVIP.Addr(), vip6.Addr()}
		verifier := func() *carpauth.Verifier {
			v, err := carpauth.NewVerifier(kr, addrs, carpauth.Config{Mode: carpauth.Enforce, Window: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		type sent struct {
			dst netip.Addr
			seq uint64
		}
		var all []sent
		i4, i6 := 0, 0
		for _, rc := range order {
			var pkt, payload []byte
			var src, dst, other netip.Addr
			if rc == conn {
				pkt = v4[i4]
				i4++
				src, dst = netip.AddrFrom4([4]byte(pkt[12:16])), netip.AddrFrom4([4]byte(pkt[16:20]))
				payload = pkt[carp.IPv4HeaderLen:]
				other = loopPeer
				if dst == loopPeer {
					other = loopPeer2
				}
			} else {
				pkt = v6[i6]
				i6++
				src, dst = netip.AddrFrom16([16]byte(pkt[8:24])), netip.AddrFrom16([16]byte(pkt[24:40]))
				payload = pkt[carp.IPv6HeaderLen:]
				other = netip.MustParseAddr("2001:db8::3")
				if src != own6 {
					t.Fatalf("IPv6 advert from %v, want %v", src, own6)
				}
			}
			if !slices.Contains(peers, dst) {
				t.Fatalf("advert to %v", dst)
			}
			if len(payload) != carp.PacketLen-carp.IPv4HeaderLen+carpauth.TrailerLen {
				t.Fatalf("advert to %v: %d bytes of payload, no trailer", dst, len(payload))
			}
			var tr carpauth.Trailer
			if err := tr.UnmarshalBinary(payload[carp.PacketLen-carp.IPv4HeaderLen:]); err != nil || tr.KeyID != 4 {
				t.Fatalf("advert to %v: trailer %+v, %v", dst, tr, err)
			}
			if r := verifier().Check(src, dst, payload, time.Now()).Result; r != carpauth.ResultVerified {
				t.Fatalf("advert to %v: %v", dst, r)
			}
			if r := verifier().Check(src, other, payload, time.Now()).Result; r != carpauth.ResultBadMAC {
				t.Fatalf("advert to %v delivered to %v: %v, want a bad MAC", dst, other, r)
			}
			all = append(all, sent{dst, tr.Seq})
		}
		for i := 1; i < len(all); i++ {
			if all[i].seq <= all[i-1].seq {
				t.Fatalf("sequence %d to %v after %d to %v", all[i].seq, all[i].dst, all[i-1].seq, all[i-1].dst)
			}
		}
	})
}

// orderConn records the order of the writes over two conns.
type orderConn struct {
	*recConn
	wrote func()
}

func (c orderConn) WritePacket(pkt []byte) error {
	c.wrote()
	return c.recConn.WritePacket(pkt)
}
