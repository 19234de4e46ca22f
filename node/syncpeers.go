package node

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// DefaultSyncInterval is how often SyncPeers asks the other daemons.
const DefaultSyncInterval = time.Second

// SyncPeers shares the node's sync groups with the other daemons of the
// host, until ctx is done: every interval, while the node has groups in
// a sync group, it asks each control socket in dir but self for its sync
// groups (the sync-state verb) and demotes the members here to the
// highest level heard for their name (SetRemoteSync). It pulls only: each
// daemon answers with its own members' failures, never with what it
// heard, so a level cannot echo between daemons and outlive its cause. A
// socket that does not answer within the interval counts for nothing: a
// daemon that is gone holds no address and fails nobody; nor does one
// served by another user than root or this daemon's.
func (n *Node) SyncPeers(ctx context.Context, dir, self string, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	self = filepath.Clean(self)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if len(n.dem.localLevels()) > 0 {
			n.SetRemoteSync(pollSync(dir, self, max(interval/2, 100*time.Millisecond)))
		} else {
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

// trustedUID says whether a socket served by uid may demote the groups
// here: root's, or this daemon's own user's. A variable for the tests.
var trustedUID = func(uid uint32) bool { return uid == 0 || int(uid) == os.Geteuid() }

// pollSync asks every socket of dir but self for its sync groups, and
// returns the highest level of each name.
func pollSync(dir, self string, timeout time.Duration) map[string]int {
	paths, err := control.Sockets(dir)
	if err != nil {
		return nil
	}
	levels := map[string]int{}
	for _, p := range paths {
		if filepath.Clean(p) == self {
			continue
		}
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
		for _, s := range states {
			levels[s.Name] = max(levels[s.Name], min(max(s.Level, 0), control.MaxDemotion))
		}
	}
	return levels
}
