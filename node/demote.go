package node

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
)

// demoter keeps what the node knows of every group's demotion: the
// levels it sets itself (admin, health, hold-down: the group's own), the
// carrier of its interface, and its sync group; from those it derives the
// sync demotion of every member of a sync group.
//
// # Sync groups
//
// A member fails when its interface has no carrier (its group is out of
// the election, as in INIT) or when it is demoted by a source of its own
// (admin, health, hold-down, maintenance);
// its failure level is 255 without carrier, else its own demotion. The
// level of a sync group is the highest failure level of its members (and
// of the other processes' members, Node.SetRemoteSync); every member is
// demoted to at least that level: the sync source gives it the difference
// between the level and its own demotion (members of its own processes
// only: the level a member gets takes out its own failure, so that a
// failing member is not told its own failure twice). All members of a
// sync group thus advertise the same demotion, the highest of theirs, and
// the peer takes them all when it takes one.
//
// The failure level reads the member's own sources only, never the sync
// source nor the outcome of an election: it is a function of carriers,
// probes, hold-downs and operators, none of which the sync demotion
// changes. So a member that is demoted by sync never demotes another, and
// there is no loop to oscillate or to lock (A demoting B demoting A). For
// the same reason a member that a preferred peer takes over from, with no
// fault of its own, does not drag the others: counting it would let two
// hosts that prefer different members of one sync group take them from
// each other for ever; with the members' preferences alike (the sane
// configuration) that peer takes them all anyway.
//
// The sync demotions are set by one goroutine at a time, started when
// something changes and ending when nothing is left to do: the groups'
// loops and the probes only record and signal, never wait for another
// group, so no two groups wait for each other.
type demoter struct {
	mu      sync.Mutex
	members map[*group.Group]*demoted
	// remote is the level of each sync group in other processes.
	remote  map[string]int
	dirty   bool // the sync demotions must be computed again
	running bool // a worker computes them
	idle    *sync.Cond
	// synced, if set, is told of each sync demotion the worker set, on
	// the worker's goroutine.
	synced func(g *group.Group, syncGroup string, level int)
}

// demoted is one group as the demoter sees it.
type demoted struct {
	id        ID
	name      string         // its name in the control plane
	ignoreIf  bool           // ignoreifstate: only a down interface fails it
	syncGroup string         // "" for none
	own       map[string]int // its own sources' levels (not sync)
	down      bool           // its interface has no carrier
	applied   int            // the sync level last set
	// The boot hold-down: while held, the group is demoted by
	// holdDownLevel until holdUntil or, with untilHealthy, until its
	// health demotion is 0.
	held         bool
	holdUntil    time.Time
	untilHealthy bool
	timer        *time.Timer
}

// holdDownLevel is the demotion of the boot hold-down: the most there
// is, as OpenBSD's carpdemote 128 at boot outranks every running peer.
const holdDownLevel = carp.MaxDemotion

func (d *demoter) init() {
	if d.members == nil {
		d.members = map[*group.Group]*demoted{}
		d.remote = map[string]int{}
		d.idle = sync.NewCond(&d.mu)
	}
}

// ownLevel is the sum of a member's own sources, capped.
func (m *demoted) ownLevel() int {
	sum := 0
	for _, l := range m.own {
		sum += l
	}
	return min(sum, carp.MaxDemotion)
}

// failure is a member's failure level for its sync group.
func (m *demoted) failure() int {
	if m.down {
		return carp.MaxDemotion
	}
	return m.ownLevel()
}

// carrierDown says whether a group of cfg is out of the election with its
// interface in state st, as the group itself decides (group.Run): a down
// interface always, a missing carrier unless ignoreifstate.
func carrierDown(st platform.LinkState, ignoreIfState bool) bool {
	return !st.Up || !st.Running && !ignoreIfState
}

// add registers a running group, whose interface is in state st.
func (d *demoter) add(g *group.Group, s Spec, st platform.LinkState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	c := s.Config
	d.members[g] = &demoted{id: s.ID(), name: s.GroupName(), ignoreIf: c.IgnoreIfState, syncGroup: s.SyncGroup,
		own: map[string]int{}, down: carrierDown(st, c.IgnoreIfState)}
	d.kick()
}

// remove forgets a group that ended.
func (d *demoter) remove(g *group.Group) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[g]; m != nil {
		if m.timer != nil {
			m.timer.Stop()
		}
		delete(d.members, g)
		d.kick()
	}
}

// respec follows a group's spec changed in place (a reload).
func (d *demoter) respec(g *group.Group, s Spec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[g]; m != nil {
		m.syncGroup, m.name, m.ignoreIf = s.SyncGroup, s.GroupName(), s.Config.IgnoreIfState
		d.kick()
	}
}

// setLink records the state of a group's interface.
func (d *demoter) setLink(g *group.Group, st platform.LinkState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[g]; m != nil {
		if down := carrierDown(st, m.ignoreIf); down != m.down {
			m.down = down
			d.kick()
		}
	}
}

// names returns a group's identity and control-plane name.
func (d *demoter) names(g *group.Group) (ID, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[g]; m != nil {
		return m.id, m.name
	}
	return ID{}, ""
}

// set sets a group's own source to level, on the group and here, and
// returns the group's demotion after it.
func (d *demoter) set(g *group.Group, source string, level int) int {
	level = d.record(g, source, level)
	return g.SetDemotion(source, level)
}

// record records a group's own source at level, which the group sets
// itself (its maintenance), and returns the level clamped.
func (d *demoter) record(g *group.Group, source string, level int) int {
	level = max(0, min(level, carp.MaxDemotion))
	d.mu.Lock()
	if m := d.members[g]; m != nil {
		if level == 0 {
			delete(m.own, source)
		} else {
			m.own[source] = level
		}
		d.kick()
	}
	d.mu.Unlock()
	return level
}

// kick makes a worker compute the sync demotions again, with d.mu held.
func (d *demoter) kick() {
	d.dirty = true
	if !d.running {
		d.running = true
		go d.work()
	}
}

// syncChange is a sync demotion to set.
type syncChange struct {
	g         *group.Group
	syncGroup string
	level     int
}

// work sets the sync demotions until nothing changed while it did.
func (d *demoter) work() {
	for {
		d.mu.Lock()
		if !d.dirty {
			d.running = false
			d.idle.Broadcast()
			d.mu.Unlock()
			return
		}
		d.dirty = false
		changes := d.compute()
		synced := d.synced
		d.mu.Unlock()
		for _, c := range changes {
			c.g.SetDemotion(group.DemotionSync, c.level)
			if synced != nil {
				synced(c.g, c.syncGroup, c.level)
			}
		}
	}
}

// compute returns the sync demotions that must change, and records them
// as applied, with d.mu held. Each member's level is the highest failure
// of the others: the group's highest, or its second when the member is
// the one that has the highest (two passes, linear in the groups).
func (d *demoter) compute() []syncChange {
	type top struct {
		first, second int
		by            *group.Group // whose failure is first
	}
	tops := map[string]*top{}
	for g, m := range d.members {
		if m.syncGroup == "" {
			continue
		}
		t := tops[m.syncGroup]
		if t == nil {
			t = &top{}
			tops[m.syncGroup] = t
		}
		switch f := m.failure(); {
		case t.by == nil || f > t.first:
			t.second, t.first, t.by = t.first, f, g
		case f > t.second:
			t.second = f
		}
	}
	var out []syncChange
	for g, m := range d.members {
		want := 0
		if t := tops[m.syncGroup]; t != nil {
			level := t.first
			if t.by == g {
				level = t.second
			}
			want = max(0, max(level, d.remote[m.syncGroup])-m.ownLevel())
		}
		if want != m.applied {
			m.applied = want
			out = append(out, syncChange{g, m.syncGroup, want})
		}
	}
	return out
}

// wait returns once no worker runs: the sync demotions are set (tests).
func (d *demoter) wait() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	for d.running {
		d.idle.Wait()
	}
}

// localLevels is the failure level of each sync group of this process's
// groups: what the process tells the others (SyncState).
func (d *demoter) localLevels() map[string]SyncLevel {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]SyncLevel{}
	for _, m := range d.members {
		if m.syncGroup == "" {
			continue
		}
		l := out[m.syncGroup]
		l.Level = max(l.Level, m.failure())
		l.Members = append(l.Members, m.name)
		out[m.syncGroup] = l
	}
	for name, l := range out {
		slices.Sort(l.Members)
		out[name] = l
	}
	return out
}

// SyncLevel is a sync group's failure level in one process, and the
// members it has there.
type SyncLevel struct {
	Level   int
	Members []string
}

// setRemote replaces the levels heard from the other processes.
func (d *demoter) setRemote(levels map[string]int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	if maps.Equal(levels, d.remote) {
		return
	}
	d.remote = maps.Clone(levels)
	if d.remote == nil {
		d.remote = map[string]int{}
	}
	d.kick()
}

// remoteLevel is the level of a sync group in the other processes.
func (d *demoter) remoteLevel(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.remote[name]
}

// holdDown starts a group's boot hold-down, which ends at until, or when
// the group is healthy with untilHealthy (see healthy); end is called
// from the timer's goroutine when the time is up.
func (d *demoter) holdDown(g *group.Group, until time.Time, untilHealthy bool, end func()) {
	d.mu.Lock()
	m := d.members[g]
	if m == nil {
		d.mu.Unlock()
		return
	}
	m.held, m.holdUntil, m.untilHealthy = true, until, untilHealthy
	m.timer = time.AfterFunc(time.Until(until), end)
	d.mu.Unlock()
	d.set(g, group.DemotionHoldDown, holdDownLevel)
}

// endHoldDown ends a group's hold-down, once; it reports whether it was
// held.
func (d *demoter) endHoldDown(g *group.Group) bool {
	d.mu.Lock()
	m := d.members[g]
	if m == nil || !m.held {
		d.mu.Unlock()
		return false
	}
	m.held = false
	if m.timer != nil {
		m.timer.Stop()
	}
	d.mu.Unlock()
	d.set(g, group.DemotionHoldDown, 0)
	return true
}

// heldUntilHealthy reports whether g is held down until it is healthy.
func (d *demoter) heldUntilHealthy(g *group.Group) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.members[g]
	return m != nil && m.held && m.untilHealthy
}

// holdStatus says whether a group is held down, and until when.
func (d *demoter) holdStatus(g *group.Group) (held bool, until time.Time, untilHealthy bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[g]; m != nil && m.held {
		return true, m.holdUntil, m.untilHealthy
	}
	return false, time.Time{}, false
}

// stopTimers stops every hold-down's timer, for Stop.
func (d *demoter) stopTimers() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.members {
		if m.timer != nil {
			m.timer.Stop()
		}
	}
}

// SetRemoteSync sets the failure level of each sync group in the other
// processes of the host (SyncPeers); a name absent is at 0. The members
// of those names here are demoted to at least that level.
func (n *Node) SetRemoteSync(levels map[string]int) { n.dem.setRemote(levels) }

// SyncState is the failure level of each sync group of the node's groups,
// by name: what the other processes read through sync-state.
func (n *Node) SyncState() []control.SyncState {
	levels := n.dem.localLevels()
	out := make([]control.SyncState, 0, len(levels))
	for _, name := range slices.Sorted(maps.Keys(levels)) {
		out = append(out, control.SyncState{Name: name, Level: levels[name].Level, Members: levels[name].Members})
	}
	return out
}
