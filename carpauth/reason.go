package carpauth

import (
	"fmt"
	"sync/atomic"
)

// Result is what the receive side found in one advert that passed the
// plain CARP checks (carp.Validator), and, when the advert is dropped, the
// reason for the drop. Its String is a short name for counters and
// metric labels, in the style of carp.DropReason.
type Result uint8

// Results. A packet is given the first that applies, in this order.
const (
	// ResultVerified: a trailer is present, made with a listed key, its
	// MAC matches, and its sequence is fresh.
	ResultVerified Result = iota // verified
	// ResultAbsent: no trailer (a plain CARP advert).
	ResultAbsent // absent
	// ResultMalformed: the bytes after the CARP header start with the
	// magic but are no trailer (wrong length, truncated).
	ResultMalformed // malformed
	// ResultBadVersion: a trailer of a version this daemon does not know.
	ResultBadVersion // bad-version
	// ResultUnknownKey: the key id is not in the key file.
	ResultUnknownKey // unknown-key
	// ResultBadMAC: the HMAC-SHA256 does not match: another key with
	// the same id, or a packet changed on the way (advskew, advbase,
	// source, destination, addresses, sequence).
	ResultBadMAC // bad-mac
	// ResultReplay: the sequence is not above the last one accepted from
	// this source: a replayed or reordered advert.
	ResultReplay // replay
	// ResultStale: the sequence is older than the replay window allows:
	// an advert captured earlier and held back.
	ResultStale // stale
	// ResultFuture: the first advert of a sender (or the first after it
	// was silent for longer than the window) carries a sequence further
	// ahead of the receiver's wall clock than the window: a sender
	// whose clock runs fast, or an advert made to outlive its capture.
	ResultFuture // future

	// NumResults is the number of results, for arrays of counters.
	NumResults
)

var resultNames = [...]string{
	ResultVerified:   "verified",
	ResultAbsent:     "absent",
	ResultMalformed:  "malformed",
	ResultBadVersion: "bad-version",
	ResultUnknownKey: "unknown-key",
	ResultBadMAC:     "bad-mac",
	ResultReplay:     "replay",
	ResultStale:      "stale",
	ResultFuture:     "future",
}

// String is the result's short name: a metric label value.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// Failed reports whether a trailer was present and did not verify.
func (r Result) Failed() bool { return r != ResultVerified && r != ResultAbsent }

// Counters counts the verdicts of one group, by result and by whether the
// advert was accepted or dropped. It is safe for concurrent use: the
// reader adds, the status and metrics read.
//
// The metric this is meant for (planned) is
// ucarp_auth_adverts_total{result="bad-mac",action="dropped"}; accepted
// adverts with a failed result are those that enforce mode would drop.
type Counters struct {
	accepted, dropped [NumResults]atomic.Uint64
}

// Count adds v.
func (c *Counters) Count(v Verdict) {
	if v.Result >= NumResults {
		return
	}
	if v.Drop {
		c.dropped[v.Result].Add(1)
	} else {
		c.accepted[v.Result].Add(1)
	}
}

// Accepted is the number of adverts accepted with result r.
func (c *Counters) Accepted(r Result) uint64 {
	if r >= NumResults {
		return 0
	}
	return c.accepted[r].Load()
}

// Dropped is the number of adverts dropped with result r.
func (c *Counters) Dropped(r Result) uint64 {
	if r >= NumResults {
		return 0
	}
	return c.dropped[r].Load()
}
