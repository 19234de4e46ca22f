package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/internal/syncbuf"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
)

var mcast = netip.MustParseAddr("224.0.0.18")

// vipOf is the virtual address of vhid.
func vipOf(vhid uint8) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, 100 + vhid}), 32)
}

// logBuf collects "[LEVEL] message attrs" lines.
type logBuf struct{ syncbuf.Buffer }

func (l *logBuf) count(s string) int { return l.Count(s) }

type handler struct {
	w     io.Writer
	attrs string
}

func (h handler) Enabled(context.Context, slog.Level) bool { return true }
func (h handler) Handle(_ context.Context, r slog.Record) error {
	_, err := fmt.Fprintf(h.w, "[%s] %s%s\n", r.Level, r.Message, h.attrs)
	return err
}
func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		h.attrs += " " + a.String()
	}
	return h
}
func (h handler) WithGroup(string) slog.Handler { return h }

// testNode is a node on one host of a LAN.
type testNode struct {
	*Node
	host *platformtest.Host
	src  netip.Addr
	logs *logBuf
}

func newTestNode(lan *platformtest.LAN, last byte) *testNode {
	src := netip.AddrFrom4([4]byte{198, 51, 100, last})
	h := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, last}, netip.PrefixFrom(src, 24))
	logs := &logBuf{}
	seq := uint64(last) << 32
	n := New(Deps{
		Log: slog.New(handler{w: logs}),
		Open: func(name string) (platform.OS, error) {
			if name != "eth0" {
				return nil, fmt.Errorf("no interface %s", name)
			}
			return h, nil
		},
		Random: func() uint64 { seq++; return seq },
	})
	return &testNode{Node: n, host: h, src: src, logs: logs}
}

// thirdHost adds a third host to lan, 198.51.100.13 (beside the test
// nodes' .11 and .12), and returns its address and a raw socket of IP
// protocol proto joined to the group, closed when the test ends.
func thirdHost(t *testing.T, lan *platformtest.LAN, proto uint8) (netip.Addr, platform.IPConn) {
	t.Helper()
	addr := netip.MustParseAddr("198.51.100.13")
	h := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 13}, netip.PrefixFrom(addr, 24))
	conn, err := h.OpenIP(platform.IPOptions{Protocol: proto, Src: addr, Group: mcast})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return addr, conn
}

// startNodes applies sa to a, then sb to b, and waits until both are
// ready.
func startNodes(t *testing.T, a, b *testNode, sa, sb []Spec) {
	t.Helper()
	if err := a.Apply(sa); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(sb); err != nil {
		t.Fatal(err)
	}
	<-a.Ready()
	<-b.Ready()
}

// spec is a group of the node on eth0, managing its address.
func (tn *testNode) spec(vhid, advskew uint8) Spec {
	return Spec{ManageVIP: true, Config: group.Config{Interface: "eth0", Src: tn.src, Mcast: mcast, VHID: vhid,
		Password: []byte("carplab"), Addr: vipOf(vhid), AddrArg: vipOf(vhid).Addr().String(), AdvBase: 1,
		AdvSkew: advskew, DeadRatio: 3, GARPCount: 1, GARPInterval: time.Second, WaitWhenDown: true}}
}

// holders returns the vhids whose address each node holds.
func holders(nodes ...*testNode) []string {
	var out []string
	for _, tn := range nodes {
		var held []string
		for v := uint8(1); v <= 5; v++ {
			if tn.host.Addrs().Has(vipOf(v).Addr()) {
				held = append(held, fmt.Sprint(v))
			}
		}
		out = append(out, strings.Join(held, ","))
	}
	return out
}

// settle sleeps d on the fake clock and lets every goroutine settle.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// maintenance puts group name of n in maintenance (on) or out of it, and
// fails t on an error.
func maintenance(t *testing.T, n interface {
	Maintenance(name string, on, persistent bool) error
}, name string, on, persistent bool) {
	t.Helper()
	if err := n.Maintenance(name, on, persistent); err != nil {
		t.Fatal(err)
	}
}

// run applies specs to n, which stops when t ends.
func (n *testNode) run(t *testing.T, specs ...Spec) {
	t.Helper()
	if err := n.Apply(specs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(syscall.SIGTERM) })
}

func wantHolders(t *testing.T, want string, nodes ...*testNode) {
	t.Helper()
	if got := strings.Join(holders(nodes...), " | "); got != want {
		t.Fatalf("holders %q, want %q\nlogs A:\n%s", got, want, nodes[0].logs)
	}
}

// TestNodesConverge: two nodes of three groups each; each group elects
// on its own (A prefers 1 and 2, B prefers 3); a fault of A moves only
// A's groups, and its return (with -P) takes them back.
func TestNodesConverge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		specsA := []Spec{a.spec(1, 0), a.spec(2, 0), a.spec(3, 100)}
		specsB := []Spec{b.spec(1, 100), b.spec(2, 100), b.spec(3, 0)}
		for i := range specsA {
			specsA[i].Config.Preempt = true
		}
		startNodes(t, a, b, specsA, specsB)
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		settle(10 * time.Second)
		wantHolders(t, "1,2 | 3", a, b)
		// One socket per interface carries the three groups: every advert
		// on the wire comes from a conn of each host's only socket.
		if n := strings.Count(a.logs.String(), "interface=eth0 vhid="); n == 0 {
			t.Fatalf("lines do not name their group:\n%s", a.logs)
		}

		a.host.SetLink(true, false) // A loses its carrier
		settle(5 * time.Second)
		wantHolders(t, " | 1,2,3", a, b)
		a.host.SetLink(true, true)
		settle(5 * time.Second)
		wantHolders(t, "1,2 | 3", a, b)
	})
}

// advert is a valid advert of vhid from src with advskew.
func advert(src netip.Addr, vhid, advskew uint8) []byte {
	auth, _ := carp.NewAuth([]byte("carplab"), vhid, []netip.Addr{vipOf(vhid).Addr()})
	h := carp.Header{Version: 2, Type: 1, VHID: vhid, AdvBase: 1, AdvSkew: advskew, AuthLen: 7, Counter: 1}
	auth.Sign(&h)
	p := carp.NewPacket(src, mcast, 1, h)
	b, _ := p.MarshalBinary()
	return b
}

// TestNodeDispatch: a packet for vhid N reaches group N only. A peer that
// advertises vhid 2 only (and faster) keeps group 2 BACKUP; groups 1 and 3
// take over. Packets for a vhid the node does not run are dropped by the
// socket's filter (counted by the fake, as the kernel does not).
func TestNodeDispatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		peerAddr, conn := thirdHost(t, &lan, carp.IPProtocol)
		a.run(t, a.spec(1, 100), a.spec(2, 100), a.spec(3, 100))
		for i := 0; i < 10; i++ {
			conn.WritePacket(advert(peerAddr, 2, 0))
			conn.WritePacket(advert(peerAddr, 9, 0))
			time.Sleep(time.Second)
		}
		synctest.Wait()
		wantHolders(t, "1,3", a)
		// Group 2 got its 10 adverts; the others parsed none of them.
		a.Report()
		synctest.Wait()
		for vhid, want := range map[int]string{1: "valid adverts received 0, packets dropped 0,",
			2: "valid adverts received 10, packets dropped 0,", 3: "valid adverts received 0, packets dropped 0,"} {
			line := ""
			for _, l := range strings.Split(a.logs.String(), "\n") {
				if strings.Contains(l, "Counters:") && strings.HasSuffix(l, fmt.Sprintf(" vhid=%d", vhid)) {
					line = l
				}
			}
			if !strings.Contains(line, want) {
				t.Errorf("vhid %d: %q, want %q", vhid, line, want)
			}
		}
		ifc := a.ifaces["eth0"]
		if n := ifc.unknown.Load(); n != 0 {
			t.Fatalf("%d packets for vhid 9 reached the node, want 0", n)
		}
		if n := ifc.filter.(*platformtest.Conn).Filtered(); n != 10 {
			t.Fatalf("%d packets for vhid 9 filtered, want 10", n)
		}
	})
}

// TestNodeFilterFollowsGroups: the socket's filter keeps the vhids of
// the groups running on the interface, through added and removed
// groups; packets of the others never reach the node.
func TestNodeFilterFollowsGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		peerAddr, conn := thirdHost(t, &lan, carp.IPProtocol)
		defer a.Stop(syscall.SIGTERM)
		// send sends one advert of vhid 3 and says how many more packets
		// reached the node's readers and how many the filter dropped.
		send := func() (read, filtered uint64) {
			ifc := a.ifaces["eth0"]
			fc := ifc.filter.(*platformtest.Conn)
			r0, f0 := ifc.unknown.Load(), fc.Filtered()
			m3 := a.groups[a.spec(3, 100).ID()]
			var v0 uint64
			if m3 != nil {
				v0 = m3.g.Status().Counters.Valid
			}
			conn.WritePacket(advert(peerAddr, 3, 0))
			settle(100 * time.Millisecond)
			read = ifc.unknown.Load() - r0
			if m3 != nil {
				read += m3.g.Status().Counters.Valid - v0
			}
			return read, fc.Filtered() - f0
		}
		steps := []struct {
			name           string
			vhids          []uint8
			read, filtered uint64
		}{
			{"groups 1 and 2", []uint8{1, 2}, 0, 1},
			{"group 3 added", []uint8{1, 2, 3}, 1, 0},
			{"group 3 removed", []uint8{1, 2}, 0, 1},
		}
		for _, st := range steps {
			var specs []Spec
			for _, v := range st.vhids {
				specs = append(specs, a.spec(v, 100))
			}
			if err := a.Apply(specs); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if r, f := send(); r != st.read || f != st.filtered {
				t.Errorf("%s: read %d, filtered %d; want %d, %d", st.name, r, f, st.read, st.filtered)
			}
		}
	})
}

// TestApply: a reload touches only what changed.
func TestApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		specs := []Spec{a.spec(1, 0), a.spec(2, 0), a.spec(3, 0)}
		a.run(t, specs...)
		settle(5 * time.Second)
		wantHolders(t, "1,2,3", a)
		before := map[ID]*group.Group{}
		for id, m := range a.groups {
			before[id] = m.g
		}
		masters := a.logs.count("Switching to state: MASTER")

		{ // unchanged
			if err := a.Apply(specs); err != nil {
				t.Fatal(err)
			}
			for id, m := range a.groups {
				if m.g != before[id] {
					t.Fatalf("%s was replaced", id)
				}
			}
			settle(5 * time.Second)
			if n := a.logs.count("Switching to state"); n != masters+3 { // +3: the start's BACKUP lines
				t.Fatalf("%d transitions, want none new:\n%s", n-masters-3, a.logs)
			}
		}
		{ // invalid: nothing changes
			if err := a.Apply(append(specs, specs[0])); err == nil || !strings.Contains(err.Error(), "configured twice") {
				t.Fatalf("err %v", err)
			}
			for id, m := range a.groups {
				if m.g != before[id] {
					t.Fatalf("%s was replaced", id)
				}
			}
			wantHolders(t, "1,2,3", a)
		}
		{ // removed: bows out and releases
			sent := len(lan.Sent())
			if err := a.Apply(specs[:2]); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			wantHolders(t, "1,2", a)
			var bowOut bool
			for _, f := range lan.Sent()[sent:] {
				var p carp.Packet
				if !f.ARP && p.UnmarshalBinary(f.Data) == nil && p.Header.VHID == 3 && p.Header.AdvBase == 255 && p.Header.AdvSkew == 255 {
					bowOut = true
				}
			}
			if !bowOut {
				t.Fatal("no bow-out advert from the removed group")
			}
		}
		{ // changed advskew: in place, no transition
			changed := append([]Spec(nil), specs[:2]...)
			changed[1].Config.AdvSkew = 50
			n := a.logs.count("Switching to state")
			if err := a.Apply(changed); err != nil {
				t.Fatal(err)
			}
			if a.groups[changed[1].ID()].g != before[changed[1].ID()] {
				t.Fatal("a changed advskew replaced the group")
			}
			settle(3 * time.Second)
			if a.logs.count("Switching to state") != n {
				t.Fatalf("a changed advskew made a transition:\n%s", a.logs)
			}
			wantHolders(t, "1,2", a)
			specs[1] = changed[1]
		}
		{ // added: starts as BACKUP
			if err := a.Apply(append(specs[:2], a.spec(4, 0))); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			wantHolders(t, "1,2", a)
			settle(4 * time.Second)
			wantHolders(t, "1,2,4", a)
		}
		{ // one socket setting per interface
			bad := a.spec(5, 0)
			bad.Config.NoMcast = true
			if err := a.Apply(append(specs[:2], a.spec(4, 0), bad)); err == nil {
				t.Fatal("groups with different socket settings on one interface")
			}
			wantHolders(t, "1,2,4", a)
		}
	})
}

// countingOS counts the listings of the interface's address table.
type countingOS struct {
	platform.OS
	listings *atomic.Int64
}

func (c countingOS) Addresses() vip.System { return countingAddrs{c.OS.Addresses(), c.listings} }

type countingAddrs struct {
	vip.System
	listings *atomic.Int64
}

func (c countingAddrs) Addresses() ([]vip.Address, error) {
	c.listings.Add(1)
	return c.System.Addresses()
}

// TestAddressListingsDoNotGrowWithGroups: every MASTER renews its
// address's lifetime once an interval, and each renewal is an address
// event. The node keeps the interface's table from the events: once
// listed, it is not listed again while the groups run. Before, it was
// listed once per change (two per renewal), and before that once per
// group per event (quadratic in the groups: 78 % of a core at 256 groups
// in docs/SCALE.md).
func TestAddressListingsDoNotGrowWithGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		var listings atomic.Int64
		a.deps.Open = func(string) (platform.OS, error) { return countingOS{a.host, &listings}, nil }
		var specs []Spec
		for v := uint8(1); v <= 16; v++ {
			s := a.spec(v, 0)
			s.Config.Addr = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, 100 + v}), 32)
			specs = append(specs, s)
		}
		a.run(t, specs...)
		time.Sleep(5 * time.Second) // all MASTER
		synctest.Wait()
		before, renewals := listings.Load(), a.host.Addrs().Adds()
		settle(10 * time.Second)
		renewals = a.host.Addrs().Adds() - renewals
		if n := listings.Load() - before; n != 0 {
			t.Fatalf("%d listings of the address table in 10 s for 16 groups, want none", n)
		}
		// Each MASTER renews once an advert interval (1 s here), no more:
		// the renewals' events renew nothing.
		if renewals < 16*9 || renewals > 16*11 {
			t.Fatalf("%d renewals in 10 s for 16 MASTER groups", renewals)
		}
		for _, s := range specs {
			if !a.host.Addrs().Has(s.Config.Addr.Addr()) {
				t.Fatalf("%s does not hold its address", s.ID())
			}
		}
	})
}

// TestApplyRestartsEndedGroups: groups whose interface disappeared have
// ended; the next Apply forgets them and starts them again on the
// interface as it is then.
func TestApplyRestartsEndedGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		specs := []Spec{a.spec(1, 0), a.spec(2, 0)}
		a.run(t, specs...)
		settle(5 * time.Second)
		old := a.groups[specs[0].ID()].g
		a.host.Remove()
		synctest.Wait()
		if n := a.logs.count("is gone: this group stops"); n != 2 {
			t.Fatalf("%d groups stopped on the interface's removal:\n%s", n, a.logs)
		}
		back := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 11}, netip.PrefixFrom(a.src, 24))
		a.deps.Open = func(string) (platform.OS, error) { return back, nil }
		a.host = back
		if err := a.Apply(specs); err != nil {
			t.Fatal(err)
		}
		if a.groups[specs[0].ID()].g == old {
			t.Fatal("the ended group was kept")
		}
		settle(5 * time.Second)
		wantHolders(t, "1,2", a)
	})
}
