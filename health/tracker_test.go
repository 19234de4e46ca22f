package health

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// stateLetter writes a state as one letter: ? unknown, U up, D down.
func stateLetter(s State) byte { return "?UD"[s] }

func TestTrackerHysteresis(t *testing.T) {
	// results: + a success, - a failure. want: the state after each
	// result, ? unknown, U up, D down.
	tests := []struct {
		name       string
		rise, fall int
		initial    State
		results    string
		want       string
	}{
		{"rises after rise successes", 2, 2, StateUnknown, "+++", "?UU"},
		{"falls after fall failures", 2, 2, StateUnknown, "---", "?DD"},
		{"rise 1 fall 1 follows every result", 1, 1, StateUnknown, "+-+-", "UDUD"},
		{"flapping from unknown stays unknown", 2, 2, StateUnknown, "+-+-+-+-", "????????"},
		{"flapping while up stays up", 2, 2, StateUnknown, "++-+-+-+", "?UUUUUUU"},
		{"flapping while down stays down", 2, 2, StateUnknown, "--+-+-+-", "?DDDDDDD"},
		{"a failure resets the successes", 3, 2, StateDown, "++-+++", "DDDDDU"},
		{"a success resets the failures", 2, 3, StateUp, "--+---", "UUUUUD"},
		{"down and up again", 2, 3, StateUnknown, "++---++", "?UUUDDU"},
		{"slow flapping follows", 2, 2, StateUnknown, "++--++--", "?UUDDUUD"},
		{"an up start needs fall failures", 2, 2, StateUp, "-+--", "UUUD"},
		{"a down start needs rise successes", 2, 2, StateDown, "+-++", "DDDU"},
		{"rise 0 counts as 1", 0, 0, StateUnknown, "+-", "UD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(tt.rise, tt.fall, tt.initial, t0)
			var got strings.Builder
			prev := tr.State()
			for i, c := range tt.results {
				at := t0.Add(time.Duration(i+1) * time.Second)
				r := Result{At: at, OK: c == '+', Latency: time.Millisecond}
				if !r.OK {
					r.Err = "refused"
				}
				changed := tr.Feed(r)
				if changed != (tr.State() != prev) {
					t.Fatalf("result %d: Feed says changed=%v, state %v -> %v", i, changed, prev, tr.State())
				}
				if changed && !tr.Since().Equal(at) {
					t.Fatalf("result %d: since %v, want %v", i, tr.Since(), at)
				}
				if tr.Last() != r {
					t.Fatalf("result %d: last %+v, want %+v", i, tr.Last(), r)
				}
				prev = tr.State()
				got.WriteByte(stateLetter(tr.State()))
			}
			if got.String() != tt.want {
				t.Errorf("states %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestTrackerCounts(t *testing.T) {
	tr := NewTracker(2, 2, StateUnknown, t0)
	if !tr.Since().Equal(t0) || tr.State() != StateUnknown || !tr.Last().At.IsZero() {
		t.Fatalf("a new tracker: %v since %v, last %+v", tr.State(), tr.Since(), tr.Last())
	}
	for i, ok := range []bool{true, true, false, false, false, true} {
		tr.Feed(Result{At: t0.Add(time.Duration(i) * time.Second), OK: ok})
	}
	if s, f := tr.InARow(); s != 1 || f != 0 {
		t.Errorf("in a row: %d successes, %d failures; want 1, 0", s, f)
	}
	st := tr.Status(Spec{Name: "web", Type: TypeTCP, Target: "203.0.113.1:80", Weight: 50})
	want := Status{Name: "web", Type: TypeTCP, Target: "203.0.113.1:80", Weight: 50, State: StateDown,
		Since: t0.Add(3 * time.Second), Last: Result{At: t0.Add(5 * time.Second), OK: true},
		Successes: 1, Checks: 6, Failed: 3}
	if st != want {
		t.Errorf("status\n%+v\nwant\n%+v", st, want)
	}
}

func TestStateNames(t *testing.T) {
	for s, want := range map[State]string{StateUnknown: "unknown", StateUp: "up", StateDown: "down", 7: "State(7)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
	if !StateUp.Healthy() || StateUnknown.Healthy() || StateDown.Healthy() {
		t.Error("only up is healthy")
	}
	if _, err := State(3).MarshalText(); err == nil {
		t.Error("State(3) marshals")
	}
}
