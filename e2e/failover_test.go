//go:build linux

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/lab"
)

// pair starts ours on h1 (advskew 0) and h2 (advskew 100) and waits until
// h1 holds the VIP.
func pair(t *testing.T, l *lab.Lab, c1, c2 lab.CARP) (*lab.Proc, *lab.Proc) {
	t.Helper()
	p1 := start(t, l.Hosts[0], "ucarp", c1)
	p2 := start(t, l.Hosts[1], "ucarp", c2)
	waitMasters(t, l, 10*time.Second, l.Hosts[0])
	return p1, p2
}

func TestConvergeToOneMaster(t *testing.T) {
	l := newLab(t, 3)
	for i, h := range l.Hosts {
		start(t, h, "ucarp", ours(lab.CARP{AdvSkew: 50 * i}))
	}
	waitMasters(t, l, 10*time.Second, l.Hosts[0])
	holdMasters(t, l, 3*time.Second, l.Hosts[0])
	answersARP(t, l, l.Hosts[0])
}

// TestHardFailover: the master's cable is pulled and it is killed. The
// backup must take over after its dead interval (advbase*deadratio +
// advskew/256 s, ucarp's rule) counted from the master's last advert: not
// before, which would be a premature takeover, and not much after. The
// margin is for a loaded CI machine, not a speed target (benchmarks
// measure speed).
func TestHardFailover(t *testing.T) {
	const (
		advbase, deadratio, advskew = 1, 3, 100
		// The advert's arrival is stamped by the test's capture reader,
		// possibly a little after the backup received it.
		early = 100 * time.Millisecond
		late  = time.Second
	)
	l := newLab(t, 2)
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := pair(t, l, ours(lab.CARP{AdvBase: advbase}), ours(lab.CARP{AdvBase: advbase, AdvSkew: advskew}))
	ping := pingVIP(t, l, 20*time.Millisecond, "the VIP does not answer before the fault")
	// The master's cable is pulled and it dies; from then on it can answer nothing.
	if err := l.Hosts[0].CutLink(); err != nil {
		t.Fatal(err)
	}
	fault := time.Now()
	p1.Kill()
	waitMasters(t, l, 10*time.Second, l.Hosts[1])
	if !lab.Eventually(10*time.Second, func() bool { return ping.Replied(fault) }) {
		t.Fatal("pings did not resume after the takeover")
	}
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	first, _ := ping.FirstReplyAfter(fault)
	// h1's last advert on the bridge: nothing of h1's crosses it after the cut.
	var last time.Time
	for _, f := range capture.Stop() {
		if f.IsCARP() && f.IPv4Source() == l.Hosts[0].Addr {
			last = f.At
		}
	}
	if last.IsZero() || last.After(fault) {
		t.Fatalf("h1's last advert captured at %v, the fault at %v", last, fault)
	}
	dead := carp.DeadInterval(advbase, deadratio, advskew)
	silence := took.Sub(last)
	t.Logf("h2 MASTER %v after h1's last advert (dead interval %v), %v after the fault; first reply %v after the takeover",
		silence.Round(time.Millisecond), dead, took.Sub(fault).Round(time.Millisecond), first.Sub(took).Round(time.Millisecond))
	if silence < dead-early || silence > dead+late {
		t.Fatalf("h2 took over %v after h1's last advert, want its dead interval %v (-%v, +%v)", silence, dead, early, late)
	}
	if d := first.Sub(took); d > late {
		t.Fatalf("the VIP answered %v after the takeover", d)
	}
	answersARP(t, l, l.Hosts[1])
}

func TestGracefulStopBowsOut(t *testing.T) {
	l := newLab(t, 2)
	p1, p2 := pair(t, l, ours(lab.CARP{Shutdown: true}), ours(lab.CARP{AdvSkew: 100}))
	stop := time.Now()
	p1.Signal(syscall.SIGTERM)
	if st, ok := p1.Wait(5 * time.Second); !ok || st.ExitCode() != 0 {
		t.Fatalf("exit %v (ended %v)", st, ok)
	}
	waitMasters(t, l, 5*time.Second, l.Hosts[1])
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	// At once, through the "going to time out" rule: not after 3.39 s.
	if d := took.Sub(stop); d > time.Second || p2.Count("Putting MASTER DOWN (going to time out)") != 1 {
		t.Fatalf("h2 took over %v after the stop; log:\n%s", d, p2.Log())
	}
	t.Logf("h2 MASTER %v after SIGTERM", took.Sub(stop).Round(time.Microsecond))
}

func TestPreemptionBringsBackPreferred(t *testing.T) {
	l := newLab(t, 2)
	p1, _ := pair(t, l, ours(lab.CARP{Preempt: true}), ours(lab.CARP{AdvSkew: 100}))
	p1.Kill()
	waitMasters(t, l, 10*time.Second, l.Hosts[1])
	p1 = start(t, l.Hosts[0], "ucarp-again", ours(lab.CARP{Preempt: true}))
	waitMasters(t, l, 10*time.Second, l.Hosts[0])
	if !p1.WaitLog("Putting MASTER down - preemption", 1, 5*time.Second) {
		t.Fatal("no preemption line")
	}
	holdMasters(t, l, 2*time.Second, l.Hosts[0])
}

func TestDemotionHandsOver(t *testing.T) {
	l := newLab(t, 2)
	p1, p2 := pair(t, l, ours(lab.CARP{}), ours(lab.CARP{AdvSkew: 100}))
	p1.Signal(syscall.SIGUSR2)
	waitMasters(t, l, 3*time.Second, l.Hosts[1])
	if p2.Count("Putting MASTER DOWN (going to time out)") != 1 {
		t.Fatalf("h2 did not take over through the bow-out:\n%s", p2.Log())
	}
	// h1 advertises faster, but without -P it leaves h2 in place.
	holdMasters(t, l, 5*time.Second, l.Hosts[1])
}

func TestNomcast(t *testing.T) {
	l := newLab(t, 2)
	cap, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := pair(t, l, ours(lab.CARP{Nomcast: true}), ours(lab.CARP{AdvSkew: 100, Nomcast: true}))
	p1.Kill()
	waitMasters(t, l, 10*time.Second, l.Hosts[1])
	var adverts int
	for _, f := range cap.Stop() {
		if !f.IsCARP() {
			continue
		}
		adverts++
		p, _ := f.Advert()
		if f.Data[0] != 0xff || p.Dst != lab.VIP && p.Dst.String() != "224.0.0.18" {
			t.Fatalf("advert to %x / %v", f.Data[:6], p.Dst)
		}
		if src := f.Source().String(); src != l.Hosts[0].MAC.String() && src != l.Hosts[1].MAC.String() {
			t.Fatalf("advert from %s, not a NIC MAC", src)
		}
	}
	if adverts == 0 {
		t.Fatal("no advert captured")
	}
}

func TestOtherMulticastGroup(t *testing.T) {
	l := newLab(t, 2)
	group := []string{"--mcast=239.192.0.1"}
	cap, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := pair(t, l, ours(lab.CARP{Extra: group}), ours(lab.CARP{AdvSkew: 100, Extra: group}))
	holdMasters(t, l, 2*time.Second, l.Hosts[0])
	p1.Kill()
	waitMasters(t, l, 10*time.Second, l.Hosts[1])
	for _, f := range cap.Stop() {
		if p, err := f.Advert(); err == nil && (p.Dst.String() != "239.192.0.1" || f.Data[3] != 0x40) {
			t.Fatalf("advert to %v via %x", p.Dst, f.Data[:6])
		}
	}
}

func TestWrongPasswordGivesTwoMasters(t *testing.T) {
	l := newLab(t, 2)
	p1 := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{}))
	start(t, l.Hosts[1], "ucarp", ours(lab.CARP{AdvSkew: 100, Pass: "other"}))
	waitMasters(t, l, 10*time.Second, l.Hosts[0], l.Hosts[1])
	if !p1.WaitLog("[WARNING] Bad digest - md2=[", 1, 5*time.Second) ||
		!strings.Contains(p1.Log(), "...] - Check vhid, password and virtual IP address") {
		t.Fatalf("no Bad digest warning:\n%s", p1.Log())
	}
}

// TestAdvertOnTheWire checks our adverts as captured on the bridge: ucarp's
// IPv4 fields (TOS 0x10, DF, TTL 255, protocol 112, --srcip, a random IP
// ID), the group's multicast MAC, and the NIC's own MAC as source.
func TestAdvertOnTheWire(t *testing.T) {
	l := newLab(t, 1)
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	start(t, l.Hosts[0], "ucarp", ours(lab.CARP{VHID: 42, AdvSkew: 7}))
	if !lab.Eventually(10*time.Second, func() bool {
		n := 0
		for _, f := range capture.Frames() {
			if f.IsCARP() {
				n++
			}
		}
		return n >= 3
	}) {
		t.Fatal("fewer than 3 adverts")
	}
	ids := map[uint16]bool{}
	for _, f := range capture.Stop() {
		if !f.IsCARP() {
			continue
		}
		p, err := f.Advert()
		if err != nil {
			t.Fatal(err)
		}
		if f.Source().String() != l.Hosts[0].MAC.String() || f.Data[0] != 0x01 || f.Data[5] != 0x12 {
			t.Fatalf("Ethernet %x -> %x", f.Data[6:12], f.Data[:6])
		}
		if p.TOS != 0x10 || p.Flags != 0x4000 || p.TTL != 255 || p.Protocol != 112 || p.Src != l.Hosts[0].Addr ||
			p.Dst.String() != "224.0.0.18" || p.Length != 56 || len(f.Data) != 70 {
			t.Fatalf("IPv4 fields %+v, frame of %d bytes", p, len(f.Data))
		}
		h := p.Header
		if h.Version != 2 || h.Type != 1 || h.VHID != 42 || h.AdvSkew != 7 || h.AdvBase != 1 || h.AuthLen != 7 || h.Demote != 0 {
			t.Fatalf("CARP header %+v", h)
		}
		ids[p.ID] = true
	}
	if len(ids) < 3 {
		t.Fatalf("IP IDs %v: not random", ids)
	}
}
