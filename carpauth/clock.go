package carpauth

import "time"

// instant is one reading of the two clocks this package needs: the wall
// clock in Unix nanoseconds (0 before 1970) and a monotonic clock, the
// time elapsed since an epoch of the caller's (a Verifier's or a
// Sequence's first reading). The exported methods take a time.Time from
// time.Now and split it (epoch.reading); the tests build instants whose
// two clocks disagree, as they do after a step of the wall clock.
type instant struct {
	wall uint64
	mono time.Duration
}

// epoch turns times into instants, the monotonic part measured from the
// first time it saw. With times from time.Now, now.Sub(first) uses the
// monotonic readings, which no step of the wall clock changes.
type epoch struct {
	first time.Time
	set   bool
}

func (e *epoch) reading(now time.Time) instant {
	if !e.set {
		e.first, e.set = now, true
	}
	return instant{wall: uint64(max(now.UnixNano(), 0)), mono: now.Sub(e.first)}
}

// since is the monotonic time from at to now, 0 if it went back (a test
// clock can; time.Now's monotonic reading does not).
func since(at, now instant) uint64 {
	return uint64(max(now.mono-at.mono, 0))
}
