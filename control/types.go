package control

import (
	"net/netip"
	"time"
)

// States of a group as the API names them: CARP's words, as ucarp prints
// them.
const (
	StateInit   = "INIT"
	StateBackup = "BACKUP"
	StateMaster = "MASTER"
)

// States lists the states in the order of the machine, for the series of
// ucarp_state and for tables.
var States = []string{StateInit, StateBackup, StateMaster}

// Values of Group.Protocol: CARP, or VRRPv3 (RFC 9568).
const (
	ProtocolCARP  = "carp"
	ProtocolVRRP3 = "vrrp3"
)

// Group is what the API says about one redundancy group.
type Group struct {
	// Name is unique among the groups of one socket and never empty: a
	// group without a configured name is named IF-VHID by its node. The
	// changing verbs and Explain reach a group by this name.
	Name      string `json:"name"`
	Interface string `json:"interface"`
	VHID      uint8  `json:"vhid"`
	Protocol  string `json:"protocol"`
	// State is StateInit, StateBackup or StateMaster.
	State string `json:"state"`
	// Since is when the group entered State, Reason why (carp.Reason's
	// names: master-down, preempt, demote, ...).
	Since       time.Time    `json:"since"`
	Reason      string       `json:"reason"`
	Addresses   []Address    `json:"addresses"`
	Timing      Timing       `json:"timing"`
	Peers       []Peer       `json:"peers"`
	Counters    Counters     `json:"counters"`
	Transitions []Transition `json:"transitions"`
	Probes      []Probe      `json:"probes"`
	// SyncGroup is the group's sync group, if it is in one: its members
	// fail over together (Timing.Demotions["sync"]).
	SyncGroup string `json:"sync_group,omitempty"`
	// HoldDown is the boot hold-down while it lasts.
	HoldDown *HoldDown `json:"hold_down,omitempty"`
	// Maintenance is present while the group is in maintenance, or
	// finishes a handoff (ucarpctl maintenance).
	Maintenance *Maintenance `json:"maintenance,omitempty"`
	// LastConflict is the last time another host claimed one of the
	// group's addresses while it was MASTER (Address.Conflicts counts
	// them); absent when none did.
	LastConflict *Conflict `json:"last_conflict,omitempty"`
	// UnicastPeers are the configured unicast peers (--peer): the group
	// sends its adverts of their family to them and hears no one else.
	// Absent for a multicast group.
	UnicastPeers []netip.Addr `json:"unicast_peers,omitempty"`
	// Auth is present when the group runs --auth=hmac-sha256
	// (docs/AUTH.md): its mode, keys and verdicts.
	Auth *Auth `json:"auth,omitempty"`
	// VMAC is the macvlan of a group with a virtual MAC (--vmac);
	// absent without one. VMACLost says that someone else set it down
	// or removed it, which stopped the group until a reload or a restart
	// makes it again.
	VMAC     string `json:"vmac,omitempty"`
	VMACLost bool   `json:"vmac_lost,omitempty"`
}

// Conflict is another host's claim of a MASTER's address: an ARP
// packet or a Neighbour Advertisement for it from another MAC.
type Conflict struct {
	Address netip.Addr `json:"address"`
	MAC     string     `json:"mac"`
	Time    time.Time  `json:"time"`
}

// Auth is the state of a group's --auth=hmac-sha256.
type Auth struct {
	// Mode is receive-only, permissive or enforce.
	Mode string `json:"mode"`
	// SendKey is the id of the key that signs, absent in receive-only
	// (which sends plain adverts); Keys every id accepted, in the key
	// file's order.
	SendKey      *int    `json:"send_key,omitempty"`
	Keys         []uint8 `json:"keys"`
	ReplayWindow float64 `json:"replay_window_s"`
	// Senders is how many senders' last sequences are remembered.
	Senders int `json:"senders"`
	// Accepted and Dropped count the adverts that passed the plain CARP
	// checks by result (verified, absent, malformed, bad-version,
	// unknown-key, bad-mac, replay, stale, future); results never seen
	// may be absent. A result other than verified among the accepted is
	// what enforce would drop.
	Accepted map[string]uint64 `json:"accepted"`
	Dropped  map[string]uint64 `json:"dropped"`
}

// Phases of Maintenance (group.MaintPhase's names).
const (
	MaintHandingOff          = "handing-off"          // demoted, bowed out, keeping the address until a peer's MASTER advert
	MaintWaitingAnnouncement = "waiting-announcement" // the peer is MASTER; keeping the address until its gratuitous ARP
	MaintHandedOff           = "handed-off"           // the peer holds the address; this host let it go
	MaintNoPeer              = "no-peer"              // no peer took over: this host stays MASTER
	MaintBackup              = "backup"               // in maintenance as BACKUP: nothing to hand off
	MaintOff                 = "off"                  // out of maintenance, a handoff in flight finishing
)

// Maintenance is a group's maintenance: its make-before-break handoff.
type Maintenance struct {
	On bool `json:"on"`
	// Persistent says that it survives a restart of the daemon.
	Persistent bool      `json:"persistent"`
	Since      time.Time `json:"since,omitzero"`
	Phase      string    `json:"phase"`
	PhaseSince time.Time `json:"phase_since,omitzero"`
	// Peer is the source of the peer's MASTER adverts heard during the
	// handoff (Adverts of them), PeerMAC the sender of its gratuitous ARP
	// for the address once seen (Announced).
	Peer      netip.Addr `json:"peer,omitzero"`
	Adverts   int        `json:"adverts"`
	Announced bool       `json:"announced"`
	PeerMAC   string     `json:"peer_mac,omitempty"`
	// Note says what the handoff did beyond its plan ("no peer took
	// over", a release without the peer's announcement).
	Note string `json:"note,omitempty"`
}

// Settled says whether a phase ends a handoff: the command's answer can
// be given.
func (m *Maintenance) Settled() bool {
	return m.Phase != MaintHandingOff && m.Phase != MaintWaitingAnnouncement
}

// HoldDown is a boot hold-down in progress: the group is demoted
// (Timing.Demotions["hold-down"]) until Until or, with UntilHealthy,
// until its probes are up if that comes first.
type HoldDown struct {
	Until        time.Time `json:"until"`
	UntilHealthy bool      `json:"until_healthy,omitempty"`
}

// Sources of demotion, in the order that tables list them; a daemon may
// name others.
const (
	DemotionAdmin    = "admin"     // ucarpctl demote
	DemotionHealth   = "health"    // the weights of the probes that are not up
	DemotionHoldDown = "hold-down" // the boot hold-down
	DemotionSync     = "sync"      // another member of the sync group failed
)

// DemotionSources lists the sources of demotion that Timing.Demotions
// always holds.
var DemotionSources = []string{DemotionAdmin, DemotionHealth, DemotionHoldDown, DemotionSync}

// Address is a virtual address of a group.
type Address struct {
	Prefix netip.Prefix `json:"address"`
	// Configured says whether the address is on the interface now.
	Configured bool `json:"configured"`
	// Conflicts counts the claims of the address by another MAC heard
	// while the group was MASTER.
	Conflicts uint64 `json:"conflicts,omitempty"`
}

// Timing is what decides the election: the advert interval is
// AdvBase + AdvSkew/256 seconds, and a BACKUP takes over after DeadTimeMS
// without an advert. Demotion is the sum of the persistent demotions
// (ucarpctl demote, health probes, the boot hold-down, the sync group),
// capped at 255, that raise what this host advertises; Demotions is each
// source's level, every source of DemotionSources present, 0 included.
type Timing struct {
	AdvBase    uint8          `json:"advbase"`
	AdvSkew    uint8          `json:"advskew"`
	Demotion   int            `json:"demotion"`
	Demotions  map[string]int `json:"demotions"`
	DeadTimeMS int64          `json:"dead_time_ms"`
	// A VRRPv3 group's: the priority it advertises now (its configured
	// one lowered by Demotion, never to 0), its Advertisement_Interval
	// and its master's as learned, in centiseconds. DeadTimeMS is then
	// Master_Down_Interval.
	Priority              uint8  `json:"priority,omitempty"`
	AdvertIntervalCS      uint16 `json:"advert_interval_cs,omitempty"`
	MasterAdverIntervalCS uint16 `json:"master_adver_interval_cs,omitempty"`
}

// Peer is another host heard on the group: the fields of its last valid
// advert.
type Peer struct {
	Source   netip.Addr `json:"source"`
	AdvBase  uint8      `json:"advbase"`
	AdvSkew  uint8      `json:"advskew"`
	Demote   uint8      `json:"demote"`
	LastSeen time.Time  `json:"last_seen"`
	Counter  uint64     `json:"counter"`
	// A VRRPv3 peer's priority and interval (centiseconds).
	Priority   uint8  `json:"priority,omitempty"`
	IntervalCS uint16 `json:"interval_cs,omitempty"`
}

// Counters are the counters that SIGUSR1 logs, since the group started.
type Counters struct {
	AdvertsSent   uint64 `json:"adverts_sent"`
	AdvertErrors  uint64 `json:"advert_errors"`
	ValidReceived uint64 `json:"valid_received"`
	// Dropped counts the received packets that were not valid adverts,
	// by reason (carp.DropReason's names: bad-digest, other-vhid, ...);
	// reasons never seen may be absent.
	Dropped         map[string]uint64 `json:"dropped"`
	GratuitousARPs  uint64            `json:"gratuitous_arps"`
	GARPErrors      uint64            `json:"gratuitous_arp_errors"`
	Transitions     uint64            `json:"transitions"`
	ScriptsOK       uint64            `json:"scripts_ok"`
	ScriptsFailed   uint64            `json:"scripts_failed"`
	ScriptsTimedOut uint64            `json:"scripts_timed_out"`
	// PeerSendErrors counts the adverts not sent to one unicast peer
	// (--peer), each peer apart.
	PeerSendErrors uint64 `json:"peer_send_errors,omitempty"`
}

// Transition is a change of state, kept in Group.Transitions (the most
// recent last) and streamed by watch.
type Transition struct {
	Time   time.Time `json:"time"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
}

// Probe is a health check that feeds the group's demotion; State is
// "unknown", "up" or "down" (health.State); LastResult is the last
// check's result, "ok" or "failed" ("" before the first), LastCheck when
// it started, and LatencyMS how long it took.
type Probe struct {
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Target     string    `json:"target"`
	State      string    `json:"state"`
	LastResult string    `json:"last_result,omitempty"`
	LastCheck  time.Time `json:"last_check,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	LatencyMS  float64   `json:"latency_ms"`
}

// Kinds of Event.
const (
	// EventTransition: a group changed state (From, To, Reason).
	EventTransition = "transition"
	// EventDemotion: a group's demotion changed (Demotion).
	EventDemotion = "demotion"
	// EventReload: the node read its configuration again (Message says
	// what changed or why it failed).
	EventReload = "reload"
)

// Event is one line of watch.
type Event struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	// The group's identity; empty for events of the node (reload).
	Group     string `json:"group,omitempty"`
	Interface string `json:"interface,omitempty"`
	VHID      uint8  `json:"vhid,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Demotion  *int   `json:"demotion,omitempty"`
	Message   string `json:"message,omitempty"`
}

// Explanation is explain's answer for one group.
type Explanation struct {
	Group     string `json:"group"`
	Interface string `json:"interface"`
	VHID      uint8  `json:"vhid"`
	Text      string `json:"text"`
}

// SyncState is one sync group in one daemon, as sync-state says it:
// Level is the highest failure level of the daemon's members of it (255
// for a member without carrier, else the member's own demotion, the
// sync source aside), which every member of the group in the other
// processes takes as a demotion.
type SyncState struct {
	Name    string   `json:"name"`
	Level   int      `json:"level"`
	Members []string `json:"members"`
}
