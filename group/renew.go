package group

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
)

// A MASTER's renewal of its address's lifetime runs off the loop (issue
// 19). The kernel handles the request under its rtnl lock, which other
// processes can hold for 100-300 ms (network namespaces made or deleted,
// container runtimes): a renewal made in the loop then held the loop, and
// the adverts behind it went out late, late enough at -b 0 -k 5 (an
// advert every 19.5 ms) for the backup to take over. The loop now looks
// at the address (the cache, as on an address event), posts the renewal
// of each address to the platform (vip.Manager.PostRenewal) and goes on;
// the result comes back to the loop as an event (onRenewed), where it is
// applied as reconcile applied Refresh's. At most one renewal is in
// flight: while it is, the ticks only look (the renewal is due every tick
// until its result moves renewed).
// A maintenance handoff, which keeps the address while the machine is
// BACKUP, renews it the same way (maintTimer).
//
// The renewal is an RTM_NEWADDR with NLM_F_REPLACE, which adds the
// address when it is not there (the kernel ignores a missing
// NLM_F_CREATE): a renewal that ran after a release would put the address
// back on a BACKUP. So release, and the end of the loop, wait for the
// renewal in flight first (dropRenewal); a reload that replaces the
// address set only makes its result stale (the generation).

// No goroutine of the group's makes the requests: on Linux the platform's
// one goroutine for the node (platform.Renewals) makes the renewals
// of every group, those posted in one wake-up in one datagram, and calls
// each address's done there, the last of which sends the renewal back to
// the loop (a System that cannot post gets a goroutine per address, as
// before). A goroutine per address per renewal mapped back, at each
// renewal, the runtime's tables that the start, the exit and the stack
// growth of a goroutine read (.gopclntab: about 1.1 MiB of a lone
// MASTER's resident memory once cmd/ucarp has released the executable's
// pages; docs/PERF.md, "What one group maps back"); a renewer per group
// kept a stack per MASTER.

// renewal is one posted renewal and, once back, its result.
type renewal struct {
	gen    uint64
	posted time.Time // when the requests were posted: no later than the kernel saw them
	whole  bool      // every address was held and is being renewed
	took   [][]vip.Address
	errs   []error
	left   atomic.Int32 // answers still to come
}

// renewer is the loop's side of the renewals.
type renewer struct {
	inFlight bool
	gen      uint64 // the current generation; a result of another is stale
	done     chan *renewal
}

// postRenewal looks at the addresses as Check does and posts the renewal
// of those held, when none is in flight; it reports what it found, as
// Check.
func (d *Group) postRenewal(now time.Time) (vip.State, error) {
	var st vip.State
	var ms []*vip.Manager
	var took [][]vip.Address
	whole := true
	for i, m := range d.vips.ms {
		one, t, renew, err := m.PrepareRenewal()
		if err != nil {
			return st, err // nothing posted: the next tick tries again
		}
		d.vips.fold(&st, one, i == 0)
		if renew {
			ms = append(ms, m)
			took = append(took, t)
		} else {
			whole = false
		}
	}
	if len(ms) == 0 {
		return st, nil
	}
	if d.renew.done == nil {
		d.renew.done = make(chan *renewal, 1)
	}
	r := &renewal{gen: d.renew.gen, posted: now, whole: whole, took: took, errs: make([]error, len(ms))}
	d.renew.inFlight = true
	done := d.renew.done
	r.left.Store(int32(len(ms)))
	// All posted before the platform's renewer runs: they go in one
	// datagram, with those of the other groups woken with this one.
	for i, m := range ms {
		m.PostRenewal(func(err error) {
			r.errs[i] = err
			if r.left.Add(-1) == 0 {
				done <- r // room for it: one in flight, and never blocks the renewer
			}
		})
	}
	return st, nil
}

// onRenewed applies a renewal's result in the loop: the lifetime counts
// from when it was posted; a copy someone else configured that it marked
// as the daemon's is named (also when the result is stale); a failure is
// logged and the address looked at again (a MASTER adds it back if it is
// gone). A stale result (a release or reload since, a MASTER no more, a
// stop) changes nothing else.
func (d *Group) onRenewed(r *renewal) {
	d.renew.inFlight = false
	d.noteTakeovers(r)
	holder := d.m.State() == carp.Master || d.maint.holding() // a handoff keeps the address
	if r.gen != d.renew.gen || d.vips == nil || d.exit != nil || !holder {
		return
	}
	var errs []error
	for _, err := range r.errs {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if r.whole && r.posted.After(d.renewed) {
			d.renewed = r.posted
		}
		return
	}
	if d.m.State() != carp.Master {
		d.log.Errorf("Maintenance: unable to renew %s: %s", d.cfg.Addr, errors.Join(errs...))
		return // the next tick of the handoff renews again
	}
	d.log.Errorf("Unable to renew the virtual address on %s: %s", d.cfg.addrIface(), errors.Join(errs...))
	d.reconcile(false)
}

// dropRenewal makes the renewal in flight stale and waits for it to end:
// before a release, which it could otherwise undo, and before the loop
// returns. The wait is the kernel's: as long as another process holds
// its rtnl lock, as the release's own delete would wait (no timeout).
func (d *Group) dropRenewal() {
	d.renew.gen++
	if d.renew.inFlight {
		d.noteTakeovers(<-d.renew.done)
		d.renew.inFlight = false
	}
}

// noteTakeovers names the copies someone else configured that r's
// successful renewals gave the daemon's mark, whether or not r is stale:
// what a renewal did to the table stands after a reload or a step-down
// (whose release waited for it), and no later look would see it (the
// copy is the daemon's from then on, and a release names it as such).
func (d *Group) noteTakeovers(r *renewal) {
	for i, err := range r.errs {
		if err == nil {
			d.tookOver(r.took[i])
		}
	}
}
