package platform

import "time"

// Timer is a one-shot timer for one goroutine, as a time.Timer but set to
// a time rather than a duration: C delivers the time once the deadline
// given to Set has passed (at once for one in the past); after Set or
// Stop returns, C delivers nothing of an earlier deadline.
// Close releases it (and stops it). NewLoopTimer returns one that costs
// the Go runtime no timer (a timerfd on Linux).
type Timer interface {
	C() <-chan time.Time
	Set(at time.Time)
	Stop()
	Close() error
}
