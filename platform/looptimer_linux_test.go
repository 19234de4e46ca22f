package platform

import (
	"testing"
	"time"
)

// loopTimerSlack is how long a test waits for an expiry that is due: far
// beyond any deadline here, so that a loaded machine is slow, not wrong.
const loopTimerSlack = 10 * time.Second

func newLoopTimers(t *testing.T) *LoopTimers {
	t.Helper()
	s, err := NewLoopTimers()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newLoopTimer(t *testing.T) Timer { return newLoopTimers(t).Timer() }

// expect waits for an expiry and checks that it came no earlier than
// notBefore.
func expect(t *testing.T, tm Timer, notBefore time.Time) {
	t.Helper()
	select {
	case at := <-tm.C():
		if now := time.Now(); now.Before(notBefore) || at.Before(notBefore) {
			t.Fatalf("fired %v before its deadline", notBefore.Sub(now))
		}
	case <-time.After(loopTimerSlack):
		t.Fatalf("did not fire within %v of its deadline", loopTimerSlack)
	}
}

// expectNone checks that nothing arrives for d.
func expectNone(t *testing.T, tm Timer, d time.Duration) {
	t.Helper()
	select {
	case <-tm.C():
		t.Fatal("fired although stopped or not due")
	case <-time.After(d):
	}
}

func TestLoopTimerFires(t *testing.T) {
	tm := newLoopTimer(t)
	for _, d := range []time.Duration{20 * time.Millisecond, 0, -time.Second, time.Millisecond} {
		start := time.Now()
		tm.Set(time.Now().Add(d))
		expect(t, tm, start.Add(d))
	}
	// Many short deadlines in a row: each re-arm is seen.
	for range 50 {
		start := time.Now()
		tm.Set(time.Now().Add(time.Millisecond))
		expect(t, tm, start.Add(time.Millisecond))
	}
}

// A deadline pushed back is kept lazily (the timerfd fires at the earlier
// time and is set again): it must fire at the later deadline, not before.
func TestLoopTimerPushedBack(t *testing.T) {
	tm := newLoopTimer(t)
	tm.Set(time.Now().Add(10 * time.Millisecond))
	var last time.Time
	for i := range 5 { // as a BACKUP's dead timer, pushed by each advert
		time.Sleep(5 * time.Millisecond)
		last = time.Now()
		tm.Set(time.Now().Add(time.Duration(60+10*i) * time.Millisecond))
	}
	expect(t, tm, last.Add(100*time.Millisecond))
	expectNone(t, tm, 50*time.Millisecond) // once
}

// A deadline brought forward fires then, not at the earlier setting.
func TestLoopTimerBroughtForward(t *testing.T) {
	tm := newLoopTimer(t)
	tm.Set(time.Now().Add(time.Hour))
	start := time.Now()
	tm.Set(time.Now().Add(20 * time.Millisecond))
	expect(t, tm, start.Add(20*time.Millisecond))
}

func TestLoopTimerStop(t *testing.T) {
	tm := newLoopTimer(t)
	tm.Set(time.Now().Add(20 * time.Millisecond))
	tm.Stop()
	expectNone(t, tm, 150*time.Millisecond)
	// Usable again after Stop.
	start := time.Now()
	tm.Set(time.Now().Add(10 * time.Millisecond))
	expect(t, tm, start.Add(10*time.Millisecond))
}

// An expiry not yet received when the timer is reset is not delivered:
// C gives only the new deadline's.
func TestLoopTimerNoStaleExpiry(t *testing.T) {
	tm := newLoopTimer(t).(*loopTimer)
	tm.Set(time.Now())
	deadline := time.Now().Add(loopTimerSlack)
	for len(tm.c) == 0 { // the expiry waits in C
		if time.Now().After(deadline) {
			t.Fatal("did not fire")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	tm.Set(time.Now().Add(100 * time.Millisecond))
	expect(t, tm, start.Add(100*time.Millisecond))

	tm.Set(time.Now())
	for len(tm.c) == 0 {
		time.Sleep(time.Millisecond)
	}
	tm.Stop()
	expectNone(t, tm, 50*time.Millisecond)
}

// Timers of one set: each fires at its own deadline, in order, whatever
// the others do (the timerfd is set for the earliest).
func TestLoopTimersShareTheTimerfd(t *testing.T) {
	s := newLoopTimers(t)
	a, b, c, stopped := s.Timer(), s.Timer(), s.Timer(), s.Timer()
	start := time.Now()
	stopped.Set(start.Add(5 * time.Millisecond))
	a.Set(start.Add(80 * time.Millisecond))
	b.Set(start.Add(10 * time.Millisecond))
	c.Set(start.Add(30 * time.Millisecond))
	stopped.Stop()
	b.Set(start.Add(120 * time.Millisecond)) // pushed back past a
	expect(t, c, start.Add(30*time.Millisecond))
	expect(t, a, start.Add(80*time.Millisecond))
	select {
	case <-b.C():
		t.Fatal("b fired before a")
	default:
	}
	expect(t, b, start.Add(120*time.Millisecond))
	expectNone(t, stopped, 20*time.Millisecond)
	// c again, alone: the timerfd was left disarmed and is set anew.
	start = time.Now()
	c.Set(start.Add(10 * time.Millisecond))
	expect(t, c, start.Add(10*time.Millisecond))
	// Closing a timer stops it; the others go on.
	a.Set(time.Now())
	b.Set(time.Now().Add(10 * time.Millisecond))
	a.Close()
	expect(t, b, start)
	expectNone(t, a, 20*time.Millisecond)
}

func TestLoopTimersClose(t *testing.T) {
	s, err := NewLoopTimers()
	if err != nil {
		t.Fatal(err)
	}
	tm := s.Timer()
	tm.Set(time.Now().Add(time.Millisecond))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done: // the reading goroutine has returned
	default:
		t.Fatal("Close returned before the reader")
	}
	tm.Set(time.Now()) // no effect, no panic
	tm.Stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectNone(t, tm, 20*time.Millisecond)
}

// A deadline pushed back leaves the timerfd as it is while its time is
// far, and sets it again once it is near (within a quarter of the time to
// the new deadline), so that it does not wake the process for nothing.
func TestLoopTimerPushedBackRearmsWhenNear(t *testing.T) {
	s := newLoopTimers(t)
	tm := s.Timer()
	armed := func() time.Time {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.armed
	}
	first := time.Now().Add(time.Hour)
	tm.Set(first)
	tm.Set(first.Add(time.Hour)) // an hour left of two: far
	if got := armed(); !got.Equal(first) {
		t.Fatalf("timerfd set for %v, want it left at the first deadline", got)
	}
	soon := time.Now().Add(50 * time.Millisecond)
	tm.Set(soon)
	later := time.Now().Add(time.Hour)
	tm.Set(later) // 50 ms left of an hour: near
	if got := armed(); !got.Equal(later) {
		t.Fatalf("timerfd set for %v, want the new deadline", got)
	}
	expectNone(t, tm, 100*time.Millisecond)
}

// TestLoopTimerExpiryAllocatesNothing: a timer's round (Set, the
// reader's wait and wake-up, the delivery) allocates nothing. The reader
// made a closure for each wait: an allocation per wake-up of an idle
// daemon (docs/PERF.md "The floor, measured in the tree").
func TestLoopTimerExpiryAllocatesNothing(t *testing.T) {
	tm := newLoopTimer(t)
	guard := time.NewTimer(loopTimerSlack)
	defer guard.Stop()
	allocs := testing.AllocsPerRun(20, func() {
		guard.Reset(loopTimerSlack)
		tm.Set(time.Now().Add(time.Millisecond))
		select {
		case <-tm.C():
		case <-guard.C:
			t.Fatalf("did not fire within %v of its deadline", loopTimerSlack)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per expiry, want 0", allocs)
	}
}
