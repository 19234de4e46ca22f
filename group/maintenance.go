package group

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// DemotionMaintenance is the demotion source of maintenance
// (SetMaintenance): the highest level, so that any peer wins.
const DemotionMaintenance = "maintenance"

// MaintPhase is where a group in maintenance is. A MASTER put in
// maintenance hands over make-before-break:
//
//	MASTER --on--> handing-off: bow-out advert sent, BACKUP in the election,
//	   |           the address kept (and renewed), answering and forwarding
//	   |--(a peer's MASTER advert)--> waiting-announcement
//	   |--(no peer takes over: the dead interval after the hold)--> no-peer (MASTER)
//	waiting-announcement --(the peer's gratuitous ARP for the address)--> handed-off
//	                     --(none, but steady MASTER adverts)--> handed-off, logged
//	handed-off: the down script and the address removal have run; BACKUP
//
// A group put in maintenance while BACKUP is only demoted ("backup").
type MaintPhase uint8

const (
	MaintOff          MaintPhase = iota
	MaintHandoff                 // demoted, bowed out, holding the address until a peer's MASTER advert
	MaintAnnouncement            // a peer's MASTER advert heard; holding the address until its announcement
	MaintHandedOff               // the peer holds the address; this host is BACKUP and let it go
	MaintNoPeer                  // no peer took over: MASTER, with the address
	MaintBackup                  // put in maintenance while not MASTER: demoted, nothing to hand off
)

var maintPhaseNames = [...]string{MaintOff: "off", MaintHandoff: "handing-off",
	MaintAnnouncement: "waiting-announcement", MaintHandedOff: "handed-off", MaintNoPeer: "no-peer",
	MaintBackup: "backup"}

func (p MaintPhase) String() string {
	if int(p) < len(maintPhaseNames) {
		return maintPhaseNames[p]
	}
	return "unknown"
}

// Maintenance is a group's maintenance as Status reports it.
type Maintenance struct {
	On    bool
	Phase MaintPhase
	// Since is when maintenance was put on; PhaseSince when the phase
	// began.
	Since, PhaseSince time.Time
	// Peer is the source of the peer's MASTER adverts heard during the
	// handoff, Adverts how many; Announced says whether its gratuitous
	// ARP for the address was seen (from PeerMAC).
	Peer      netip.Addr
	Adverts   int
	Announced bool
	PeerMAC   string
	// Note says what the last handoff did beyond its plan: released
	// without an announcement, no listener for announcements...
	Note string
}

// maintenance is the loop's state of it.
type maintenance struct {
	Maintenance
	deferred  []carp.Action // the leave's steps (down script, address removal), held back
	deadline  time.Time     // waiting-announcement: when to give up waiting
	last      time.Time     // the peer's last MASTER advert
	listener  platform.FrameReader
	stopRead  chan struct{} // closed with the listener: its reader ends
	listening bool          // whether announcements can be seen
}

// holding reports whether the group keeps the address for a handoff in
// flight.
func (m *maintenance) holding() bool {
	return m.Phase == MaintHandoff || m.Phase == MaintAnnouncement
}

// maintTick is how often a handoff in flight renews the address and
// looks at its deadline.
func (d *Group) maintTick() time.Duration { return d.reconcileInterval() }

// announceWait is how long a handoff waits for the announcement after
// the peer's first MASTER advert: three advert intervals of the group's
// advbase, at least a second. A CARP or VRRP peer announces at once.
func (d *Group) announceWait() time.Duration {
	return max(3*carp.AdvertInterval(d.cfg.AdvBase, 0), time.Second)
}

// SetMaintenance puts the group in maintenance or takes it out, and
// returns where it is then. On demotes the group by carp.MaxDemotion
// (DemotionMaintenance); a MASTER hands over make-before-break (see
// MaintPhase); on again while MASTER with no peer tries again. Off
// removes the demotion: a handoff in flight completes (the address is
// never left unheld), then the election decides (with --preempt this
// host takes the address back).
func (d *Group) SetMaintenance(on bool) Maintenance {
	var out Maintenance
	d.inLoop(func() {
		if d.exit == nil {
			d.setMaintenance(time.Now(), on)
		}
		out = d.maint.Maintenance
	})
	return out
}

func (d *Group) setMaintenance(now time.Time, on bool) {
	m := &d.maint
	if !on {
		if !m.On {
			return
		}
		m.On = false
		d.log.Infof("Maintenance off")
		d.setDemotion(DemotionMaintenance, 0)
		if !m.holding() {
			d.setPhase(now, MaintOff)
		}
		return
	}
	if !m.On {
		m.On, m.Since = true, now
		d.log.Infof("Maintenance on")
	}
	d.setDemotion(DemotionMaintenance, carp.MaxDemotion)
	switch {
	case m.holding():
	case d.m.State() == carp.Master:
		d.beginHandoff(now)
	default:
		d.setPhase(now, MaintBackup)
	}
}

func (d *Group) setPhase(now time.Time, p MaintPhase) {
	if d.maint.Phase != p {
		d.maint.Phase, d.maint.PhaseSince = p, now
	}
}

// beginHandoff makes the MASTER step down while it keeps the address: a
// bow-out advert so that a peer takes over at once, the leave's steps
// held back.
func (d *Group) beginHandoff(now time.Time) {
	m := &d.maint
	m.Peer, m.Adverts, m.Announced, m.PeerMAC, m.Note = netip.Addr{}, 0, false, "", ""
	d.setPhase(now, MaintHandoff)
	d.listen()
	d.deadlines[timerMaint] = now.Add(d.maintTick())
	d.log.Infof("Maintenance: handing %s over to a peer, keeping it until the peer has announced it", d.cfg.Addr)
	d.feed(carp.Event{Kind: carp.EventDemote})
}

// listen opens the listener of announcements, if the platform has one.
func (d *Group) listen() {
	m := &d.maint
	m.listening = false
	for len(d.claims) > 0 { // an earlier handoff's
		<-d.claims
	}
	if d.watchClaims != nil && d.cfg.Addr.Addr().Is4() && d.arp != nil {
		// The node's listener, which rewatch keeps while the handoff
		// holds the address.
		d.rewatch()
		switch {
		case errors.Is(d.conf.err, ErrNoClaims):
			m.Note = "announcements cannot be seen here: the peer's MASTER adverts decide"
			return
		case d.conf.stop == nil || d.conf.err != nil:
			m.Note = "no listener for announcements: the peer's MASTER adverts decide"
			return
		}
		m.listening = true
		return
	}
	if d.listenARP == nil || !d.cfg.Addr.Addr().Is4() || d.arp == nil {
		m.Note = "announcements cannot be seen here: the peer's MASTER adverts decide"
		return
	}
	if m.listener == nil {
		l, err := d.listenARP()
		if err != nil {
			d.log.Warnf("Maintenance: cannot listen for the peer's announcement: %s", err)
			m.Note = "no listener for announcements: the peer's MASTER adverts decide"
			return
		}
		m.listener, m.stopRead = l, make(chan struct{})
		go d.readClaims(l, m.stopRead, slices.Clone(d.mac))
	}
	m.listening = true
}

// readClaims hands the loop who claims the group's address from another
// MAC than own (the interface's), until the listener is closed.
func (d *Group) readClaims(l platform.FrameReader, stop <-chan struct{}, own net.HardwareAddr) {
	b := make([]byte, 1514)
	want := d.cfg.Addr.Addr()
	for {
		n, err := l.ReadFrame(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-stop:
				return
			case <-d.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		c, err := vip.ParseClaim(b[:n])
		if err != nil || c.Addr != want || bytes.Equal(c.MAC, own) {
			continue
		}
		c.MAC = slices.Clone(c.MAC)
		select {
		case d.claims <- c:
		case <-stop:
			return
		case <-d.done:
			return
		}
	}
}

func (d *Group) closeListener() {
	if d.maint.listener != nil {
		close(d.maint.stopRead)
		d.maint.listener.Close()
		d.maint.listener, d.maint.stopRead = nil, nil
	}
	d.maint.listening = false
}

// maintDefer holds back a leave's step while a handoff keeps the address,
// and starts a handoff when a peer takes the address from a MASTER in
// maintenance (a preempting peer): it reports whether a is held back. A
// return to MASTER during a handoff skips the up script when the down
// script was held back: the host never left.
func (d *Group) maintDefer(a carp.Action) bool {
	m := &d.maint
	leave := a.Kind == carp.ActionRemoveVIP || a.Kind == carp.ActionRunScript && a.Script == carp.ScriptDown
	if leave && m.On && !m.holding() && d.exit == nil && d.switchReason == carp.ReasonPreferredMaster {
		// The demoted MASTER hears a peer that takes over (--preempt):
		// the advert being handled is the peer's.
		now := time.Now()
		m.Peer, m.Adverts, m.Announced, m.PeerMAC, m.Note = netip.Addr{}, 0, false, "", ""
		d.setPhase(now, MaintHandoff)
		d.listen()
		d.deadlines[timerMaint] = now.Add(d.maintTick())
	}
	if !m.holding() {
		return false
	}
	if leave {
		m.deferred = append(m.deferred, a)
		return true
	}
	if a.Kind == carp.ActionRunScript && a.Script == carp.ScriptUp {
		return slices.ContainsFunc(m.deferred, func(x carp.Action) bool {
			return x.Kind == carp.ActionRunScript && x.Script == carp.ScriptDown
		})
	}
	return false
}

// maintTransition follows the machine: back to MASTER during a handoff
// means that no peer took over; so does MASTER in maintenance at all.
func (d *Group) maintTransition(now time.Time, from, to carp.State) {
	m := &d.maint
	switch {
	case m.holding() && to != carp.Master:
		return
	case m.holding():
		m.deferred = m.deferred[:0]
		d.closeListener()
		d.deadlines[timerMaint] = time.Time{}
		if !m.On {
			d.setPhase(now, MaintOff)
			return
		}
	case !m.On:
		return
	case from == carp.Master:
		d.setPhase(now, MaintBackup) // left without a handoff: the carrier went
		return
	case to != carp.Master:
		return
	}
	d.log.Warnf("Maintenance: no peer took over %s: staying MASTER", d.cfg.Addr)
	m.Note = "no peer took over"
	d.setPhase(now, MaintNoPeer)
}

// maintAdvert is a valid advert received during a handoff: any but a
// bow-out comes from a MASTER (a BACKUP is silent).
func (d *Group) maintAdvert(now time.Time, q queued) {
	m := &d.maint
	if !m.holding() || q.ev.AdvBase == carp.BowOut && q.ev.AdvSkew == carp.BowOut {
		return
	}
	src := q.ev.Src
	// A dual-stack peer sends each advert over both families, from two
	// sources: counting one family's only keeps the count of its steady
	// adverts from restarting at every advert.
	if src.Unmap().Is4() != d.cfg.Addr.Addr().Unmap().Is4() {
		return
	}
	if src != m.Peer {
		m.Peer, m.Adverts = src, 0
	}
	m.Adverts++
	m.last = now
	if m.Phase == MaintHandoff {
		d.setPhase(now, MaintAnnouncement)
		m.deadline = now.Add(d.announceWait())
		d.log.Infof("Maintenance: %s is MASTER, waiting for its announcement of %s", src, d.cfg.Addr.Addr())
	}
	if m.Announced {
		d.handedOff(now, "")
	}
}

// maintClaim is a gratuitous ARP (or any ARP) of another host for the
// group's address.
func (d *Group) maintClaim(now time.Time, c vip.Claim) {
	m := &d.maint
	if !m.holding() || m.Announced {
		return
	}
	m.Announced, m.PeerMAC = true, c.MAC.String()
	if m.Phase == MaintAnnouncement {
		d.handedOff(now, "")
	}
}

// maintTimer renews the address a handoff keeps, and gives up waiting
// for an announcement once the peer's MASTER adverts are steady.
func (d *Group) maintTimer(now time.Time) {
	m := &d.maint
	if !m.holding() {
		return
	}
	if d.carrierDown {
		// Cut off, this host serves no one with the address, and would
		// hold it beside the peer when the link comes back.
		d.log.Warnf("Maintenance: the link is down: letting %s go", d.cfg.Addr)
		d.handedOff(now, "the link went down during the handoff")
		return
	}
	if d.vips != nil && !d.renew.inFlight && d.renewalDue(now) {
		// Off the loop, as a MASTER's (renew.go): while the kernel
		// holds a renewal, the loop still hears the peer's adverts and
		// announcement, and goes back to MASTER on time if no peer
		// takes over. A failure is logged when the result comes back
		// (onRenewed); the release at the end waits for it (dropRenewal).
		if _, err := d.postRenewal(now); err != nil {
			d.log.Errorf("Maintenance: unable to renew %s: %s", d.cfg.Addr, err)
		}
	}
	steady := m.Adverts >= 2 && now.Sub(m.last) <= carp.DeadInterval(d.cfg.AdvBase, d.cfg.DeadRatio, 0)
	if m.Phase == MaintAnnouncement && !m.listening && steady {
		d.handedOff(now, "")
		return
	}
	if m.Phase == MaintAnnouncement && !now.Before(m.deadline) && steady {
		d.log.Warnf("Maintenance: %s did not announce %s within %v: releasing it after %d of its MASTER adverts",
			m.Peer, d.cfg.Addr.Addr(), d.announceWait(), m.Adverts)
		d.handedOff(now, "the peer did not announce the address: released after its MASTER adverts")
		return
	}
	d.deadlines[timerMaint] = now.Add(d.maintTick())
}

// handedOff lets the address go: the leave's steps held back run now.
func (d *Group) handedOff(now time.Time, note string) {
	m := &d.maint
	if note != "" {
		m.Note = note
	}
	d.closeListener()
	d.deadlines[timerMaint] = time.Time{}
	if m.On {
		d.setPhase(now, MaintHandedOff)
	} else {
		d.setPhase(now, MaintOff)
	}
	how := "announced it"
	if !m.Announced {
		how = "did not announce it"
	}
	d.log.Infof("Maintenance: %s is MASTER and %s: letting %s go", m.Peer, how, d.cfg.Addr)
	d.flushDeferred()
}

// flushDeferred carries out the leave's steps held back.
func (d *Group) flushDeferred() {
	m := &d.maint
	if len(m.deferred) == 0 {
		return
	}
	for _, a := range m.deferred {
		d.effects.add(a)
	}
	m.deferred = m.deferred[:0]
	d.effects.commit(d.runner.busy())
	d.pump()
}

// StartInMaintenance puts a group that has not run yet in maintenance
// (a persistent maintenance, after a restart): it starts demoted, as a
// BACKUP that hands nothing over.
func (d *Group) StartInMaintenance(since time.Time) {
	d.maint.On, d.maint.Since = true, since
	d.maint.Phase, d.maint.PhaseSince = MaintBackup, since
	d.setDemotionLocked(DemotionMaintenance, carp.MaxDemotion)
}
