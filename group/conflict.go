package group

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
)

// Conflict is the last claim of one of the group's addresses by another
// MAC, heard while MASTER: a split brain, another host that configured
// the address by hand, a peer that did not hear this one.
type Conflict struct {
	Time time.Time
	Addr netip.Addr
	MAC  string
}

// conflicts is the loop's state of the watch of claims (Deps.WatchClaims)
// and of the conflicts seen.
type conflicts struct {
	stop  func() // the watch, while it runs
	err   error  // what the watch said when it began
	count []uint64
	last  Conflict
	// lim rate-limits the log line and the announcement that answer a
	// conflict: a host that answers every ARP request, or a flood of
	// forged replies, costs at most a frame and a line a second.
	lim rateLimit
	// quiet is when claims count again, one advert interval after this
	// host heard a peer's advert (two after a MASTER's demotion): a
	// handover, where the other MASTER's announcement and the election
	// cross, is no conflict (quietFor). None after this host becomes
	// MASTER: an intruder's one claim then would win the neighbours'
	// caches for good, and the old MASTER's answers go to the askers, not
	// to this host (the listener drops PACKET_OTHERHOST).
	quiet time.Time
	// held are the claims heard as MASTER and not judged yet (claimGrace).
	held []heldClaim
}

type heldClaim struct {
	at time.Time
	c  vip.Claim
}

// claimGrace is how long a claim heard as MASTER waits to be judged: the
// advert of a peer that takes over and its announcement arrive together,
// but through two readers, the announcement first as often as not; the
// advert, read by then, makes this host step down and the claim no
// conflict. maxHeld bounds the claims that wait (a flood is judged at
// once).
const (
	claimGrace = 5 * time.Millisecond
	maxHeld    = 16
)

// quietFor makes the claims heard until one advert interval from now
// none of a conflict's: the new MASTER's announcement when it arrives
// with the advert that makes this host step down.
func (d *Group) quietFor(now time.Time) {
	iv := d.reconcileInterval()
	if d.vm != nil && d.cfg.AdvertInterval > 0 {
		iv = max(iv, time.Duration(d.cfg.AdvertInterval)*10*time.Millisecond)
	}
	d.conf.quiet = now.Add(iv)
}

// ErrNoClaims is what Deps.WatchClaims wraps when the platform cannot
// see the claims of a family at all (FreeBSD today): nothing is logged.
var ErrNoClaims = errors.New("group: claims of addresses cannot be seen here")

// watching says whether the group needs to hear who claims its
// addresses: as MASTER, to see a conflict; while a handoff keeps the
// address, to see the peer's announcement.
func (d *Group) watching() bool {
	return d.exit == nil && (d.m.State() == carp.Master && !d.cfg.NoConflictDetect || d.maint.holding())
}

// rewatch starts or stops the watch of claims to match watching. With
// no watch at all, the group has no listener: idle, it costs nothing.
func (d *Group) rewatch() {
	if d.watchClaims == nil {
		return
	}
	switch want := d.watching(); {
	case want && d.conf.stop == nil:
		var addrs []netip.Addr
		for _, p := range d.cfg.addrs() {
			addrs = append(addrs, p.Addr())
		}
		d.conf.stop, d.conf.err = d.watchClaims(addrs, d.claims)
		if d.conf.err != nil && !d.cfg.NoConflictDetect && !errors.Is(d.conf.err, ErrNoClaims) {
			d.log.Warnf("Cannot listen for other hosts that claim the group's addresses: %s", d.conf.err)
		}
	case !want && d.conf.stop != nil:
		d.conf.stop()
		d.conf.stop, d.conf.err = nil, nil
		d.conf.held, d.deadlines[timerClaims] = nil, time.Time{}
		for len(d.claims) > 0 {
			<-d.claims
		}
	}
}

// drainAdverts handles the packets already queued, at most as many as
// the queue holds.
func (d *Group) drainAdverts() {
	for range cap(d.rx) {
		select {
		case r := <-d.rx:
			d.onPacket(r)
		default:
			return
		}
	}
}

// onClaim routes a claim heard: to a handoff in flight, which waits for
// the peer's announcement, else to the MASTER as a conflict.
func (d *Group) onClaim(now time.Time, c vip.Claim) {
	// The adverts already queued come first: the select of the loop picks
	// among ready channels at random, and a new MASTER's advert and its
	// announcement arrive together.
	d.drainAdverts()
	switch {
	case d.maint.holding():
		if c.Addr == d.cfg.Addr.Addr() {
			d.maintClaim(now, c)
		}
	case now.Before(d.conf.quiet):
	case d.m.State() == carp.Master && d.exit == nil && !d.cfg.NoConflictDetect:
		if len(d.conf.held) >= maxHeld {
			d.conflict(now, c)
			return
		}
		d.conf.held = append(d.conf.held, heldClaim{at: now, c: c})
		if d.deadlines[timerClaims].IsZero() {
			d.deadlines[timerClaims] = now.Add(claimGrace)
		}
	}
}

// judgeClaims judges the claims held back, after the adverts read
// meanwhile: those still heard as MASTER are conflicts.
func (d *Group) judgeClaims(now time.Time) {
	d.drainAdverts()
	held := d.conf.held
	d.conf.held = nil
	if now.Before(d.conf.quiet) || d.m.State() != carp.Master || d.exit != nil || d.cfg.NoConflictDetect || d.maint.holding() {
		return
	}
	for _, h := range held {
		d.conflict(h.at, h.c)
	}
}

// conflict is another host that claims one of the MASTER's addresses:
// it is counted, logged and answered with the address's announcement at
// once, so that the neighbours' caches come back to this host.
func (d *Group) conflict(now time.Time, c vip.Claim) {
	i := -1
	for j, p := range d.cfg.addrs() {
		if p.Addr() == c.Addr {
			i = j
		}
	}
	if i < 0 || bytes.Equal(c.MAC, d.mac) {
		return
	}
	if len(d.conf.count) != len(d.cfg.addrs()) {
		d.conf.count = make([]uint64, len(d.cfg.addrs()))
	}
	d.conf.count[i]++
	d.conf.last = Conflict{Time: now, Addr: c.Addr, MAC: c.MAC.String()}
	if !d.conf.lim.allow(now) {
		return
	}
	d.log.Warnf("Address conflict: %s is also claimed by %s on %s: announcing it again", c.Addr, c.MAC, d.cfg.Interface)
	if f := d.frameOf(c.Addr); f != nil {
		if err := d.arp.WriteFrame(f); err != nil {
			d.stats.garpErrors++
			d.log.Errorf("write() in garp: %s", strerror(err))
		} else {
			d.stats.garps++
		}
	}
}

// SetMAC gives the group the interface's MAC when it changed under the
// daemon (`ip link set address`, a bond's fail_over_mac): the
// announcements carry it from now on, and the claims that carry it are
// the group's own. A MAC that is not Ethernet's is ignored.
func (d *Group) SetMAC(mac net.HardwareAddr) {
	if len(mac) != 6 {
		return
	}
	d.inLoop(func() {
		if bytes.Equal(mac, d.mac) {
			return
		}
		d.mac = slices.Clone(mac)
		if d.arp != nil {
			if garp, err := announcements(d.cfg, &d.deps); err == nil {
				d.garp = garp
			}
		}
	})
}

// frameOf is the announcement of addr among the group's frames.
func (d *Group) frameOf(addr netip.Addr) []byte {
	for _, f := range d.garp {
		c, err := vip.ParseClaim(f)
		if err != nil {
			c, err = vip.ParseNDClaim(f)
		}
		if err == nil && c.Addr == addr {
			return f
		}
	}
	return nil
}

// flushConflicts reports the conflicts left unlogged.
func (d *Group) flushConflicts() {
	if n := d.conf.lim.suppressed; n > 0 {
		d.conf.lim.suppressed = 0
		d.log.Warnf("%d more address conflicts left unanswered in the last %v (announcement and log line rate-limited)", n, flushEvery)
	}
}
