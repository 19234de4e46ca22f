package carp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

//go:generate stringer -type=State,Timer,Reason,EventKind,Script,ActionKind -linecomment -output=machine_string.go

// State is the CARP state of one vhid.
//
//	                 master-down timer expired, or an advert that is
//	      Start      preemptible (-P) or "going to time out"
//	INIT ───────► BACKUP ─────────────────────────────────────► MASTER
//	  ▲             ▲  ◄──────────────────────────────────────────┘
//	  │             │    preferred master heard, demotion (SIGUSR2),
//	  │  Release    │    carrier lost
//	  └─────────────┴───────────────────────────────────────────── (any)
//
// A node always starts as BACKUP and waits one dead interval: there is no
// INIT → MASTER path, as in ucarp since 1.3.
type State uint8

// States, numbered as ucarp numbers them; the line comments are the
// names that String returns (go generate), as ucarp prints them.
const (
	Init   State = iota // INIT
	Backup              // BACKUP
	Master              // MASTER
)

// Timer names one of the machine's timers.
type Timer uint8

// Timers. The line comments are the names that String returns.
const (
	// TimerAdvert: a MASTER's next advert.
	TimerAdvert Timer = iota // advert
	// TimerMasterDown: a BACKUP's dead timer; when it expires the master
	// is considered gone.
	TimerMasterDown // master-down
	// TimerHold: the end of a demotion, after which a BACKUP contends again.
	TimerHold // hold
	// TimerMasterDown6: a dual-stack BACKUP's dead timer for IPv6 adverts
	// (the kernels' md6_tmo). An IPv6-only BACKUP uses TimerMasterDown.
	TimerMasterDown6 // master-down-ipv6

	NumTimers
)

// Reason says why the state changed, for logs and for the scripts'
// CARP_REASON variable.
type Reason uint8

// Reasons. The line comments are the names that String returns, the
// values of CARP_REASON.
const (
	ReasonNone Reason = iota // none
	// ReasonStart: the daemon started (INIT → BACKUP).
	ReasonStart // start
	// ReasonMasterDown: no advert was heard for the dead interval.
	ReasonMasterDown // master-down
	// ReasonPreempt: with -P, a master that advertises more slowly was heard.
	ReasonPreempt // preempt
	// ReasonTimeOut: the master advertises so slowly that it is bound to
	// time out (a bow-out advert, for instance).
	ReasonTimeOut // master-timing-out
	// ReasonPreferredMaster: a master that advertises faster, or equally
	// fast from a lower address, was heard.
	ReasonPreferredMaster // preferred-master
	// ReasonDemote: a demotion was requested (SIGUSR2).
	ReasonDemote // demote
	// ReasonCarrierLost: the interface lost its carrier.
	ReasonCarrierLost // carrier-lost
	// ReasonShutdown: the daemon is stopping.
	ReasonShutdown // shutdown

	// The reasons of a VRRPv3 group (vrrp.Reason) that CARP has no word
	// for; the machines share this vocabulary in logs, CARP_REASON and
	// the control plane. A CARP machine never gives them.

	// ReasonOwner: a VRRPv3 address owner (priority 255) is MASTER at once.
	ReasonOwner // owner
	// ReasonMasterLeft: Skew_Time after the VRRPv3 master's priority-0 advert.
	ReasonMasterLeft // master-left
	// ReasonHigherPriority: a VRRPv3 master of higher priority was heard.
	ReasonHigherPriority // higher-priority
	// ReasonHigherAddress: a VRRPv3 master of equal priority and higher
	// primary address was heard.
	ReasonHigherAddress // higher-address
)

// EventKind is the kind of an Event.
type EventKind uint8

// Event kinds. The line comments are the names that String returns.
const (
	// EventStart starts the machine: INIT → BACKUP.
	EventStart EventKind = iota + 1 // start
	// EventAdvert: a valid advert for this vhid was received.
	EventAdvert // advert
	// EventTimer: a timer armed by an ActionArmTimer is due.
	EventTimer // timer
	// EventSendResult: the outcome of an ActionSendAdvert.
	EventSendResult // send-result
	// EventLinkDown: the interface lost its carrier.
	EventLinkDown // link-down
	// EventLinkUp: the carrier is back.
	EventLinkUp // link-up
	// EventDemote: give up MASTER for the hold time (SIGUSR2).
	EventDemote // demote
	// EventRelease: the daemon is stopping.
	EventRelease // release
)

// Event is an input of the machine. Only the fields of its Kind are used.
type Event struct {
	Kind EventKind
	// EventAdvert: the sender and the advert's fields. The sender's
	// family says which dead timer the advert re-arms.
	Src     netip.Addr
	AdvBase uint8
	AdvSkew uint8
	Demote  uint8 // byte 4, OpenBSD's carp_demote
	Counter uint64
	// Own is this node's source toward Src when it is not Src6: the
	// global address that it sends its unicast adverts to a global IPv6
	// peer from. The IPv6 tie-break compares Src with the address the
	// peer sees of this node; unset, Src6.
	Own netip.Addr
	// EventTimer: which timer.
	Timer Timer
	// EventSendResult: the send failed.
	SendFailed bool
	// EventRelease: run the down script (ucarp's -z).
	RunDownScript bool
}

// AdvertEvent is the event for a valid advert h received from src.
func AdvertEvent(src netip.Addr, h *Header) Event {
	return Event{Kind: EventAdvert, Src: src.Unmap(), AdvBase: h.AdvBase, AdvSkew: h.AdvSkew, Demote: h.Demote, Counter: h.Counter}
}

// TimerEvent is the event for timer t being due.
func TimerEvent(t Timer) Event { return Event{Kind: EventTimer, Timer: t} }

// SendResultEvent is the outcome of sending an advert.
func SendResultEvent(failed bool) Event { return Event{Kind: EventSendResult, SendFailed: failed} }

// ReleaseEvent is the event for a stopping daemon; runDownScript is -z.
func ReleaseEvent(runDownScript bool) Event {
	return Event{Kind: EventRelease, RunDownScript: runDownScript}
}

// Script names a script.
type Script uint8

// Scripts. The line comments are the names that String returns.
const (
	ScriptUp   Script = iota + 1 // up
	ScriptDown                   // down
)

// ActionKind is the kind of an Action.
type ActionKind uint8

// Action kinds. The line comments are the names that String returns.
const (
	// ActionSendAdvert: sign Advert and send it. Report the outcome with
	// a SendResultEvent.
	ActionSendAdvert ActionKind = iota + 1 // send-advert
	// ActionRunScript: run Script for the transition From → To, Reason.
	ActionRunScript // run-script
	// ActionAddVIP: add the virtual address (when the daemon manages it).
	ActionAddVIP // add-vip
	// ActionRemoveVIP: remove the virtual address (when the daemon manages it).
	ActionRemoveVIP // remove-vip
	// ActionAnnounce: send a gratuitous ARP for the virtual address.
	ActionAnnounce // announce
	// ActionArmTimer: deliver TimerEvent(Timer) at At.
	ActionArmTimer // arm-timer
	// ActionStopTimer: Timer is no longer needed.
	ActionStopTimer // stop-timer
	// ActionLog: log Msg at Level.
	ActionLog // log
)

// Action is an output of the machine. The caller carries them out in
// order: scripts one at a time, and an ActionAnnounce that follows an
// ActionRunScript after that script has ended, as ucarp does.
type Action struct {
	Kind ActionKind
	// ActionSendAdvert: the advert, without its digest.
	Advert Header
	// ActionArmTimer, ActionStopTimer.
	Timer Timer
	At    time.Time
	// ActionRunScript; and ActionLog for MsgSwitchState.
	Script Script
	From   State
	To     State
	Reason Reason
	// ActionLog; and ActionAnnounce and ActionSendAdvert with
	// MsgNonPreferredMaster when they answer the advert of a master that
	// this one outranks (the caller may rate-limit both).
	Level Level
	Msg   Message
	Arg   int
	Arg2  int
}

// Config is the configuration of one vhid.
type Config struct {
	VHID      uint8
	AdvBase   uint8
	AdvSkew   uint8
	DeadRatio uint32
	// Preempt is -P: take over from masters that advertise more slowly.
	Preempt bool
	// Neutral is -n: no down script on the first INIT → BACKUP.
	Neutral bool
	// Src is this node's --srcip, for the equal-interval tie-break with
	// IPv4 adverts. It is an IPv4 address, unless Families is FamilyIPv6
	// alone, where it may be the IPv6 source.
	Src netip.Addr
	// Src6 is this node's IPv6 source (its link-local address), for the
	// equal-interval tie-break with IPv6 adverts. Unset, this node gives
	// way to an equal IPv6 master, as the BSD kernels always do.
	Src6 netip.Addr
	// Families are the address families the group advertises over: 0 is
	// FamilyIPv4, as ucarp. A dual-stack group keeps a dead timer per
	// family, as the BSD kernels do (bsd-carp-spec §3.4): the adverts of
	// one family re-arm only its own, and either expiring makes it MASTER.
	Families Family
	// Demote is sent in byte 4 of every advert (OpenBSD's carp_demote),
	// 0 as ucarp, and compared with the byte of received adverts as
	// OpenBSD compares them (see Machine): a lower value wins outright.
	Demote uint8
	// ManageVIP: the daemon adds and removes the virtual address itself,
	// so giving up MASTER always releases it.
	ManageVIP bool
	// DownScript: a down script is configured. Without ManageVIP, only
	// the down script releases the virtual address.
	DownScript bool
	// DemoteHold is how long a demotion keeps the node out of the
	// election; ucarp's is 3 s, the default.
	DemoteHold time.Duration
	// Random returns the random counters sent while no advert has been
	// heard. It must not be nil.
	Random func() uint64
	// Align puts a MASTER's adverts on a grid that every group with the
	// same interval shares (see alignedAdvert): in a process running
	// many groups, they then wake it up together, a few times per
	// interval, instead of each on its own. Off, the next advert is one
	// interval after the last, as ucarp sends them.
	Align bool
}

// Family is a set of address families.
type Family uint8

// Families.
const (
	FamilyIPv4 Family = 1 << iota
	FamilyIPv6
	FamilyBoth = FamilyIPv4 | FamilyIPv6
)

// AlignSlots is the number of grid points per advert interval between
// which aligned groups are spread by vhid, so that at most one group in
// sixteen of a process sends at once.
const AlignSlots = 16

// DefaultDemoteHold is ucarp's demotion time (sleep(3) after SIGUSR2).
const DefaultDemoteHold = 3 * time.Second

const (
	// sendErrorsMax and sendSuccessMin are CARP_SENDAD_MAX_ERRORS and
	// CARP_SENDAD_MIN_SUCCESS.
	sendErrorsMax  = 3
	sendSuccessMin = 3
	// suppressSkew is CARP_BULK_UPDATE_MIN_DELAY: the skew advertised
	// while send errors suppress preemption.
	suppressSkew = 240
	// delayedARPAdverts is the number of adverts after a takeover at which
	// the second gratuitous ARP goes out.
	delayedARPAdverts = 2
)

// Machine is the CARP state machine of one vhid, as ucarp 1.5.2 runs it
// (src/carp.c), with a bow-out advert added when the node gives up the
// virtual address on purpose. It does no I/O and reads no clock: every
// input is an Event with the current time, every output an Action.
//
// The demote byte enters the election as in OpenBSD's carp_proto_input_c,
// with my = Config.Demote and ch the byte of the advert heard:
//
//	MASTER → BACKUP  iff ch < my, or ch == my and the timing rules say so
//	BACKUP → MASTER  iff ch > my (even without -P), or -P, ch == my and
//	                 the master is slower, or the master is bound to time out
//
// With both bytes 0, as ucarp and FreeBSD send, these are ucarp's rules.
//
// An ActionSendAdvert is sent over every family of Config.Families, the
// same header each time.
type Machine struct {
	cfg    Config
	srcKey uint32
	state  State
	timers [NumTimers]time.Time
	// armedAt is when each timer's interval began: the last advert sent
	// (TimerAdvert); the last advert heard, the start, the end of a
	// demotion or the carrier's return (TimerMasterDown); the demotion
	// (TimerHold). Reconfigure counts new intervals from it.
	armedAt  [NumTimers]time.Time
	counter  advertCounter
	linkDown bool
	held     bool
	// demotion is added to the advertised skew (SetDemotion).
	demotion int

	// delayedARP is ucarp's sc_delayed_arp: -1 when idle, else the number
	// of adverts left before the delayed gratuitous ARP.
	delayedARP int

	// sendErrors, sendSuccess and suppress are ucarp's sc_sendad_errors,
	// sc_sendad_success and carp_suppress_preempt.
	sendErrors  int
	sendSuccess int
	suppress    int
}

// Configuration errors, each with ucarp's message where it has one.
var (
	errVHID      = errors.New("carp: vhid must be between 1 and 255")
	errTimeBase  = errors.New("carp: advbase and advskew cannot both be zero")
	errDeadRatio = errors.New("carp: dead ratio cannot be zero")
	errSrc       = errors.New("carp: source address must be IPv4")
	errFamilies  = errors.New("carp: unknown address family")
	errRandom    = errors.New("carp: Config.Random is nil")
)

// NewMachine returns a machine in state INIT.
func NewMachine(cfg Config) (*Machine, error) {
	cfg, err := validConfig(cfg)
	if err != nil {
		return nil, err
	}
	m := &Machine{cfg: cfg, delayedARP: -1}
	if cfg.Src.Is4() {
		m.srcKey = tieBreakKey(cfg.Src)
	}
	return m, nil
}

// validConfig checks cfg and fills in its defaults.
func validConfig(cfg Config) (Config, error) {
	switch {
	case cfg.VHID == 0:
		return cfg, errVHID
	case cfg.AdvBase == 0 && cfg.AdvSkew == 0:
		return cfg, errTimeBase
	case cfg.DeadRatio == 0:
		return cfg, errDeadRatio
	case cfg.Families&^FamilyBoth != 0:
		return cfg, errFamilies
	case !cfg.Src.Is4() && !(cfg.Families == FamilyIPv6 && cfg.Src.Is6()):
		return cfg, errSrc
	case cfg.Random == nil:
		return cfg, errRandom
	}
	if cfg.DemoteHold <= 0 {
		cfg.DemoteHold = DefaultDemoteHold
	}
	if cfg.Families == 0 {
		cfg.Families = FamilyIPv4
	}
	return cfg, nil
}

// ErrIdentity is returned by Reconfigure for a change of the group's
// identity (its vhid or source address), which cannot be made in place:
// the caller releases the machine and starts a new one.
var ErrIdentity = errors.New("carp: vhid, source address and address families cannot change in place")

// Reconfigure applies a new configuration to the running machine at time
// now, appends the resulting actions to out and returns it. It never
// changes state, sends nothing and runs no script: every transition still
// goes through Handle. A configuration equal to the current one yields no
// action at all, and the timers, counter and send-error state are kept.
//
// cfg is checked as NewMachine checks it (and DemoteHold defaults the same
// way). VHID and Src cannot change: the vhid names the group and Src is
// its tie-break key, so a change is a different group, and the error
// wraps ErrIdentity; on any error the machine is unchanged. Random is a
// source, not a setting, and cannot be compared: the machine keeps its
// own, so the counter sequence is not disturbed.
//
// The new settings apply as follows; a timer whose deadline does not move
// is not touched, and none is armed before now.
//
//   - MASTER, advbase or advskew changed (the advertised skew, so 240
//     while send errors suppress preemption): the next advert is due at
//     min(old deadline, last advert sent + new interval). A shorter
//     interval applies at once, as if it had been in force since the
//     last advert; a longer one applies from the next advert, which goes
//     out on the old schedule. So no gap between two adverts is longer
//     than the interval a peer was told, and the advert that carries the
//     new skew is not delayed: a peer that now outranks this node takes
//     over by the normal rules (-P, or "going to time out") as soon as it
//     hears it. FreeBSD's carp_ioctl_set (`ifconfig carp advskew`)
//     stores the values and re-arms nothing, so they take effect when
//     carp_send_ad next re-arms the advert timer: the same for a longer
//     interval, but a shorter one would wait out the old deadline. The
//     older SIOCSVH code (OpenBSD's, kept by DragonFly) calls
//     carp_setrun, which re-arms from now: one gap could then be up to
//     the old interval plus the new one, and a peer's dead timer could
//     expire for no reason.
//   - BACKUP, advbase, advskew or deadratio changed: the master-down timer
//     is re-armed at (the time it was armed from: the last advert heard,
//     the start, the end of a demotion or the carrier's return) + the new
//     dead interval, as if the new settings had been in force then. When
//     that is already past, the timer is armed at now: the master has
//     been silent for longer than the new dead interval, and the election
//     rules make this node MASTER when the caller delivers it (reason
//     master-down). FreeBSD keeps the old deadline until the next advert
//     heard re-arms it (carp_input_c → carp_setrun); a reload that
//     shortens the dead interval should not wait out the old one, and one
//     that lengthens it must not let the old deadline fire a takeover the
//     new settings would not make.
//   - Demoted (held), DemoteHold changed: the hold timer moves the same
//     way, from the demotion.
//   - Preempt, Neutral, ManageVIP and DownScript: no action; they are read
//     at the next advert heard (Preempt) or the next transition. So a
//     BACKUP that now outranks its master with -P takes over when it next
//     hears it, as ucarp would; and a MASTER whose ManageVIP is turned off
//     leaves the address it added to the caller.
//   - INIT (not started or released) or carrier lost: no timer runs; the
//     settings are stored and apply when the machine runs again.
func (m *Machine) Reconfigure(now time.Time, cfg Config, out []Action) ([]Action, error) {
	cfg.Random = m.cfg.Random
	cfg, err := validConfig(cfg)
	if err != nil {
		return out, err
	}
	switch {
	case cfg.VHID != m.cfg.VHID:
		return out, fmt.Errorf("%w: vhid %d, now %d", ErrIdentity, m.cfg.VHID, cfg.VHID)
	case cfg.Src != m.cfg.Src:
		return out, fmt.Errorf("%w: source %v, now %v", ErrIdentity, m.cfg.Src, cfg.Src)
	case cfg.Families != m.cfg.Families:
		return out, fmt.Errorf("%w: families %d, now %d", ErrIdentity, m.cfg.Families, cfg.Families)
	}
	oldAdvert, oldDead, oldHold := AdvertInterval(m.cfg.AdvBase, m.localSkew()), m.deadInterval(), m.cfg.DemoteHold
	m.cfg = cfg
	out = m.retimeAdvert(now, oldAdvert, out)
	if d := m.deadInterval(); d != oldDead {
		for _, t := range m.deadTimers() {
			if !m.timers[t].IsZero() {
				out = m.rearm(now, t, m.armedAt[t].Add(d), out)
			}
		}
	}
	if d := m.cfg.DemoteHold; d != oldHold && !m.timers[TimerHold].IsZero() {
		out = m.rearm(now, TimerHold, m.armedAt[TimerHold].Add(d), out)
	}
	return out, nil
}

// retimeAdvert moves a MASTER's advert timer after its interval changed
// from old, as Reconfigure says: to the last advert sent + the new
// interval if that is sooner. Only an interval that changed moves its
// timer: a deadline may differ from armedAt + interval for other reasons
// (send errors that ended while the advert timer ran with skew 240), and
// those are not ours.
func (m *Machine) retimeAdvert(now time.Time, old time.Duration, out []Action) []Action {
	if d := AdvertInterval(m.cfg.AdvBase, m.localSkew()); d != old && !m.timers[TimerAdvert].IsZero() {
		if next := m.armedAt[TimerAdvert].Add(d); next.Before(m.timers[TimerAdvert]) {
			out = m.rearm(now, TimerAdvert, next, out)
		}
	}
	return out
}

// MaxDemotion is the highest level SetDemotion takes.
const MaxDemotion = 255

// SetDemotion sets the persistent demotion, 0 to MaxDemotion, that is
// added to the skew this node advertises and compares with, as OpenBSD's
// demote counter raises the advskew its adverts carry. The sum is capped
// at 255, and at 254 when advbase is 255, so that a demoted node never
// sends the bow-out advert (255/255) by accident. It changes no state by
// itself: the new skew goes out with the next advert (moved as
// Reconfigure moves it for a new advskew), and the election rules decide
// from there (a BACKUP with -P takes over from a demoted MASTER that it
// now outranks, which then hears a preferred master; a promoted BACKUP
// with -P takes over when it next hears the slower master). Its dead
// interval is its own advskew's, undemoted, as a reload leaves it.
func (m *Machine) SetDemotion(now time.Time, level int, out []Action) []Action {
	level = max(0, min(level, MaxDemotion))
	if level == m.demotion {
		return out
	}
	old := AdvertInterval(m.cfg.AdvBase, m.localSkew())
	m.demotion = level
	return m.retimeAdvert(now, old, out)
}

// Demotion is the level set by SetDemotion.
func (m *Machine) Demotion() int { return m.demotion }

// rearm moves armed timer t to at, or to now if at is past. A deadline
// that does not move is left alone, even when it is overdue (the caller
// has yet to deliver it).
func (m *Machine) rearm(now time.Time, t Timer, at time.Time, out []Action) []Action {
	old := m.timers[t]
	if at.Equal(old) {
		return out
	}
	if at.Before(now) {
		at = now
	}
	if at.Equal(old) {
		return out
	}
	return m.setTimer(t, at, out)
}

// State is the current state.
func (m *Machine) State() State { return m.state }

// Config returns the configuration.
func (m *Machine) Config() Config { return m.cfg }

// Handle applies ev at time now, appends the resulting actions to out and
// returns it. With an out of sufficient capacity it does not allocate.
func (m *Machine) Handle(now time.Time, ev Event, out []Action) []Action {
	switch ev.Kind {
	case EventStart:
		return m.start(now, out)
	case EventAdvert:
		return m.advert(now, ev, out)
	case EventTimer:
		return m.timer(now, ev.Timer, out)
	case EventSendResult:
		return m.sendResult(now, ev.SendFailed, out)
	case EventLinkDown:
		return m.carrierLost(out)
	case EventLinkUp:
		return m.carrierBack(now, out)
	case EventDemote:
		return m.demote(now, out)
	case EventRelease:
		return m.release(ev.RunDownScript, out)
	}
	return out
}

func (m *Machine) start(now time.Time, out []Action) []Action {
	if m.state != Init {
		return out
	}
	out = m.setState(Backup, ReasonStart, out)
	if !m.linkDown {
		out = m.armDead(now, out)
	}
	return out
}

// deadTimers are the BACKUP's dead timers: one per family of a dual-stack
// group, else TimerMasterDown alone.
func (m *Machine) deadTimers() []Timer {
	if m.cfg.Families == FamilyBoth {
		return []Timer{TimerMasterDown, TimerMasterDown6}
	}
	return []Timer{TimerMasterDown}
}

// deadTimerOf is the dead timer that an advert from src re-arms.
func (m *Machine) deadTimerOf(src netip.Addr) Timer {
	if m.cfg.Families == FamilyBoth && src.Is6() {
		return TimerMasterDown6
	}
	return TimerMasterDown
}

// armDead arms every dead timer for a dead interval from now.
func (m *Machine) armDead(now time.Time, out []Action) []Action {
	for _, t := range m.deadTimers() {
		out = m.arm(t, now, m.deadInterval(), out)
	}
	return out
}

// stopDead stops every dead timer.
func (m *Machine) stopDead(out []Action) []Action {
	for _, t := range m.deadTimers() {
		out = m.stop(t, out)
	}
	return out
}

// hears reports whether the machine takes adverts from src: one of its
// families.
func (m *Machine) hears(src netip.Addr) bool {
	switch {
	case src.Is4():
		return m.cfg.Families&FamilyIPv4 != 0
	case src.Is6():
		return m.cfg.Families&FamilyIPv6 != 0
	}
	return false
}

// peerPreferred is the equal-interval tie-break: whether the master src
// wins it against this node. IPv4: ucarp's, on the host-order addresses.
// IPv6: the lower address wins, and without Src6 the peer, as the BSD
// kernels give way on equal timing.
func (m *Machine) peerPreferred(ev *Event) bool {
	src := ev.Src
	if src.Is4() {
		if !m.cfg.Src.Is4() {
			return true
		}
		return tieBreakKey(src) < m.srcKey
	}
	own := m.own6(ev)
	if !own.IsValid() {
		return true
	}
	return src.WithZone("").Compare(own) < 0
}

// own6 is this node's IPv6 source as the sender of ev sees it: ev.Own
// (a global source toward a global unicast peer), else Src6; without
// zone.
func (m *Machine) own6(ev *Event) netip.Addr {
	if ev.Own.Is6() {
		return ev.Own.WithZone("")
	}
	if m.cfg.Src6.IsValid() {
		return m.cfg.Src6.WithZone("")
	}
	return netip.Addr{}
}

// localSkew is the skew this node advertises and compares with: its own
// plus its demotion, or 240 while send errors suppress preemption.
func (m *Machine) localSkew() uint8 {
	skew := m.cfg.AdvSkew
	if m.demotion > 0 {
		limit := 255
		if m.cfg.AdvBase == BowOut {
			limit = BowOut - 1
		}
		skew = max(skew, uint8(min(int(skew)+m.demotion, limit)))
	}
	if m.suppress > 0 && skew < suppressSkew {
		return suppressSkew
	}
	return skew
}

func (m *Machine) deadInterval() time.Duration {
	return DeadInterval(m.cfg.AdvBase, m.cfg.DeadRatio, m.cfg.AdvSkew)
}

func (m *Machine) advert(now time.Time, ev Event, out []Action) []Action {
	if m.state == Init || m.linkDown || !m.hears(ev.Src) {
		return out
	}
	my, ch := m.cfg.Demote, ev.Demote
	m.counter.adopt(ev.Counter)
	local := interval{uint64(m.cfg.AdvBase), skewMicros(m.localSkew())}
	remote := interval{uint64(ev.AdvBase), skewMicros(ev.AdvSkew)}
	out = append(out, Action{Kind: ActionLog, Level: LevelDebug, Msg: MsgCompareIntervals,
		Arg: int(local.sec), Arg2: int(remote.sec)})

	switch m.state {
	case Master:
		c := local.cmp(remote)
		peerWins := c == 0 && m.peerPreferred(&ev)
		switch {
		case ch < my || ch == my && (c > 0 || peerWins):
			// "To be really sure the new master knows that it has to
			// reassert control of the VIP": one more advert first.
			out = m.sendAdvert(now, false, out)
			out = m.setState(Backup, ReasonPreferredMaster, out)
			out = m.stop(TimerAdvert, out)
			out = m.armDead(now, out)
			out = m.log(LevelWarning, MsgPreferredMaster, out)
		case ch > my || c < 0 || c == 0 && !peerWins && !m.sameSource(&ev):
			// An answer, which the caller may rate-limit with its line:
			// anyone who captured an advert can make as many.
			out = append(out, Action{Kind: ActionAnnounce, Msg: MsgNonPreferredMaster})
			// And this node's advert at once, not at the next tick, so
			// that the other master steps down now (as keepalived answers
			// a lower priority). Off the schedule: the advert timer and
			// the delayed ARP's count of adverts stay as they are.
			out = append(out, Action{Kind: ActionSendAdvert, Advert: m.header(m.cfg.AdvBase, m.localSkew()),
				Msg: MsgNonPreferredMaster})
			m.delayedARP = delayedARPAdverts
			out = m.log(LevelWarning, MsgNonPreferredMaster, out)
		}
	case Backup:
		if m.held {
			return out
		}
		if ch > my || m.cfg.Preempt && ch == my && local.cmp(remote) < 0 {
			out = m.masterDown(now, ReasonPreempt, out)
			return m.log(LevelWarning, MsgPreemption, out)
		}
		dead := interval{uint64(m.cfg.AdvBase) * uint64(m.cfg.DeadRatio), local.usec}
		if dead.cmp(remote) < 0 {
			out = m.masterDown(now, ReasonTimeOut, out)
			return m.log(LevelWarning, MsgGoingToTimeOut, out)
		}
		out = m.arm(m.deadTimerOf(ev.Src), now, m.deadInterval(), out)
	}
	return out
}

// sameSource reports whether src is this node's own address (an equal
// advert that is neither preferred nor less preferred: ucarp's equal keys).
func (m *Machine) sameSource(ev *Event) bool {
	src := ev.Src
	if src.Is4() {
		return m.cfg.Src.Is4() && tieBreakKey(src) == m.srcKey
	}
	own := m.own6(ev)
	return own.IsValid() && src.WithZone("") == own
}

func (m *Machine) timer(now time.Time, t Timer, out []Action) []Action {
	if t >= NumTimers {
		return out
	}
	at := m.timers[t]
	if at.IsZero() || now.Before(at) {
		return out // stopped, or re-armed later since
	}
	m.timers[t] = time.Time{}
	switch t {
	case TimerMasterDown, TimerMasterDown6:
		if m.state == Backup && !m.held && !m.linkDown {
			out = m.masterDown(now, ReasonMasterDown, out)
		}
	case TimerAdvert:
		if m.state == Master {
			out = m.sendAdvert(now, true, out)
		}
	case TimerHold:
		m.held = false
		out = m.log(LevelInfo, MsgDemotionOver, out)
		if m.state == Backup && !m.linkDown {
			out = m.armDead(now, out)
		}
	}
	return out
}

// masterDown is ucarp's carp_master_down: BACKUP → MASTER, an advert at
// once, and the delayed gratuitous ARP two adverts later.
func (m *Machine) masterDown(now time.Time, reason Reason, out []Action) []Action {
	if m.state != Backup {
		return out
	}
	out = m.stopDead(out)
	out = m.setState(Master, reason, out)
	out = m.sendAdvert(now, true, out)
	m.delayedARP = delayedARPAdverts
	return out
}

// sendAdvert is ucarp's carp_send_ad: an advert with the next counter,
// the delayed-ARP countdown, and, when schedule is set, the next advert.
func (m *Machine) sendAdvert(now time.Time, schedule bool, out []Action) []Action {
	skew := m.localSkew()
	out = append(out, Action{Kind: ActionSendAdvert, Advert: m.header(m.cfg.AdvBase, skew)})
	if m.delayedARP > 0 {
		m.delayedARP--
	}
	if m.delayedARP == 0 {
		if m.state == Master {
			out = append(out, Action{Kind: ActionAnnounce})
		}
		m.delayedARP = -1
	}
	if schedule {
		d := AdvertInterval(m.cfg.AdvBase, skew)
		if m.cfg.Align {
			next := alignedAdvert(now, d, m.cfg.VHID)
			m.armedAt[TimerAdvert] = next.Add(-d)
			return m.setTimer(TimerAdvert, next, out)
		}
		out = m.arm(TimerAdvert, now, d, out)
	}
	return out
}

// alignedAdvert is the time of the advert after one sent at now, on the
// grid of the interval d: the whole multiples of d from the Unix epoch,
// shifted by vhid%AlignSlots sixteenths of d, the grid point nearest to
// now+d. A timer that fired late by less than d/2 keeps the grid exactly
// (no drift, whatever the lateness); the first advert after a takeover,
// at any time, comes after d/2 to 3d/2, well within the backups' dead
// interval of at least 3d. The time is computed on the wall clock but
// returned as now plus a duration, so that the timer keeps the monotonic
// clock.
func alignedAdvert(now time.Time, d time.Duration, vhid uint8) time.Time {
	if d <= 0 {
		return now
	}
	phase := int64(d) / AlignSlots * int64(vhid%AlignSlots)
	t := now.UnixNano() + int64(d) - phase
	off := t % int64(d) // t's place on the grid, from the previous point
	if off < 0 {
		off += int64(d)
	}
	delta := int64(d) - off // to the next point
	if off < delta {
		delta = -off // the previous point is nearer
	}
	return now.Add(d + time.Duration(delta))
}

func (m *Machine) header(advbase, advskew uint8) Header {
	return Header{
		Version: Version,
		Type:    TypeAdvertisement,
		VHID:    m.cfg.VHID,
		AdvBase: advbase,
		AdvSkew: advskew,
		AuthLen: AuthLen,
		Demote:  m.cfg.Demote,
		Counter: m.counter.next(m.cfg.Random),
	}
}

// bowOut sends the advert that makes every peer, ucarp included, take
// over at once: its interval (255 s + 255/256) is longer than any peer's
// advbase*deadratio, so the peer's "going to time out" rule fires.
func (m *Machine) bowOut(out []Action) []Action {
	out = append(out, Action{Kind: ActionSendAdvert, Advert: m.header(BowOut, BowOut)})
	return m.log(LevelDebug, MsgBowOut, out)
}

// releases reports whether leaving MASTER takes the virtual address away,
// so that a bow-out advert is right: never while the address stays.
func (m *Machine) releases(runDownScript bool) bool {
	return m.cfg.ManageVIP || runDownScript && m.cfg.DownScript
}

func (m *Machine) sendResult(now time.Time, failed bool, out []Action) []Action {
	if failed {
		if m.sendErrors < int(^uint(0)>>1) {
			m.sendErrors++
		}
		if m.sendErrors == sendErrorsMax {
			out = append(out, Action{Kind: ActionLog, Level: LevelError, Msg: MsgWriteErrors,
				Arg: m.suppress, Arg2: sendErrorsMax})
			m.suppress++
			if m.suppress == 1 && m.state == Master {
				out = m.sendAdvert(now, true, out)
			}
		}
		m.sendSuccess = 0
		return out
	}
	if m.sendErrors >= sendErrorsMax {
		m.sendSuccess++
		if m.sendSuccess >= sendSuccessMin && m.suppress > 0 {
			m.suppress--
			m.sendErrors = 0
			if m.suppress == 0 {
				out = m.log(LevelInfo, MsgSuppressionOver, out)
			}
		}
	} else {
		m.sendErrors = 0
	}
	return out
}

func (m *Machine) carrierLost(out []Action) []Action {
	if m.linkDown {
		return out
	}
	m.linkDown = true
	m.held = false
	out = m.log(LevelWarning, MsgCarrierLost, out)
	if m.state == Master {
		// No bow-out: nothing can be sent without a carrier.
		out = m.setState(Backup, ReasonCarrierLost, out)
	}
	return m.stopAll(out)
}

func (m *Machine) carrierBack(now time.Time, out []Action) []Action {
	if !m.linkDown {
		return out
	}
	m.linkDown = false
	out = m.log(LevelInfo, MsgCarrierBack, out)
	if m.state == Backup {
		out = m.armDead(now, out)
	}
	return out
}

// demote is SIGUSR2: a MASTER gives up the address, bows out, and stays
// out of the election for the hold time; ucarp sleeps 3 s instead, deaf
// and mute. A BACKUP ignores it, as in ucarp.
func (m *Machine) demote(now time.Time, out []Action) []Action {
	if m.state != Master {
		return out
	}
	if m.releases(true) {
		out = m.bowOut(out)
	}
	out = m.log(LevelInfo, MsgDemoted, out)
	out = m.setState(Backup, ReasonDemote, out)
	out = m.stop(TimerAdvert, out)
	m.held = true
	return m.arm(TimerHold, now, m.cfg.DemoteHold, out)
}

// release is the daemon's exit. A MASTER bows out when the address really
// goes away, runs the down script with -z, and removes the address it
// manages. The machine returns to INIT.
func (m *Machine) release(runDownScript bool, out []Action) []Action {
	if m.state == Master {
		if m.releases(runDownScript) {
			out = m.bowOut(out)
		}
		if runDownScript {
			out = append(out, Action{Kind: ActionRunScript, Script: ScriptDown, From: Master, To: Init, Reason: ReasonShutdown})
		}
		if m.cfg.ManageVIP {
			out = append(out, Action{Kind: ActionRemoveVIP})
		}
	}
	m.state = Init
	m.held = false
	return m.stopAll(out)
}

// setState is ucarp's carp_set_state with the daemon's own address
// management around the scripts: the address is added before the up
// script and removed after the down script.
func (m *Machine) setState(to State, reason Reason, out []Action) []Action {
	from := m.state
	if from == to {
		return out
	}
	out = append(out, Action{Kind: ActionLog, Level: LevelWarning, Msg: MsgSwitchState, From: from, To: to, Reason: reason})
	switch to {
	case Backup:
		if from != Init || !m.cfg.Neutral {
			out = append(out, Action{Kind: ActionRunScript, Script: ScriptDown, From: from, To: to, Reason: reason})
		}
		if from == Master && m.cfg.ManageVIP {
			out = append(out, Action{Kind: ActionRemoveVIP})
		}
	case Master:
		if m.cfg.ManageVIP {
			out = append(out, Action{Kind: ActionAddVIP})
		}
		out = append(out,
			Action{Kind: ActionRunScript, Script: ScriptUp, From: from, To: to, Reason: reason},
			Action{Kind: ActionAnnounce})
	}
	m.state = to
	return out
}

// arm arms timer t to expire d after from.
func (m *Machine) arm(t Timer, from time.Time, d time.Duration, out []Action) []Action {
	m.armedAt[t] = from
	return m.setTimer(t, from.Add(d), out)
}

func (m *Machine) setTimer(t Timer, at time.Time, out []Action) []Action {
	m.timers[t] = at
	return append(out, Action{Kind: ActionArmTimer, Timer: t, At: at})
}

func (m *Machine) stop(t Timer, out []Action) []Action {
	if m.timers[t].IsZero() {
		return out
	}
	m.timers[t] = time.Time{}
	return append(out, Action{Kind: ActionStopTimer, Timer: t})
}

func (m *Machine) stopAll(out []Action) []Action {
	for t := range NumTimers {
		out = m.stop(t, out)
	}
	return out
}

func (m *Machine) log(level Level, msg Message, out []Action) []Action {
	return append(out, Action{Kind: ActionLog, Level: level, Msg: msg})
}
