// Package logfield names the structured fields of the daemon's log
// records: the kind of event a line reports, the group it is about, and the
// state and reason it names. The packages that log (group, node, cmd/ucarp)
// attach them as slog attributes; the text handler of cmd/ucarp leaves them
// out of ucarp's lines, the journal and JSON handlers write them.
//
// An event kind's MESSAGE_ID is fixed for good: journalctl MESSAGE_ID=…
// filters and alerting rules depend on it. A new kind gets a new random id
// (python3 -c 'import uuid; print(uuid.uuid4().hex)'); an id is never
// reused or changed.
package logfield

import "log/slog"

// Attribute keys. Interface and VHID are the node's (slog.Logger.With on
// each group's logger); the others are attached by the line that logs.
const (
	KeyEvent     = "event"
	KeyGroup     = "group"
	KeyInterface = "interface"
	KeyVHID      = "vhid"
	KeyState     = "state"
	KeyReason    = "reason"
)

// Event is the kind of event a log line reports.
type Event string

// The event kinds. The value is what JSON lines carry as "event".
const (
	Transition    Event = "transition"     // a group changed state
	AdvertDrop    Event = "advert-drop"    // a received packet was dropped
	ScriptRun     Event = "script-run"     // an up or down script was started
	ScriptExit    Event = "script-exit"    // a script exited with status 0
	ScriptFailure Event = "script-failure" // a script could not start, failed, or timed out
	Start         Event = "start"          // the daemon started its groups
	Stop          Event = "stop"           // the daemon stops
	Reload        Event = "reload"         // the config file was applied again (or not)
	VIPAdded      Event = "vip-added"      // the daemon added the virtual address
	VIPRemoved    Event = "vip-removed"    // the daemon removed the virtual address
	Link          Event = "link"           // the interface went down, came back, or is gone
	Probe         Event = "probe"          // a health probe changed state
	Demotion      Event = "demotion"       // a demotion began or ended
)

// messageIDs are the journal's MESSAGE_IDs, 128 bits in hexadecimal as
// journald writes them.
var messageIDs = map[Event]string{
	Transition:    "16488b00ea944f628c04c00f608af313",
	AdvertDrop:    "725fca85843c4eda9ff8c9ebc212e874",
	ScriptRun:     "f7d7d438098f415aaab8b1059300c1ec",
	ScriptExit:    "95129a2266324ddc82071e2a74dbbb0a",
	ScriptFailure: "ffd1a821c97e4b5f9ff3d99bb02e8f3d",
	Start:         "978fccaf5e5842e7aeded08a2a70ff2e",
	Stop:          "4c1ebd71d96741af97d30f5a42720e2e",
	Reload:        "ba632c15f6a1409ca9188f8ac3a03bd0",
	VIPAdded:      "cf17a31f17d340b79fab8d696471fb42",
	VIPRemoved:    "3060523fd5a64cf3930dfaa5fff0da8c",
	Link:          "8f4475bb0e9a4d69b8600ddfd23d57dc",
	Probe:         "2191e0b3f96849c899d07da6900ab9bd",
	Demotion:      "60374a3a1519423dbcb9a72b9fefa5d1",
}

// MessageID is the event's journal MESSAGE_ID, or "" for an unknown kind.
func (e Event) MessageID() string { return messageIDs[e] }

// Events lists every kind, for documentation and tests.
func Events() []Event {
	return []Event{Transition, AdvertDrop, ScriptRun, ScriptExit, ScriptFailure, Start, Stop, Reload,
		VIPAdded, VIPRemoved, Link, Probe, Demotion}
}

// Attr is the attribute that marks a line as the event e.
func (e Event) Attr() slog.Attr { return slog.String(KeyEvent, string(e)) }

// State is the state a line names (the new one, for a transition).
func State(s string) slog.Attr { return slog.String(KeyState, s) }

// Reason is why: a transition's reason, a drop's reason, a script's result.
func Reason(s string) slog.Attr { return slog.String(KeyReason, s) }

// Group is a group's name (config mode).
func Group(name string) slog.Attr { return slog.String(KeyGroup, name) }

// FieldOnly reports whether an attribute with this key is for the
// structured outputs only: ucarp's text lines leave it out, as they always
// have.
func FieldOnly(key string) bool {
	switch key {
	case KeyEvent, KeyGroup, KeyState, KeyReason:
		return true
	}
	return false
}
