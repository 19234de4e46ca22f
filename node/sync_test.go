package node

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// demotions is the demotion of every source of a node's groups, as
// Status says: "eth0-1:hold-down=255 ...", sources at 0 left out.
func demotions(tn *testNode) string {
	var out []string
	for _, g := range tn.Status() {
		s := g.Name + ":"
		for _, src := range control.DemotionSources {
			if l := g.Timing.Demotions[src]; l > 0 {
				s += fmt.Sprintf("%s=%d,", src, l)
			}
		}
		out = append(out, strings.TrimSuffix(s, ","))
	}
	return strings.Join(out, " ")
}

func wantDemotions(t *testing.T, tn *testNode, want string) {
	t.Helper()
	tn.dem.wait()
	if got := demotions(tn); got != want {
		t.Fatalf("demotions %q, want %q", got, want)
	}
}

// TestHoldDownKeepsPeer: a node started with a hold-down next to a
// running peer does not take the address from it, even with -P and a
// better advskew, until the hold-down ends; then it does.
func TestHoldDownKeepsPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		b := newTestNode(&lan, 12)
		sb := b.spec(1, 100)
		sb.Config.Preempt = true
		b.run(t, sb)
		settle(10 * time.Second)

		a := newTestNode(&lan, 11)
		sa := a.spec(1, 0)
		sa.Config.Preempt = true
		sa.HoldDown = 30 * time.Second
		a.run(t, sa)
		wantDemotions(t, a, "eth0-1:hold-down=255")
		if g := a.Status()[0]; g.HoldDown == nil || !g.HoldDown.Until.Equal(time.Now().Add(30*time.Second)) {
			t.Fatalf("hold-down %+v", g.HoldDown)
		}
		settle(29 * time.Second)
		wantHolders(t, " | 1", a, b)
		ex, _ := a.Explain("eth0-1")
		if !strings.Contains(ex, "decided by hold-down 255 (the boot hold-down, 1s more)") {
			t.Fatalf("explain: %s", ex)
		}
		settle(5 * time.Second)
		wantHolders(t, "1 | ", a, b)
		wantDemotions(t, a, "eth0-1:")
		if g := a.Status()[0]; g.HoldDown != nil {
			t.Fatalf("hold-down %+v after its end", g.HoldDown)
		}
		if !strings.Contains(a.logs.String(), "Hold-down over: its time is up") {
			t.Fatalf("the end is not logged:\n%s", a.logs)
		}
	})
}

// TestHoldDownFromTheStart: the hold-down is in the group before it
// runs. A worse peer's advert that the group hears at its very start
// (here, as it says it is ready) does not make it preempt: were the
// hold-down set after Run began, the loop would take the advert or the
// demotion first as select pleases, and some of the runs would preempt
// (about one in 25 here).
func TestHoldDownFromTheStart(t *testing.T) {
	for i := range 200 {
		synctest.Test(t, func(t *testing.T) {
			var lan platformtest.LAN
			peerAddr, conn := thirdHost(t, &lan, carp.IPProtocol)
			a := newTestNode(&lan, 11)
			a.deps.Ready = func(ID, string) { conn.WritePacket(advert(peerAddr, 1, 200)) }
			sa := a.spec(1, 0)
			sa.Config.Preempt = true
			sa.HoldDown = time.Minute
			a.run(t, sa)
			synctest.Wait()
			if got := holders(a)[0]; got != "" {
				t.Fatalf("run %d: took the address from a worse peer at its start, held down:\n%s", i, a.logs)
			}
		})
	}
}

// TestHoldDownLoneHost: with no peer at all, a held-down host takes the
// address after the dead interval, as at any start: a demotion never
// leaves an address unheld. It advertises the hold-down's skew until the
// hold-down ends.
func TestHoldDownLoneHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		sa := a.spec(1, 0)
		sa.HoldDown = time.Minute
		a.run(t, sa)
		settle(4 * time.Second)
		wantHolders(t, "1", a)
		wantDemotions(t, a, "eth0-1:hold-down=255")
		settle(time.Minute)
		wantHolders(t, "1", a)
		wantDemotions(t, a, "eth0-1:")
	})
}

// TestHoldDownUntilHealthy: with until-healthy, the hold-down ends when
// the group's probes are up, the time being the upper bound; a group
// without probes is healthy at once; a hold-down that ends on time leaves
// the probes' own demotion.
func TestHoldDownUntilHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		var checks fakeChecks
		a.deps.Check = checks.check
		checks.set("db", true)
		s1, s2, s3 := a.spec(1, 0), a.spec(2, 0), a.spec(3, 0)
		s1.Probes, s2.Probes = []health.Spec{probeSpec("web")}, []health.Spec{probeSpec("db")}
		for _, s := range []*Spec{&s1, &s2, &s3} {
			s.HoldDown, s.HoldDownUntilHealthy = 30*time.Second, true
		}
		a.run(t, s1, s2, s3)
		wantDemotions(t, a, "eth0-1:health=255,hold-down=255 eth0-2:health=255,hold-down=255 eth0-3:")
		time.Sleep(3 * time.Second) // web rises after two checks
		synctest.Wait()
		wantDemotions(t, a, "eth0-1: eth0-2:health=255,hold-down=255 eth0-3:")
		settle(30 * time.Second)
		wantDemotions(t, a, "eth0-1: eth0-2:health=255 eth0-3:")
		if n := a.logs.count("Hold-down over: the probes are up"); n != 2 {
			t.Fatalf("%d ends by health, want 2:\n%s", n, a.logs)
		}
		// A hold-down is the start's: a reload does not start another.
		s3.HoldDown = time.Hour
		if err := a.Apply([]Spec{s1, s2, s3}); err != nil {
			t.Fatal(err)
		}
		wantDemotions(t, a, "eth0-1: eth0-2:health=255 eth0-3:")
	})
}

// twoLinkNode is a node with groups on two interfaces, eth0 and eth1,
// each on its own LAN.
type twoLinkNode struct {
	*testNode
	eth1 *platformtest.Host
}

func newTwoLinkNode(lan0, lan1 *platformtest.LAN, last byte) *twoLinkNode {
	src := netip.AddrFrom4([4]byte{198, 51, 100, last})
	src1 := netip.AddrFrom4([4]byte{203, 0, 113, last})
	h0 := lan0.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, last}, netip.PrefixFrom(src, 24))
	h1 := lan1.Host("eth1", net.HardwareAddr{2, 0, 0, 0, 1, last}, netip.PrefixFrom(src1, 24))
	logs := &logBuf{}
	seq := uint64(last) << 32
	n := New(Deps{
		Log: slog.New(handler{w: logs}),
		Open: func(name string) (platform.OS, error) {
			switch name {
			case "eth0":
				return h0, nil
			case "eth1":
				return h1, nil
			}
			return nil, fmt.Errorf("no interface %s", name)
		},
		Random: func() uint64 { seq++; return seq },
	})
	return &twoLinkNode{testNode: &testNode{Node: n, host: h0, src: src, logs: logs}, eth1: h1}
}

// spec1 is a group on eth1, in sync group "pair" with -P.
func (tn *twoLinkNode) syncSpec(ifname string, vhid, advskew uint8) Spec {
	s := tn.spec(vhid, advskew)
	s.Config.Interface = ifname
	if ifname == "eth1" {
		s.Config.Src = netip.AddrFrom4([4]byte{203, 0, 113, tn.src.As4()[3]})
	}
	s.Config.Preempt = true
	s.SyncGroup = "pair"
	return s
}

// wantQuietMinute fails t when a group of the nodes changes state in a
// minute: a sync group that oscillates.
func wantQuietMinute(t *testing.T, nodes ...*testNode) {
	t.Helper()
	before := transitions(nodes...)
	settle(time.Minute)
	if n := transitions(nodes...) - before; n != 0 {
		t.Fatalf("%d transitions in a quiet minute: the groups oscillate", n)
	}
}

// transitions counts the transitions of every group of the nodes.
func transitions(nodes ...*testNode) int {
	n := 0
	for _, tn := range nodes {
		for _, g := range tn.Status() {
			n += int(g.Counters.Transitions)
		}
	}
	return n
}

// TestSyncGroupCarrier: groups 1 (eth0) and 2..5 (eth1) of A are in one
// sync group; A prefers them all. A's eth0 loses its carrier: group 1
// goes to B by the election, and the others follow it by their sync
// demotion; the carrier comes back and A takes them all back (-P). Then
// nothing moves any more: no oscillation.
func TestSyncGroupCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan0, lan1 platformtest.LAN
		a, b := newTwoLinkNode(&lan0, &lan1, 11), newTwoLinkNode(&lan0, &lan1, 12)
		events, cancel := a.Subscribe()
		t.Cleanup(cancel) // after the nodes stop
		specsA := []Spec{a.syncSpec("eth0", 1, 0)}
		specsB := []Spec{b.syncSpec("eth0", 1, 100)}
		for v := uint8(2); v <= 5; v++ {
			specsA = append(specsA, a.syncSpec("eth1", v, 0))
			specsB = append(specsB, b.syncSpec("eth1", v, 100))
		}
		a.run(t, specsA...)
		b.run(t, specsB...)
		settle(10 * time.Second)
		all := "eth0-1,eth1-2,eth1-3,eth1-4,eth1-5"
		if got := masters(a.testNode, b.testNode); got != all+" | " {
			t.Fatalf("masters %q", got)
		}

		a.host.SetLink(true, false) // A's eth0 loses its carrier
		settle(5 * time.Second)
		if got := masters(a.testNode, b.testNode); got != " | "+all {
			t.Fatalf("after the carrier loss: masters %q", got)
		}
		wantDemotions(t, a.testNode, "eth0-1: eth1-2:sync=255 eth1-3:sync=255 eth1-4:sync=255 eth1-5:sync=255")
		if n := a.logs.count("[WARN] Sync group pair: another member failed: demoted by 255 interface=eth1"); n != 4 {
			t.Fatalf("%d lines of sync demotions, want 4:\n%s", n, a.logs)
		}
		var demoted []string
		for len(events) > 0 {
			if ev := <-events; ev.Kind == control.EventDemotion && ev.Demotion != nil && *ev.Demotion == 255 {
				demoted = append(demoted, ev.Group)
			}
		}
		if slices.Sort(demoted); !slices.Equal(demoted, []string{"eth1-2", "eth1-3", "eth1-4", "eth1-5"}) {
			t.Fatalf("demotion events for %v", demoted)
		}
		ex, _ := a.Explain("eth1-3")
		if !strings.Contains(ex, `decided by sync 255 (another member of sync group "pair" failed)`) {
			t.Fatalf("explain: %s", ex)
		}

		a.host.SetLink(true, true)
		settle(5 * time.Second)
		if got := masters(a.testNode, b.testNode); got != all+" | " {
			t.Fatalf("after the carrier's return: masters %q", got)
		}
		wantDemotions(t, a.testNode, "eth0-1: eth1-2: eth1-3: eth1-4: eth1-5:")
		wantQuietMinute(t, a.testNode, b.testNode)
	})
}

// TestSyncGroupNoLoop: members that demote each other do not lock each
// other down. An operator demotes group 1 by 50: its sync group follows
// at 50 (not more: all its members advertise the same demotion); group 2
// fails too (demoted by 200): the level is the highest failure, and each
// member gets what its own demotion lacks. Both are promoted, in either
// order: the level follows the member that is left (200 keeps them on B,
// 50 does not), no sync demotion is left behind, and A takes everything
// back.
// A group without a sync group is never touched.
func TestSyncGroupNoLoop(t *testing.T) {
	for _, order := range []struct{ first, then, between string }{
		{"eth0-1", "eth0-2", "4 | 1,2,3"},
		{"eth0-2", "eth0-1", "1,2,3,4 | "},
	} {
		t.Run(order.first+" first", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
				var specsA, specsB []Spec
				for v := uint8(1); v <= 4; v++ {
					sa, sb := a.spec(v, 0), b.spec(v, 100)
					sa.Config.Preempt, sb.Config.Preempt = true, true
					if v <= 3 {
						sa.SyncGroup, sb.SyncGroup = "s", "s"
					}
					specsA, specsB = append(specsA, sa), append(specsB, sb)
				}
				a.run(t, specsA...)
				b.run(t, specsB...)
				settle(10 * time.Second)
				wantHolders(t, "1,2,3,4 | ", a, b)

				a.Demote("eth0-1", 50) // 0+50 < B's 100: A stays MASTER of all
				wantDemotions(t, a, "eth0-1:admin=50 eth0-2:sync=50 eth0-3:sync=50 eth0-4:")
				settle(5 * time.Second)
				wantHolders(t, "1,2,3,4 | ", a, b)

				a.Demote("eth0-2", 200) // now B takes 1, 2 and 3 together
				wantDemotions(t, a, "eth0-1:admin=50,sync=150 eth0-2:admin=200 eth0-3:sync=200 eth0-4:")
				settle(5 * time.Second)
				wantHolders(t, "4 | 1,2,3", a, b)

				a.Promote(order.first)
				settle(5 * time.Second)
				wantHolders(t, order.between, a, b)
				a.Promote(order.then)
				wantDemotions(t, a, "eth0-1: eth0-2: eth0-3: eth0-4:")
				settle(5 * time.Second)
				wantHolders(t, "1,2,3,4 | ", a, b)
				wantQuietMinute(t, a, b)
			})
		})
	}
}

// TestSyncGroupBetterPeer: a member that a preferred peer takes over,
// with no fault of its own, drags no other member: only its own faults
// count. B prefers group 2 (a configuration at odds with the sync group)
// and keeps it; A keeps group 1; neither demotes the other, and nothing
// moves afterwards.
func TestSyncGroupBetterPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		a1, a2, b1, b2 := a.spec(1, 0), a.spec(2, 100), b.spec(1, 100), b.spec(2, 0)
		for _, s := range []*Spec{&a1, &a2, &b1, &b2} {
			s.Config.Preempt, s.SyncGroup = true, "s"
		}
		a.run(t, a1, a2)
		b.run(t, b1, b2)
		settle(10 * time.Second)
		wantHolders(t, "1 | 2", a, b)
		wantQuietMinute(t, a, b)
		wantDemotions(t, a, "eth0-1: eth0-2:")
	})
}

// TestSyncGroupReload: a reload that takes a group out of its sync group
// (or moves it to another) takes its sync demotion away, and leaves the
// group running.
func TestSyncGroupReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		s1, s2 := a.spec(1, 0), a.spec(2, 0)
		s1.SyncGroup, s2.SyncGroup = "s", "s"
		a.run(t, s1, s2)
		settle(5 * time.Second)
		a.Demote("eth0-1", 30)
		wantDemotions(t, a, "eth0-1:admin=30 eth0-2:sync=30")
		before := a.Status()[1].Counters.Transitions
		s2.SyncGroup = "other"
		if err := a.Apply([]Spec{s1, s2}); err != nil {
			t.Fatal(err)
		}
		wantDemotions(t, a, "eth0-1:admin=30 eth0-2:")
		if g := a.Status()[1]; g.Counters.Transitions != before || g.SyncGroup != "other" || g.State != control.StateMaster {
			t.Fatalf("after the reload: %+v", g)
		}
		// A remote process's level counts for the groups of its name.
		a.SetRemoteSync(map[string]int{"other": 80})
		wantDemotions(t, a, "eth0-1:admin=30 eth0-2:sync=80")
		a.SetRemoteSync(nil)
		wantDemotions(t, a, "eth0-1:admin=30 eth0-2:")
	})
}

// TestSyncGroupsMany: 24 groups on two interfaces of A, in two sync
// groups that straddle the interfaces (odd vhids "odd", even "even"),
// and 4 groups in none. A's eth1 is set down administratively: every
// group of both sync groups goes to B (the eth1 members by the election,
// the eth0 members by sync), the groups of no sync group on eth0 stay.
// A demotion of one odd member on eth0 moves only "odd". Everything comes
// back, and nothing moves in a quiet minute.
func TestSyncGroupsMany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan0, lan1 platformtest.LAN
		a, b := newTwoLinkNode(&lan0, &lan1, 11), newTwoLinkNode(&lan0, &lan1, 12)
		var specsA, specsB []Spec
		for v := uint8(1); v <= 28; v++ {
			ifname := "eth0"
			if v > 14 {
				ifname = "eth1"
			}
			sa, sb := a.syncSpec(ifname, v, 0), b.syncSpec(ifname, v, 100)
			switch {
			case v == 1 || v == 2 || v == 15 || v == 16:
				sa.SyncGroup, sb.SyncGroup = "", ""
			case v%2 == 1:
				sa.SyncGroup, sb.SyncGroup = "odd", "odd"
			default:
				sa.SyncGroup, sb.SyncGroup = "even", "even"
			}
			specsA, specsB = append(specsA, sa), append(specsB, sb)
		}
		a.run(t, specsA...)
		b.run(t, specsB...)
		// where says which node is MASTER of each group: "AAB...".
		where := func() string {
			out := []byte(strings.Repeat("-", 28))
			for i, tn := range []*testNode{a.testNode, b.testNode} {
				for _, g := range tn.Status() {
					if g.State == control.StateMaster {
						out[g.VHID-1] = "AB"[i]
					}
				}
			}
			return string(out)
		}
		want := func(w string) {
			t.Helper()
			if got := where(); got != w {
				t.Fatalf("masters %s, want %s", got, w)
			}
		}
		settle(10 * time.Second)
		want(strings.Repeat("A", 28))

		a.eth1.SetLink(false, false)
		settle(5 * time.Second)
		want("AA" + strings.Repeat("B", 26))

		a.eth1.SetLink(true, true)
		settle(5 * time.Second)
		want(strings.Repeat("A", 28))

		a.Demote("eth0-3", 200)
		settle(5 * time.Second)
		want("AABABABABABABAAABABABABABABA")
		a.Promote("eth0-3")
		settle(5 * time.Second)
		want(strings.Repeat("A", 28))
		wantQuietMinute(t, a.testNode, b.testNode)
	})
}

// TestSyncGroupMaintenance: a member put in maintenance (which the group
// demotes itself) fails its sync group: the others are demoted with it,
// and taken back when it leaves maintenance.
func TestSyncGroupMaintenance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		s1, s2, s3 := a.spec(1, 0), a.spec(2, 0), a.spec(3, 0)
		s1.SyncGroup, s2.SyncGroup = "s", "s"
		a.run(t, s1, s2, s3)
		settle(5 * time.Second)
		maintenance(t, a, "eth0-1", true, false)
		wantDemotions(t, a, "eth0-1: eth0-2:sync=255 eth0-3:")
		if d := a.Status()[0].Timing.Demotions["maintenance"]; d != 255 {
			t.Fatalf("the member in maintenance: demotion %d", d)
		}
		maintenance(t, a, "eth0-1", false, false)
		wantDemotions(t, a, "eth0-1: eth0-2: eth0-3:")
	})
}
