package node

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// DefaultSyncInterval is how often SyncPeers asks the other daemons.
const DefaultSyncInterval = time.Second

// syncHold is how many intervals the last answer of a daemon counts for
// once it stops answering: one that misses some polls (busy, slow to
// answer) does not make the levels it reported go off and on again; one
// that is gone for longer stops counting.
const syncHold = 3

// SyncPeers shares the node's sync groups with the other daemons of the
// host, until ctx is done: every interval, while the node has groups in
// a sync group, it asks each control socket in dir but self for its sync
// groups (the sync-state verb) and demotes the members here to the
// highest level heard for their name (SetRemoteSync). It pulls only: each
// daemon answers with its own members' failures, never with what it
// heard, so a level cannot echo between daemons and outlive its cause. A
// socket that does not answer within the interval keeps its last answer
// for syncHold intervals (see syncMemory), then counts for nothing: a
// daemon that is gone holds no address and fails nobody; nor does one
// served by another user than root or this daemon's.
func (n *Node) SyncPeers(ctx context.Context, dir, self string, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	self = filepath.Clean(self)
	t := time.NewTicker(interval)
	defer t.Stop()
	mem := syncMemory{hold: syncHold}
	for {
		if len(n.dem.localLevels()) > 0 {
			sockets, answers := askSync(dir, self, max(interval/2, 100*time.Millisecond))
			n.SetRemoteSync(mem.update(sockets, answers))
		} else {
			mem = syncMemory{hold: mem.hold}
			n.SetRemoteSync(nil)
		}
		select {
		case <-ctx.Done():
			n.SetRemoteSync(nil)
			return
		case <-t.C:
		}
	}
}

// syncMemory is the last answer of each daemon, and how many polls it
// missed since. Polls, not the clock: a dial or a read that times out
// stretches a poll well beyond the interval, and a daemon must not be
// forgotten because another one was slow.
type syncMemory struct {
	hold int                  // the polls an answer outlives
	last map[string]heardSync // by socket
}

type heardSync struct {
	levels map[string]int
	missed int // polls since the answer
}

// update takes a poll: the sockets of the directory, and the answers of
// those that answered. It returns the highest level of each name among
// the answers that count: this poll's, and a socket's last one for hold
// missed polls after it, while the socket is there (one removed, its
// daemon is gone).
func (m *syncMemory) update(sockets []string, answers map[string]map[string]int) map[string]int {
	if m.last == nil {
		m.last = map[string]heardSync{}
	}
	for p, h := range m.last {
		h.missed++
		m.last[p] = h
	}
	for p, l := range answers {
		m.last[p] = heardSync{levels: l}
	}
	levels := map[string]int{}
	for p, h := range m.last {
		if !slices.Contains(sockets, p) || h.missed > m.hold {
			delete(m.last, p)
			continue
		}
		for name, l := range h.levels {
			levels[name] = max(levels[name], l)
		}
	}
	return levels
}

// trustedUID says whether a socket served by uid may demote the groups
// here: root's, or this daemon's own user's. A variable for the tests.
var trustedUID = func(uid uint32) bool { return uid == 0 || int(uid) == os.Geteuid() }

// pollSync asks every socket of dir but self for its sync groups, and
// returns the highest level of each name.
func pollSync(dir, self string, timeout time.Duration) map[string]int {
	_, answers := askSync(dir, self, timeout)
	return (&syncMemory{}).update(slices.Collect(maps.Keys(answers)), answers)
}

// askSync asks every socket of dir but self for its sync groups: it
// returns the sockets, and the levels of each that answered.
func askSync(dir, self string, timeout time.Duration) (sockets []string, answers map[string]map[string]int) {
	paths, err := control.Sockets(dir)
	if err != nil {
		return nil, nil
	}
	answers = map[string]map[string]int{}
	for _, p := range paths {
		if filepath.Clean(p) == self {
			continue
		}
		sockets = append(sockets, p)
		c, err := control.DialTimeout(p, timeout)
		if err != nil {
			continue
		}
		// Only a daemon of root or of this daemon's own user may demote the
		// groups here: with --control in a directory others can write to,
		// anyone could put a socket beside ours.
		if uid, ok := c.ServerUID(); !ok || !trustedUID(uid) {
			c.Close()
			continue
		}
		states, err := c.SyncState()
		c.Close()
		if err != nil {
			continue
		}
		levels := map[string]int{}
		for _, s := range states {
			levels[s.Name] = max(levels[s.Name], min(max(s.Level, 0), control.MaxDemotion))
		}
		answers[p] = levels
	}
	return sockets, answers
}
