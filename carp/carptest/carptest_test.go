package carptest

import (
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

func cfg(skew uint8, preempt bool) carp.Config {
	return carp.Config{VHID: 1, AdvBase: 1, AdvSkew: skew, DeadRatio: 3, Preempt: preempt, DownScript: true}
}

// us is a simulated time in microseconds after Epoch.
func us(n int64) time.Time { return Epoch().Add(time.Duration(n) * time.Microsecond) }

func wantOneMaster(t *testing.T, n *Network, name string) {
	t.Helper()
	ms := n.Masters()
	if len(ms) != 1 || ms[0].Name != name {
		t.Fatalf("at %v masters are %v, want [%s]", n.Since(), ms, name)
	}
}

func wantTransition(t *testing.T, nd *Node, at time.Time, to carp.State, reason carp.Reason) {
	t.Helper()
	for _, tr := range nd.Transitions {
		if tr.At.Equal(at) && tr.To == to {
			if tr.Reason != reason {
				t.Fatalf("%s -> %v at %v for %v, want %v", nd, to, at.Sub(Epoch()), tr.Reason, reason)
			}
			return
		}
	}
	t.Fatalf("%s: no transition to %v at %v; transitions: %+v", nd, to, at.Sub(Epoch()), nd.Transitions)
}

// masterAt3s starts A (advskew 0) and B (advskew 100); A takes over at 3 s
// and advertises every second from then on.
func masterAt3s(t *testing.T, preemptB bool) (*Network, *Node, *Node) {
	n := New()
	a := n.Add("A", "198.51.100.11", cfg(0, false))
	b := n.Add("B", "198.51.100.12", cfg(100, preemptB))
	a.Start()
	b.Start()
	n.Run(10500 * time.Millisecond)
	wantOneMaster(t, n, "A")
	wantTransition(t, a, us(3_000_000), carp.Master, carp.ReasonMasterDown)
	return n, a, b
}

func TestConvergence(t *testing.T) {
	n := New()
	a := n.Add("A", "198.51.100.11", cfg(0, false))
	b := n.Add("B", "198.51.100.12", cfg(50, false))
	c := n.Add("C", "198.51.100.13", cfg(100, false))
	for _, nd := range []*Node{c, b, a} {
		nd.Start()
	}
	n.Run(60 * time.Second)
	wantOneMaster(t, n, "A")
	wantTransition(t, a, us(3_000_000), carp.Master, carp.ReasonMasterDown)
	for _, nd := range []*Node{b, c} {
		if len(nd.Transitions) != 1 {
			t.Fatalf("%s flapped: %+v", nd, nd.Transitions)
		}
	}
	// A advertises every second, exactly, and its GARPs are at takeover
	// and two adverts later.
	if got := len(a.Adverts); got != 58 {
		t.Fatalf("A sent %d adverts in 57 s", got)
	}
	for i, s := range a.Adverts {
		if want := us(int64(3+i) * 1_000_000); !s.At.Equal(want) {
			t.Fatalf("advert %d at %v, want %v", i, s.At.Sub(Epoch()), want.Sub(Epoch()))
		}
	}
	if len(a.Announces) != 2 || !a.Announces[0].Equal(us(3_000_000)) || !a.Announces[1].Equal(us(5_000_000)) {
		t.Fatalf("announces at %v", a.Announces)
	}
	// Counters: the first advert is random; then the shared sequence.
	if a.Adverts[1].Header.Counter != a.Adverts[0].Header.Counter+1 && len(b.Drops) != 0 {
		t.Fatalf("counters %d %d", a.Adverts[0].Header.Counter, a.Adverts[1].Header.Counter)
	}
}

func TestMasterDeathTakeoverAtTDown(t *testing.T) {
	n := New()
	a := n.Add("A", "198.51.100.11", cfg(0, false))
	b := n.Add("B", "198.51.100.12", cfg(50, false))
	c := n.Add("C", "198.51.100.13", cfg(100, false))
	for _, nd := range []*Node{a, b, c} {
		nd.Start()
	}
	n.Run(10500 * time.Millisecond)
	a.Kill() // its last advert left at 10 s and arrived at 10.0001 s
	n.Run(20 * time.Second)
	// T_down for B is 3 s + 50/256 s = 3.195312 s after the last advert heard.
	wantTransition(t, b, us(10_000_100+3_195_312), carp.Master, carp.ReasonMasterDown)
	wantOneMaster(t, n, "B")
	if len(c.Transitions) != 1 {
		t.Fatalf("C flapped: %+v", c.Transitions)
	}
}

func TestPreemption(t *testing.T) {
	n := New()
	a := n.Add("A", "198.51.100.11", cfg(0, true))
	b := n.Add("B", "198.51.100.12", cfg(100, false))
	b.Start()
	n.Run(10 * time.Second)
	wantOneMaster(t, n, "B") // took over at 3.390625 s
	a.Start()
	n.Run(10 * time.Second)
	// B advertises at 3.390625 + k*1.390625 s; the one of 10.34375 s
	// reaches A 100 µs later and A preempts at once. A's first advert
	// reaches B 100 µs after that, and B steps down.
	wantTransition(t, a, us(10_343_850), carp.Master, carp.ReasonPreempt)
	wantTransition(t, b, us(10_343_950), carp.Backup, carp.ReasonPreferredMaster)
	wantOneMaster(t, n, "A")

	t.Run("without -P the slower master stays", func(t *testing.T) {
		n := New()
		a := n.Add("A", "198.51.100.11", cfg(0, false))
		b := n.Add("B", "198.51.100.12", cfg(100, false))
		b.Start()
		n.Run(10 * time.Second)
		a.Start()
		n.Run(30 * time.Second)
		wantOneMaster(t, n, "B")
	})
}

func TestEqualIntervalTieBreak(t *testing.T) {
	for _, tt := range []struct {
		name             string
		addrA, addrB     string
		winner, loserDir string
	}{
		{"same subnet: lower address wins", "198.51.100.11", "198.51.100.12", "A", "B"},
		// ucarp on x86 compares the addresses little-endian: 10.1.0.1 beats 10.0.0.2.
		{"across subnets: little-endian order", "10.0.0.2", "10.1.0.1", "B", "A"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := New()
			a := n.Add("A", tt.addrA, cfg(0, false))
			b := n.Add("B", tt.addrB, cfg(0, false))
			a.Start()
			b.Start()
			n.Run(3 * time.Second) // both take over at 3 s
			if len(n.Masters()) != 2 {
				t.Fatalf("masters at 3 s: %v", n.Masters())
			}
			n.Run(time.Millisecond)
			wantOneMaster(t, n, tt.winner)
			n.Run(30 * time.Second)
			wantOneMaster(t, n, tt.winner)
		})
	}
}

func TestBowOutHandoff(t *testing.T) {
	for _, tt := range []struct {
		name string
		ev   carp.Event
	}{
		{"demotion", carp.Event{Kind: carp.EventDemote}},
		{"shutdown with -z", carp.ReleaseEvent(true)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, a, b := masterAt3s(t, false)
			a.Event(tt.ev)
			n.Run(time.Second)
			// B takes over 100 µs after the bow-out left, not after its dead time.
			wantTransition(t, b, us(10_500_100), carp.Master, carp.ReasonTimeOut)
			wantOneMaster(t, n, "B")
			if last := a.Adverts[len(a.Adverts)-1].Header; last.AdvBase != 255 || last.AdvSkew != 255 {
				t.Fatalf("A's last advert %+v", last)
			}
		})
	}
	t.Run("without a bow-out: the dead time", func(t *testing.T) {
		n, a, b := masterAt3s(t, false)
		a.Kill()
		n.Run(5 * time.Second)
		wantTransition(t, b, us(10_000_100+3_390_625), carp.Master, carp.ReasonMasterDown)
	})
}

func TestSendErrorSuppression(t *testing.T) {
	n, a, b := masterAt3s(t, false)
	a.FailSends(true) // from the advert of 11 s on; B last heard A at 10.0001 s
	n.Run(10 * time.Second)
	// B took over at its dead time. A, suppressed after three failures,
	// compares with advskew 240 and yields to B's 100, where without
	// suppression it would keep reasserting and both would stay MASTER.
	wantTransition(t, b, us(10_000_100+3_390_625), carp.Master, carp.ReasonMasterDown)
	wantOneMaster(t, n, "B")
	// Suppression shows on the wire: from some advert on, every one
	// carries advskew 240 (sends still fail: it never ends).
	var suppressed int
	for _, s := range a.Adverts {
		if s.Header.AdvSkew == 240 {
			suppressed++
		}
	}
	if last := a.Adverts[len(a.Adverts)-1].Header.AdvSkew; suppressed == 0 || last != 240 {
		t.Fatalf("A sent %d adverts with advskew 240, the last with %d", suppressed, last)
	}
}

func TestPartitionAndHealing(t *testing.T) {
	n, a, b := masterAt3s(t, false)
	n.Cut(a, b)
	n.Run(9500 * time.Millisecond) // until 20 s
	if len(n.Masters()) != 2 {
		t.Fatalf("partitioned masters: %v", n.Masters())
	}
	wantTransition(t, b, us(10_000_100+3_390_625), carp.Master, carp.ReasonMasterDown)
	n.Heal()
	announcesBefore := len(a.Announces)
	// Within two advert intervals there is exactly one MASTER again, the
	// preferred one, and it has announced the address again.
	if !n.RunUntilCond(2*time.Second, func() bool { return len(n.Masters()) == 1 }) {
		t.Fatalf("still %v two intervals after the heal", n.Masters())
	}
	wantOneMaster(t, n, "A")
	n.Run(2 * time.Second)
	if len(a.Announces) == announcesBefore {
		t.Fatal("A did not announce the address again after the heal")
	}
}

func TestPasswordMismatchGivesTwoMasters(t *testing.T) {
	n := New()
	a := n.Add("A", "198.51.100.11", cfg(0, false))
	b := n.Add("B", "198.51.100.12", cfg(100, false))
	b.SetPassword("other")
	a.Start()
	b.Start()
	n.Run(10 * time.Second)
	if len(n.Masters()) != 2 {
		t.Fatalf("masters %v: a mismatched password must not be trusted", n.Masters())
	}
	if a.Drops[carp.DropBadDigest] == 0 || b.Drops[carp.DropBadDigest] == 0 {
		t.Fatalf("drops A %v B %v", a.Drops, b.Drops)
	}
}

func TestRestartAfterKill(t *testing.T) {
	n, a, _ := masterAt3s(t, false)
	a.Kill()
	n.Run(5 * time.Second) // B takes over at 13.390725 s
	wantOneMaster(t, n, "B")
	// A comes back as BACKUP and, without -P, leaves B in place: a
	// restarted node never causes a second MASTER.
	a.Restart()
	n.Run(20 * time.Second)
	wantOneMaster(t, n, "B")
	if tr, _ := a.LastTransition(); len(a.Transitions) != 3 || tr.From != carp.Init || tr.To != carp.Backup {
		t.Fatalf("A after restart: %+v", a.Transitions)
	}
}
