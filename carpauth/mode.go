package carpauth

import "fmt"

// Mode is the rollout stage of --auth=hmac-sha256 on one host
// (--auth-mode). The stages let a running pair move to the extension one
// host at a time without either host ever dropping the other's adverts:
//
//	            sends     accepts plain   accepts a trailer that fails
//	Off         plain     yes             yes, trailer ignored (as ucarp)
//	ReceiveOnly plain     yes             yes, counted
//	Permissive  trailer   yes             yes, counted
//	Enforce     trailer   no (dropped)    no (dropped)
//
// Off is --auth=carp, the default: the trailer is never looked at. In
// ReceiveOnly and Permissive a trailer is verified and the result counted,
// but the advert is accepted whatever the result: an attacker could strip
// the trailer and be accepted as plain CARP anyway, so dropping there
// would add no protection, only the risk that a key mistake makes a
// backup take over in the middle of a rollout. The counters show such a
// mistake (a failed result among the accepted) before Enforce turns it
// into drops.
//
// The path for a pair A, B (TestRollout): A ReceiveOnly, B ReceiveOnly,
// A Permissive, B Permissive, A Enforce, B Enforce. The rule behind it:
// a host may enforce only once every peer sends the trailer.
type Mode uint8

// Modes; Off is the zero value.
const (
	Off         Mode = iota // off
	ReceiveOnly             // receive-only
	Permissive              // permissive
	Enforce                 // enforce
)

var modeNames = [...]string{Off: "off", ReceiveOnly: "receive-only", Permissive: "permissive", Enforce: "enforce"}

// String is the mode's name as --auth-mode takes it ("off" stands for
// --auth=carp).
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode reads an --auth-mode value: receive-only, permissive or
// enforce (the default, when the option is absent). "off" is not an
// --auth-mode value: it is --auth=carp.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "receive-only":
		return ReceiveOnly, nil
	case "permissive":
		return Permissive, nil
	case "enforce":
		return Enforce, nil
	}
	return Off, fmt.Errorf("carpauth: --auth-mode=%s: want receive-only, permissive or enforce", s)
}

// Sends reports whether a host in mode m appends the trailer to its
// adverts.
func (m Mode) Sends() bool { return m == Permissive || m == Enforce }

// Verdict is the decision about one advert: drop it or not, and the
// result behind the decision (a metric label either way).
type Verdict struct {
	Drop   bool
	Result Result
}

// Decide is the receive rule of the table in Mode's documentation: in
// mode m, for an advert that passed the plain CARP checks, with or
// without a trailer (hasTrailer), whose verification gave r (ignored
// without a trailer), drop or accept. Only Enforce drops.
func Decide(m Mode, hasTrailer bool, r Result) Verdict {
	if !hasTrailer {
		return Verdict{Drop: m == Enforce, Result: ResultAbsent}
	}
	if m == Off {
		return Verdict{Result: ResultAbsent} // never looked at
	}
	return Verdict{Drop: m == Enforce && r != ResultVerified, Result: r}
}
