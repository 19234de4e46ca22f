package main

import (
	"errors"
	"runtime"
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
// released (see releaseExecutablePages): the start-up's code is done with,
// and so is a new MASTER's delayed gratuitous ARP (two adverts after its
// takeover, 3 s after the start at advbase 1). The half second puts the
// release between two adverts of a lone group, whose timers count from
// the start too: what runs after the release maps its pages back.
const releaseDelay = 5500 * time.Millisecond

// releaseAfterGC is how long after a garbage collection they are released
// again: a collection's scan of the goroutines' stacks reads .gopclntab
// for every frame, which mapped 1.2 to 1.5 MiB of it back for good (the
// runtime forces one every 2 minutes, also in a daemon that allocates
// little), and the sweep that follows it is done within this time.
const releaseAfterGC = time.Second

// releaseGap is the least time between two releases: each costs 0.5 to
// 1.5 ms here, and the refaults of the steady state's read-only data at
// the next adverts. One group collects every 2 minutes (the runtime's
// forced collection), and each is followed by a release; 256 groups
// collect every 8 s or so, and a release every 10 s cost them 1, 5 and 7 %
// more CPU in three scalebench pairs (the noise here is of that order, but
// their 20 MiB target does not need it).
const releaseGap = time.Minute

// releaseLater calls release releaseDelay after the start, with the code,
// and then releaseAfterGC after each garbage collection that gcs reports,
// without it, no two closer than releaseGap, until done is closed. The goroutine stays,
// parked, between releases: a goroutine's exit looks its function up in
// .gopclntab (the runtime's isSystemGoroutine), which mapped three 64 KiB
// windows of it back right after the release (a time.AfterFunc's
// goroutine did; see docs/PERF.md, "What one group maps back").
func releaseLater(done, gcs <-chan struct{}, release func(code bool)) {
	tm := time.NewTimer(releaseDelay)
	defer tm.Stop()
	pending, first := true, true
	var last time.Time
	for {
		select {
		case <-done:
			return
		case <-tm.C:
			release(first)
			last, pending, first = time.Now(), false, false
		case <-gcs:
			if !pending {
				tm.Reset(max(releaseAfterGC, time.Until(last.Add(releaseGap))))
				pending = true
			}
		}
	}
}

// gcSentinel is an object whose only use is to be collected. It holds a
// pointer: a small object without one may share its memory with others
// (the runtime's tiny allocator) and be freed late or never.
type gcSentinel struct{ _ *byte }

// notifyGC sends on c, without blocking, at the end of every garbage
// collection, for as long as the process runs: a cleanup on an
// unreachable object, which arms the next.
func notifyGC(c chan<- struct{}) {
	runtime.AddCleanup(&gcSentinel{}, func(c chan<- struct{}) {
		// Armed again before the report: a collection that its reader
		// starts at once must find the next sentinel (made after the
		// report, it could be made during that collection, and live).
		notifyGC(c)
		select {
		case c <- struct{}{}:
		default:
		}
	}, c)
}

// gcDone reports the end of garbage collections to the releases
// (releaseLater). main sets it; it stays nil in the tests that run the
// daemon in a testing/synctest bubble, whose goroutines and channels must
// not be shared with the runtime's cleanups.
var gcDone <-chan struct{}

// watchGC sets gcDone.
func watchGC() {
	c := make(chan struct{}, 1)
	notifyGC(c)
	gcDone = c
}

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
		done := make(chan struct{})
		var once sync.Once
		go releaseLater(done, gcDone, func(code bool) { releaseExecutablePages(code) })
		stop = func() { once.Do(func() { close(done) }) }
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
