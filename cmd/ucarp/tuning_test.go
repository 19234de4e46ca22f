package main

import (
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	conffile "github.com/ucarp-go/ucarp/config"
)

func TestTuningOptions(t *testing.T) {
	base := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1", "-a", "198.51.100.2"}
	for _, tc := range []struct {
		name string
		args []string
		want tuning
		exit bool
	}{
		{"none: nothing changes", nil, tuning{}, false},
		{"--realtime: the default priority", []string{"--realtime"}, tuning{realtime: conffile.DefaultRealtimePriority}, false},
		{"--realtime=50", []string{"--realtime=50"}, tuning{realtime: 50}, false},
		{"--realtime=1 and 99 are the bounds", []string{"--realtime=1", "--realtime=99"}, tuning{realtime: 99}, false},
		{"--realt by prefix", []string{"--realt=7"}, tuning{realtime: 7}, false},
		{"--lock-memory", []string{"--lock-memory"}, tuning{lockMemory: true}, false},
		{"both", []string{"--lock-memory", "--realtime=20"}, tuning{realtime: 20, lockMemory: true}, false},
		{"--realtime=0", []string{"--realtime=0"}, tuning{}, true},
		{"--realtime=100", []string{"--realtime=100"}, tuning{}, true},
		{"--realtime=rr", []string{"--realtime=rr"}, tuning{}, true},
		{"--realtime=", []string{"--realtime="}, tuning{realtime: conffile.DefaultRealtimePriority}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseCommandLine("ucarp", append(slices.Clone(base), tc.args...), false, newLogger(io.Discard, io.Discard, nil), io.Discard)
			if tc.exit {
				if !res.done || res.exit != 1 {
					t.Fatalf("%q: done %v exit %d, want exit 1", tc.args, res.done, res.exit)
				}
				return
			}
			if res.done {
				t.Fatalf("%q: exit %d", tc.args, res.exit)
			}
			if res.cfg.tuning != tc.want {
				t.Errorf("%q: tuning %+v, want %+v", tc.args, res.cfg.tuning, tc.want)
			}
		})
	}
}

// TestSetGCPercent: the daemon's GOGC applies unless the environment sets
// one.
func TestSetGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	setGCPercent(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, gcPercent)
	}
	setGCPercent(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100 in the environment: GC percent %d, want it left at 100", got)
	}
}

// TestReleaseSchedule: the executable's pages are released releaseDelay
// after the start, then releaseAfterGC after a collection, never two
// within releaseGap, one release for collections that come together, and
// none once stopped.
func TestReleaseSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		var code []bool
		done, gcs := make(chan struct{}), make(chan struct{}, 1)
		exited := make(chan struct{})
		go func() {
			releaseLater(done, gcs, func(c bool) { at, code = append(at, time.Since(start)), append(code, c) })
			close(exited)
		}()
		step := func(d time.Duration) { time.Sleep(d); synctest.Wait() }
		gc := func() { gcs <- struct{}{}; synctest.Wait() }

		step(2 * time.Second)
		gc() // before the first release: it is due anyway
		step(4 * time.Second)
		if want := []time.Duration{releaseDelay}; !slices.Equal(at, want) {
			t.Fatalf("released at %v, want %v (the start-up's, once)", at, want)
		}
		gc() // at 6 s, within releaseGap of the first
		second := releaseDelay + releaseGap
		later := second + releaseGap + 5*time.Second
		step(later - 6*time.Second)
		gc() // long after the second: due releaseAfterGC later; one more before that
		gc()
		step(30 * time.Second)
		want := []time.Duration{releaseDelay, second, later + releaseAfterGC}
		if !slices.Equal(at, want) {
			t.Fatalf("released at %v, want %v", at, want)
		}
		if want := []bool{true, false, false}; !slices.Equal(code, want) {
			t.Fatalf("released the code %v, want %v (the start-up's, not a collection's)", code, want)
		}
		gc() // due within releaseGap, but stopped first
		close(done)
		<-exited
		step(time.Minute)
		if !slices.Equal(at, want) {
			t.Fatalf("released at %v after the stop, want %v", at, want)
		}
	})
}

// TestNotifyGC: each garbage collection is reported.
func TestNotifyGC(t *testing.T) {
	c := make(chan struct{}, 1)
	notifyGC(c)
	for i := range 3 {
		runtime.GC()
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("collection %d not reported", i+1)
		}
	}
}
