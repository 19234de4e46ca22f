package group

import (
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
)

// laggingConn is a socket whose reader the scheduler holds back: a packet
// waits in the socket (in) until the reader takes it, then lag passes
// before the reader hands it on. Backlog says what the kernel and the
// reader would: a packet queued, or one in the reader's hands; stuck
// says it always (a flood that never lets the reader catch up).
type laggingConn struct {
	*fakeConn
	lag   atomic.Int64 // time.Duration; set by the test while the reader runs
	busy  atomic.Bool
	stuck atomic.Bool
}

func (c *laggingConn) ReadPacket(b []byte) (int, error) {
	c.busy.Store(false)
	select {
	case p := <-c.in:
		c.busy.Store(true)
		time.Sleep(time.Duration(c.lag.Load()))
		return copy(b, p), nil
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

func (c *laggingConn) Backlog() bool { return c.stuck.Load() || len(c.in) > 0 || c.busy.Load() }

var _ platform.Backlogger = (*laggingConn)(nil)

// A BACKUP whose dead timer comes due while the master's advert is already
// received, but still in the socket or the reader's hands, reads it first
// and stays BACKUP; with nothing received it takes over on time, and a
// reader that never catches up delays the takeover by catchUpMax at most.
func TestLoopLateDeadTimerReadsQueuedAdvertFirst(t *testing.T) {
	// The harness's BACKUP (advbase 1, advskew 100, deadratio 3) hears an
	// advert at 0 and would take over at dead: 3 of the master's advbase
	// and its own advskew/256, as in ucarp.
	const dead = 3*time.Second + 100*time.Second/256
	for _, tc := range []struct {
		name     string
		lag      time.Duration // how long the reader holds the advert
		stuck    bool
		second   bool          // the master's second advert arrives 1 ms before the dead time
		takeover time.Duration // 0: none
	}{
		{name: "advert in the reader's hands", lag: 5 * time.Millisecond, second: true},
		{name: "advert waiting in the reader's hands longer than catchUpMax", lag: catchUpMax + 5*time.Millisecond, second: true, takeover: dead + catchUpMax},
		{name: "nothing received", takeover: dead},
		{name: "reader never catches up", stuck: true, takeover: dead + catchUpMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lc *laggingConn
				h := startHarness(t, func(c *testConfig) {
					c.conn = func(f *fakeConn) platform.IPConn {
						lc = &laggingConn{fakeConn: f}
						return lc
					}
				})
				defer h.close()
				h.receive(1, 0, nil) // at 0, handed on at once
				start := time.Now()
				lc.lag.Store(int64(tc.lag))
				lc.stuck.Store(tc.stuck)
				if tc.second {
					time.Sleep(dead - time.Millisecond)
					h.receive(1, 0, nil)
				}
				time.Sleep(time.Until(start.Add(dead + 2*catchUpMax)))
				synctest.Wait()
				ads := h.conn.adverts()
				switch {
				case tc.takeover == 0 && len(ads) > 0:
					t.Fatalf("took over at %v after the master's first advert, with its second received at %v",
						ads[0].at.Sub(start), dead-time.Millisecond)
				case tc.takeover == 0:
					if h.state() != carp.Backup {
						t.Fatalf("state %v", h.state())
					}
				case len(ads) == 0:
					t.Fatalf("no takeover by %v", dead+2*catchUpMax)
				case tc.takeover == dead && ads[0].at.Sub(start) != dead:
					t.Fatalf("took over at %v, want at %v: an idle reader must not delay it", ads[0].at.Sub(start), dead)
				case ads[0].at.Sub(start) != tc.takeover:
					// The fake clock is exact: a reader behind holds the
					// takeover back by catchUpMax, no less and no more.
					t.Fatalf("took over at %v, want at %v", ads[0].at.Sub(start), tc.takeover)
				}
			})
		})
	}
}
