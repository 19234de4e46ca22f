package group

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vrrp"
)

// AddrState says whether a group's address is on its interface.
type AddrState uint8

const (
	// AddrUnknown: the scripts manage the address, or looking it up
	// failed.
	AddrUnknown AddrState = iota
	AddrAbsent
	AddrConfigured
)

// AddrStatus is one of the group's addresses and whether it is on the
// interface.
type AddrStatus struct {
	Prefix netip.Prefix
	State  AddrState
	// Conflicts counts the claims of the address by another MAC heard
	// while MASTER (conflict.go).
	Conflicts uint64
}

// maxPeers and maxTransitions bound what a group remembers for Status.
const (
	maxPeers       = 16
	maxTransitions = 16
)

// Peer is another host heard on the group: its last valid advert.
type Peer struct {
	Source   netip.Addr
	AdvBase  uint8
	AdvSkew  uint8
	Demote   uint8
	Counter  uint64
	LastSeen time.Time
	// Priority and Interval (centiseconds) are a VRRPv3 peer's.
	Priority uint8
	Interval uint16
}

// Transition is a change of state.
type Transition struct {
	Time     time.Time
	From, To carp.State
	Reason   carp.Reason
}

// Counters are what SIGUSR1 reports.
type Counters struct {
	Sent, SendErrors, Valid uint64
	// Dropped counts the packets that were not valid adverts, by
	// reason; only the reasons seen are present.
	Dropped                            map[string]uint64
	GARPs, GARPErrors, Transitions     uint64
	ScriptsOK, ScriptsFailed, Timeouts uint64
	// PeerSendErrors counts the adverts not sent to one unicast peer,
	// each peer apart; an advert that reached another peer is not a
	// send error.
	PeerSendErrors uint64
}

// Status is a snapshot of a group, taken in its loop.
type Status struct {
	Interface string
	VHID      uint8
	State     carp.State
	Since     time.Time
	Reason    carp.Reason
	// Addr is the first address; AddrState is AddrConfigured when every
	// address is on the interface, AddrAbsent when one is not.
	Addr      netip.Prefix
	AddrState AddrState
	// Addrs is every address of the group, the first first, each with its
	// own state.
	Addrs   []AddrStatus
	AdvBase uint8
	AdvSkew uint8
	// Demotion is the sum of the levels set by SetDemotion, capped at
	// carp.MaxDemotion; Demotions holds each source's level that is not 0.
	Demotion  int
	Demotions map[string]int
	DeadTime  time.Duration
	// Peers, the most recently heard last.
	Peers []Peer
	// Transitions, the most recent last: at most the last 16.
	Transitions []Transition
	Counters    Counters
	// Maintenance is SetMaintenance's state.
	Maintenance Maintenance
	// LastConflict is the last claim of an address by another MAC heard
	// while MASTER; its Time is zero when there was none.
	LastConflict Conflict
	// UnicastPeers are the configured unicast peers (Config.Peers); none:
	// multicast.
	UnicastPeers []netip.Addr
	// Auth is --auth's state: the mode, the key ids and the verdicts.
	Auth AuthStatus
	// Protocol is the group's protocol. A VRRPv3 group has Priority, the
	// priority it advertises now (demotion included), and AdvertInterval
	// and MasterAdverInterval (its master's, as learned), in centiseconds;
	// its DeadTime is Master_Down_Interval.
	Protocol                            Protocol
	Priority                            uint8
	AdvertInterval, MasterAdverInterval uint16
}

// Status returns a snapshot of the group.
func (d *Group) Status() Status {
	var s Status
	d.inLoop(func() { s = d.status() })
	return s
}

func (d *Group) status() Status {
	c := d.cfg
	s := Status{
		Interface: c.Interface, VHID: c.VHID, State: d.m.State(), Since: d.since, Reason: d.reason,
		Addr: c.Addr, AdvBase: c.AdvBase, AdvSkew: c.AdvSkew, Demotion: d.demotion,
		Demotions:    maps.Clone(d.demotions),
		DeadTime:     carp.DeadInterval(c.AdvBase, c.DeadRatio, c.AdvSkew),
		Peers:        slices.Clone(d.peers),
		Transitions:  slices.Clone(d.transitions),
		Maintenance:  d.maint.Maintenance,
		UnicastPeers: slices.Clone(c.Peers),
		Auth:         d.authStatus(),
	}
	s.Addrs, s.AddrState = d.addrStatus()
	for i, n := range d.conf.count {
		if i < len(s.Addrs) {
			s.Addrs[i].Conflicts = n
		}
	}
	s.LastConflict = d.conf.last
	st := &d.stats
	s.Counters = Counters{Sent: st.sent, SendErrors: st.sendErrors, Valid: st.valid,
		GARPs: st.garps, GARPErrors: st.garpErrors, Transitions: st.transitions,
		ScriptsOK: st.scriptsOK, ScriptsFailed: st.scriptFails, Timeouts: st.scriptTOs,
		PeerSendErrors: st.peerSendErrors, Dropped: map[string]uint64{}}
	for r := carp.DropReason(1); r < carp.NumDropReasons; r++ {
		if n := d.drops[r].Load(); n > 0 {
			s.Counters.Dropped[r.String()] = n
		}
	}
	if n := d.queueFull.Load(); n > 0 {
		s.Counters.Dropped["queue full"] = n
	}
	d.vrrpDrops(func(name string, n uint64) { s.Counters.Dropped[name] = n })
	s.Protocol = c.Protocol
	if d.vm != nil {
		s.Priority = d.vm.Priority()
		s.AdvertInterval = d.vm.m.Config().Interval
		s.MasterAdverInterval = d.vm.m.MasterAdverInterval()
		s.DeadTime = vrrp.MasterDownInterval(s.Priority, s.MasterAdverInterval)
		s.AdvBase, s.AdvSkew = 0, 0
	}
	return s
}

// addrStatus looks every address up: each one's state, and the state of
// the set (AddrConfigured when every address is held). All are
// AddrUnknown when the scripts manage the addresses, and so is one whose
// lookup failed, and then the set.
func (d *Group) addrStatus() ([]AddrStatus, AddrState) {
	ps := d.cfg.addrs()
	out := make([]AddrStatus, len(ps))
	for i, p := range ps {
		out[i].Prefix = p
	}
	if d.vips == nil {
		return out, AddrUnknown
	}
	set := AddrConfigured
	for i, m := range d.vips.ms {
		if i >= len(out) {
			break
		}
		st, err := m.Check()
		switch {
		case err != nil:
			out[i].State = AddrUnknown
			set = AddrUnknown
			continue
		case st.Held:
			out[i].State = AddrConfigured
		default:
			out[i].State = AddrAbsent
		}
		if out[i].State != AddrConfigured && set == AddrConfigured {
			set = AddrAbsent
		}
	}
	return out, set
}

// heard records a valid advert from src, keeping at most maxPeers: the
// peer heard least recently goes first.
func (d *Group) heard(now time.Time, src netip.Addr, h *carp.Event) {
	p := Peer{Source: src, AdvBase: h.AdvBase, AdvSkew: h.AdvSkew, Demote: h.Demote, Counter: h.Counter, LastSeen: now}
	if i := slices.IndexFunc(d.peers, func(p Peer) bool { return p.Source == src }); i >= 0 {
		d.peers = slices.Delete(d.peers, i, i+1)
	} else if len(d.peers) >= maxPeers {
		d.peers = slices.Delete(d.peers, 0, 1)
	}
	d.peers = append(d.peers, p)
}

// record keeps a transition for Status.
func (d *Group) record(t Transition) {
	d.since, d.reason = t.Time, t.Reason
	if len(d.transitions) >= maxTransitions {
		d.transitions = slices.Delete(d.transitions, 0, 1)
	}
	d.transitions = append(d.transitions, t)
}

// Sources of demotion.
const (
	DemotionAdmin  = "admin"  // the operator's, through the control socket (ucarpctl demote)
	DemotionHealth = "health" // the group's failing health probes
	// DemotionHoldDown is the boot hold-down (node: --hold-down) and
	// DemotionSync the failure of another member of the group's sync
	// group (node: sync-group).
	DemotionHoldDown = "hold-down"
	DemotionSync     = "sync"
)

// SetDemotion sets the group's persistent demotion by source, 0 to 255,
// and returns the group's demotion after it: the sum of every source's,
// capped at 255 (carp.Machine.SetDemotion). It is added to the skew the
// group advertises until it is set again, and the election rules move
// the MASTER from there. The sources are kept apart so that one does not
// undo another: promoting a group that an operator demoted leaves the
// demotion of its failing probes. Values out of range are clamped.
// Before Run it returns at once, and Run starts demoted: a hold-down set
// then leaves no moment in which the group could preempt undemoted.
func (d *Group) SetDemotion(source string, level int) int {
	d.startMu.Lock()
	if !d.started {
		defer d.startMu.Unlock()
		return d.setDemotionLocked(source, level)
	}
	d.startMu.Unlock()
	var total int
	d.inLoop(func() { total = d.setDemotion(source, level) })
	return total
}

// setDemotion is SetDemotion in the loop.
func (d *Group) setDemotion(source string, level int) int {
	total := d.setDemotionLocked(source, level)
	if total == d.m.Demotion() {
		return total
	}
	// The machine answers with timer moves only.
	now := time.Now()
	if total > d.m.Demotion() && d.m.State() == carp.Master {
		// A peer is to take over at the next advert: its announcement
		// is no conflict.
		d.quietFor(now)
		d.conf.quiet = d.conf.quiet.Add(d.conf.quiet.Sub(now))
	}
	d.out = d.m.SetDemotion(now, total, d.out[:0])
	for _, a := range d.out {
		d.apply(now, a)
	}
	return total
}

// setDemotionLocked records source's level and returns the sum, capped:
// the loop, or nothing yet, owns the group.
func (d *Group) setDemotionLocked(source string, level int) int {
	level = max(0, min(level, carp.MaxDemotion))
	if level == 0 {
		delete(d.demotions, source)
	} else {
		if d.demotions == nil {
			d.demotions = map[string]int{}
		}
		d.demotions[source] = level
	}
	sum := 0
	for _, l := range d.demotions {
		sum += l
	}
	d.demotion = min(sum, carp.MaxDemotion)
	return d.demotion
}
