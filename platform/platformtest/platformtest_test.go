package platformtest_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

var (
	groupA = netip.MustParseAddr("224.0.0.18")
	groupB = netip.MustParseAddr("224.0.0.19")
)

func mac(i byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, i} }

func addr(i byte) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, i}) }

// lan3 is a LAN of hosts a, b and c, at 198.51.100.1, .2 and .3.
func lan3() (*platformtest.LAN, map[string]*platformtest.Host) {
	lan := new(platformtest.LAN)
	hosts := map[string]*platformtest.Host{}
	for i, n := range []string{"a", "b", "c"} {
		hosts[n] = lan.Host("eth0", mac(byte(i+1)), netip.PrefixFrom(addr(byte(i+1)), 24))
	}
	return lan, hosts
}

// ipPacket is an IPv4 packet of proto from src to dst carrying payload.
func ipPacket(proto uint8, src, dst netip.Addr, payload string) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	b[8], b[9] = 255, proto
	copy(b[12:16], src.AsSlice())
	copy(b[16:20], dst.AsSlice())
	return append(b, payload...)
}

func mcast(g netip.Addr) platform.IPOptions {
	return platform.IPOptions{Protocol: carp.IPProtocol, Group: g}
}

func bcast() platform.IPOptions {
	return platform.IPOptions{Protocol: carp.IPProtocol, Group: groupA, Broadcast: true}
}

// reader reads c in a goroutine until it is closed, and keeps what it
// read and the errors it got.
type reader struct {
	c    platform.IPConn
	pkts [][]byte
	errs []error
	done chan struct{}
}

func read(c platform.IPConn) *reader {
	r := &reader{c: c, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		b := make([]byte, 1500)
		for {
			n, err := c.ReadPacket(b)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				r.errs = append(r.errs, err)
				continue
			}
			r.pkts = append(r.pkts, slices.Clone(b[:n]))
		}
	}()
	return r
}

// stop closes the conn, if it is open, and waits for the reader to return.
func (r *reader) stop(t *testing.T) {
	t.Helper()
	if err := r.c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close: %v", err)
	}
	<-r.done
}

func TestDelivery(t *testing.T) {
	type sock struct {
		name, host string
		o          platform.IPOptions
	}
	ab := []sock{{"a", "a", mcast(groupA)}, {"b", "b", mcast(groupA)}}
	tests := []struct {
		name  string
		socks []sock
		setup func(lan *platformtest.LAN, h map[string]*platformtest.Host, c map[string]platform.IPConn)
		from  string // the sending sock
		proto uint8  // 0: CARP
		dst   netip.Addr
		want  []string // the socks that receive it
	}{
		{name: "group members only", from: "a", dst: groupA, want: []string{"b"},
			socks: []sock{{"a", "a", mcast(groupA)}, {"b", "b", mcast(groupA)}, {"c", "c", mcast(groupB)}}},
		{name: "no self-delivery", from: "a1", dst: groupA, want: []string{"b"},
			socks: []sock{{"a1", "a", mcast(groupA)}, {"a2", "a", mcast(groupA)}, {"a3", "a", bcast()}, {"b", "b", mcast(groupA)}}},
		{name: "another protocol", from: "a", dst: groupA, proto: 113,
			socks: ab},
		{name: "only the protocol's conns", from: "a", dst: groupA, want: []string{"b"},
			socks: append(slices.Clone(ab), sock{"b113", "b", platform.IPOptions{Protocol: 113, Group: groupA}})},
		{name: "IP_MULTICAST_ALL", from: "a", dst: groupA, want: []string{"b", "b2"},
			socks: append(slices.Clone(ab), sock{"b2", "b", mcast(groupB)})},
		{name: "multicast to a broadcast conn of a member", from: "a", dst: groupA, want: []string{"b", "bb"},
			socks: append(slices.Clone(ab), sock{"bb", "b", bcast()}, sock{"cb", "c", bcast()})},
		{name: "broadcast to everyone", from: "a", dst: groupA, want: []string{"b", "c"},
			socks: []sock{{"a", "a", bcast()}, {"b", "b", bcast()}, {"c", "c", mcast(groupA)}, {"c2", "a", mcast(groupB)}}},
		{name: "broadcast of another group", from: "a", dst: groupB, want: []string{"b"},
			socks: []sock{{"a", "a", bcast()}, {"b", "b", bcast()}, {"c", "c", mcast(groupA)}}},
		{name: "unicast to the owner", from: "a", dst: addr(2), want: []string{"b", "bb"},
			socks: append(slices.Clone(ab), sock{"bb", "b", bcast()}, sock{"c", "c", mcast(groupA)})},
		{name: "unicast to an address added later", from: "a", dst: netip.MustParseAddr("198.51.100.100"), want: []string{"c"},
			socks: []sock{{"a", "a", mcast(groupA)}, {"b", "b", mcast(groupA)}, {"c", "c", mcast(groupA)}},
			setup: func(_ *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				h["c"].Addresses().AddAddress(vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/24")})
			}},
		{name: "link down", from: "a", dst: groupA, want: []string{"c"},
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(_ *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				h["b"].SetLink(false, false)
			}},
		{name: "no carrier", from: "a", dst: groupA, want: []string{"c"},
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(_ *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				h["b"].SetLink(true, false)
			}},
		{name: "removed", from: "a", dst: groupA, want: []string{"c"},
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(_ *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				h["b"].Remove()
			}},
		{name: "link back up", from: "a", dst: groupA, want: []string{"b"},
			socks: ab,
			setup: func(_ *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				h["b"].SetLink(false, false)
				h["b"].SetLink(true, true)
			}},
		{name: "sender partitioned", from: "a", dst: groupA,
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(lan *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				lan.Partition(h["a"])
			}},
		{name: "receiver partitioned", from: "a", dst: groupA, want: []string{"c"},
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(lan *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				lan.Partition(h["b"])
			}},
		{name: "island of two", from: "a", dst: groupA, want: []string{"b"},
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(lan *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				lan.Partition(h["a"], h["b"])
			}},
		{name: "healed", from: "a", dst: groupA, want: []string{"b", "c"},
			socks: append(slices.Clone(ab), sock{"c", "c", mcast(groupA)}),
			setup: func(lan *platformtest.LAN, h map[string]*platformtest.Host, _ map[string]platform.IPConn) {
				lan.Partition(h["b"])
				lan.Heal(h["b"])
			}},
		{name: "closed conn leaves the group", from: "a", dst: groupA,
			socks: []sock{{"a", "a", mcast(groupA)}, {"b", "b", mcast(groupA)}, {"b2", "b", mcast(groupB)}},
			setup: func(_ *platformtest.LAN, _ map[string]*platformtest.Host, c map[string]platform.IPConn) {
				c["b"].Close()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lan, hosts := lan3()
				readers := map[string]*reader{}
				conns := map[string]platform.IPConn{}
				var order []string
				for _, s := range tt.socks {
					c, err := hosts[s.host].OpenIP(s.o)
					if err != nil {
						t.Fatalf("OpenIP %s: %v", s.name, err)
					}
					readers[s.name] = read(c)
					conns[s.name] = c
					order = append(order, s.name)
				}
				if tt.setup != nil {
					tt.setup(lan, hosts, conns)
				}
				proto := tt.proto
				if proto == 0 {
					proto = carp.IPProtocol
				}
				pkt := ipPacket(proto, addr(1), tt.dst, "hello")
				if err := readers[tt.from].c.WritePacket(pkt); err != nil {
					t.Fatalf("WritePacket: %v", err)
				}
				synctest.Wait()
				var got []string
				for _, n := range order {
					r := readers[n]
					if len(r.errs) > 0 {
						t.Errorf("%s: errors %v", n, r.errs)
					}
					for _, p := range r.pkts {
						if !bytes.Equal(p, pkt) {
							t.Errorf("%s got % x, want % x", n, p, pkt)
						}
						got = append(got, n)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("received by %q, want %q", got, tt.want)
				}
				if sent := lan.Sent(); len(sent) > 0 && sent[len(sent)-1].Delivered != len(tt.want) {
					t.Errorf("Sent()[last].Delivered = %d, want %d", sent[len(sent)-1].Delivered, len(tt.want))
				}
				for _, n := range order {
					readers[n].stop(t)
				}
			})
		})
	}
}

func TestWriteErrors(t *testing.T) {
	pkt := ipPacket(carp.IPProtocol, addr(1), groupA, "x")
	tests := []struct {
		name     string
		setup    func(h *platformtest.Host, c platform.IPConn)
		pkt      []byte
		want     error // nil: no error
		recorded bool
	}{
		{name: "up", pkt: pkt, recorded: true},
		{name: "down", setup: func(h *platformtest.Host, _ platform.IPConn) { h.SetLink(false, false) }, pkt: pkt, want: syscall.ENETDOWN},
		{name: "down with carrier", setup: func(h *platformtest.Host, _ platform.IPConn) { h.SetLink(false, true) }, pkt: pkt, want: syscall.ENETDOWN},
		{name: "no carrier", setup: func(h *platformtest.Host, _ platform.IPConn) { h.SetLink(true, false) }, pkt: pkt},
		{name: "removed", setup: func(h *platformtest.Host, _ platform.IPConn) { h.Remove() }, pkt: pkt, want: syscall.ENODEV},
		{name: "closed", setup: func(_ *platformtest.Host, c platform.IPConn) { c.Close() }, pkt: pkt, want: net.ErrClosed},
		{name: "short", pkt: pkt[:19], want: errors.New("any")},
		{name: "IPv6", pkt: append([]byte{0x60}, pkt[1:]...), want: errors.New("any")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lan, h := lan3()
				c, err := h["a"].OpenIP(mcast(groupA))
				if err != nil {
					t.Fatal(err)
				}
				if tt.setup != nil {
					tt.setup(h["a"], c)
				}
				err = c.WritePacket(tt.pkt)
				switch {
				case tt.want == nil && err != nil:
					t.Errorf("WritePacket: %v, want no error", err)
				case tt.want != nil && err == nil:
					t.Errorf("WritePacket succeeded, want %v", tt.want)
				case tt.want != nil && tt.want.Error() != "any" && !errors.Is(err, tt.want):
					t.Errorf("WritePacket: %v, want %v", err, tt.want)
				}
				if got := len(lan.Sent()) == 1; got != tt.recorded {
					t.Errorf("recorded: %v, want %v", got, tt.recorded)
				}
			})
		})
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := lan3()
		c, err := h["a"].OpenIP(mcast(groupA))
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			_, err := c.ReadPacket(make([]byte, 1500))
			errc <- err
		}()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("ReadPacket returned %v before Close", err)
		default:
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-errc; !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadPacket after Close: %v, want net.ErrClosed", err)
		}
		if err := c.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close: %v, want net.ErrClosed", err)
		}
		if _, err := c.ReadPacket(make([]byte, 1500)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadPacket on a closed conn: %v, want net.ErrClosed", err)
		}
	})
}

func TestQueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan, h := lan3()
		lan.QueueLen = 4
		ca, _ := h["a"].OpenIP(mcast(groupA))
		cb, _ := h["b"].OpenIP(mcast(groupA))
		for i := range 10 {
			if err := ca.WritePacket(ipPacket(carp.IPProtocol, addr(1), groupA, string(rune('0'+i)))); err != nil {
				t.Fatal(err)
			}
		}
		if got := cb.(*platformtest.Conn).Drops(); got != 6 {
			t.Errorf("Conn.Drops = %d, want 6", got)
		}
		if got := h["b"].Drops(); got != 6 {
			t.Errorf("Host.Drops = %d, want 6", got)
		}
		if got := h["a"].Drops(); got != 0 {
			t.Errorf("sender's Host.Drops = %d, want 0", got)
		}
		b := make([]byte, 1500)
		for i := range 4 {
			n, err := cb.ReadPacket(b)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b[20:n]), string(rune('0'+i)); got != want {
				t.Errorf("packet %d carries %q, want %q: the oldest are kept", i, got, want)
			}
		}
		// Room again.
		ca.WritePacket(ipPacket(carp.IPProtocol, addr(1), groupA, "z"))
		if n, err := cb.ReadPacket(b); err != nil || string(b[20:n]) != "z" {
			t.Errorf("after draining: %q, %v", b[20:n], err)
		}
		ca.Close()
		cb.Close()
	})
}

// TestBroadcastReaderLinkDown: a packet socket's reader fails once with
// ENETDOWN when the link goes down (not when only the carrier goes); a
// raw IP socket's does not.
func TestBroadcastReaderLinkDown(t *testing.T) {
	tests := []struct {
		name        string
		o           platform.IPOptions
		up, running bool
		want        []error
	}{
		{"broadcast, down", bcast(), false, false, []error{syscall.ENETDOWN}},
		{"broadcast, no carrier", bcast(), true, false, nil},
		{"multicast, down", mcast(groupA), false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, h := lan3()
				c, _ := h["b"].OpenIP(tt.o)
				r := read(c)
				h["b"].SetLink(tt.up, tt.running)
				synctest.Wait()
				h["b"].SetLink(true, true)
				ca, _ := h["a"].OpenIP(tt.o)
				ca.WritePacket(ipPacket(carp.IPProtocol, addr(1), groupA, "x"))
				synctest.Wait()
				r.stop(t)
				if len(r.errs) != len(tt.want) || (len(tt.want) > 0 && !errors.Is(r.errs[0], tt.want[0])) {
					t.Errorf("read errors %v, want %v", r.errs, tt.want)
				}
				if len(r.pkts) != 1 {
					t.Errorf("read %d packets after the link came back, want 1", len(r.pkts))
				}
			})
		})
	}
}

func TestWatchLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := lan3()
		b := h["b"]
		done := make(chan struct{})
		fast, err := b.WatchLink(done)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := b.WatchLink(done)
		other, _ := h["a"].WatchLink(done)
		steps := []platform.LinkState{
			{Up: true, Running: false},
			{Up: false, Running: false},
			{Up: true, Running: true},
			{Gone: true},
		}
		for _, st := range steps {
			if st.Gone {
				b.Remove()
			} else {
				b.SetLink(st.Up, st.Running)
			}
			if got, _ := b.LinkState(); got != st {
				t.Errorf("LinkState = %+v, want %+v", got, st)
			}
			if got := <-fast; got != st {
				t.Errorf("fast subscriber got %+v, want %+v", got, st)
			}
		}
		// The slow one reads only now, and misses nothing.
		for i, st := range steps {
			if got := <-slow; got != st {
				t.Errorf("slow subscriber's %d: %+v, want %+v", i, got, st)
			}
		}
		synctest.Wait()
		select {
		case st := <-other:
			t.Errorf("a's subscriber got b's %+v", st)
		default:
		}
		b.SetLink(true, true) // gone for good
		if got, _ := b.LinkState(); !got.Gone {
			t.Errorf("after Remove, SetLink changed the state to %+v", got)
		}
		close(done)
		for _, ch := range []<-chan platform.LinkState{fast, slow, other} {
			if _, ok := <-ch; ok {
				t.Error("a subscription still delivers after done")
			}
		}
	})
}

func TestInterface(t *testing.T) {
	lan := new(platformtest.LAN)
	a := lan.Host("eth0", mac(1))
	b := lan.Host("eth1", mac(2))
	ia, ib := a.Interface(), b.Interface()
	if ia.Index != 2 || ib.Index != 3 || ia.Name != "eth0" || ib.Name != "eth1" || ia.HardwareAddr.String() != "02:00:00:00:00:01" {
		t.Errorf("interfaces %+v %+v", ia, ib)
	}
	if ia.Flags&(net.FlagUp|net.FlagRunning|net.FlagMulticast) != net.FlagUp|net.FlagRunning|net.FlagMulticast {
		t.Errorf("flags %v", ia.Flags)
	}
	a.SetLink(true, false)
	if f := a.Interface().Flags; f&net.FlagRunning != 0 || f&net.FlagUp == 0 {
		t.Errorf("flags without carrier %v", f)
	}
}

func TestWatchAddresses(t *testing.T) {
	p := netip.MustParsePrefix("198.51.100.100/24")
	own := netip.MustParsePrefix("198.51.100.2/24")
	// What the kernel would say: the address as it is kept (labelled with
	// the interface's name when added without a label).
	added := func(p netip.Prefix) string { return "new " + p.String() + " label eth0" }
	tests := []struct {
		name   string
		change func(h *platformtest.Host) error
		want   []string
	}{
		// The daemon's own changes are not events (as on Linux, where the
		// kernel names the socket that asked for a change).
		{"AddAddress", func(h *platformtest.Host) error { return h.Addresses().AddAddress(vip.Address{Prefix: p}) }, nil},
		{"AddAddress with a lifetime", func(h *platformtest.Host) error {
			return h.Addresses().AddAddress(vip.Address{Prefix: p, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 3 * time.Second})
		}, nil},
		{"DeleteAddress", func(h *platformtest.Host) error {
			return h.Addresses().DeleteAddress(vip.Address{Prefix: own})
		}, nil},
		{"administrator adds", func(h *platformtest.Host) error {
			h.ChangeAddresses(func(a *viptest.Addrs) { a.Add(vip.Address{Prefix: p}) })
			return nil
		}, []string{added(p)}},
		{"administrator adds with a lifetime", func(h *platformtest.Host) error {
			h.ChangeAddresses(func(a *viptest.Addrs) {
				a.Add(vip.Address{Prefix: p, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 3 * time.Second})
			})
			return nil
		}, []string{"new " + p.String() + " label eth0:ucarp proto 112 for 3s"}},
		{"administrator removes", func(h *platformtest.Host) error {
			h.ChangeAddresses(func(a *viptest.Addrs) { a.DeleteAddress(vip.Address{Prefix: own}) })
			return nil
		}, []string{"del " + own.String() + " label eth0"}},
		{"DeleteAddress of nothing", func(h *platformtest.Host) error {
			if err := h.Addresses().DeleteAddress(vip.Address{Prefix: p}); !errors.Is(err, syscall.EADDRNOTAVAIL) {
				return errors.New("want EADDRNOTAVAIL")
			}
			return nil
		}, nil},
		{"failing table", func(h *platformtest.Host) error {
			h.Addrs().Fail(syscall.EPERM)
			if err := h.Addresses().AddAddress(vip.Address{Prefix: p}); !errors.Is(err, syscall.EPERM) {
				return errors.New("want EPERM")
			}
			return nil
		}, nil},
		{"administrator", func(h *platformtest.Host) error {
			h.ChangeAddresses(func(a *viptest.Addrs) {
				a.Flush()
				a.Add(vip.Address{Prefix: p})
			})
			return nil
		}, []string{"del " + own.String() + " label eth0", added(p)}},
		{"administrator, failing table", func(h *platformtest.Host) error {
			h.ChangeAddresses(func(a *viptest.Addrs) { a.Fail(syscall.EPERM) })
			return nil
		}, []string{"resync"}},
		{"behind its back", func(h *platformtest.Host) error { return h.Addrs().Add(vip.Address{Prefix: p}) }, nil},
		{"removed", func(h *platformtest.Host) error { h.Remove(); return nil }, []string{"resync"}},
	}
	show := func(ev platform.AddrEvent) string {
		switch {
		case ev.Resync:
			return "resync"
		case ev.Deleted:
			return "del " + ev.Addr.String()
		}
		s := "new " + ev.Addr.String()
		if ev.Addr.Lifetime > 0 {
			s += " for " + ev.Addr.Lifetime.String()
		}
		return s
	}
	drain := func(ch <-chan platform.AddrEvent) []string {
		var got []string
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return got
				}
				got = append(got, show(ev))
				continue
			default:
			}
			synctest.Wait()
			select {
			case ev, ok := <-ch:
				if ok {
					got = append(got, show(ev))
					continue
				}
			default:
			}
			return got
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, h := lan3()
				done := make(chan struct{})
				ch, err := h["b"].WatchAddresses(done)
				if err != nil {
					t.Fatal(err)
				}
				other, _ := h["a"].WatchAddresses(done)
				ended := make(chan struct{})
				gone, _ := h["b"].WatchAddresses(ended)
				close(ended)
				if err := tt.change(h["b"]); err != nil {
					t.Fatal(err)
				}
				if got := drain(ch); !slices.Equal(got, tt.want) {
					t.Errorf("events %q, want %q", got, tt.want)
				}
				if got := drain(other); len(got) != 0 {
					t.Errorf("another interface had events %q", got)
				}
				if got := drain(gone); len(got) != 0 {
					t.Errorf("an ended subscription had events %q", got)
				}
				close(done)
			})
		})
	}
}

func TestLocal(t *testing.T) {
	_, h := lan3()
	v := netip.MustParseAddr("198.51.100.100")
	if !h["b"].Local(addr(2)) || h["b"].Local(addr(1)) || h["b"].Local(v) {
		t.Error("Local before the add")
	}
	h["b"].Addresses().AddAddress(vip.Address{Prefix: netip.PrefixFrom(v, 24)})
	if !h["b"].Local(v) || h["a"].Local(v) {
		t.Error("Local after the add")
	}
	if got := h["b"].Addrs().Calls(); !slices.Equal(got, []string{"replace 198.51.100.100/24"}) {
		t.Errorf("viptest calls %q", got)
	}
}

func TestSentAndARP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lan, h := lan3()
		t0 := time.Now()
		ca, _ := h["a"].OpenIP(mcast(groupA))
		arpA, _ := h["a"].OpenARP()
		arpB, _ := h["b"].OpenARP()
		pkt := ipPacket(carp.IPProtocol, addr(1), groupA, "x")
		frame := append(bytes.Repeat([]byte{0xff}, 6), make([]byte, 36)...)
		ca.WritePacket(pkt)
		time.Sleep(time.Second)
		arpA.WriteFrame(frame)
		time.Sleep(time.Second)
		arpB.WriteFrame(frame)
		h["b"].SetLink(false, false)
		if err := arpB.WriteFrame(frame); !errors.Is(err, syscall.ENETDOWN) {
			t.Errorf("ARP on a down link: %v, want ENETDOWN", err)
		}
		if err := arpA.WriteFrame(frame[:13]); err == nil {
			t.Error("a 13-byte frame was sent")
		}
		arpA.Close()
		if err := arpA.WriteFrame(frame); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ARP after Close: %v, want net.ErrClosed", err)
		}
		sent := lan.Sent()
		want := []struct {
			host *platformtest.Host
			arp  bool
			at   time.Duration
			data []byte
		}{
			{h["a"], false, 0, pkt},
			{h["a"], true, time.Second, frame},
			{h["b"], true, 2 * time.Second, frame},
		}
		if len(sent) != len(want) {
			t.Fatalf("Sent() has %d frames, want %d", len(sent), len(want))
		}
		for i, w := range want {
			s := sent[i]
			if s.Host != w.host || s.ARP != w.arp || s.Time.Sub(t0) != w.at || !bytes.Equal(s.Data, w.data) {
				t.Errorf("Sent()[%d] = %v %v +%v % x, want %v %v +%v % x", i, s.Host, s.ARP, s.Time.Sub(t0), s.Data, w.host, w.arp, w.at, w.data)
			}
		}
		if got := h["a"].ARP(); len(got) != 1 || got[0].Time.Sub(t0) != time.Second {
			t.Errorf("a's ARP frames: %+v", got)
		}
		if got := h["c"].ARP(); len(got) != 0 {
			t.Errorf("c's ARP frames: %+v", got)
		}
		// The record is a copy.
		pkt[0] = 0
		if lan.Sent()[0].Data[0] != 0x45 {
			t.Error("Sent() aliases the written packet")
		}
	})
}

func TestOpenErrors(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		setup   func(h *platformtest.Host)
		o       platform.IPOptions
		ipErr   error // nil: succeeds; errAny: any error
		arpFail bool
	}{
		{name: "ok", o: mcast(groupA)},
		{name: "IPv6 group", o: platform.IPOptions{Protocol: 112, Group: netip.MustParseAddr("ff02::12")}},
		{name: "IPv6 broadcast", o: platform.IPOptions{Protocol: 112, Group: netip.MustParseAddr("ff02::12"), Broadcast: true}, ipErr: errAny},
		{name: "FailOpenIP", setup: func(h *platformtest.Host) { h.FailOpenIP(platform.ErrJoin) }, o: mcast(groupA), ipErr: platform.ErrJoin},
		{name: "FailOpenARP", setup: func(h *platformtest.Host) { h.FailOpenARP(errBoom) }, o: mcast(groupA), arpFail: true},
		{name: "removed", setup: func(h *platformtest.Host) { h.Remove() }, o: mcast(groupA), ipErr: syscall.ENODEV, arpFail: true},
		{name: "down", setup: func(h *platformtest.Host) { h.SetLink(false, false) }, o: mcast(groupA)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, hs := lan3()
			h := hs["a"]
			if tt.setup != nil {
				tt.setup(h)
			}
			c, err := h.OpenIP(tt.o)
			switch {
			case tt.ipErr == nil && err != nil:
				t.Errorf("OpenIP: %v", err)
			case tt.ipErr != nil && err == nil:
				t.Errorf("OpenIP succeeded, want %v", tt.ipErr)
			case tt.ipErr != nil && tt.ipErr != errAny && !errors.Is(err, tt.ipErr):
				t.Errorf("OpenIP: %v, want %v", err, tt.ipErr)
			}
			if c != nil {
				c.Close()
			}
			if _, err := h.OpenARP(); (err != nil) != tt.arpFail {
				t.Errorf("OpenARP: %v, want failure %v", err, tt.arpFail)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestCheckPrivileges(t *testing.T) {
	tests := []struct {
		raw, admin, manage, fail bool
	}{
		{false, false, true, false},
		{true, false, false, true},
		{false, true, false, false},
		{false, true, true, true},
	}
	for _, tt := range tests {
		h := new(platformtest.LAN).Host("eth0", mac(1))
		h.DenyPrivileges(tt.raw, tt.admin)
		if err := h.CheckPrivileges(tt.manage); (err != nil) != tt.fail {
			t.Errorf("%+v: CheckPrivileges = %v", tt, err)
		}
	}
}

// TestCARPInterop: CARP adverts as carp encodes them cross the LAN byte
// for byte, both ways.
func TestCARPInterop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := lan3()
		o := platform.IPOptions{Protocol: carp.IPProtocol, Group: groupA}
		ca, _ := h["a"].OpenIP(o)
		cb, _ := h["b"].OpenIP(o)
		adv := func(src netip.Addr, skew uint8) []byte {
			p := carp.NewPacket(src, groupA, 7, carp.Header{Version: carp.Version, Type: carp.TypeAdvertisement,
				VHID: 42, AdvSkew: skew, AdvBase: 1, Counter: 0x0102030405060708})
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		for _, tc := range []struct {
			from, to platform.IPConn
			pkt      []byte
		}{{ca, cb, adv(addr(1), 0)}, {cb, ca, adv(addr(2), 100)}} {
			if err := tc.from.WritePacket(tc.pkt); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 1500)
			n, err := tc.to.ReadPacket(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[:n], tc.pkt) {
				t.Errorf("received % x, sent % x", b[:n], tc.pkt)
			}
			var got carp.Packet
			if err := got.UnmarshalBinary(b[:n]); err != nil {
				t.Errorf("UnmarshalBinary: %v", err)
			}
			if got.Header.VHID != 42 {
				t.Errorf("vhid %d", got.Header.VHID)
			}
		}
		ca.Close()
		cb.Close()
	})
}

// TestLinkLocal: as the kernel, a host has a link-local address once its
// link has been up with a carrier, keeps it through a loss of carrier,
// loses it when the link is set down; SetLinkLocal changes it, with the
// address events.
func TestLinkLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		h := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 1})
		eui := netip.MustParseAddr("fe80::ff:fe00:1")
		has := func(want netip.Addr) {
			t.Helper()
			got, err := h.LinkLocal()
			if got != want || (err == nil) != want.IsValid() {
				t.Fatalf("LinkLocal() = %v, %v; want %v", got, err, want)
			}
		}
		has(eui)
		h.SetLink(true, false)
		has(eui)
		h.SetLink(false, false)
		has(netip.Addr{})
		h.SetLink(true, false)
		has(netip.Addr{})
		h.SetLink(true, true)
		has(eui)
		done := make(chan struct{})
		defer close(done)
		evs, _ := h.WatchAddresses(done)
		other := netip.MustParseAddr("fe80::7")
		h.SetLinkLocal(other)
		has(other)
		for _, want := range []string{"del fe80::ff:fe00:1/64", "add fe80::7/64"} {
			ev := <-evs
			got := "add " + ev.Addr.Prefix.String()
			if ev.Deleted {
				got = "del " + ev.Addr.Prefix.String()
			}
			if got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		}
	})
}

// TestLocks: one holder per name; closing frees it; other names are
// independent.
func TestLocks(t *testing.T) {
	var l platformtest.Locks
	a, err := l.Lock("ucarp-go/eth0/1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Lock("ucarp-go/eth0/1"); !errors.Is(err, platform.ErrLocked) {
		t.Fatalf("second holder: %v, want ErrLocked", err)
	}
	b, err := l.Lock("ucarp-go/eth0/2")
	if err != nil || l.Held() != 2 {
		t.Fatalf("another name: %v, %d held", err, l.Held())
	}
	a.Close()
	b.Close()
	if l.Held() != 0 {
		t.Fatalf("%d held after closing", l.Held())
	}
	if a, err = l.Lock("ucarp-go/eth0/1"); err != nil {
		t.Fatalf("after close: %v", err)
	}
	a.Close()
}
