package group

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
)

// recTimer is a time.Timer that counts what the loop does with it.
type recTimer struct {
	goTimer
	sets   *atomic.Int32
	closed *atomic.Bool
}

func (r recTimer) Set(at time.Time) { r.sets.Add(1); r.goTimer.Set(at) }
func (r recTimer) Close() error     { r.closed.Store(true); return r.goTimer.Close() }

// The loop waits on the timer that Deps.NewTimer makes (in the daemon,
// a timerfd: platform.LoopTimers), and closes it when it ends; if none
// can be made, on a time.Timer. The timing is the same either way.
func TestLoopInjectedTimer(t *testing.T) {
	want := []time.Duration{us(3_390_625), us(4_781_250), us(6_171_875)}
	synctest.Test(t, func(t *testing.T) {
		var made, sets atomic.Int32
		var closed atomic.Bool
		h := startHarness(t, func(c *testConfig) {
			c.newTimer = func() (platform.Timer, error) {
				made.Add(1)
				return recTimer{goTimer{time.NewTimer(time.Hour)}, &sets, &closed}, nil
			}
		})
		defer h.close()
		h.at(7 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		if got := h.advertTimes(); !slices.Equal(got, want) {
			t.Fatalf("adverts at %v, want %v", got, want)
		}
		if made.Load() != 1 || sets.Load() < 3 {
			t.Fatalf("%d timers made, %d set: the loop does not use the timer it is given", made.Load(), sets.Load())
		}
		h.close()
		if !closed.Load() {
			t.Fatal("the loop's timer was not closed at its end")
		}
	})
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) {
			c.newTimer = func() (platform.Timer, error) { return nil, errors.New("no timerfd") }
		})
		defer h.close()
		h.at(7 * time.Second)
		if got := h.advertTimes(); !slices.Equal(got, want) {
			t.Fatalf("with a time.Timer in place: adverts at %v, want %v", got, want)
		}
		if h.logs.count("Loop timer: a time.Timer (no timerfd)") != 1 {
			t.Fatalf("logs:\n%s", h.logs)
		}
	})
}
