package main

import (
	"errors"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	conffile "github.com/ucarp-go/ucarp/config"
)

// tuning is --realtime and --lock-memory (the realtime and lock-memory
// keys of a config file): what keeps adverts on time on a loaded host.
type tuning struct {
	realtime   int // SCHED_RR priority, 1-99; 0: off
	lockMemory bool
}

// parseRealtime reads the optional value of --realtime: empty for the
// default priority, else 1 to 99.
func parseRealtime(v string) (int, bool) {
	if v == "" {
		return conffile.DefaultRealtimePriority, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 99 {
		return 0, false
	}
	return n, true
}

// errRefused wraps what the kernel said when it refused a tuning: the
// daemon goes on without it.
var errRefused = errors.New("refused")

// realtimeSweep is how often the threads are checked for new ones, which
// the runtime may start at any time and which do not inherit SCHED_RR
// (see setRealtime).
const realtimeSweep = time.Second

// releaseDelay is how long after the start the executable's pages are
// released (see releaseExecutablePages): the start-up's code is done with.
const releaseDelay = 5 * time.Second

// applyTuning applies t to the whole process. What the kernel refuses (no
// CAP_SYS_NICE or RLIMIT_RTPRIO, no CAP_IPC_LOCK or RLIMIT_MEMLOCK, a
// systemd unit with RestrictRealtime=yes) is a warning, logged once: the
// daemon still works, only with the ordinary scheduler and pageable
// memory, which is what a sysadmin would rather have than no failover.
// The returned function stops the realtime sweep.
func applyTuning(log *logger, t tuning) (stop func()) {
	stop = func() {}
	if !t.lockMemory {
		// mlockall keeps every page in; without it, what the start-up
		// touched need not stay mapped.
		tm := time.AfterFunc(releaseDelay, func() { releaseExecutablePages() })
		stop = func() { tm.Stop() }
	}
	if t.lockMemory {
		if err := lockMemory(); err != nil {
			log.Warnf("Warning: --lock-memory: the memory stays pageable: %s", err)
		} else {
			log.Debugf("Memory locked (mlockall)")
		}
	}
	if t.realtime == 0 {
		return stop
	}
	seen := map[int]bool{}
	if err := setRealtime(t.realtime, seen); err != nil {
		log.Warnf("Warning: --realtime: the daemon runs with the ordinary scheduler: %s", err)
		return stop
	}
	log.Debugf("Realtime scheduling: SCHED_RR priority %d on %d threads", t.realtime, len(seen))
	done := make(chan struct{})
	var once sync.Once
	go func() {
		tick := time.NewTicker(realtimeSweep)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				setRealtime(t.realtime, seen) // refused once granted: nothing new to say
			}
		}
	}()
	stopRelease := stop
	return func() { stopRelease(); once.Do(func() { close(done) }) }
}

// gcPercent is the daemon's GOGC: the heap may grow by half of what is
// live before a collection, not by all of it. At 256 groups (5 MB live)
// that is 2 to 3 MiB less RSS than Go's default of 100 (23.0 against
// 20.1 MiB side by side), for about twice as many collections of a few
// milliseconds each (some 30 ms of CPU a minute more, by estimate: not
// seen above the noise); one group, whose heap stays under the minimum
// (4 MB at 100, 2 at 50), is collected as rarely as before. GOGC=25 saved
// 1 MiB more for twice the collections again: not the default. See
// docs/PERF.md, Memory.
const gcPercent = 50

// setGCPercent sets gcPercent unless the environment (getenv) sets GOGC,
// which the runtime has applied already.
func setGCPercent(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
