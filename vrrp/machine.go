package vrrp

import (
	"errors"
	"net/netip"
	"time"
)

//go:generate stringer -type=State,Timer,Reason,EventKind,ActionKind -linecomment -output=machine_string.go

// State is the VRRP state of one virtual router (RFC 9568 §6.4; the RFC
// calls MASTER "Active").
//
//	            Startup, priority 255 (the address owner)
//	     ┌──────────────────────────────────────────────────┐
//	     │   Startup                Master_Down_Timer       ▼
//	INIT ┴──────────► BACKUP ───────────────────────────► MASTER
//	  ▲                 ▲  ◄─────────────────────────────────┘
//	  │                 │   an advert of higher priority, or of equal
//	  │    Shutdown     │   priority from a higher address
//	  └─────────────────┴──────────────────────────────────── (any)
//
// The names and numbers are carp.State's, so that logs read alike and the
// two can become one type (election.State) later.
type State uint8

// States. The line comments are the names that String returns.
const (
	Initialize State = iota // INIT
	Backup                  // BACKUP
	Master                  // MASTER
)

// Timer names one of the machine's timers.
type Timer uint8

// Timers (RFC 9568 §6.2). The line comments are the names that String
// returns.
const (
	// TimerAdver: a MASTER's next advert, every Advertisement_Interval.
	TimerAdver Timer = iota // adver
	// TimerMasterDown: a BACKUP's Master_Down_Timer; when it expires the
	// master is taken to be gone.
	TimerMasterDown // master-down

	// NumTimers is the number of timers, for arrays indexed by timer.
	NumTimers
)

// Reason says why the state changed, for logs and scripts.
type Reason uint8

// Reasons. The line comments are the names that String returns.
const (
	ReasonNone Reason = iota // none
	// ReasonStartup: INIT → BACKUP at startup.
	ReasonStartup // startup
	// ReasonOwner: INIT → MASTER at startup with priority 255.
	ReasonOwner // owner
	// ReasonMasterDown: BACKUP → MASTER, no advert heard for
	// Master_Down_Interval.
	ReasonMasterDown // master-down
	// ReasonMasterLeft: BACKUP → MASTER, Skew_Time after the master's
	// priority-0 advert.
	ReasonMasterLeft // master-left
	// ReasonHigherPriority: MASTER → BACKUP, an advert of higher priority
	// was heard.
	ReasonHigherPriority // higher-priority
	// ReasonHigherAddress: MASTER → BACKUP, an advert of the same priority
	// from a higher primary address was heard.
	ReasonHigherAddress // higher-address
	// ReasonShutdown: back to INIT, the router stops.
	ReasonShutdown // shutdown
)

// EventKind is the kind of an Event.
type EventKind uint8

// Event kinds. The line comments are the names that String returns.
const (
	// EventStartup starts the machine from INIT.
	EventStartup EventKind = iota + 1 // startup
	// EventShutdown stops it: back to INIT.
	EventShutdown // shutdown
	// EventAdvert: a valid advert for this virtual router was received.
	EventAdvert // advert
	// EventTimer: a timer armed by an ActionArmTimer is due.
	EventTimer // timer
	// EventPriority: the local priority changes (tracking, demotion).
	EventPriority // priority
)

// Event is an input of the machine. Only the fields of its Kind are used.
type Event struct {
	Kind EventKind
	// EventAdvert: the sender's address (the packet's source, its primary
	// address), and the advert's Priority and Max Advertise Interval in
	// centiseconds. EventPriority: the new local Priority.
	Src      netip.Addr
	Priority uint8
	Interval uint16
	// EventTimer: which timer.
	Timer Timer
}

// AdvertEvent is the event for a valid advert a received from src.
func AdvertEvent(src netip.Addr, a *Advert) Event {
	return Event{Kind: EventAdvert, Src: src, Priority: a.Priority, Interval: a.MaxAdvertInterval}
}

// TimerEvent is the event for timer t being due.
func TimerEvent(t Timer) Event { return Event{Kind: EventTimer, Timer: t} }

// PriorityEvent is the event for a new local priority p.
func PriorityEvent(p uint8) Event { return Event{Kind: EventPriority, Priority: p} }

// ActionKind is the kind of an Action.
type ActionKind uint8

// Action kinds. The line comments are the names that String returns.
const (
	// ActionSendAdvert: send an advert with Priority and Interval (and the
	// group's addresses). Priority 0 is the advert of a master that
	// leaves.
	ActionSendAdvert ActionKind = iota + 1 // send-advert
	// ActionTransition: the state changed From → To for Reason. Going to
	// MASTER is when the caller takes the virtual addresses (before the
	// ActionAnnounce that follows); leaving it, when it gives them up.
	ActionTransition // transition
	// ActionAnnounce: announce the virtual addresses, gratuitous ARP for
	// IPv4 and unsolicited Neighbor Advertisements for IPv6.
	ActionAnnounce // announce
	// ActionArmTimer: deliver TimerEvent(Timer) at At.
	ActionArmTimer // arm-timer
	// ActionStopTimer: Timer is no longer needed.
	ActionStopTimer // stop-timer
)

// Action is an output of the machine. The caller carries them out in
// order.
type Action struct {
	Kind ActionKind
	// ActionSendAdvert.
	Priority uint8
	Interval uint16
	// ActionTransition.
	From, To State
	Reason   Reason
	// ActionArmTimer, ActionStopTimer.
	Timer Timer
	At    time.Time
}

// Config is the configuration of one virtual router.
type Config struct {
	// VRID is the virtual router id, 1-255.
	VRID uint8
	// Priority is 1-254, or 255 for the owner of the addresses; 0 means
	// DefaultPriority (100).
	Priority uint8
	// Interval is the Advertisement_Interval in centiseconds, 1-4095; 0
	// means DefaultInterval (100, one second).
	Interval uint16
	// NoPreempt turns Preempt_Mode off (it is on by default, as the RFC
	// has it): a BACKUP then accepts a master of lower priority instead
	// of taking over from it.
	NoPreempt bool
	// PreemptDelay keeps Preempt_Mode off for that long after the
	// router starts (keepalived's preempt_delay): a router that boots
	// accepts the running master first, and takes over from one of lower
	// priority only at its first advert after the delay. RFC 9568 has no
	// such delay; 0 is none.
	PreemptDelay time.Duration
	// Src is this router's primary address, the source of its adverts,
	// which breaks ties between masters of equal priority. It may be
	// missing (the zero Addr: an IPv6 router on an interface without a
	// link-local address yet); the machine then stays in INIT, ignoring
	// EventStartup, until Reconfigure gives it one.
	Src netip.Addr
}

// Configuration errors.
var (
	errVRID     = errors.New("vrrp: VRID must be between 1 and 255")
	errConfInt  = errors.New("vrrp: Advertisement_Interval must be between 1 and 4095 centiseconds")
	errConfAddr = errors.New("vrrp: the primary address must be an IPv4 or IPv6 address")
)

// Machine is the VRRPv3 state machine of one virtual router (RFC 9568 §6),
// with Preempt_Mode and without a preemption delay. It does no I/O and
// reads no clock: every input is an Event with the current time, every
// output an Action.
//
// The machine trusts its events: the caller has decoded and checked the
// advert (Advert.Unmarshal or Packet), that it is for this VRID and not
// this router's own. An advert with interval 0, or from an address of the
// other family than Config.Src, is ignored all the same.
type Machine struct {
	cfg      Config
	state    State
	priority uint8 // the current priority: cfg.Priority until EventPriority
	// masterAdver is Master_Adver_Interval in centiseconds: a BACKUP's
	// idea of its master's interval.
	masterAdver uint16
	timers      [NumTimers]time.Time
	// downFrom is when the Master_Down_Timer was last set, and downSkew
	// whether it was set to Skew_Time only (after a priority-0 advert),
	// so that a priority change can move it.
	downFrom time.Time
	downSkew bool
	// adverFrom is when the last advert was sent, so that Reconfigure
	// can move the Adver_Timer by a new interval; learned says whether
	// Master_Adver_Interval came from a master's advert.
	adverFrom time.Time
	learned   bool
	// started is when the router last left INIT, for PreemptDelay.
	started time.Time
}

// NewMachine returns a machine in state INIT.
func NewMachine(cfg Config) (*Machine, error) {
	if cfg.Priority == 0 {
		cfg.Priority = DefaultPriority
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	switch {
	case cfg.VRID == 0:
		return nil, errVRID
	case cfg.Interval > MaxInterval:
		return nil, errConfInt
	case cfg.Src.IsValid() && addrLen(cfg.Src, cfg.Src) == 0:
		return nil, errConfAddr
	}
	return &Machine{cfg: cfg, priority: cfg.Priority, masterAdver: cfg.Interval}, nil
}

// State is the current state.
func (m *Machine) State() State { return m.state }

// Priority is the current priority.
func (m *Machine) Priority() uint8 { return m.priority }

// MasterAdverInterval is Master_Adver_Interval in centiseconds: the
// interval of the master as last learned from its adverts, or the local
// Advertisement_Interval before any.
func (m *Machine) MasterAdverInterval() uint16 { return m.masterAdver }

// Config returns the configuration, defaults filled in.
func (m *Machine) Config() Config { return m.cfg }

// SkewTime is Skew_Time for a router of priority p whose master
// advertises every interval centiseconds: ((256 - p) * interval) / 256,
// computed exactly to the nanosecond (keepalived computes it to the
// microsecond), not rounded to centiseconds.
func SkewTime(p uint8, interval uint16) time.Duration {
	return time.Duration((256-int64(p))*int64(interval)*int64(10*time.Millisecond)) / 256
}

// MasterDownInterval is Master_Down_Interval: 3 * interval + Skew_Time.
func MasterDownInterval(p uint8, interval uint16) time.Duration {
	return 3*Centiseconds(interval) + SkewTime(p, interval)
}

// Handle applies ev at time now, appends the resulting actions to out and
// returns it. With an out of sufficient capacity it does not allocate.
func (m *Machine) Handle(now time.Time, ev Event, out []Action) []Action {
	switch ev.Kind {
	case EventStartup:
		if !m.cfg.Src.IsValid() {
			return out // no primary address yet
		}
		return m.startup(now, out)
	case EventShutdown:
		return m.shutdown(out)
	case EventAdvert:
		return m.advert(now, ev, out)
	case EventTimer:
		return m.timer(now, ev.Timer, out)
	case EventPriority:
		return m.setPriority(now, ev.Priority, out)
	}
	return out
}

// startup is RFC 9568 §6.4.1: the owner becomes MASTER at once, any other
// router BACKUP with its own interval as Master_Adver_Interval.
func (m *Machine) startup(now time.Time, out []Action) []Action {
	if m.state != Initialize {
		return out
	}
	if m.priority == OwnerPriority {
		return m.becomeMaster(now, ReasonOwner, out)
	}
	m.masterAdver, m.learned = m.cfg.Interval, false
	m.started = now
	out = m.transition(Backup, ReasonStartup, out)
	return m.armDown(now, false, out)
}

// shutdown: a MASTER sends a priority-0 advert so that its backups take
// over after Skew_Time instead of Master_Down_Interval.
func (m *Machine) shutdown(out []Action) []Action {
	switch m.state {
	case Backup:
		out = m.stop(TimerMasterDown, out)
	case Master:
		out = m.stop(TimerAdver, out)
		out = append(out, Action{Kind: ActionSendAdvert, Priority: LeavePriority, Interval: m.cfg.Interval})
	default:
		return out
	}
	return m.transition(Initialize, ReasonShutdown, out)
}

func (m *Machine) advert(now time.Time, ev Event, out []Action) []Action {
	if ev.Interval == 0 || addrLen(ev.Src, m.cfg.Src) == 0 {
		return out
	}
	switch m.state {
	case Backup:
		switch {
		case ev.Priority == LeavePriority:
			// The master leaves: wait Skew_Time only, so that the backup
			// of highest priority goes first.
			out = m.armDown(now, true, out)
		case m.cfg.NoPreempt || ev.Priority >= m.priority || now.Before(m.started.Add(m.cfg.PreemptDelay)):
			m.masterAdver, m.learned = ev.Interval, true
			out = m.armDown(now, false, out)
		}
		// Else a master of lower priority while preempting: the advert is
		// discarded, and the Master_Down_Timer runs out.
	case Master:
		switch {
		case ev.Priority == LeavePriority:
			// Another master left: make sure the backups hear this one.
			out = m.sendAdvert(now, out)
		case ev.Priority > m.priority:
			out = m.becomeBackup(now, ev.Interval, ReasonHigherPriority, out)
		case ev.Priority == m.priority && ev.Src.Compare(m.cfg.Src) > 0:
			// "the primary IPvX Address of the sender is greater than the
			// local primary IPvX Address": netip.Addr compares the bytes
			// in network order, as unsigned integers.
			out = m.becomeBackup(now, ev.Interval, ReasonHigherAddress, out)
		}
	}
	return out
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
	switch {
	case t == TimerMasterDown && m.state == Backup:
		reason := ReasonMasterDown
		if m.downSkew {
			reason = ReasonMasterLeft
		}
		out = m.becomeMaster(now, reason, out)
	case t == TimerAdver && m.state == Master:
		out = m.sendAdvert(now, out)
	}
	return out
}

// setPriority changes the local priority. Adverts carry it from the next
// one on; a BACKUP's Master_Down_Timer moves as Skew_Time does, counted
// from when it was last set (as keepalived moves it). Neither 0 nor 255
// can be set this way, and an owner's priority does not change: the
// owner is the router whose addresses the virtual ones are, a matter of
// configuration.
func (m *Machine) setPriority(now time.Time, p uint8, out []Action) []Action {
	if p == LeavePriority || p == OwnerPriority || p == m.priority || m.cfg.Priority == OwnerPriority {
		return out
	}
	m.priority = p
	return m.moveDown(now, out)
}

// moveDown moves a BACKUP's running Master_Down_Timer to where its
// current interval puts it, counted from when it was last set.
func (m *Machine) moveDown(now time.Time, out []Action) []Action {
	if m.state == Backup && !m.timers[TimerMasterDown].IsZero() {
		at := m.downFrom.Add(m.downInterval())
		if at.Before(now) {
			at = now
		}
		if !at.Equal(m.timers[TimerMasterDown]) {
			out = m.setTimer(TimerMasterDown, at, out)
		}
	}
	return out
}

// becomeMaster: send an advert, announce the addresses, arm the
// Adver_Timer (RFC 9568 §6.4.1, §6.4.2), after the transition that gives
// the caller the addresses to announce.
func (m *Machine) becomeMaster(now time.Time, reason Reason, out []Action) []Action {
	out = m.stop(TimerMasterDown, out)
	out = m.transition(Master, reason, out)
	out = m.sendAdvert(now, out)
	// Announced after the first advert, as RFC 9568 orders them.
	return append(out, Action{Kind: ActionAnnounce})
}

// becomeBackup: a better master was heard, whose interval becomes
// Master_Adver_Interval (RFC 9568 §6.4.3).
func (m *Machine) becomeBackup(now time.Time, interval uint16, reason Reason, out []Action) []Action {
	out = m.stop(TimerAdver, out)
	m.masterAdver, m.learned = interval, true
	out = m.transition(Backup, reason, out)
	return m.armDown(now, false, out)
}

// sendAdvert sends an advert with the current priority and arms the next.
func (m *Machine) sendAdvert(now time.Time, out []Action) []Action {
	out = append(out, Action{Kind: ActionSendAdvert, Priority: m.priority, Interval: m.cfg.Interval})
	m.adverFrom = now
	return m.setTimer(TimerAdver, now.Add(Centiseconds(m.cfg.Interval)), out)
}

// armDown sets the Master_Down_Timer to Master_Down_Interval, or to
// Skew_Time alone.
func (m *Machine) armDown(now time.Time, skewOnly bool, out []Action) []Action {
	m.downFrom, m.downSkew = now, skewOnly
	return m.setTimer(TimerMasterDown, now.Add(m.downInterval()), out)
}

func (m *Machine) downInterval() time.Duration {
	if m.downSkew {
		return SkewTime(m.priority, m.masterAdver)
	}
	return MasterDownInterval(m.priority, m.masterAdver)
}

func (m *Machine) transition(to State, reason Reason, out []Action) []Action {
	from := m.state
	m.state = to
	return append(out, Action{Kind: ActionTransition, From: from, To: to, Reason: reason})
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

// ErrIdentity is returned by Reconfigure for a change of VRID or of the
// primary address's family, which make another virtual router.
var ErrIdentity = errors.New("vrrp: the VRID and the address family cannot change in place")

// Reconfigure changes the settings of a running machine in place (a
// reload) without changing its state: a new Priority takes effect as
// EventPriority does (the caller applies its demotion again after), a new
// Interval from the next advert, which a MASTER sends at the last one
// plus the new interval if that is sooner; a BACKUP that has heard no
// master yet counts its Master_Down_Interval with the new interval, one
// that has keeps the master's. NoPreempt applies from the next advert
// heard. A new primary address (Src, of the same family: an IPv6
// router's new link-local address) takes effect at once, for the adverts
// sent and the tie between masters of equal priority, state and timers
// kept; a machine created without one stays in INIT until the next
// EventStartup.
func (m *Machine) Reconfigure(now time.Time, cfg Config, out []Action) ([]Action, error) {
	if cfg.Priority == 0 {
		cfg.Priority = DefaultPriority
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	switch {
	case cfg.Interval > MaxInterval:
		return out, errConfInt
	case (cfg.Src.IsValid() || m.cfg.Src.IsValid()) && addrLen(cfg.Src, cfg.Src) == 0:
		return out, errConfAddr // a primary address is never taken away
	case cfg.VRID != m.cfg.VRID || m.cfg.Src.IsValid() && cfg.Src.Is4() != m.cfg.Src.Is4():
		return out, ErrIdentity
	}
	old := m.cfg
	m.cfg = cfg
	if cfg.Priority != old.Priority {
		m.priority = cfg.Priority
	}
	if cfg.Interval != old.Interval {
		if m.state == Master && !m.timers[TimerAdver].IsZero() {
			if at := m.adverFrom.Add(Centiseconds(cfg.Interval)); at.Before(m.timers[TimerAdver]) {
				out = m.setTimer(TimerAdver, maxTime(at, now), out)
			}
		}
		if !m.learned {
			m.masterAdver = cfg.Interval
		}
	}
	return m.moveDown(now, out), nil
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
