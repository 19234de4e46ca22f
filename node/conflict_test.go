package node

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"

	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
)

var intruderMAC = net.HardwareAddr{2, 0, 0, 0, 0, 0x66}

// addIntruder adds to lan a host (.66) that claims the test nodes'
// addresses.
func addIntruder(lan *platformtest.LAN) *platformtest.Host {
	return lan.Host("eth0", intruderMAC, netip.MustParsePrefix("198.51.100.66/24"))
}

// arpFrame is an ARP packet of op from sender (MAC, IP) to target IP, as
// a host's kernel sends it.
func arpFrame(t *testing.T, op arp.Operation, mac net.HardwareAddr, sender, target netip.Addr) []byte {
	t.Helper()
	p, err := arp.NewPacket(op, mac, sender, ethernet.Broadcast, target)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	f := ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: pb}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// write sends frames from h as its kernel would.
func write(t *testing.T, h *platformtest.Host, frames ...[]byte) {
	t.Helper()
	c, err := h.OpenARP()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, f := range frames {
		if err := c.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()
	time.Sleep(claimWait) // a MASTER judges a claim after its grace
	synctest.Wait()
}

// claimWait is at least group's claimGrace.
const claimWait = 5 * time.Millisecond

// announcedAt counts the announcements of addr that h wrote from now on.
func announcedAt(h *platformtest.Host, addr netip.Addr, now time.Time) int {
	n := 0
	for _, f := range h.ARP() {
		c, err := vip.ParseClaim(f.Data)
		if err != nil {
			c, err = vip.ParseNDClaim(f.Data)
		}
		if err == nil && c.Addr == addr && bytes.Equal(c.MAC, h.Interface().HardwareAddr) && !f.Time.Before(now) {
			n++
		}
	}
	return n
}

// masterAndIntruder starts node A (.11) with the groups specs gives it
// on lan, alone but for an intruder host (.66), and lets it become
// MASTER; A is stopped when the test ends.
func masterAndIntruder(t *testing.T, lan *platformtest.LAN, specs func(a *testNode) []Spec) (*testNode, *platformtest.Host) {
	t.Helper()
	a := newTestNode(lan, 11)
	intruder := addIntruder(lan)
	if err := a.Apply(specs(a)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(syscall.SIGTERM) })
	<-a.Ready()
	time.Sleep(4 * time.Second)
	synctest.Wait()
	return a, intruder
}

// dualStack is one group of A with an IPv4 and an IPv6 address.
func dualStack(a *testNode) []Spec {
	return []Spec{a.dualSpec(0, "198.51.100.100/32", "2001:db8::100/64")}
}

// TestConflict: a MASTER that hears another MAC claim its address (a
// gratuitous ARP, an ARP reply) logs it with the MAC, counts it and
// announces the address again at once; its own frames, a BACKUP's ARP
// traffic and a probe are no conflict; a flood costs at most the rate
// limit; and there is no listener while no group is MASTER.
func TestConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		intruder := addIntruder(&lan)
		sb := b.spec(1, 100)
		sb.Config.Preempt = true
		startNodes(t, a, b, []Spec{a.spec(1, 0)}, []Spec{sb})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		synctest.Wait()
		if open, opened := a.host.Listening(); open != 0 || opened != 0 {
			t.Fatalf("BACKUP: %d listeners open, %d opened; want none", open, opened)
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		wantHolders(t, "1 | ", a, b)
		if open, _ := a.host.Listening(); open != 1 {
			t.Fatalf("MASTER: %d listeners open, want 1 (ARP)", open)
		}
		if open, opened := b.host.Listening(); open != 0 || opened != 0 {
			t.Fatalf("B, BACKUP: %d listeners open, %d opened; want none", open, opened)
		}
		addr := vipOf(1).Addr()

		// Not conflicts: A's own announcement, B resolving the address
		// (B's address as sender), a probe (RFC 5227: sender 0.0.0.0).
		own, _ := vip.GratuitousARP(a.host.Interface().HardwareAddr, addr)
		write(t, a.host, own)
		write(t, b.host, arpFrame(t, arp.OperationRequest, b.host.Interface().HardwareAddr, b.src, addr))
		write(t, intruder, arpFrame(t, arp.OperationRequest, intruderMAC, netip.IPv4Unspecified(), addr))
		if st := a.Status()[0]; st.Addresses[0].Conflicts != 0 || st.LastConflict != nil || strings.Contains(a.logs.String(), "conflict") {
			t.Fatalf("conflicts %d, last %+v, with no other host claiming the address\n%s", st.Addresses[0].Conflicts, st.LastConflict, a.logs)
		}

		// The intruder's gratuitous ARP: logged, counted, answered at once.
		now := time.Now()
		before := announcedAt(a.host, addr, now)
		write(t, intruder, arpFrame(t, arp.OperationRequest, intruderMAC, addr, addr))
		if !strings.Contains(a.logs.String(), "[WARN] Address conflict: 198.51.100.101 is also claimed by 02:00:00:00:00:66 on eth0: announcing it again") {
			t.Fatalf("no conflict logged:\n%s", a.logs)
		}
		if n := announcedAt(a.host, addr, now) - before; n != 1 {
			t.Fatalf("%d announcements at once, want 1", n)
		}
		st := a.Status()[0]
		if st.Addresses[0].Conflicts != 1 || st.LastConflict == nil || st.LastConflict.MAC != intruderMAC.String() ||
			st.LastConflict.Address != addr || !st.LastConflict.Time.Equal(now) {
			t.Fatalf("conflicts %d, last %+v", st.Addresses[0].Conflicts, st.LastConflict)
		}
		if ex, _ := a.Explain("eth0-1"); !strings.Contains(ex, "Another host claimed its addresses 1 times while it was MASTER") ||
			!strings.Contains(ex, "last 198.51.100.101 at 02:00:00:00:00:66") {
			t.Fatalf("explain: %s", ex)
		}

		// A flood of replies: every one counted, the answers rate-limited.
		time.Sleep(20 * time.Second) // the limit's burst back
		synctest.Wait()
		now = time.Now()
		lines := a.logs.count("Address conflict")
		reply := arpFrame(t, arp.OperationReply, intruderMAC, addr, b.src)
		for range 100 {
			write(t, intruder, reply) // one at a time: a burst beyond the group's queue is not all counted
		}
		st = a.Status()[0]
		if st.Addresses[0].Conflicts != 101 {
			t.Fatalf("%d conflicts counted, want 101", st.Addresses[0].Conflicts)
		}
		if n := announcedAt(a.host, addr, now); n != 10 {
			t.Fatalf("%d announcements for 100 replies, want 10 (the burst)", n)
		}
		if n := a.logs.count("Address conflict") - lines; n != 10 {
			t.Fatalf("%d lines for 100 replies, want 10", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !strings.Contains(a.logs.String(), "90 more address conflicts left unanswered") {
			t.Fatalf("no report of the conflicts left unanswered:\n%s", a.logs)
		}

		// A gives up MASTER: the listener goes.
		if err := a.Demote("eth0-1", 200); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		wantHolders(t, " | 1", a, b)
		if open, _ := a.host.Listening(); open != 0 {
			t.Fatalf("BACKUP again: %d listeners open, want none", open)
		}
		if open, _ := b.host.Listening(); open != 1 {
			t.Fatalf("B, MASTER: %d listeners open, want 1", open)
		}
	})
}

// TestConflictIPv6: a dual-stack MASTER listens for ARP and Neighbour
// Discovery (one listener each), and another host's unsolicited NA for
// its IPv6 address is a conflict, answered with this host's NA at once.
func TestConflictIPv6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, intruder := masterAndIntruder(t, &lan, dualStack)
		if open, _ := a.host.Listening(); open != 2 {
			t.Fatalf("dual-stack MASTER: %d listeners open, want 2 (ARP, ND)", open)
		}
		addr := netip.MustParseAddr("2001:db8::100")
		// A neighbour's NA for its own address is none of ours.
		other, _ := vip.UnsolicitedNA(intruderMAC, netip.MustParseAddr("fe80::66"), netip.MustParseAddr("2001:db8::66"), false)
		write(t, intruder, other)
		if st := a.Status()[0]; st.LastConflict != nil {
			t.Fatalf("conflict %+v from another address", st.LastConflict)
		}
		now := time.Now()
		na, _ := vip.UnsolicitedNA(intruderMAC, netip.MustParseAddr("fe80::66"), addr, false)
		write(t, intruder, na)
		st := a.Status()[0]
		if st.Addresses[1].Conflicts != 1 || st.LastConflict == nil || st.LastConflict.Address != addr ||
			st.LastConflict.MAC != intruderMAC.String() {
			t.Fatalf("conflicts %d, last %+v", st.Addresses[1].Conflicts, st.LastConflict)
		}
		if n := announcedAt(a.host, addr, now); n != 1 {
			t.Fatalf("%d neighbour advertisements at once, want 1", n)
		}
		if !strings.Contains(a.logs.String(), "Address conflict: 2001:db8::100 is also claimed by 02:00:00:00:00:66 on eth0") {
			t.Fatalf("logs:\n%s", a.logs)
		}
	})
}

// TestConflictOneListener: the groups of an interface share one
// listener, however many are MASTER; each sees only its own addresses.
func TestConflictOneListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, intruder := masterAndIntruder(t, &lan, func(a *testNode) []Spec { return []Spec{a.spec(1, 0), a.spec(2, 0), a.spec(3, 0)} })
		wantHolders(t, "1,2,3", a)
		if open, opened := a.host.Listening(); open != 1 || opened != 1 {
			t.Fatalf("3 MASTERs: %d listeners open, %d opened; want 1", open, opened)
		}
		write(t, intruder, arpFrame(t, arp.OperationReply, intruderMAC, vipOf(2).Addr(), a.src))
		for _, g := range a.Status() {
			want := uint64(0)
			if g.VHID == 2 {
				want = 1
			}
			if g.Addresses[0].Conflicts != want {
				t.Errorf("vhid %d: %d conflicts, want %d", g.VHID, g.Addresses[0].Conflicts, want)
			}
		}
	})
}

// TestConflictOff: with no-conflict-detect, a MASTER opens no listener
// and another host's claim is no conflict.
func TestConflictOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, intruder := masterAndIntruder(t, &lan, func(a *testNode) []Spec {
			s := a.spec(1, 0)
			s.Config.NoConflictDetect = true
			return []Spec{s}
		})
		wantHolders(t, "1", a)
		if open, opened := a.host.Listening(); open != 0 || opened != 0 {
			t.Fatalf("MASTER with no-conflict-detect: %d listeners open, %d opened; want none", open, opened)
		}
		write(t, intruder, arpFrame(t, arp.OperationRequest, intruderMAC, vipOf(1).Addr(), vipOf(1).Addr()))
		if st := a.Status()[0]; st.LastConflict != nil || st.Addresses[0].Conflicts != 0 {
			t.Fatalf("conflict %+v with detection off", st.LastConflict)
		}
	})
}

// TestConflictMACChange: after the interface's MAC changes under a
// MASTER (`ip link set address`, a bond's fail_over_mac), its own frames
// with the new MAC are no conflict, and an intruder's claim is answered
// with an announcement of the new MAC, never the old one.
func TestConflictMACChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, intruder := masterAndIntruder(t, &lan, dualStack)
		addr4, addr6 := netip.MustParseAddr("198.51.100.100"), netip.MustParseAddr("2001:db8::100")
		newMAC := net.HardwareAddr{2, 0, 0, 0, 0, 0x77}
		a.host.SetMAC(newMAC)
		synctest.Wait()
		own4, _ := vip.GratuitousARP(newMAC, addr4)
		own6, _ := vip.UnsolicitedNA(newMAC, netip.MustParseAddr("fe80::77"), addr6, false)
		// What another host's listener would hear of A's frames; A's own
		// listener is the fake's kernel filter's to drop, and the MAC
		// check's behind it: hand them in as another host's copy would be.
		write(t, intruder, own4, own6)
		if st := a.Status()[0]; st.LastConflict != nil || strings.Contains(a.logs.String(), "conflict") {
			t.Fatalf("conflict %+v from A's own new MAC\n%s", st.LastConflict, a.logs)
		}
		for _, addr := range []netip.Addr{addr4, addr6} {
			now := time.Now()
			var f []byte
			if addr.Is4() {
				f = arpFrame(t, arp.OperationRequest, intruderMAC, addr, addr)
			} else {
				f, _ = vip.UnsolicitedNA(intruderMAC, netip.MustParseAddr("fe80::66"), addr, false)
			}
			write(t, intruder, f)
			var macs []string
			for _, fr := range a.host.ARP() {
				c, err := vip.ParseClaim(fr.Data)
				if err != nil {
					c, err = vip.ParseNDClaim(fr.Data)
				}
				if err == nil && c.Addr == addr && !fr.Time.Before(now) {
					macs = append(macs, c.MAC.String())
				}
			}
			if len(macs) != 1 || macs[0] != newMAC.String() {
				t.Fatalf("%v: answered with the announcements of %v, want one of %v\n%s", addr, macs, newMAC, a.logs)
			}
		}
	})
}

// TestConflictNotOnHandover: a handover is no conflict, both ways: a
// MASTER that an operator demotes, and one that a peer preempts, gets
// the new MASTER's advert and gratuitous ARP together (through two
// readers, then the loop's select, which picks at random: many rounds
// show it) and must step down on the advert, not judge the announcement
// first. An intruder is still a conflict after it.
func TestConflictNotOnHandover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		intruder := addIntruder(&lan)
		sb := b.spec(1, 0)
		sb.Config.Preempt = true
		sb.Config.GARPCount = 3
		sa := a.spec(1, 100)
		sa.Config.GARPCount = 3
		sa.Config.Preempt = true
		startNodes(t, b, a, []Spec{sb}, []Spec{sa})
		defer b.Stop(syscall.SIGTERM)
		defer a.Stop(syscall.SIGTERM)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		wantHolders(t, " | 1", a, b)
		const rounds = 60
		for i := range rounds {
			// B hands over to A, then preempts A again.
			if err := b.Demote("eth0-1", 200); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			wantHolders(t, "1 | ", a, b)
			if err := b.Demote("eth0-1", 0); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Second)
			synctest.Wait()
			wantHolders(t, " | 1", a, b)
			for _, tn := range []*testNode{a, b} {
				if st := tn.Status()[0]; st.Addresses[0].Conflicts != 0 {
					t.Fatalf("round %d: %s counted %d conflicts, last %+v\n%s", i, tn.host, st.Addresses[0].Conflicts, st.LastConflict, tn.logs)
				}
			}
		}
		addr := vipOf(1).Addr()
		time.Sleep(5 * time.Second)
		write(t, intruder, arpFrame(t, arp.OperationRequest, intruderMAC, addr, addr))
		if st := b.Status()[0]; st.Addresses[0].Conflicts != 1 || b.logs.count("Address conflict") != 1 {
			t.Fatalf("the intruder: %d conflicts counted\n%s", st.Addresses[0].Conflicts, b.logs)
		}
	})
}
