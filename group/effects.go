package group

import "github.com/ucarp-go/ucarp/carp"

// effects is the queue of what transitions ask of the host: scripts,
// address steps and gratuitous ARPs, carried out in order and one script
// at a time. It converges instead of growing: a transition supersedes the
// steps of earlier ones that have not started, so that whatever arrives
// (a burst of adverts that flips the state while a slow script runs), at
// most the group of the running script and the one that brings the host
// to its current state remain. Its size is bounded by two groups of
// three steps.
//
// A group is the steps of one transition: [add address], up script,
// gratuitous ARP for MASTER; down script, [remove address] for BACKUP or
// a release. A gratuitous ARP that is no transition's (the delayed one,
// an answer to a lesser master) is a flag, not a step: it goes out when
// nothing is ahead of it.
type effects struct {
	batch    []carp.Action // the group of the transition being handled
	flight   []carp.Action // the rest of the group whose script runs
	holds    bool          // whether the group in flight brings the address up
	queued   []carp.Action // the latest group, not started
	announce bool          // a gratuitous ARP outside any group
	// superseded counts the steps dropped because a later transition
	// came before they started.
	superseded uint64
}

// add collects a step of the transition being handled; commit queues it.
func (e *effects) add(a carp.Action) { e.batch = append(e.batch, a) }

// holding says whether a group leaves the host holding the address (up
// script, address added) or not (down script, address removed); ok is
// false for a group that is only a gratuitous ARP.
func holding(group []carp.Action) (holds, ok bool) {
	for _, a := range group {
		switch a.Kind {
		case carp.ActionAddVIP:
			return true, true
		case carp.ActionRemoveVIP:
			return false, true
		case carp.ActionRunScript:
			return a.Script == carp.ScriptUp, true
		}
	}
	return false, false
}

// commit queues the steps collected since the last commit, superseding
// the steps that have not started; running says whether a script runs.
func (e *effects) commit(running bool) {
	if len(e.batch) == 0 {
		return
	}
	defer func() { e.batch = e.batch[:0] }()
	holds, ok := holding(e.batch)
	if !ok {
		e.announce = true
		return
	}
	e.superseded += uint64(len(e.queued))
	e.queued = e.queued[:0]
	if (len(e.flight) > 0 || running) && holds == e.holds {
		// The group in flight brings the host where this one would.
		e.superseded += uint64(len(e.batch))
		return
	}
	e.queued = append(e.queued, e.batch...)
}

// next is the next step to carry out; ok is false when there is none.
// The caller carries steps out only while no script runs.
func (e *effects) next() (a carp.Action, ok bool) {
	if len(e.queued) > 0 {
		if holds, _ := holding(e.queued); len(e.flight) == 0 || holds != e.holds {
			// The rest of the group in flight, if any, is moot.
			e.superseded += uint64(len(e.flight))
			e.holds = holds
			e.flight, e.queued = append(e.flight[:0], e.queued...), e.queued[:0]
		}
	}
	if len(e.flight) > 0 {
		a, e.flight = e.flight[0], e.flight[1:]
		return a, true
	}
	if e.announce {
		e.announce = false
		return carp.Action{Kind: carp.ActionAnnounce}, true
	}
	return carp.Action{}, false
}

// flightHolds reports whether the group of the running script brings the
// address up.
func (e *effects) flightHolds() bool { return e.holds }

// idle reports whether no step waits.
func (e *effects) idle() bool {
	return len(e.flight) == 0 && len(e.queued) == 0 && !e.announce
}
