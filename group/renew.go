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
// at the address (the cache, as on an address event), posts the platform
// calls to a goroutine and goes on; the result comes back to the loop as
// an event (onRenewed), where it is applied as reconcile applied
// Refresh's. At most one renewal is in flight: while it is, the ticks only
// look (the renewal is due every tick until its result moves renewed).
// A maintenance handoff, which keeps the address while the machine is
// BACKUP, renews it the same way (maintTimer).
//
// The renewal is an RTM_NEWADDR with NLM_F_REPLACE, which adds the
// address when it is not there (the kernel ignores a missing
// NLM_F_CREATE): a renewal that ran after a release would put the address
// back on a BACKUP. So release, and the end of the loop, wait for the
// renewal in flight first (dropRenewal); a reload that replaces the
// address set only makes its result stale (the generation).

// renewal is one posted renewal and, once back, its result. One serves
// the next (renewer.spare): at most one is in flight, and its slices are
// kept.
type renewal struct {
	gen    uint64
	posted time.Time // when the requests were posted: no later than the kernel saw them
	whole  bool      // every address was held and is being renewed
	ms     []*vip.Manager
	took   [][]vip.Address
	errs   []error
	left   atomic.Int32 // renewals not yet back
}

// renewer is the loop's side of the renewals.
type renewer struct {
	inFlight bool
	gen      uint64        // the current generation; a result of another is stale
	work     chan *renewal // to the group's renewer goroutine (renewLoop), from the first renewal to the loop's end
	done     chan *renewal
	spare    *renewal // the last one back
}

// postRenewal looks at the addresses as Check does and posts the renewal
// of those held, when none is in flight; it reports what it found, as
// Check.
func (d *Group) postRenewal(now time.Time) (vip.State, error) {
	var st vip.State
	r := d.renew.spare
	if r == nil {
		r = &renewal{}
	}
	r.ms, r.took, r.errs = r.ms[:0], r.took[:0], r.errs[:0]
	whole := true
	for i, m := range d.vips.ms {
		one, t, renew, err := m.PrepareRenewal()
		if err != nil {
			d.renew.spare = r
			return st, err // nothing posted: the next tick tries again
		}
		d.vips.fold(&st, one, i == 0)
		if renew {
			r.ms = append(r.ms, m)
			r.took = append(r.took, t)
			r.errs = append(r.errs, nil)
		} else {
			whole = false
		}
	}
	d.renew.spare = nil
	if len(r.ms) == 0 {
		d.renew.spare = r
		return st, nil
	}
	if d.renew.work == nil {
		d.renew.work = make(chan *renewal, 1)
		d.renew.done = make(chan *renewal, 1)
		go renewLoop(d.renew.work, d.renew.done)
	}
	r.gen, r.posted, r.whole = d.renew.gen, now, whole
	d.renew.inFlight = true
	d.renew.work <- r // room for it: one in flight, the last one taken
	return st, nil
}

// renewLoop is a group's renewer: it renews the addresses of each
// renewal posted on work and sends it back on done, until work is
// closed. One goroutine for the group's lifetime, not one per renewal
// (docs/PERF.md, "The renewal without garbage"). The addresses after the
// first renew on goroutines of their own, so that all of them wait for
// the kernel together: the platform sends the renewals that wait together
// in one datagram (platform's rtnl.renew), those of the other groups
// woken with this one too.
func renewLoop(work <-chan *renewal, done chan<- *renewal) {
	for r := range work {
		r.left.Store(int32(len(r.ms)))
		for i := 1; i < len(r.ms); i++ {
			go func() {
				r.errs[i] = r.ms[i].Renew()
				if r.left.Add(-1) == 0 {
					done <- r // room for it: one in flight
				}
			}()
		}
		r.errs[0] = r.ms[0].Renew()
		if r.left.Add(-1) == 0 {
			done <- r
		}
	}
}

// endRenewals ends the group's renewer, once the loop has dropped the
// renewal in flight (dropRenewal).
func (d *Group) endRenewals() {
	if d.renew.work != nil {
		close(d.renew.work)
		d.renew.work = nil
	}
}

// onRenewed applies a renewal's result in the loop: the lifetime counts
// from when it was posted; a copy someone else configured that it marked
// as the daemon's is named (also when the result is stale); a failure is
// logged and the address looked at again (a MASTER adds it back if it is
// gone). A stale result (a release or reload since, a MASTER no more, a
// stop) changes nothing else.
func (d *Group) onRenewed(r *renewal) {
	d.renew.inFlight = false
	defer func() { d.renew.spare = r }()
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
		r := <-d.renew.done
		d.noteTakeovers(r)
		d.renew.inFlight = false
		d.renew.spare = r
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
