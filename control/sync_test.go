package control_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

// syncBackend is a backend with sync groups.
type syncBackend struct {
	*controltest.Backend
	states []control.SyncState
}

func (b syncBackend) SyncState() []control.SyncState { return b.states }

// TestSyncState: sync-state answers a SyncBackend's levels, to anyone
// (it changes nothing), with [] rather than null when there are none;
// a backend without sync groups answers not-supported.
func TestSyncState(t *testing.T) {
	want := []control.SyncState{{Name: "pair", Level: 255, Members: []string{"eth0-1"}}}
	b := syncBackend{controltest.New(), want}
	c := dial(t, serve(t, b, control.Options{}, as(1000, 1000)))
	got, err := c.SyncState()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("sync-state: %+v, %v", got, err)
	}
	rw := rawConn(t, serve(t, syncBackend{controltest.New(), nil}, control.Options{}))
	if line := rw.roundTrip(`{"verb":"sync-state"}`); line != `{"v":1,"ok":true,"sync":[]}`+"\n" {
		t.Errorf("no sync group: %s", line)
	}
	c = dial(t, serve(t, controltest.New(), control.Options{}))
	if _, err := c.SyncState(); !errors.Is(err, control.ErrNotSupported) {
		t.Fatalf("a backend without sync groups: %v", err)
	}
}
