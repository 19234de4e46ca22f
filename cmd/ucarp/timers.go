package main

import (
	"sync"

	"github.com/ucarp-go/ucarp/platform"
)

// loopTimers is the process's one set of loop timers, opened at the
// first group's start.
var loopTimers = sync.OnceValues(platform.NewLoopTimers)

// newLoopTimer gives a group's loop its timer (node.Deps.NewTimer): on
// Linux a timer of the process's one timerfd (platform.LoopTimers), so
// that an idle daemon holds no timer of the Go runtime and its sysmon
// thread sleeps (docs/PERF.md "A timerfd for the groups' loops"). Where
// there is none, or it cannot be opened, the group's loop keeps a
// time.Timer. The timerfd lives as long as the process.
func newLoopTimer() (platform.Timer, error) {
	s, err := loopTimers()
	if err != nil {
		return nil, err
	}
	return s.Timer(), nil
}
