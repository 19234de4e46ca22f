package node

import (
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// Each group's loop asks Deps.NewTimer for its timer (the daemon's: one
// timerfd for the process); one that cannot be made leaves the group a
// time.Timer, and it runs as before.
func TestNodeLoopTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		var made atomic.Int32
		a.deps.NewTimer = func() (platform.Timer, error) {
			made.Add(1)
			return nil, errors.New("test: no timerfd")
		}
		if err := a.Apply([]Spec{a.spec(1, 0), a.spec(2, 0)}); err != nil {
			t.Fatal(err)
		}
		<-a.Ready()
		defer a.Stop(syscall.SIGTERM)
		settle(5 * time.Second)
		if made.Load() != 2 {
			t.Fatalf("%d loop timers asked for, want one per group (2)", made.Load())
		}
		wantHolders(t, "1,2", a)
	})
}
