package control

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is the version of the protocol that this package speaks.
const Version = 1

// Verbs of a Request.
const (
	VerbStatus  = "status"
	VerbExplain = "explain"
	VerbDemote  = "demote"
	VerbPromote = "promote"
	VerbWatch   = "watch"
	VerbReload  = "reload"
	// VerbMaintenance puts the selected groups in maintenance (Mode "on")
	// or takes them out ("off"); an empty Group selects every group.
	VerbMaintenance = "maintenance"
)

// changing says whether a verb changes the daemon, and so needs root or
// the control group.
func changing(verb string) bool {
	switch verb {
	case VerbDemote, VerbPromote, VerbReload, VerbMaintenance:
		return true
	}
	return false
}

// MaxDemotion is the highest level that demote takes.
const MaxDemotion = 255

// Request is one line that a client sends.
type Request struct {
	// V is the protocol version; 0 (absent) means 1.
	V    int    `json:"v,omitempty"`
	Verb string `json:"verb"`
	// Group selects groups for explain, demote and promote: a name,
	// IF:VHID or VHID (see Select); empty selects every group.
	Group string `json:"group,omitempty"`
	// Level is demote's level, 0 to MaxDemotion.
	Level int `json:"level,omitempty"`
	// Mode is maintenance's "on" or "off"; Persistent keeps "on" (or
	// forgets it, with "off") across restarts of the daemon.
	Mode       string `json:"mode,omitempty"`
	Persistent bool   `json:"persistent,omitempty"`
}

// Response is one line that the server sends: the answer to a request, or
// one event of watch.
type Response struct {
	V  int  `json:"v"`
	OK bool `json:"ok"`
	// Error and Code say why a request failed (OK false).
	Error        string        `json:"error,omitempty"`
	Code         string        `json:"code,omitempty"`
	Groups       []Group       `json:"groups,omitzero"`
	Explanations []Explanation `json:"explanations,omitzero"`
	Event        *Event        `json:"event,omitempty"`
}

// Codes of a failed Response.
const (
	CodeBadRequest   = "bad-request"   // not JSON, or a field out of range
	CodeTooLong      = "too-long"      // the line exceeds the server's limit; the server hangs up
	CodeVersion      = "version"       // a version that the server does not speak
	CodeUnknownVerb  = "unknown-verb"  // a verb that the server does not know
	CodePermission   = "permission"    // a changing verb from neither root nor the control group
	CodeNotFound     = "not-found"     // no group matches
	CodeAmbiguous    = "ambiguous"     // several groups match a verb that takes one
	CodeNotSupported = "not-supported" // the daemon cannot do it (reload in command-line mode)
	CodeBusy         = "busy"          // too many connections; the server hangs up
	CodeDropped      = "dropped"       // a watch that did not keep up; the server hangs up
	CodeFailed       = "failed"        // the daemon tried and failed
)

// Error is a failed Response as a Go error.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Message
}

// errorf makes an *Error of that code; its message has the package's
// prefix.
func errorf(code, format string, args ...any) error {
	return &Error{Code: code, Message: "control: " + fmt.Sprintf(format, args...)}
}

// Is makes errors.Is(err, ErrNotFound) and the like true for an *Error
// of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Errors for errors.Is, on both sides: a Backend returns (or wraps)
// ErrNotFound or ErrNotSupported to answer with that code, and a client
// tests what it received against them.
var (
	ErrNotFound     error = &Error{Code: CodeNotFound}
	ErrNotSupported error = &Error{Code: CodeNotSupported}
	ErrPermission   error = &Error{Code: CodePermission}
	ErrAmbiguous    error = &Error{Code: CodeAmbiguous}
)

// codeOf is the code that answers err.
func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return CodeFailed
}

// Select returns the groups that sel names, in their order: the group of
// that name if there is one; else, for IF:VHID, the groups of that vhid
// on that interface, and for a number, the groups of that vhid on any
// interface. An empty sel selects them all. Nothing selected is an
// ErrNotFound error.
func Select(groups []Group, sel string) ([]Group, error) {
	if sel == "" {
		return groups, nil
	}
	for _, g := range groups {
		if g.Name == sel {
			return []Group{g}, nil
		}
	}
	vhidText, ifname, byIf := sel, "", false
	if i := strings.LastIndexByte(sel, ':'); i >= 0 {
		ifname, vhidText, byIf = sel[:i], sel[i+1:], true
	}
	var out []Group
	if vhid, err := strconv.ParseUint(vhidText, 10, 8); err == nil {
		for _, g := range groups {
			if uint64(g.VHID) == vhid && (!byIf || g.Interface == ifname) {
				out = append(out, g)
			}
		}
	}
	if len(out) == 0 {
		return nil, errorf(CodeNotFound, "no group %q", sel)
	}
	return out, nil
}

// SelectOne is Select for the verbs that take one group: several groups
// selected is an ErrAmbiguous error that names them.
func SelectOne(groups []Group, sel string) (Group, error) {
	gs, err := Select(groups, sel)
	if err != nil {
		return Group{}, err
	}
	if len(gs) > 1 {
		names := make([]string, len(gs))
		for i, g := range gs {
			names[i] = fmt.Sprintf("%s (%s:%d)", g.Name, g.Interface, g.VHID)
		}
		what := fmt.Sprintf("%d groups match %q", len(gs), sel)
		if sel == "" {
			what = fmt.Sprintf("%d groups, name one", len(gs))
		}
		return Group{}, errorf(CodeAmbiguous, "%s: %s", what, strings.Join(names, ", "))
	}
	return gs[0], nil
}
