package health

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeTargets are the targets of fake checks: each healthy or not, as the
// test says, and each check recorded.
type fakeTargets struct {
	mu      sync.Mutex
	healthy map[string]bool
	starts  map[string][]time.Time
}

func newFakeTargets() *fakeTargets {
	return &fakeTargets{healthy: map[string]bool{}, starts: map[string][]time.Time{}}
}

func (f *fakeTargets) set(name string, healthy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healthy[name] = healthy
}

func (f *fakeTargets) check(name string) Check {
	return func(context.Context) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.starts[name] = append(f.starts[name], time.Now())
		if !f.healthy[name] {
			return errors.New("connection refused")
		}
		return nil
	}
}

func (f *fakeTargets) probe(name string, weight int, interval time.Duration) Probe {
	s := spec(name, TypeTCP, "203.0.113.1:80")
	s.Weight, s.Interval, s.Timeout = weight, interval, min(interval, time.Second)
	return Probe{Spec: s, Check: f.check(name)}
}

// changes collects what OnChange reports.
type changes struct {
	mu   sync.Mutex
	list []Change
}

func (c *changes) add(ch Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, ch)
}

// take returns the changes reported since the last take, each as
// "NAME FROM->TO CONSUMER=DEMOTION...".
func (c *changes) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, ch := range c.list {
		s := fmt.Sprintf("%s %v->%v", ch.Probe.Name, ch.From, ch.Probe.State)
		for _, k := range slices.Sorted(maps.Keys(ch.Demotions)) {
			s += fmt.Sprintf(" %s=%d", k, ch.Demotions[k])
		}
		out = append(out, s)
	}
	c.list = nil
	return out
}

func demotions(r *Runner, consumers ...string) string {
	var parts []string
	for _, c := range consumers {
		parts = append(parts, fmt.Sprintf("%s=%d", c, r.Demotion(c)))
	}
	return strings.Join(parts, " ")
}

func TestRunnerDemotion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeTargets()
		var got changes
		r, err := Start(Config{
			Probes: []Probe{
				f.probe("web", 100, time.Second),
				f.probe("db", 50, time.Second),
				f.probe("uplink", 255, time.Second),
				f.probe("shown", 0, time.Second),
			},
			Consumers: map[string][]string{
				"vhid1": {"web", "db"},
				"vhid2": {"db", "uplink", "shown"},
			},
			OnChange: got.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Stop()

		// Unknown probes count as failing from the start.
		if d := demotions(r, "vhid1", "vhid2", "other"); d != "vhid1=150 vhid2=305 other=0" {
			t.Fatalf("at the start: %s", d)
		}

		// Everything healthy: each probe rises after two checks, the
		// first within a second (the jitter), the second a second later.
		for _, n := range []string{"web", "db", "uplink", "shown"} {
			f.set(n, true)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if d := demotions(r, "vhid1", "vhid2"); d != "vhid1=0 vhid2=0" {
			t.Fatalf("all up: %s", d)
		}
		ups := got.take()
		if len(ups) != 4 {
			t.Fatalf("changes %q, want 4", ups)
		}

		// db fails: after fall = 2 checks it is down, in both consumers.
		f.set("db", false)
		time.Sleep(time.Second)
		synctest.Wait()
		if d := demotions(r, "vhid1", "vhid2"); d != "vhid1=0 vhid2=0" {
			t.Fatalf("after one failure: %s", d)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if d := demotions(r, "vhid1", "vhid2"); d != "vhid1=50 vhid2=50" {
			t.Fatalf("db down: %s", d)
		}
		uplinkDown := func() {
			f.set("uplink", false)
			f.set("shown", false)
			time.Sleep(2 * time.Second)
			synctest.Wait()
		}
		uplinkDown()
		if d := demotions(r, "vhid1", "vhid2"); d != "vhid1=50 vhid2=305" {
			t.Fatalf("db and uplink down: %s", d)
		}
		want := []string{
			"db up->down vhid1=50 vhid2=50",
			// In the order of their checks, whichever comes first.
		}
		gotCh := got.take()
		if len(gotCh) != 3 || gotCh[0] != want[0] {
			t.Fatalf("changes %q", gotCh)
		}
		for _, w := range []string{"uplink up->down vhid2=305", "shown up->down"} {
			if gotCh[1] != w && gotCh[2] != w {
				t.Errorf("changes %q, none is %q", gotCh, w)
			}
		}

		st := r.Status()
		if len(st) != 4 || st[1].Name != "db" || st[1].State != StateDown || st[1].Last.Err != "connection refused" ||
			st[1].Failures != 4 || st[0].State != StateUp {
			t.Errorf("status %+v", st)
		}
	})
}

// A flapping probe never changes its state: it stays what it was.
func TestRunnerFlapping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n int
		flap := func(context.Context) error {
			n++
			if n%2 == 0 {
				return errors.New("flap")
			}
			return nil
		}
		var got changes
		s := spec("flappy", TypeTCP, "203.0.113.1:80")
		r, err := Start(Config{
			Probes:    []Probe{{Spec: s, Check: flap}},
			Consumers: map[string][]string{"g": {"flappy"}},
			OnChange:  got.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		r.Stop()
		if ch := got.take(); len(ch) != 0 || r.Demotion("g") != 255 {
			t.Errorf("a probe flapping from the start: changes %q, demotion %d", ch, r.Demotion("g"))
		}
		if st := r.Status()[0]; st.State != StateUnknown || st.Checks < 59 || st.Failed != st.Checks/2 {
			t.Errorf("status %+v", st)
		}
	})
}

// Many probes at once, each on its own interval, for many consumers.
func TestRunnerMany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 500
		f := newFakeTargets()
		cfg := Config{Consumers: map[string][]string{}}
		want := map[string]int{}
		for i := range n {
			name := fmt.Sprintf("p%d", i)
			p := f.probe(name, i%7, time.Duration(100+i%13*50)*time.Millisecond)
			p.Spec.Rise, p.Spec.Fall = 1+i%3, 1+i%4
			cfg.Probes = append(cfg.Probes, p)
			f.set(name, i%5 != 0)
			consumer := fmt.Sprintf("g%d", i%16)
			cfg.Consumers[consumer] = append(cfg.Consumers[consumer], name)
			if i%5 == 0 {
				want[consumer] += i % 7
			}
		}
		r, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for c, w := range want {
			if d := r.Demotion(c); d != w {
				t.Errorf("%s: demotion %d, want %d", c, d, w)
			}
		}
		for i, st := range r.Status() {
			if st.State.Healthy() != (i%5 != 0) || st.State == StateUnknown {
				t.Fatalf("probe %d: %+v", i, st)
			}
		}
		r.Stop()
	})
}

// Checks start on a fixed schedule, whatever they last: the first after
// a jitter below min(interval, 1s), then one every interval.
func TestRunnerSchedule(t *testing.T) {
	for _, interval := range []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second} {
		t.Run(interval.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var starts []time.Time
				slow := func(context.Context) error {
					starts = append(starts, time.Now())
					time.Sleep(interval / 2)
					return nil
				}
				s := spec("slow", TypeTCP, "203.0.113.1:80")
				s.Interval = interval
				s.Timeout = interval
				t0 := time.Now()
				r, err := Start(Config{Probes: []Probe{{Spec: s, Check: slow}}})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(10*interval + min(interval, time.Second))
				synctest.Wait()
				r.Stop()
				if len(starts) < 10 {
					t.Fatalf("%d checks", len(starts))
				}
				if j := starts[0].Sub(t0); j >= min(interval, time.Second) {
					t.Errorf("first check after %v", j)
				}
				for i := 1; i < len(starts); i++ {
					if d := starts[i].Sub(starts[i-1]); d != interval {
						t.Fatalf("check %d started %v after the one before", i, d)
					}
				}
				// The last check may be one that Stop cut short, not fed.
				last := r.Status()[0].Last
				if last.Latency != interval/2 || !last.At.Equal(starts[len(starts)-1]) && !last.At.Equal(starts[len(starts)-2]) {
					t.Errorf("last result %+v", last)
				}
			})
		})
	}
}

// A check that outlives its timeout fails, and says so, whatever it
// returns.
func TestRunnerTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := spec("hung", TypeTCP, "203.0.113.1:80")
		s.Timeout = 200 * time.Millisecond
		s.Fall = 1
		late := func(ctx context.Context) error {
			<-ctx.Done()
			return nil // a late success
		}
		r, err := Start(Config{Probes: []Probe{{Spec: s, Check: late}}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Stop()
		time.Sleep(time.Second + s.Timeout)
		synctest.Wait()
		st := r.Status()[0]
		if st.State != StateDown || st.Last.OK || st.Last.Err != "timed out after 200ms" || st.Last.Latency != s.Timeout {
			t.Errorf("status %+v", st)
		}
	})
}

// Stop returns when the checks in progress have ended, and then nothing
// more is reported.
func TestRunnerStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ended bool
		var mu sync.Mutex
		cleanup := func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // killing, reaping
			mu.Lock()
			ended = true
			mu.Unlock()
			return ctx.Err()
		}
		s := spec("busy", TypeTCP, "203.0.113.1:80")
		s.Interval, s.Timeout = 5*time.Second, 5*time.Second
		var calls int
		r, err := Start(Config{
			Probes:   []Probe{{Spec: s, Check: cleanup}},
			OnChange: func(Change) { calls++ },
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the first check is running
		synctest.Wait()
		r.Stop()
		mu.Lock()
		if !ended {
			t.Error("Stop returned before the check ended")
		}
		mu.Unlock()
		if r.Status()[0].Checks > 0 {
			t.Errorf("the check that Stop cut short was fed: %+v", r.Status()[0])
		}
		r.Stop() // twice is fine
		time.Sleep(time.Minute)
		synctest.Wait()
		if calls != 0 {
			t.Errorf("%d calls of OnChange", calls)
		}
	})
}

// OnChange may call Status and Demotion; a slow OnChange holds no probe
// back, and gets every change in order.
func TestRunnerSlowOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeTargets()
		var seen []string
		var r *Runner
		p := f.probe("web", 10, 100*time.Millisecond)
		p.Spec.Rise, p.Spec.Fall = 1, 1
		f.set("web", true)
		var mu sync.Mutex
		started := make(chan struct{})
		r, err := Start(Config{
			Probes:    []Probe{p},
			Consumers: map[string][]string{"g": {"web"}},
			OnChange: func(ch Change) {
				<-started
				time.Sleep(time.Second)
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%v %d %v", ch.Probe.State, r.Demotion("g"), r.Status()[0].State))
				mu.Unlock()
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		close(started)
		for i := range 6 {
			time.Sleep(100 * time.Millisecond)
			f.set("web", i%2 == 1)
		}
		f.mu.Lock()
		n := len(f.starts["web"])
		f.mu.Unlock()
		if n < 5 {
			t.Errorf("%d checks while OnChange was slow", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		r.Stop()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) < 5 {
			t.Fatalf("changes %q", seen)
		}
		for i, s := range seen {
			want := "up"
			if i%2 == 1 {
				want = "down"
			}
			if !strings.HasPrefix(s, want) {
				t.Errorf("change %d is %q, want %s first", i, s, want)
			}
		}
	})
}

// A reload may carry a probe's state over: an up probe does not demote.
func TestRunnerInitial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeTargets()
		p := f.probe("web", 100, time.Second)
		p.Initial = StateUp
		r, err := Start(Config{Probes: []Probe{p}, Consumers: map[string][]string{"g": {"web"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Stop()
		if d := r.Demotion("g"); d != 0 {
			t.Fatalf("an up start: demotion %d", d)
		}
		time.Sleep(2 * time.Second) // it fails twice
		synctest.Wait()
		if d := r.Demotion("g"); d != 100 {
			t.Fatalf("after two failures: demotion %d", d)
		}
	})
}

func TestStartErrors(t *testing.T) {
	f := newFakeTargets()
	_, err := Start(Config{
		Probes: []Probe{f.probe("a", 1, time.Second), f.probe("a", 2, time.Second),
			{Spec: Spec{Name: "b", Interval: time.Second, Timeout: time.Second}}, {Spec: Spec{Name: "e"}}},
		Consumers: map[string][]string{"g": {"a", "c", "a"}, "f": {"d"}},
	})
	want := `health: two probes are named "a"
health: probe "b": no probe type 0
health: probe "e": interval 0s and timeout 0s: want 0 < timeout <= interval
health: f: no probe is named "d"
health: g: no probe is named "c"
health: g: probe "a" is named twice`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// Stop waits for the call of OnChange in progress, and drops the changes
// not yet delivered.
func TestRunnerStopDuringOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeTargets()
		var probes []Probe
		for i := range 10 {
			p := f.probe(fmt.Sprint(i), 1, time.Second)
			p.Spec.Rise = 1
			f.set(p.Spec.Name, true)
			probes = append(probes, p)
		}
		var mu sync.Mutex
		var calls int
		var inCall bool
		r, err := Start(Config{Probes: probes, OnChange: func(Change) {
			mu.Lock()
			calls++
			inCall = true
			mu.Unlock()
			time.Sleep(time.Second)
			mu.Lock()
			inCall = false
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // ten changes, the first being delivered
		synctest.Wait()
		r.Stop()
		mu.Lock()
		n, busy := calls, inCall
		mu.Unlock()
		if busy || n == 0 || n == 10 {
			t.Fatalf("after Stop: %d calls, one in progress: %v", n, busy)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if calls != n {
			t.Errorf("%d calls after Stop", calls-n)
		}
	})
}
