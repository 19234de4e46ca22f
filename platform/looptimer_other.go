//go:build !linux

package platform

import "errors"

// LoopTimers are Linux's (a timerfd): elsewhere NewLoopTimers fails and
// the caller keeps time.Timers.
type LoopTimers struct{}

// NewLoopTimers fails: see the Linux version.
func NewLoopTimers() (*LoopTimers, error) { return nil, ErrNotSupported }

// Timer is never called: NewLoopTimers gives no LoopTimers here.
func (*LoopTimers) Timer() Timer { panic(errors.ErrUnsupported) }

// Close does nothing.
func (*LoopTimers) Close() error { return nil }
