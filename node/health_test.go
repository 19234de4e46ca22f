package node

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// fakeChecks are health checks that a test fails and heals by probe name;
// a probe is healthy unless failed.
type fakeChecks struct {
	mu     sync.Mutex
	failed map[string]bool
}

func (f *fakeChecks) set(name string, failed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		f.failed = map[string]bool{}
	}
	f.failed[name] = failed
}

func (f *fakeChecks) check(s health.Spec) health.Check {
	return func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.failed[s.Name] {
			return errors.New("connection refused")
		}
		return nil
	}
}

func probeSpec(name string) health.Spec {
	return health.Spec{Name: name, Type: health.TypeTCP, Target: "127.0.0.1:8080", Interval: time.Second,
		Timeout: 100 * time.Millisecond, Rise: 2, Fall: 2, Weight: health.DefaultWeight}
}

// probeStates is the state of each probe of A's groups, as Status says.
func probeStates(tn *testNode) string {
	var out string
	for _, g := range tn.Status() {
		out += g.Name + ":"
		for _, p := range g.Probes {
			out += p.Name + "=" + p.State + " "
		}
	}
	return out
}

// TestProbesMoveGroups: two nodes, with -P; A prefers both groups, which
// share one probe. A holds them back until the probe is up (the boot
// hold-down), loses both when it fails, and takes both back when it
// heals. A reload that keeps the probe keeps A MASTER; a new probe on one
// group starts unknown and moves only that group until it is up.
func TestProbesMoveGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		var checks fakeChecks
		a.deps.Check = checks.check
		web := probeSpec("web")
		s1, s2 := a.spec(1, 0), a.spec(2, 0)
		s1.Probes, s2.Probes = []health.Spec{web}, []health.Spec{web}
		s1.Config.Preempt, s2.Config.Preempt = true, true
		b1, b2 := b.spec(1, 100), b.spec(2, 100)
		b1.Config.Preempt, b2.Config.Preempt = true, true
		a.run(t, s1, s2)
		b.run(t, b1, b2)
		// Before two checks, the probe is unknown: the groups are held down.
		if g := a.Status()[0]; g.Timing.Demotion != 255 || len(g.Probes) != 1 || g.Probes[0].State != "unknown" {
			t.Fatalf("at the start: demotion %d, probes %+v", g.Timing.Demotion, g.Probes)
		}
		settle(10 * time.Second)
		wantHolders(t, "1,2 | ", a, b)
		if got := probeStates(a); got != "eth0-1:web=up eth0-2:web=up " {
			t.Fatalf("probes %q", got)
		}

		// The probe fails: after fall checks both groups go to B.
		checks.set("web", true)
		settle(2*time.Second + 3*time.Second)
		wantHolders(t, " | 1,2", a, b)
		if logs := a.logs.String(); !strings.Contains(logs, "Probe web (tcp 127.0.0.1:8080) is down: connection refused") ||
			!strings.Contains(logs, "Probe web (tcp 127.0.0.1:8080) is up") {
			t.Fatalf("the probe's changes are not logged:\n%s", logs)
		}
		g := a.Status()[0]
		if g.Timing.Demotion != 255 || g.Probes[0].State != "down" || g.Probes[0].LastError != "connection refused" {
			t.Fatalf("failed: demotion %d, probes %+v", g.Timing.Demotion, g.Probes)
		}
		// An operator's promote leaves the probe's demotion.
		if err := a.Promote("eth0-1"); err != nil {
			t.Fatal(err)
		}
		if d := a.Status()[0].Timing.Demotion; d != 255 {
			t.Fatalf("after promote: demotion %d, want the probe's 255", d)
		}

		// It heals: after rise checks A preempts both back.
		checks.set("web", false)
		settle(2*time.Second + 3*time.Second)
		wantHolders(t, "1,2 | ", a, b)
		if got := masters(a, b); got != "eth0-1,eth0-2 | " {
			t.Fatalf("masters %q", got)
		}

		// A reload that keeps web and adds db to group 2: group 1 stays
		// MASTER throughout; group 2 waits for db.
		before := len(a.Status()[0].Transitions)
		db := probeSpec("db")
		s2.Probes = []health.Spec{web, db}
		if err := a.Apply([]Spec{s1, s2}); err != nil {
			t.Fatal(err)
		}
		if gs := a.Status(); gs[0].Timing.Demotion != 0 || gs[1].Timing.Demotion != 255 {
			t.Fatalf("after the reload: demotions %d, %d, want 0, 255", gs[0].Timing.Demotion, gs[1].Timing.Demotion)
		}
		checks.set("db", true)
		settle(5 * time.Second)
		wantHolders(t, "1 | 2", a, b)
		if got := probeStates(a); got != "eth0-1:web=up eth0-2:web=up db=down " {
			t.Fatalf("probes %q", got)
		}
		for _, tr := range a.Status()[0].Transitions[before:] {
			t.Fatalf("group 1 moved on the reload: %+v", tr)
		}
		checks.set("db", false)
		settle(5 * time.Second)
		wantHolders(t, "1,2 | ", a, b)

		// A reload without probes takes their demotion away.
		s2.Probes = nil
		checks.set("web", true)
		if err := a.Apply([]Spec{s1, s2}); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		wantHolders(t, "2 | 1", a, b)
		if gs := a.Status(); len(gs[1].Probes) != 0 || gs[1].Timing.Demotion != 0 {
			t.Fatalf("group 2 without probes: %+v", gs[1])
		}
	})
}

// TestProbeConflict: one probe name with two settings is refused.
func TestProbeConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		s1, s2 := a.spec(1, 0), a.spec(2, 0)
		other := probeSpec("web")
		other.Weight = 10
		s1.Probes, s2.Probes = []health.Spec{probeSpec("web")}, []health.Spec{other}
		if err := a.Apply([]Spec{s1, s2}); err == nil {
			t.Fatal("Apply took two probes of one name")
		}
	})
}

// TestProbesThatCannotRun: a probe whose check cannot be made (a target
// that NewCheck refuses) fails the Apply, and demotes its group by its
// weight rather than leave it undemoted.
func TestProbesThatCannotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		bad := probeSpec("web")
		bad.Target = "no port"
		bad.Weight = 77
		s1 := a.spec(1, 0)
		s1.Probes = []health.Spec{bad}
		if err := a.Apply([]Spec{s1}); err == nil {
			t.Fatal("Apply took a probe that cannot run")
		}
		defer a.Stop(syscall.SIGTERM)
		if d := a.Status()[0].Timing.Demotion; d != 77 {
			t.Fatalf("demotion %d, want the probe's weight 77", d)
		}
	})
}
