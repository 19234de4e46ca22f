package main

import (
	"errors"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
)

// acquire adds the managed address (before the up script).
func (d *daemon) acquire() {
	added, err := d.vips.Acquire()
	switch {
	case errors.Is(err, vip.ErrForeign):
		d.log.Warnf("Virtual address %s is already on %s, configured by someone else: left as it is", d.cfg.vip.Addr(), d.cfg.iface)
	case err != nil:
		d.log.Errorf("Unable to add the virtual address: %s", err)
	case added:
		d.log.Infof("Added %s to %s", d.cfg.vip, d.cfg.iface)
	}
}

// release removes the managed address (after the down script).
func (d *daemon) release() {
	removed, err := d.vips.Release()
	switch {
	case err != nil:
		d.log.Errorf("Unable to remove the virtual address: %s", err)
	case removed:
		d.log.Infof("Removed %s from %s", d.cfg.vip, d.cfg.iface)
	}
}

// reconcile puts the managed address right when someone else changed it:
// a MASTER whose address was removed (a network reload, "ip addr flush")
// adds it back and announces it; a BACKUP that carries our copy removes it.
// It waits while transitions are being carried out. On the timer (tick),
// a MASTER also renews the address's lifetime; never on address events,
// which the renewal itself causes.
func (d *daemon) reconcile(tick bool) {
	if d.vips == nil || d.exit != nil {
		return
	}
	var st vip.State
	var err error
	if tick && d.m.State() == carp.Master {
		st, err = d.vips.Refresh() // even while a script runs: the address must not expire
	} else {
		st, err = d.vips.Check()
	}
	if !d.effects.idle() || d.runner.busy() {
		return
	}
	if err != nil {
		d.log.Errorf("Unable to read the addresses of %s: %s", d.cfg.iface, err)
		return
	}
	switch d.m.State() {
	case carp.Master:
		if !st.Present {
			d.log.Warnf("Virtual address %s was removed from %s by someone else: adding it back", d.cfg.vip, d.cfg.iface)
			d.acquire()
			d.announce(time.Now())
		}
	case carp.Backup, carp.Init:
		if st.Ours {
			d.log.Warnf("Virtual address %s is on %s while %s: removing it", d.cfg.vip, d.cfg.iface, d.m.State())
			d.release()
		}
	}
}

// vipLifetime is how long the managed address outlives the daemon's last
// renewal: the dead interval (when a peer takes over), at least two renewal
// periods, in whole seconds (the kernel's unit), at least 2 s.
func vipLifetime(c *config) time.Duration {
	d := max(carp.DeadInterval(c.advbase, c.deadratio, c.advskew), 2*carp.AdvertInterval(c.advbase, c.advskew), 2*time.Second)
	return (d + time.Second - 1).Truncate(time.Second)
}

// reconcileInterval is one advert interval, the bound the daemon promises
// for putting the address back.
func (d *daemon) reconcileInterval() time.Duration {
	return max(carp.AdvertInterval(d.cfg.advbase, d.cfg.advskew), 100*time.Millisecond)
}
