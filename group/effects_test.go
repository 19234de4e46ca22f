package group

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

var (
	stepAdd    = carp.Action{Kind: carp.ActionAddVIP}
	stepRemove = carp.Action{Kind: carp.ActionRemoveVIP}
	stepUp     = carp.Action{Kind: carp.ActionRunScript, Script: carp.ScriptUp, To: carp.Master}
	stepDown   = carp.Action{Kind: carp.ActionRunScript, Script: carp.ScriptDown, To: carp.Backup}
	stepARP    = carp.Action{Kind: carp.ActionAnnounce}
)

func stepNames(as []carp.Action) string {
	var s []string
	for _, a := range as {
		if a.Kind == carp.ActionRunScript {
			s = append(s, a.Script.String())
		} else {
			s = append(s, a.Kind.String())
		}
	}
	return strings.Join(s, ",")
}

// TestEffectsConverge drives the queue as the loop does: groups committed
// while a script runs or not, and steps taken while no script runs.
func TestEffectsConverge(t *testing.T) {
	master := []carp.Action{stepAdd, stepUp, stepARP}
	backup := []carp.Action{stepDown, stepRemove}
	type op struct {
		commit []carp.Action // a group to commit
		take   int           // or: steps to take (a script blocks the rest)
	}
	for _, tc := range []struct {
		name    string
		ops     []op
		taken   string // every step taken, in order
		dropped uint64
	}{
		{name: "one transition runs whole",
			ops: []op{{commit: master}, {take: 9}}, taken: "add-vip,up"},
		{name: "a transition back while the up script runs supersedes nothing in flight",
			ops:   []op{{commit: master}, {take: 9}, {commit: backup}, {take: 9}, {take: 9}},
			taken: "add-vip,up,down,remove-vip", dropped: 1},
		{name: "back and forth while the up script runs: nothing more to do",
			ops:   []op{{commit: master}, {take: 9}, {commit: backup}, {commit: master}, {take: 9}},
			taken: "add-vip,up,announce", dropped: 5},
		{name: "a thousand flips while a script runs leave one group",
			ops: func() []op {
				ops := []op{{commit: master}, {take: 9}}
				for i := 0; i < 500; i++ {
					ops = append(ops, op{commit: backup}, op{commit: master})
				}
				return append(ops, op{commit: backup}, op{take: 9}, op{take: 9})
			}(),
			taken: "add-vip,up,down,remove-vip", dropped: 500*5 + 1},
		{name: "gratuitous ARPs outside groups coalesce behind the script",
			ops:   []op{{commit: master}, {take: 9}, {commit: []carp.Action{stepARP}}, {commit: []carp.Action{stepARP}}, {take: 9}},
			taken: "add-vip,up,announce,announce"},
		{name: "the same transition again while its script runs is dropped",
			ops:   []op{{commit: backup[:1]}, {take: 9}, {commit: backup[:1]}, {take: 9}},
			taken: "down", dropped: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e effects
			var taken []carp.Action
			running := false
			for _, o := range tc.ops {
				if o.commit != nil {
					for _, a := range o.commit {
						e.add(a)
					}
					e.commit(running)
					continue
				}
				running = false // the script in flight ended
				for i := 0; i < o.take && !running; i++ {
					a, ok := e.next()
					if !ok {
						break
					}
					taken = append(taken, a)
					running = a.Kind == carp.ActionRunScript
				}
			}
			if got := stepNames(taken); got != tc.taken {
				t.Errorf("taken %s, want %s", got, tc.taken)
			}
			if e.superseded != tc.dropped {
				t.Errorf("dropped %d, want %d", e.superseded, tc.dropped)
			}
			if n := len(e.flight) + len(e.queued); n > 6 {
				t.Errorf("%d steps queued", n)
			}
		})
	}
}

// fakeRunner runs scripts on the fake clock: each takes its duration
// (negative: it hangs until it is killed), and one that outlives the
// timeout is reported overdue, then ends grace later as if killed.
type fakeRunner struct {
	mu      sync.Mutex
	dur     map[carp.Script]time.Duration
	timeout time.Duration
	grace   time.Duration
	cur     *fakeRun
	runs    []fakeRun
	done    chan scriptResult
	late    chan scriptJob
}

type fakeRun struct {
	job        scriptJob
	start, end time.Time
	timers     []*time.Timer
	timedOut   bool
}

func newFakeRunner(up, down, timeout time.Duration) *fakeRunner {
	return &fakeRunner{dur: map[carp.Script]time.Duration{carp.ScriptUp: up, carp.ScriptDown: down},
		timeout: timeout, grace: time.Second, done: make(chan scriptResult, 1), late: make(chan scriptJob, 1)}
}

func (r *fakeRunner) start(job scriptJob) (scriptResult, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		panic("a script started while another runs")
	}
	run := &fakeRun{job: job, start: time.Now()}
	r.cur = run
	if d := r.dur[job.script]; d >= 0 {
		run.timers = append(run.timers, time.AfterFunc(d, func() { r.finish(run, false) }))
	}
	if r.timeout > 0 {
		run.timers = append(run.timers, time.AfterFunc(r.timeout, func() {
			r.late <- job
			time.AfterFunc(r.grace, func() { r.finish(run, true) })
		}))
	}
	return scriptResult{}, true
}

func (r *fakeRunner) finish(run *fakeRun, timedOut bool) {
	r.mu.Lock()
	if r.cur != run {
		r.mu.Unlock()
		return
	}
	for _, t := range run.timers {
		t.Stop()
	}
	r.cur = nil
	run.end, run.timedOut = time.Now(), timedOut
	r.runs = append(r.runs, *run)
	r.mu.Unlock()
	r.done <- scriptResult{job: run.job, timedOut: timedOut, elapsed: run.end.Sub(run.start)}
}

func (r *fakeRunner) busy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur != nil
}

func (r *fakeRunner) kill() {
	r.mu.Lock()
	run := r.cur
	r.mu.Unlock()
	if run != nil {
		go r.finish(run, false)
	}
}

func (r *fakeRunner) setTimeout(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timeout = d
}

func (r *fakeRunner) logResult(scriptResult)       {}
func (r *fakeRunner) results() <-chan scriptResult { return r.done }
func (r *fakeRunner) overdue() <-chan scriptJob    { return r.late }

func (r *fakeRunner) history() []fakeRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fakeRun(nil), r.runs...)
}

// queued is the number of steps waiting in the daemon's queue.
func (h *harness) queued() (n int) {
	h.d.inLoop(func() { n = len(h.d.effects.flight) + len(h.d.effects.queued) })
	return n
}

// TestLoopFlipsDuringSlowScriptConverge is item 1 of issue 12: a burst
// of adverts that flip the state while a slow script runs. Before the
// queue converged, each flip queued its script run and address steps
// (80,000 in 0.2 s in the lab), and the backlog kept adding and removing
// the address long after the burst.
func TestLoopFlipsDuringSlowScriptConverge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newFakeRunner(10*time.Second, 10*time.Second, 0)
		h := startHarnessWith(t, func(c *testConfig) {
			c.UpScript, c.DownScript, c.Preempt, c.Neutral, c.manage = "/up", "/down", true, true, manageOn
		}, r)
		defer h.close()
		h.at(4 * time.Second) // MASTER at 3.39 s, up script until 13.39 s
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		// 20,000 adverts: a preferred master (BACKUP), then a slower one
		// that -P preempts (MASTER), over and over.
		maxQueued := 0
		for i := 0; i < 10_000; i++ {
			h.receive(1, 0, nil)
			h.receive(2, 0, nil)
			if i%500 == 0 {
				maxQueued = max(maxQueued, h.queued())
			}
		}
		h.receive(1, 0, nil) // ends as BACKUP
		if q := h.queued(); q > 6 || maxQueued > 6 {
			t.Fatalf("%d steps queued after the burst (at most %d during it)", q, maxQueued)
		}
		burstEnd := time.Now()
		for at := 5 * time.Second; at <= 40*time.Second; at += time.Second {
			h.at(at)
			h.receive(1, 0, nil) // the preferred master goes on
		}
		// After the burst: the up script in flight ends, then one down
		// script brings the host to BACKUP, and nothing else runs.
		var after []string
		for _, run := range r.history() {
			if !run.end.Before(burstEnd) {
				after = append(after, run.job.script.String())
			}
		}
		if got := strings.Join(after, ","); got != "up,down" {
			t.Fatalf("scripts ending after the burst: %s, want up,down", got)
		}
		if h.state() != carp.Backup || h.addrs.Has(loopVIP.Addr()) {
			t.Fatalf("state %v, address held %v", h.state(), h.addrs.Has(loopVIP.Addr()))
		}
	})
}

// TestLoopHungUpScriptGivesUp is item 4 of issue 12: a MASTER whose up
// script hangs gives up with a bow-out when the script timeout fires,
// instead of advertising forever without the address its script was to
// bring up. The down script runs once the up script has been stopped.
func TestLoopHungUpScriptGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newFakeRunner(-1, time.Second, DefaultScriptTimeout)
		h := startHarnessWith(t, func(c *testConfig) {
			c.UpScript, c.DownScript, c.Neutral, c.ScriptTimeout = "/up", "/down", true, DefaultScriptTimeout
		}, r)
		defer h.close()
		takeover := us(3_390_625)
		h.at(takeover + DefaultScriptTimeout - time.Millisecond)
		if h.state() != carp.Master {
			t.Fatalf("state %v before the timeout", h.state())
		}
		h.at(takeover + DefaultScriptTimeout)
		if h.state() != carp.Backup {
			t.Fatalf("state %v after the timeout", h.state())
		}
		ads := h.conn.adverts()
		last := ads[len(ads)-1]
		if last.at.Sub(h.t0) != takeover+DefaultScriptTimeout || last.h.AdvBase != 255 || last.h.AdvSkew != 255 {
			t.Fatalf("no bow-out at the timeout: last advert %+v at %v", last.h, last.at.Sub(h.t0))
		}
		if !strings.Contains(h.logs.String(), "[ERROR] Up script [/up eth0 198.51.100.100] did not finish within 30s: giving up MASTER") {
			t.Fatalf("logs:\n%s", h.logs)
		}
		h.at(takeover + DefaultScriptTimeout + 5*time.Second)
		var got []string
		for _, run := range r.history() {
			got = append(got, fmt.Sprintf("%s@%v timedOut=%v", run.job.script, run.start.Sub(h.t0), run.timedOut))
		}
		want := []string{
			fmt.Sprintf("up@%v timedOut=true", takeover),
			fmt.Sprintf("down@%v timedOut=false", takeover+DefaultScriptTimeout+r.grace),
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("script runs %v, want %v", got, want)
		}
	})
}

// TestLoopLesserMasterAnswersRateLimited is item 2 of issue 12: each
// advert of a master this MASTER outranks used to cost one gratuitous ARP
// and one WARNING line, so 2,000 replayed adverts gave 2,000 of each.
// Now they are rate-limited like the drop reasons, and counted.
func TestLoopLesserMasterAnswersRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second) // MASTER since 3.390625 s; ARP at the takeover
		arps, ads := len(h.arp.times()), len(h.conn.adverts())
		for i := 0; i < 2000; i++ {
			h.receive(2, 0, nil) // a master that advertises more slowly
		}
		lines := h.logs.count("Non-preferred master advertising")
		answered := len(h.arp.times()) - arps
		if lines != limitBurst || answered != limitBurst {
			t.Fatalf("%d log lines and %d gratuitous ARPs for 2,000 adverts, want %d of each", lines, answered, limitBurst)
		}
		// Each answer is also this MASTER's advert, at once: the other
		// master steps down without waiting for the next tick.
		sent := h.conn.adverts()[ads:]
		if len(sent) != limitBurst {
			t.Fatalf("%d adverts answered 2,000 adverts of a lesser master, want %d", len(sent), limitBurst)
		}
		for _, a := range sent {
			if a.at.Sub(h.t0) != 4*time.Second || a.h.AdvBase != 1 || a.h.AdvSkew != 100 {
				t.Fatalf("answer %+v at %v, want this master's advert at once (4s)", a.h, a.at.Sub(h.t0))
			}
		}
		h.at(15 * time.Second)
		if !strings.Contains(h.logs.String(), "[WARNING] 1990 more adverts of a non-preferred master left unanswered") {
			t.Fatalf("no report of the adverts left unanswered:\n%s", h.logs)
		}
		h.sigs <- syscall.SIGUSR1
		synctest.Wait()
		if !strings.Contains(h.logs.String(), "adverts of lesser masters 2000 (answered 10)") {
			t.Fatalf("counters:\n%s", h.logs)
		}
	})
}

// dropConn is a socket that drops packets itself, as FreeBSD's drops
// those that IP_RECVIF places on another interface.
type dropConn struct{ *fakeConn }

func (dropConn) Drops() map[string]uint64 {
	return map[string]uint64{"other-interface": 4, "no-recvif": 1}
}

// TestCountersIncludeSocketDrops: USR1's counters add what the socket
// dropped itself to the group's own drops.
func TestCountersIncludeSocketDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.d.conn = dropConn{h.conn}
		h.sigs <- syscall.SIGUSR1
		synctest.Wait()
		if !strings.Contains(h.logs.String(), "packets dropped 5 (no-recvif 1, other-interface 4)") {
			t.Fatalf("counters:\n%s", h.logs)
		}
	})
}
