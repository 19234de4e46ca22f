package health

import (
	"fmt"
	"strconv"
	"time"
)

// State is a probe's verdict, which rise and fall move with hysteresis:
//
//	         rise successes in a row
//	unknown ─────────────────────────────► up
//	   │                                  │ ▲
//	   │ fall failures      fall failures │ │ rise successes
//	   │ in a row                in a row │ │ in a row
//	   │                                  ▼ │
//	   └─────────────────────────────────► down
//
// A probe that is not up counts as failing: an unknown probe adds its
// weight to the demotion until it has risen, so that a host does not
// claim MASTER before its service answers (the boot hold-down "until the
// probes are healthy" waits for StateUp).
type State uint8

const (
	// StateUnknown: no verdict yet; neither rise successes nor fall
	// failures in a row since the start. Counts as failing.
	StateUnknown State = iota
	// StateUp: rise successes in a row, and not fall failures since.
	StateUp
	// StateDown: fall failures in a row, and not rise successes since.
	StateDown
)

var stateNames = [...]string{StateUnknown: "unknown", StateUp: "up", StateDown: "down"}

// String returns "unknown", "up" or "down".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the state's name, for JSON.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("health: no state %d", s)
	}
	return []byte(s.String()), nil
}

// Healthy reports whether s is StateUp: every other state adds the probe's
// weight to the demotion.
func (s State) Healthy() bool { return s == StateUp }

// Result is the outcome of one check.
type Result struct {
	At      time.Time     // when the check started
	OK      bool          // the target was healthy
	Latency time.Duration // how long the check took
	Err     string        // why it failed; empty when OK
}

// Tracker turns a probe's results into its State, with rise and fall
// hysteresis. It is a plain value: it starts no goroutine and reads no
// clock, the results carry their time. It is not safe for concurrent use.
type Tracker struct {
	rise, fall int
	state      State
	since      time.Time
	successes  int // in a row, up to the last result
	failures   int
	last       Result
	checks     uint64
	failed     uint64
}

// NewTracker returns a tracker in state initial since now. A new probe
// starts in StateUnknown; a caller that carries a probe's verdict over (a
// reload that keeps the probe) may start it up or down. rise and fall
// below 1 count as 1.
func NewTracker(rise, fall int, initial State, now time.Time) *Tracker {
	return &Tracker{rise: max(rise, 1), fall: max(fall, 1), state: initial, since: now}
}

// Feed records one result and reports whether it changed the state.
func (t *Tracker) Feed(r Result) bool {
	t.last = r
	t.checks++
	next := t.state
	if r.OK {
		t.successes++
		t.failures = 0
		if t.successes >= t.rise {
			next = StateUp
		}
	} else {
		t.failed++
		t.failures++
		t.successes = 0
		if t.failures >= t.fall {
			next = StateDown
		}
	}
	if next == t.state {
		return false
	}
	t.state, t.since = next, r.At
	return true
}

// State returns the current verdict.
func (t *Tracker) State() State { return t.state }

// Since returns when the tracker entered its state: the start of the check
// that moved it, or the time given to NewTracker.
func (t *Tracker) Since() time.Time { return t.since }

// Last returns the last result; its At is zero before the first.
func (t *Tracker) Last() Result { return t.last }

// InARow returns the successes and the failures in a row up to the last
// result; one of them is 0.
func (t *Tracker) InARow() (successes, failures int) { return t.successes, t.failures }

// Status describes the probe spec as t tracks it.
func (t *Tracker) Status(spec Spec) Status {
	return Status{
		Name: spec.Name, Type: spec.Type, Target: spec.Target, Weight: spec.Weight,
		State: t.state, Since: t.since, Last: t.last,
		Successes: t.successes, Failures: t.failures,
		Checks: t.checks, Failed: t.failed,
	}
}

// Status is what a probe shows: its identity, verdict and last check, for
// ucarpctl status and the metrics.
type Status struct {
	Name   string
	Type   Type
	Target string
	Weight int   // added to the demotion of its consumers while State is not up
	State  State //
	Since  time.Time
	Last   Result // the last check; Last.At is zero before the first
	// Successes and Failures are the results in a row; one is 0.
	Successes int
	Failures  int
	// Checks and Failed count the checks since the start and those that
	// failed.
	Checks uint64
	Failed uint64
}
