package health

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Probe is one probe of a Runner.
type Probe struct {
	Spec Spec
	// Check runs the probe; nil for NewCheck(Spec).
	Check Check
	// Initial is the state the probe starts in: StateUnknown for a new
	// probe; a reload that keeps a probe may carry its state over.
	Initial State
}

// Config is what a Runner runs.
type Config struct {
	// Probes are run each on its own schedule; their names are unique.
	Probes []Probe
	// Consumers are the users of the probes (a group, for the daemon),
	// each with the names of the probes whose weights make its demotion.
	// A probe may serve several consumers; it is run once.
	Consumers map[string][]string
	// OnChange, if not nil, is called with every change of a probe's
	// state, one call at a time and in order, from a goroutine of the
	// Runner. It may call Demotion and Status, not Stop.
	OnChange func(Change)
}

// Change is a change of a probe's state.
type Change struct {
	Probe Status // the probe, after the change
	From  State
	// Demotions holds the consumers whose demotion changed, with their
	// new demotion; empty when the change moved no demotion (unknown to
	// down, or a probe of weight 0).
	Demotions map[string]int
}

// A Runner runs probes, each on its interval, feeds their trackers and
// keeps each consumer's demotion: the sum of the weights of its probes
// that are not up. The demotion is not capped; the consumer caps it.
type Runner struct {
	cancel   context.CancelFunc
	done     <-chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	onChange func(Change)
	wake     chan struct{} // a change is queued

	mu        sync.Mutex
	probes    []*probe
	demotions map[string]int
	queue     []Change
}

type probe struct {
	spec      Spec
	check     Check
	tracker   *Tracker
	consumers []string
}

// Start checks cfg and starts its probes: each one's first check comes
// after a random delay below its interval and 1s, so that many probes do
// not all run at once; then one every interval. The demotions start from
// the initial states: an unknown probe counts as failing.
func Start(cfg Config) (*Runner, error) {
	now := time.Now()
	r := &Runner{onChange: cfg.OnChange, wake: make(chan struct{}, 1), demotions: map[string]int{}}
	byName := map[string]*probe{}
	var errs []error
	for _, p := range cfg.Probes {
		if _, dup := byName[p.Spec.Name]; dup {
			errs = append(errs, fmt.Errorf("health: two probes are named %q", p.Spec.Name))
			continue
		}
		if p.Spec.Interval <= 0 || p.Spec.Timeout <= 0 || p.Spec.Timeout > p.Spec.Interval {
			errs = append(errs, fmt.Errorf("health: probe %q: interval %v and timeout %v: want 0 < timeout <= interval",
				p.Spec.Name, p.Spec.Interval, p.Spec.Timeout))
			continue
		}
		check := p.Check
		if check == nil {
			var err error
			if check, err = NewCheck(p.Spec); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		pr := &probe{spec: p.Spec, check: check, tracker: NewTracker(p.Spec.Rise, p.Spec.Fall, p.Initial, now)}
		byName[p.Spec.Name] = pr
		r.probes = append(r.probes, pr)
	}
	for _, consumer := range slices.Sorted(maps.Keys(cfg.Consumers)) {
		names := cfg.Consumers[consumer]
		r.demotions[consumer] = 0
		seen := map[string]bool{}
		for _, name := range names {
			pr := byName[name]
			switch {
			case pr == nil:
				errs = append(errs, fmt.Errorf("health: %s: no probe is named %q", consumer, name))
			case seen[name]:
				errs = append(errs, fmt.Errorf("health: %s: probe %q is named twice", consumer, name))
			default:
				seen[name] = true
				pr.consumers = append(pr.consumers, consumer)
				if !pr.tracker.State().Healthy() {
					r.demotions[consumer] += pr.spec.Weight
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, ctx.Done()
	for _, pr := range r.probes {
		r.wg.Go(func() { r.run(ctx, pr) })
	}
	if r.onChange != nil {
		r.wg.Go(r.deliver)
	}
	return r, nil
}

// run checks one probe on its schedule until ctx is done.
func (r *Runner) run(ctx context.Context, pr *probe) {
	timer := time.NewTimer(rand.N(min(pr.spec.Interval, time.Second)))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		res := checkOnce(ctx, pr.check, pr.spec.Timeout)
		if ctx.Err() != nil {
			return // stopped: the failure is ours, not the target's
		}
		res.At = start
		r.feed(pr, res)
		timer.Reset(time.Until(start.Add(pr.spec.Interval)))
	}
}

// checkOnce runs check with timeout. A check that is still running at the
// timeout fails, whatever it returns.
func checkOnce(ctx context.Context, check Check, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := check(ctx)
	res := Result{Latency: time.Since(start), OK: err == nil}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.OK, res.Err = false, "timed out after "+timeout.String()
	case err != nil:
		res.Err = err.Error()
	}
	return res
}

// feed records a result and queues the change it makes, if any.
func (r *Runner) feed(pr *probe, res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := pr.tracker.State()
	if !pr.tracker.Feed(res) {
		return
	}
	ch := Change{Probe: pr.tracker.Status(pr.spec), From: from, Demotions: map[string]int{}}
	if now := ch.Probe.State.Healthy(); now != from.Healthy() && pr.spec.Weight != 0 {
		delta := pr.spec.Weight
		if now {
			delta = -delta
		}
		for _, c := range pr.consumers {
			r.demotions[c] += delta
			ch.Demotions[c] = r.demotions[c]
		}
	}
	if r.onChange == nil {
		return
	}
	r.queue = append(r.queue, ch)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// deliver calls OnChange with the queued changes, in order, until Stop.
func (r *Runner) deliver() {
	for {
		select {
		case <-r.done:
			return
		case <-r.wake:
		}
		r.mu.Lock()
		q := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, ch := range q {
			select {
			case <-r.done:
				return
			default:
			}
			r.onChange(ch)
		}
	}
}

// Demotion returns the consumer's demotion: the sum of the weights of its
// probes that are not up; 0 for a consumer it does not know.
func (r *Runner) Demotion(consumer string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.demotions[consumer]
}

// Status returns every probe's status, in the order of Config.Probes.
func (r *Runner) Status() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, len(r.probes))
	for i, pr := range r.probes {
		out[i] = pr.tracker.Status(pr.spec)
	}
	return out
}

// Stop stops the probes and returns when everything the Runner started
// has ended: the checks that were running (an exec probe's processes
// killed) and the call to OnChange in progress. OnChange is not called
// after Stop returns; changes not yet delivered are dropped.
func (r *Runner) Stop() {
	r.stopOnce.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
}
