package platform

import (
	"container/heap"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LoopTimers are the one-shot timers of the groups' loops, served by one
// timerfd that the netpoller waits for, set with raw system calls. A time.Timer
// is a timer of the Go runtime, and the runtime's sysmon thread sleeps
// only until the next one: with a group's timer a second away, sysmon
// woke every second (a futex timeout, then a 20 µs nanosleep) beside the
// loop's own wake-up, two of the idle daemon's three wake-ups a second
// (docs/PERF.md "A timerfd for the groups' loops"). A timerfd wakes only
// the poller, its re-arms are RawSyscalls, which do not wake sysmon
// either (entersyscall would), and it is never read (see read): with no
// runtime timer left, sysmon sleeps its full 60 s.
//
// One timerfd serves every timer of the process, set to the earliest
// deadline (a heap): the MASTERs of a grid slot, due at the same time,
// cost one wake-up of the reader and one re-arm, not one each.
//
// Re-arming costs a system call, and a BACKUP's dead timer is pushed back
// by every advert it receives: a deadline moved later only moves in the
// heap, and the timerfd is set again for the earliest deadline when it is
// due within a quarter of the time to the deadline being set (a BACKUP at
// advbase 1: at the third advert of a dead interval of 3.4 s, in the
// wake-up that the advert causes anyway) or, if no Set comes by then, when
// it fires: one re-arm per dead interval instead of one per advert, and no
// wake-up of its own. A deadline earlier than the timerfd's sets it at
// once; one at the time it is set for costs nothing.
type LoopTimers struct {
	fd   int
	file *os.File
	done chan struct{} // closed when the reading goroutine has returned

	mu     sync.Mutex
	timers loopHeap  // the timers with a deadline, earliest first
	armed  time.Time // when the timerfd fires; zero: disarmed
	closed bool
}

// NewLoopTimers opens the timerfd of a set of timers and starts the
// goroutine that reads it; Close releases both.
func NewLoopTimers() (*LoopTimers, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("platform: timerfd_create: %w", err)
	}
	// A non-blocking descriptor: os.NewFile puts it in the netpoller.
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("platform: timerfd: %w", err)
	}
	s := &LoopTimers{fd: fd, file: f, done: make(chan struct{})}
	go s.read(rc)
	return s, nil
}

// Timer returns a new stopped timer of the set. C, Set, Stop and Close
// are for one goroutine (a group's loop); a value received from C is
// never stale: after Set or Stop returns, C delivers only the new
// deadline's expiry. Its Close stops it; the set stays open.
func (s *LoopTimers) Timer() Timer {
	return &loopTimer{s: s, c: make(chan time.Time, 1), i: -1}
}

// Close stops every timer of the set for good and waits for its
// goroutine.
func (s *LoopTimers) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, t := range s.timers {
		t.at, t.i = time.Time{}, -1
	}
	s.timers = nil
	err := s.file.Close() // the reader's Read returns
	s.mu.Unlock()
	<-s.done
	return err
}

// loopTimer is a timer of a LoopTimers.
type loopTimer struct {
	s  *LoopTimers
	c  chan time.Time
	at time.Time // the deadline; zero: stopped
	i  int       // the index in s.timers; -1: not there
}

func (t *loopTimer) C() <-chan time.Time { return t.c }

func (t *loopTimer) Set(at time.Time) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t.drain()
	if s.closed {
		return
	}
	t.at = at
	if t.i < 0 {
		heap.Push(&s.timers, t)
	} else {
		heap.Fix(&s.timers, t.i)
	}
	now := time.Now()
	switch {
	case s.armed.IsZero() || at.Before(s.armed):
		s.set(now, at)
	case s.armed.Sub(now) < at.Sub(now)/4 && s.timers[0].at.After(s.armed):
		// The timerfd is due soon, for nothing: set it now for the
		// earliest deadline, while the process is awake, rather than
		// wake it for a re-arm.
		s.set(now, s.timers[0].at)
	}
}

// Stop cancels the deadline. The timerfd is left as it is: when it fires,
// it is set for the earliest deadline left, if any.
func (t *loopTimer) Stop() {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	t.drain()
	if t.i >= 0 {
		heap.Remove(&s.timers, t.i)
	}
	t.at = time.Time{}
}

func (t *loopTimer) Close() error {
	t.Stop()
	return nil
}

// drain empties C of an expiry not yet received (under s.mu).
func (t *loopTimer) drain() {
	select {
	case <-t.c:
	default:
	}
}

// set arms the timerfd to fire at at (under mu).
func (s *LoopTimers) set(now, at time.Time) {
	d := at.Sub(now)
	if d <= 0 {
		d = 1 // a zero it_value disarms a timerfd
	}
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(s.fd), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	if e != 0 {
		// Only a bad descriptor or argument fails, neither possible
		// while the set is open. Deliver every deadline at once rather
		// than never: each loop finds nothing due and sets it again.
		s.armed = time.Time{}
		for s.timers.Len() > 0 {
			s.deliver(heap.Pop(&s.timers).(*loopTimer), now)
		}
		return
	}
	s.armed = at
}

// deliver hands t its expiry (under mu; t is out of the heap). C is
// empty: it was drained when t was set.
func (s *LoopTimers) deliver(t *loopTimer, now time.Time) {
	t.at = time.Time{}
	select {
	case t.c <- now:
	default:
	}
}

// read waits for the timerfd's expiries until Close. It never reads the
// timerfd itself (a system call per wake-up): the poller's wait is
// edge-triggered and the timerfd signals each expiry anew, and each
// timerfd_settime clears the count of expiries that was not read. What
// decides is the time: the deadlines are handled once the time the
// timerfd was set for has come (mayHaveFired), and a wake-up before it (an
// expiry of an earlier setting) goes back to waiting.
func (s *LoopTimers) read(rc syscall.RawConn) {
	defer close(s.done)
	// Made once: a closure made at each wait was an allocation a wake-up.
	fired := func(uintptr) bool { return s.mayHaveFired() }
	for {
		err := rc.Read(fired)
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return
			}
			// Nothing but Close is expected to fail a poller wait.
			time.Sleep(time.Millisecond)
			continue
		}
		s.expired()
	}
}

// mayHaveFired reports whether the time the timerfd is set for has come.
// The timerfd was set from a time.Now() taken before the kernel's, on the
// same clock (CLOCK_MONOTONIC), so it fires at armed or later: when this
// says no, its expiry is still to come, as an edge that the poller has not
// consumed yet (RawConn.Read resets the poller's state before the first
// call of its function), and the wait that follows returns at it.
func (s *LoopTimers) mayHaveFired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && !s.armed.IsZero() && !time.Now().Before(s.armed)
}

// expired handles the timerfd's expiry: it delivers the deadlines that
// have passed and sets the timerfd for the earliest left (one pushed
// back, or another timer's).
func (s *LoopTimers) expired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = time.Time{}
	if s.closed {
		return
	}
	now := time.Now()
	for s.timers.Len() > 0 && !s.timers[0].at.After(now) {
		s.deliver(heap.Pop(&s.timers).(*loopTimer), now)
	}
	if s.timers.Len() > 0 {
		s.set(now, s.timers[0].at)
	}
}

// loopHeap orders timers by deadline (container/heap).
type loopHeap []*loopTimer

func (h loopHeap) Len() int           { return len(h) }
func (h loopHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h loopHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}
func (h *loopHeap) Push(x any) {
	t := x.(*loopTimer)
	t.i = len(*h)
	*h = append(*h, t)
}
func (h *loopHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.i = -1
	return t
}
