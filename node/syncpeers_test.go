package node

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// serveNode serves tn's control socket at path until the test ends.
func serveNode(t *testing.T, tn *testNode, path string) (stop func()) {
	t.Helper()
	return controltest.Serve(t, path, tn, control.Options{})
}

// eventually polls cond every 10 ms for at most 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func syncLevel(tn *testNode, i int) int { return tn.Status()[i].Timing.Demotions[control.DemotionSync] }

// TestSyncPeers: two daemons of one host (two nodes, each with its
// control socket in one directory) share sync group "s" through
// sync-state: a demotion of A's member reaches B's, a promotion takes it
// back, a member of another name is left alone, and a daemon that is
// gone fails nobody. Real sockets, real time: not under synctest.
func TestSyncPeers(t *testing.T) {
	dir := t.TempDir()
	var lan0, lan1 platformtest.LAN
	a, b := newTestNode(&lan0, 11), newTestNode(&lan1, 12)
	sa := a.spec(1, 0)
	sa.SyncGroup = "s"
	sb1, sb2 := b.spec(2, 0), b.spec(3, 0)
	sb1.SyncGroup, sb2.SyncGroup = "s", "other"
	a.run(t, sa)
	b.run(t, sb1, sb2)
	pa, pb := filepath.Join(dir, "eth0-1.sock"), filepath.Join(dir, "eth0-2.sock")
	stopA := serveNode(t, a, pa)
	serveNode(t, b, pb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, 2)
	go func() { a.SyncPeers(ctx, dir, pa, 20*time.Millisecond); done <- struct{}{} }()
	go func() { b.SyncPeers(ctx, dir, pb, 20*time.Millisecond); done <- struct{}{} }()

	a.Demote("eth0-1", 70)
	eventually(t, "B's member of s demoted by 70", func() bool { return syncLevel(b, 0) == 70 })
	if l := syncLevel(b, 1); l != 0 {
		t.Fatalf("the member of another sync group is demoted by %d", l)
	}
	if l := syncLevel(a, 0); l != 0 {
		t.Fatalf("A's failing member is demoted by its own failure echoed back: %d", l)
	}
	ex, _ := b.Explain("eth0-2")
	if want := "another process reports level 70"; !contains(ex, want) {
		t.Fatalf("explain lacks %q: %s", want, ex)
	}
	b.Demote("eth0-2", 30)
	eventually(t, "A's member demoted by B's 30 less its own 70: 0", func() bool { return syncLevel(a, 0) == 0 })
	a.Promote("eth0-1")
	eventually(t, "A's member demoted by B's 30", func() bool { return syncLevel(a, 0) == 30 })
	eventually(t, "B's member undemoted", func() bool { return syncLevel(b, 0) == 0 })
	a.Demote("eth0-1", 90)
	eventually(t, "B's member demoted by A's 90 less its own 30", func() bool { return syncLevel(b, 0) == 60 })
	stopA() // A's daemon is gone
	eventually(t, "B's member no longer demoted by a daemon that is gone", func() bool { return syncLevel(b, 0) == 0 })
	cancel()
	<-done
	<-done
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestSyncPeersUntrusted: a socket served by a user other than root or
// the daemon's own (one that anyone could have put beside ours when
// --control names a directory others can write to) demotes nobody.
func TestSyncPeersUntrusted(t *testing.T) {
	dir := t.TempDir()
	var lan0, lan1 platformtest.LAN
	a, b := newTestNode(&lan0, 11), newTestNode(&lan1, 12)
	sa, sb := a.spec(1, 0), b.spec(2, 0)
	sa.SyncGroup, sb.SyncGroup = "s", "s"
	a.run(t, sa)
	b.run(t, sb)
	pa, pb := filepath.Join(dir, "eth0-1.sock"), filepath.Join(dir, "eth0-2.sock")
	serveNode(t, a, pa)
	serveNode(t, b, pb)
	a.Demote("eth0-1", 70)
	trusted := trustedUID
	defer func() { trustedUID = trusted }()
	trustedUID = func(uint32) bool { return false } // as if A's socket were another user's
	if got := pollSync(dir, pb, time.Second); len(got) != 0 {
		t.Fatalf("an untrusted socket's sync state was taken: %v", got)
	}
	trustedUID = trusted
	if got := pollSync(dir, pb, time.Second); got["s"] != 70 {
		t.Fatalf("the trusted socket's sync state: %v, want s at 70", got)
	}
}

// TestSyncMemory: a daemon that answers only some polls keeps its last
// levels for the hold (no flapping); one silent for longer, or whose
// socket is gone, counts for nothing; a new answer replaces the old. The
// hold is counted in polls, not time: polls that timeouts stretch (they
// were 10 s apart here, and dropped a daemon after one miss) forget
// nobody sooner.
func TestSyncMemory(t *testing.T) {
	const a, b = "/run/ucarp/a.sock", "/run/ucarp/b.sock"
	m := syncMemory{hold: syncHold}
	both := []string{a, b}
	for i, tc := range []struct {
		sockets []string
		answers map[string]map[string]int
		want    map[string]int
	}{
		{both, map[string]map[string]int{a: {"s": 70}, b: {"s": 20, "t": 5}}, map[string]int{"s": 70, "t": 5}},
		{both, map[string]map[string]int{b: {"s": 20}}, map[string]int{"s": 70}},               // a missed one: kept
		{both, map[string]map[string]int{a: {"s": 70}}, map[string]int{"s": 70}},               // b missed one
		{both, map[string]map[string]int{a: {"s": 10}, b: {"s": 20}}, map[string]int{"s": 20}}, // a's new level
		{both, map[string]map[string]int{}, map[string]int{"s": 20}},
		{both, map[string]map[string]int{}, map[string]int{"s": 20}},
		{both, map[string]map[string]int{}, map[string]int{"s": 20}}, // 3 missed: still
		{both, map[string]map[string]int{}, map[string]int{}},        // 4 missed: gone
		{both, map[string]map[string]int{a: {"s": 40}}, map[string]int{"s": 40}},
		{[]string{b}, map[string]map[string]int{}, map[string]int{}}, // a's socket removed: at once
	} {
		got := m.update(tc.sockets, tc.answers)
		if !maps.Equal(got, tc.want) {
			t.Fatalf("poll %d: %v, want %v", i, got, tc.want)
		}
	}
}
