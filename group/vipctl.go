package group

import (
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/logfield"
	"github.com/ucarp-go/ucarp/vip"
)

// acquire makes the managed address the daemon's (before the up script).
// A copy someone else configured is taken over, so that it goes when this
// host steps down.
func (d *Group) acquire() {
	added, took, err := d.vips.Acquire()
	switch {
	case err != nil:
		d.log.Errorf("Unable to add the virtual address: %s", err)
	case added:
		d.log.eventf(logfield.VIPAdded, nil, levelInfo, "Added %s to %s", d.cfg.addrsText(), d.cfg.addrIface())
	}
	// Acquire gives no fresh lifetime to an address already held: the next
	// tick renews them all (moving renewed forward would postpone the
	// renewal of those, which could expire under a MASTER).
	d.renewed = time.Time{}
	d.tookOver(took)
}

func (d *Group) tookOver(took []vip.Address) {
	for _, a := range took {
		d.log.Warnf("Virtual address %s was on %s, configured by someone else (%s): taken over, it goes when this host stops being MASTER", d.cfg.Addr.Addr(), d.cfg.Interface, a)
	}
}

// release removes every copy of the address (after the down script): only
// the MASTER may answer ARP for it. A copy someone else configured is
// named in a WARNING.
func (d *Group) release() {
	d.dropRenewal() // a renewal after the removal would add the address back
	var removed []vip.Address
	var err error
	if d.cfg.Addr.Addr() == d.cfg.Src {
		// The virtual address is the host's own source address: removing a
		// copy someone else configured would cut the host off.
		var ours bool
		if ours, err = d.vips.RemoveOurs(); ours {
			removed = []vip.Address{d.vips.Address()}
		}
	} else {
		removed, err = d.vips.Release()
	}
	d.renewed = time.Time{}
	for _, a := range removed {
		if d.vips.Ours(a) {
			d.log.eventf(logfield.VIPRemoved, nil, levelInfo, "Removed %s from %s", a.Prefix, d.cfg.addrIface())
		} else {
			d.log.Warnf("Removed %s from %s, configured by someone else: only the MASTER may hold the virtual address", a, d.cfg.addrIface())
		}
	}
	if err != nil {
		d.log.Errorf("Unable to remove the virtual address: %s", err)
	}
}

// reconcile puts the managed address right when someone else changed it:
// a MASTER whose address was removed (a network reload, "ip addr flush")
// adds it back and announces it; a host that is not MASTER removes every
// copy, its own or one someone else configured ("ip addr add" by an old
// vip-up script), which would answer ARP beside the MASTER. It waits while
// transitions are being carried out. On the timer (tick), a MASTER also
// renews the address's lifetime (off the loop: renew.go), taking over a
// copy someone else added;
// never on address events, which the renewal itself causes; and only
// when it is due (renewalDue).
func (d *Group) reconcile(tick bool) {
	if d.vips == nil || d.exit != nil {
		return
	}
	var st vip.State
	var err error
	if now := time.Now(); tick && d.m.State() == carp.Master && d.renewalDue(now) && !d.renew.inFlight {
		// Posted, not waited for (renew.go); even while a script runs:
		// the address must not expire.
		st, err = d.postRenewal(now)
	} else {
		st, err = d.vips.Check()
	}
	if !d.effects.idle() || d.runner.busy() {
		return
	}
	if err != nil {
		d.log.Errorf("Unable to read the addresses of %s: %s", d.cfg.Interface, err)
		return
	}
	switch d.m.State() {
	case carp.Master:
		if !st.Held {
			if !st.Present {
				d.log.Warnf("Virtual address %s was removed from %s by someone else: adding it back", d.cfg.Addr, d.cfg.addrIface())
			}
			d.acquire()
			d.announce(time.Now())
		}
	case carp.Backup, carp.Init:
		if d.maint.holding() {
			return // a maintenance handoff keeps it until the peer has it
		}
		if st.Ours {
			d.log.Warnf("Virtual address %s is on %s while %s: removing it", d.cfg.Addr, d.cfg.Interface, d.m.State())
		}
		if st.Present {
			d.release()
		}
	}
}

// vipLifetime is how long the managed address outlives the daemon's last
// renewal: the dead interval (when a peer takes over), at least two renewal
// periods, in whole seconds (the kernel's unit), at least 2 s.
func vipLifetime(c *Config) time.Duration {
	d := max(carp.DeadInterval(c.AdvBase, c.DeadRatio, c.AdvSkew), 2*carp.AdvertInterval(c.AdvBase, c.AdvSkew), 2*time.Second)
	return (d + time.Second - 1).Truncate(time.Second)
}

// renewalDue says whether a MASTER's tick at now renews the address's
// lifetime: when, by the next tick, less than half of it would be left.
// The address then never has less than half its lifetime left while the
// MASTER ticks on time, and a killed or hung MASTER's address goes at the
// latest one lifetime after its last renewal, which is no later than
// before (the last advert plus the lifetime). At advbase 1 (lifetime 3 s,
// ticks 1 s apart) every tick still renews; at sub-second intervals a
// renewal every tick (50 a second at -k 5) becomes about one a second.
func (d *Group) renewalDue(now time.Time) bool {
	if d.renewed.IsZero() {
		return true
	}
	return now.Sub(d.renewed)+d.reconcileInterval() >= vipLifetime(d.cfg)/2
}

// reconcileInterval is one advert interval, the bound the daemon promises
// for putting the address back.
func (d *Group) reconcileInterval() time.Duration {
	return max(carp.AdvertInterval(d.cfg.AdvBase, d.cfg.AdvSkew), 100*time.Millisecond)
}

// addrIface is the interface that holds the addresses: the virtual MAC's
// macvlan if the group has one, else its interface.
func (c *Config) addrIface() string {
	if c.VMAC != "" {
		return c.VMAC
	}
	return c.Interface
}
