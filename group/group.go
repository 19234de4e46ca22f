package group

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/carpauth"
	"github.com/ucarp-go/ucarp/internal/logfield"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vrrp"
)

// Daemon timers beyond the machine's own (carp.Timer values come first).
const (
	timerAnnounce  = int(carp.NumTimers) + iota // the next repeated gratuitous ARP
	timerReconcile                              // the next check of the managed address
	timerFlush                                  // report rate-limited log lines
	timerMaint                                  // renew the address a handoff keeps, and its deadline
	timerClaims                                 // judge the claims held back (conflict.go)
	numTimers
)

// DefaultScriptTimeout is how long an up or down script may run before it
// is stopped (and a MASTER whose up script hangs gives up). ucarp has no
// timeout, but it freezes while a script runs, so that a peer takes over
// after the dead interval (3 s by default): real scripts end well within
// this.
const DefaultScriptTimeout = 30 * time.Second

// Config is one group's settings: what the ucarp command line gives, or
// one group of a config file.
type Config struct {
	Interface string
	Src       netip.Addr // --srcip
	Mcast     netip.Addr // --mcast: the adverts' destination
	VHID      uint8
	Password  []byte
	Addr      netip.Prefix // the virtual address, the first of them
	AddrArg   string       // the address as written, without /prefix: the scripts' $2
	// MoreAddrs are the group's other addresses, IPv4 or IPv6 (see dual.go).
	MoreAddrs []netip.Prefix
	// Demote is the demote byte of the adverts (carp.Config.Demote).
	Demote    uint8
	AdvBase   uint8
	AdvSkew   uint8
	DeadRatio uint32
	Preempt   bool
	Neutral   bool
	// UpScript and DownScript are run on becoming MASTER and BACKUP, with
	// XParam as their third argument when it is set.
	UpScript, DownScript string
	XParam               *string
	// NoMcast is --nomcast: adverts to the Ethernet broadcast address
	// (the socket's business: the caller opens it so).
	NoMcast bool
	// Shutdown is ucarp's -z: a stop runs the down script.
	Shutdown      bool
	IgnoreIfState bool
	// WaitWhenDown keeps the group when its interface is set down
	// administratively: it leaves the election until the interface is up
	// again, as after a carrier loss. Without it the group stops, as
	// ucarp exits (Debian's ifupdown relies on that).
	WaitWhenDown bool
	// ScriptTimeout stops a script that runs longer (0: never).
	ScriptTimeout time.Duration
	GARPCount     int
	GARPInterval  time.Duration
	// Auth is --auth=hmac-sha256 and its options; nil is --auth=carp,
	// plain CARP (see auth.go).
	Auth *AuthConfig
	// AlignAdverts puts a MASTER's adverts on the grid that groups with
	// the same interval share (carp.Config.Align): for many groups in one
	// process. ucarp's command line leaves it off.
	AlignAdverts bool
	// NoConflictDetect turns off the detection of other hosts that claim
	// the addresses of a MASTER (conflict.go).
	NoConflictDetect bool
	// Peers are the unicast peers (--peer, see unicast.go): the adverts
	// of a family with peers go to each of them instead of to the
	// multicast group, and only theirs are accepted. A reload changes
	// them in place.
	Peers []netip.Addr

	// Protocol is the group's protocol: CARP (the default, ucarp's), or
	// VRRPv3 (RFC 9568), whose group has its addresses of one family and
	// uses the settings below instead of the password, advbase, advskew,
	// deadratio, demote and preempt.
	Protocol Protocol
	// Priority is VRRPv3's priority, 1-254, or 255 for the owner of the
	// addresses; 0 means 100.
	Priority uint8
	// AdvertInterval is VRRPv3's Advertisement_Interval in centiseconds,
	// 1-4095; 0 means 100.
	AdvertInterval uint16
	// Checksum is how a VRRPv3 IPv4 group picks the form of its
	// adverts' checksum (ChecksumMode); it accepts both.
	Checksum ChecksumMode
	// NoPreempt turns VRRPv3's Preempt_Mode off; PreemptDelay keeps it
	// off for that long after the start (vrrp.Config.PreemptDelay).
	NoPreempt    bool
	PreemptDelay time.Duration

	// VMAC names the group's virtual MAC interface, a macvlan that the
	// node makes and whose MAC the group sends from ("": none). A
	// change replaces the group.
	VMAC string
}

// scriptArgs are the arguments ucarp passes to its scripts.
func (c *Config) scriptArgs() []string {
	args := []string{c.Interface, c.AddrArg}
	if c.XParam != nil {
		args = append(args, *c.XParam)
	}
	return args
}

// Deps is what a group talks to: the caller wires the real ones, tests
// wire fakes.
type Deps struct {
	// Log receives the group's lines, with ucarp's words: in ucarp's
	// command-line mode, its handler prints them as ucarp does.
	Log  *slog.Logger
	MAC  net.HardwareAddr
	Conn platform.IPConn
	// Conn6 carries the IPv6 adverts of a group with IPv6 addresses, sent
	// from Src6, the interface's link-local address; nil for a group
	// without. IPv6 packets given to Deliver are its.
	Conn6 platform.IPConn
	Src6  netip.Addr
	ARP   platform.FrameConn // nil: no gratuitous ARP
	// Addrs manages the virtual address; nil when the scripts do.
	Addrs vip.System
	// Link delivers the interface's state on every change, AddrChanged
	// every change of its addresses (may be nil); Initial is the state at
	// start.
	Link        <-chan platform.LinkState
	AddrChanged <-chan struct{}
	Initial     platform.LinkState
	Random      func() uint64
	// Ready is called once the group is BACKUP and listening; Notify
	// with each new state, and "STOPPING".
	Ready  func(state string)
	Notify func(status string)
	// OnTransition, if set, is called from the group's loop with each
	// change of state: it must not block (the control plane's
	// Broadcaster drops a slow subscriber instead).
	OnTransition func(Transition)
	// ListenARP opens a listener of the interface's ARP frames
	// (platform.ARPListener), with which a maintenance handoff sees the
	// peer's announcement; nil: the peer's MASTER adverts decide alone.
	ListenARP func() (platform.FrameReader, error)
	// WatchClaims, if set, hands ch (without blocking) every claim of one
	// of addrs by another MAC than the interface's, ARP for IPv4 and
	// Neighbour Discovery for IPv6, until stop is called: the node's one
	// listener per interface. A MASTER sees conflicts with it, and a
	// maintenance handoff the peer's announcement (in place of
	// ListenARP). err says that some claims cannot be seen.
	WatchClaims func(addrs []netip.Addr, ch chan<- vip.Claim) (stop func(), err error)
	// Shared says that Conn is read by the caller, who hands this group
	// its packets with Deliver (a node, whose reader serves every group
	// of the interface); else the group reads Conn itself.
	Shared bool
	// Source6 picks the source of the unicast adverts to a global IPv6
	// peer: an address of the interface that is none of the groups'
	// (the link-local Src6 serves link-local peers); nil or false: such
	// an advert cannot be sent.
	Source6 func(peer netip.Addr) (netip.Addr, bool)
	// NewTimer, if set, makes the loop's timer (platform.NewLoopTimer: a
	// timerfd, which costs the Go runtime no timer, so that an idle
	// process's sysmon sleeps); nil, or an error, gives a time.Timer,
	// which testing/synctest's clock drives.
	NewTimer func() (platform.Timer, error)

	// scripts replaces the script runner (tests).
	scripts scripts
}

// deps is what the loop uses, from Config and Deps.
type deps struct {
	cfg     *Config
	log     logger
	mac     net.HardwareAddr
	conn    platform.IPConn
	conn6   platform.IPConn
	src6    netip.Addr
	arp     platform.FrameConn
	addrs   vip.System
	link    <-chan platform.LinkState
	addrChg <-chan struct{}
	initial platform.LinkState
	random  func() uint64
	runner  scripts
	ready   func(state string)
	notify  func(status string)
	onTrans func(Transition)
	shared  bool
	// listenARP is Deps.ListenARP, watchClaims Deps.WatchClaims,
	// source6 Deps.Source6.
	listenARP   func() (platform.FrameReader, error)
	watchClaims func(addrs []netip.Addr, ch chan<- vip.Claim) (stop func(), err error)
	source6     func(peer netip.Addr) (netip.Addr, bool)
	newTimer    func() (platform.Timer, error)
}

// scripts runs the up and down scripts, one at a time, without blocking
// the loop; *runner is the real one.
type scripts interface {
	// start runs job; a job that cannot be started is returned at once
	// with started false.
	start(job scriptJob) (res scriptResult, started bool)
	busy() bool
	// kill stops the running script at once.
	kill()
	logResult(res scriptResult)
	// results delivers the end of each started job.
	results() <-chan scriptResult
	// overdue delivers a running job that has outlived the script
	// timeout, when the runner starts to stop it.
	overdue() <-chan scriptJob
	// setTimeout sets the timeout of the scripts started from now on.
	setTimeout(d time.Duration)
}

// received is what the reader's checks make of a packet; a valid advert
// goes to the loop as a queued. Dropped packets are counted and logged by
// the reader itself, so that a flood costs no work in the loop.
type received struct {
	hdr carp.Header
	src netip.Addr
	// vrrp is a VRRPv3 group's advert (vrrpAdvertEvent), form its
	// checksum form (IPv4).
	vrrp carp.Event
	form vrrp.ChecksumForm
}

// queued is what the reader hands to the loop: a valid advert as the
// machine's event (Src its sender as received), or a read error. The
// loop's queue holds rxQueueLen of them in every group: 104 bytes each,
// where a received (a header and an event) is 176 (docs/PERF.md, Memory).
type queued struct {
	ev   carp.Event
	err  error
	form vrrp.ChecksumForm // a VRRPv3 IPv4 advert's checksum form
}

// queue is the loop's item of the valid advert r; vrrp says that r is a
// VRRPv3 group's (r.vrrp), else it is a CARP group's (r.hdr).
func (r *received) queue(vrrp bool) queued {
	if vrrp {
		return queued{ev: r.vrrp, form: r.form}
	}
	ev := carp.AdvertEvent(r.src, &r.hdr)
	ev.Src = r.src // as received: onPacket unmaps it for the machine
	return queued{ev: ev}
}

// stats are the loop's counters, reported on SIGUSR1; the reader keeps the
// drops (daemon.drops).
type stats struct {
	sent, sendErrors, valid         uint64
	garps, garpErrors, transitions  uint64
	scripts, scriptFails, scriptTOs uint64
	scriptsOK                       uint64
	readErrors                      uint64
	// Adverts of a master that this MASTER outranks, and how many of them
	// were answered with a gratuitous ARP (the others were rate-limited).
	nonPreferred, answered uint64
	// answerAdverts are the adverts sent at once to such a master.
	answerAdverts uint64
	// peerSendErrors counts the adverts not sent to one unicast peer
	// (--peer), each peer apart.
	peerSendErrors uint64
}

// Exit is how a group ended: an exit code, or a signal the caller
// re-raises after its cleanup (ucarp dies of TERM without -z).
type Exit struct {
	Code    int
	Reraise os.Signal
	forced  bool // a second stop: skip the remaining scripts
}

// Group is one redundancy group at run time: its machine, address,
// announcements, scripts, timers and counters, owned by the goroutine
// that runs Run; the other methods post into that loop.
type Group struct {
	deps
	m  machine
	cm *carp.Machine // m, for a CARP group
	vm *vrrpMachine  // m, for a VRRPv3 group
	// A VRRPv3 group's reader's: its decoders and its drops by reason
	// (vrrpDropName); and the addresses its adverts carry.
	vadv   vrrp.Advert
	vpkt   vrrp.Packet
	vview  atomic.Pointer[vrrpView] // what checkVRRP needs of the loop's state
	vform  vrrp.ChecksumForm        // the loop's: the IPv4 checksum form sent now
	vdrops [numVRRPDrops]atomic.Uint64
	vaddrs []netip.Addr
	// foreign counts a CARP group's packets of protocol 112 that are no
	// CARP adverts: VRRPv2 (the same first byte, another length) or
	// anything else of version 2 but CARP's length.
	foreign atomic.Uint64
	auth    *carp.Auth      // the loop's, to sign
	val     *carp.Validator // the reader's (an Auth is not safe for concurrent use)
	ext     *authState      // --auth: the signer (the loop's) and verifier (the reader's)
	vips    *vipSet
	// garp are the announcement's frames, a gratuitous ARP or a Neighbour
	// Advertisement per address; garpNext is the next of a round spread
	// over the interval (announceStep).
	garp     [][]byte
	garpNext int
	rx       chan queued
	done     chan struct{} // closed when the loop returns: the reader stops
	// afterLoop serializes what inLoop runs once the loop has returned,
	// on its callers' goroutines (health, demoter, status, metrics).
	afterLoop sync.Mutex
	query     chan func()    // functions run inside the loop: status queries
	timer     platform.Timer // the loop's (loopTimer)

	// startMu guards started: SetDemotion before Run records the level
	// for Run to start with, instead of waiting for the loop.
	startMu sync.Mutex
	started bool

	// val6 checks the IPv6 packets on the reader's goroutine; SetSrc6
	// replaces it (with readAuth6, which only the reader uses). nil (and
	// readAuth6 too) in a group without an IPv6 socket.
	val6      atomic.Pointer[carp.Validator6]
	readAuth6 *carp.Auth

	// renewed is when the managed address last got its lifetime (an add
	// or a renewal); zero: renew at the next tick (see renewalDue).
	renewed time.Time
	// renew is the renewal in flight off the loop (renew.go).
	renew renewer

	deadlines [numTimers]time.Time
	pending   []carp.Event
	feeding   bool
	out       []carp.Action
	effects   effects
	// answers rate-limits the gratuitous ARP and the log line with which
	// a MASTER answers the adverts of a master it outranks; answering is
	// whether the answer to the advert being handled goes out.
	answers rateLimit
	// peerLimit limits the lines about a unicast peer that an advert did
	// not reach (the loop's).
	peerLimit    rateLimit
	answering    bool
	announceLeft int
	current      uint64 // the number of the last script started
	carrierDown  bool
	wasUp        bool
	exit         *Exit
	buf          []byte
	stats        stats

	// For Status: when and why the state last changed (switchReason is
	// the reason of the transition being made), the peers heard and the
	// last transitions.
	since        time.Time
	reason       carp.Reason
	switchReason carp.Reason
	peers        []Peer
	transitions  []Transition
	demotion     int            // the sum of demotions, capped: what the machine has
	demotions    map[string]int // by source, each 0 to carp.MaxDemotion
	// maint is the maintenance (SetMaintenance); claims carries the
	// claims of the address that its listener reads.
	maint  maintenance
	claims chan vip.Claim
	// conf is the watch of claims while MASTER, and the conflicts seen.
	conf conflicts

	// The reader's: dropped packets by reason, and the rate limit of their
	// log lines (also read by the loop's periodic report).
	drops     [carp.NumDropReasons]atomic.Uint64
	queueFull atomic.Uint64 // valid adverts dropped: the loop's queue was full
	limMu     sync.Mutex
	limits    *[carp.NumDropReasons]rateLimit // made at the first drop logged (520 bytes)
}

// New returns the group for cfg; Run runs it.
func New(cfg Config, x Deps) (*Group, error) {
	c := &cfg
	d := deps{cfg: c, log: logger{x.Log}, mac: x.MAC, conn: x.Conn, conn6: x.Conn6, src6: x.Src6, arp: x.ARP, addrs: x.Addrs,
		link: x.Link, addrChg: x.AddrChanged, initial: x.Initial, random: x.Random, runner: x.scripts,
		ready: x.Ready, notify: x.Notify, onTrans: x.OnTransition, shared: x.Shared, listenARP: x.ListenARP,
		watchClaims: x.WatchClaims, source6: x.Source6, newTimer: x.NewTimer}
	if d.runner == nil {
		d.runner = newRunner(d.log, c.ScriptTimeout)
	}
	// Without the link-local address yet (no carrier so far), the group
	// waits for SetSrc6, its caller keeping its link down until then.
	if c.families()&carp.FamilyIPv6 != 0 && d.conn6 == nil {
		return nil, errors.New("group: IPv6 addresses need an IPv6 socket")
	}
	auth, err := carp.NewAuth(c.Password, c.VHID, c.hashed())
	if err != nil {
		return nil, err
	}
	var m machine
	var cm *carp.Machine
	var vm *vrrpMachine
	if c.Protocol == ProtocolVRRP3 {
		src := c.Src
		if c.IPv6() {
			src = d.src6
		}
		if vm, err = newVRRPMachine(c, d.addrs != nil, src); err != nil {
			return nil, err
		}
		m = vm
	} else {
		if cm, err = carp.NewMachine(machineConfig(c, d.addrs != nil, d.random, d.src6)); err != nil {
			return nil, err
		}
		m = cm
	}
	readAuth, err := carp.NewAuth(c.Password, c.VHID, c.hashed())
	if err != nil {
		return nil, err
	}
	dm := &Group{deps: d, m: m, cm: cm, vm: vm, vaddrs: vrrpAddrs(c), auth: auth, val: carp.NewValidator(c.Src, c.Mcast, c.VHID, readAuth),
		rx: make(chan queued, rxQueueLen), done: make(chan struct{}), query: make(chan func()),
		claims: make(chan vip.Claim, 4),
		buf:    make([]byte, 0, carp.Packet6Len+carpauth.TrailerLen)}
	if vm != nil {
		dm.setVRRPView(c, d.src6)
		dm.vform = c.Checksum.initialForm()
	}
	// Only a group with an IPv6 socket is handed IPv6 packets: one
	// without has no IPv6 validator (an HMAC state less in each group).
	if d.conn6 != nil {
		if dm.readAuth6, err = carp.NewAuth(c.Password, c.VHID, c.hashed()); err != nil {
			return nil, err
		}
		dm.val6.Store(carp.NewValidator6(d.src6, carp.GroupIPv6, c.VHID, dm.readAuth6))
	}
	if err := c.checkPeers(d.src6); err != nil {
		return nil, err
	}
	dm.setPeers(c)
	if dm.ext, err = newAuthState(c); err != nil {
		return nil, err
	}
	if d.addrs != nil {
		dm.vips = newVIPSet(d.addrs, c, vipLifetime(c))
	}
	if d.arp != nil && len(d.mac) == 6 {
		if dm.garp, err = announcements(c, &d); err != nil {
			return nil, err
		}
	}
	return dm, nil
}

// run is the daemon's loop. It returns the exit code, unless the daemon
// must die by a signal (Exit.reraise), which the caller re-raises.
// machineConfig is the machine's part of c.
func machineConfig(c *Config, manageVIP bool, random func() uint64, src6 netip.Addr) carp.Config {
	return carp.Config{
		VHID: c.VHID, AdvBase: c.AdvBase, AdvSkew: c.AdvSkew, DeadRatio: c.DeadRatio,
		Preempt: c.Preempt, Neutral: c.Neutral, Src: c.Src, Src6: src6, Families: c.families(), Demote: c.Demote,
		ManageVIP: manageVIP, DownScript: c.DownScript != "",
		Random: random, Align: c.AlignAdverts,
	}
}

// ErrIdentity is returned by Reconfigure for a change that a running
// group cannot take: its interface, vhid, source, multicast group,
// nomcast, password or address. The caller replaces the group instead.
var ErrIdentity = errors.New("group: interface, vhid, srcip, mcastip, nomcast, password and address cannot change in place")

// ErrStopping is returned by Reconfigure for a group that is stopping:
// the caller replaces it.
var ErrStopping = errors.New("group: stopping")

// Reconfigure changes the settings of the running group in place (a
// reload): the election's timing and rules through
// carp.Machine.Reconfigure, which never changes the state by itself and
// moves a timer only if its interval changed; scripts, their timeout and
// xparam, and the gratuitous ARPs from their next use. A change of
// identity (ErrIdentity) or a config the machine refuses changes nothing.
func (d *Group) Reconfigure(cfg Config) error {
	var err error
	d.inLoop(func() {
		old := d.cfg
		if cfg.Interface != old.Interface || cfg.Src != old.Src || cfg.Mcast != old.Mcast || cfg.VHID != old.VHID ||
			cfg.NoMcast != old.NoMcast || cfg.Addr != old.Addr || !slices.Equal(cfg.MoreAddrs, old.MoreAddrs) ||
			string(cfg.Password) != string(old.Password) || cfg.VMAC != old.VMAC {
			err = ErrIdentity
			return
		}
		if d.exit != nil {
			err = ErrStopping
			return
		}
		if err = cfg.checkPeers(d.src6); err != nil {
			return
		}
		if a := cfg.Auth; a != nil && (a.Keys == nil || a.Mode == carpauth.Off || a.Mode > carpauth.Enforce) {
			err = errAuthConfig // before anything changes
			return
		}
		now := time.Now()
		var out []carp.Action
		if cfg.Protocol != old.Protocol {
			err = ErrIdentity
			return
		}
		if d.vm != nil {
			src := cfg.Src
			if cfg.IPv6() {
				src = d.src6
			}
			out, err = d.vm.Reconfigure(now, &cfg, d.addrs != nil, src, d.out[:0])
		} else {
			out, err = d.cm.Reconfigure(now, machineConfig(&cfg, d.addrs != nil, d.random, d.src6), d.out[:0])
		}
		if errors.Is(err, carp.ErrIdentity) || errors.Is(err, vrrp.ErrIdentity) {
			err = fmt.Errorf("%w: %w", ErrIdentity, err) // the caller replaces the group
		}
		if err != nil {
			return
		}
		c := cfg
		if err = d.ext.configure(&c); err != nil {
			// Checked before the machine's change by the caller's
			// validation; a failure here leaves the old keys.
			return
		}
		if d.vm != nil {
			d.setVRRPView(&c, d.src6)
			if c.Checksum != old.Checksum {
				d.vform = c.Checksum.initialForm()
			}
		}
		d.cfg = &c
		d.setPeers(&c)
		d.runner.setTimeout(c.ScriptTimeout)
		if d.vips != nil {
			d.vips = newVIPSet(d.addrs, &c, vipLifetime(&c))
			d.renewed = time.Time{} // the new lifetime at the next tick
			d.renew.gen++           // a renewal in flight renews the old set
		}
		for _, a := range out {
			d.apply(now, a)
		}
		d.out = out
	})
	return err
}

// Run runs the group until it stops: Stop, or its interface set down or
// gone. It returns how the process should end.
func (d *Group) Run() *Exit {
	now := time.Now()
	d.timer = d.loopTimer()
	defer d.timer.Close()
	defer close(d.done)
	defer d.closeListener()
	defer func() {
		if d.conf.stop != nil {
			d.conf.stop()
		}
	}()
	if !d.shared {
		go d.read(d.conn)
		if d.conn6 != nil {
			go d.read(d.conn6)
		}
	}

	d.startMu.Lock()
	d.started = true // from here a demotion is set in the loop
	d.startMu.Unlock()
	d.wasUp = d.initial.Up
	if !d.initial.Up || !d.initial.Running && !d.cfg.IgnoreIfState {
		if !d.initial.Up {
			d.log.eventf(logfield.Link, []slog.Attr{logfield.Reason("down")}, levelWarning, "Interface [%s] is down: waiting for it to come up", d.cfg.Interface)
		}
		d.carrierDown = true
		d.feed(carp.Event{Kind: carp.EventLinkDown})
	}
	if d.demotion > 0 { // StartInMaintenance, SetDemotion before Run
		d.out = d.m.SetDemotion(now, d.demotion, d.out[:0])
	}
	d.feed(carp.Event{Kind: carp.EventStart})
	if d.vips != nil && d.addrChg == nil {
		// Without address events, the address is looked at on a timer.
		d.deadlines[timerReconcile] = now.Add(d.reconcileInterval())
	}
	d.deadlines[timerFlush] = now.Add(flushEvery)
	if d.ready != nil {
		d.ready(d.m.State().String())
	}
	for {
		if d.exit != nil && d.effects.idle() && !d.runner.busy() {
			d.dropRenewal()
			return d.exit
		}
		d.fireLazy()
		d.arm()
		select {
		case r := <-d.rx:
			d.onPacket(r)
		case <-d.timer.C():
			d.fire(time.Now())
		case st, ok := <-d.link:
			if !ok {
				d.link = nil
				continue
			}
			d.onLink(st)
		case <-d.addrChg:
			d.reconcile(false)
		case res := <-d.runner.results():
			d.onScriptDone(res)
		case job := <-d.runner.overdue():
			d.onScriptOverdue(job)
		case f := <-d.query:
			f()
		case c := <-d.claims:
			d.onClaim(time.Now(), c)
		case r := <-d.renew.done:
			d.onRenewed(r)
		}
		d.rewatch()
	}
}

// inLoop runs f inside the loop, which owns the machine and the counters,
// and waits for it; once the loop has returned, f runs at once, one at a
// time.
func (d *Group) inLoop(f func()) {
	ran := make(chan struct{})
	select {
	case d.query <- func() { f(); close(ran) }:
		<-ran
	case <-d.done:
		d.afterLoop.Lock()
		defer d.afterLoop.Unlock()
		f()
	}
}

// read is the receiving goroutine: it checks every packet with its own
// validator (ucarp's checks, HMAC included) and hands the outcome to the
// loop at once.
func (d *Group) read(conn platform.IPConn) {
	b := make([]byte, 2048)
	backoff := time.Millisecond
	for {
		n, err := conn.ReadPacket(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !d.hand(queued{err: err}) {
				return
			}
			time.Sleep(backoff) // e.g. ENETDOWN while the link is down
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = time.Millisecond
		if !d.deliver(b[:n]) {
			return
		}
	}
}

// Deliver hands the group a packet received on its interface (IP header
// included), when Deps.Shared: it is checked on the caller's goroutine
// (ucarp's checks, HMAC included), dropped and counted if it fails them,
// else passed to the loop. One goroutine at a time may call it.
func (d *Group) Deliver(pkt []byte) { d.deliver(pkt) }

// ReadError hands the group an error that reading its interface's socket
// returned, when Deps.Shared: the loop counts it and logs it at debug
// level, as for a socket the group reads itself.
func (d *Group) ReadError(err error) { d.hand(queued{err: err}) }

// rxQueueLen is how many valid adverts wait for the loop. The loop takes
// one in microseconds: a full queue means that many adverts are waiting
// already, and on a shared socket the next is dropped (and counted)
// rather than stall the reader of every other group of the interface.
const rxQueueLen = 16

// deliver checks pkt and hands a valid advert to the loop; it reports
// false once the loop has ended.
func (d *Group) deliver(pkt []byte) bool {
	var r received
	var drop carp.Drop
	if d.vm != nil {
		if why := d.checkVRRP(pkt, &r); why >= 0 {
			d.vdrops[why].Add(1)
			return true
		}
	} else if isForeign(pkt) {
		d.foreign.Add(1)
		return true
	} else if len(pkt) > 0 && pkt[0]>>4 == 6 {
		drop = d.check6(pkt, &r)
	} else if drop = d.val.Check(pkt, &r.hdr); drop.Accepted() {
		r.src = carp.Source(pkt)
	}
	if drop.Reason == carp.DropBadTTL && d.ext.relaxTTL.Load() {
		drop = d.anyTTL(pkt, &r)
	}
	if !drop.Accepted() {
		d.drops[drop.Reason].Add(1)
		d.logDrop(drop)
		return true
	}
	if d.checkAuth(pkt) {
		return true
	}
	q := r.queue(d.vm != nil)
	if d.shared {
		select {
		case d.rx <- q:
		case <-d.done:
			return false
		default:
			d.queueFull.Add(1)
		}
		return true
	}
	return d.hand(q)
}

// hand passes r to the loop, unless the loop has ended.
func (d *Group) hand(r queued) bool {
	select {
	case d.rx <- r:
		return true
	case <-d.done:
		return false
	}
}

// lazy is how late a housekeeping timer (the report of rate-limited log
// lines) may fire: it waits for the group's next wake-up within that
// time, so that it costs no wake-up of its own.
func lazy(timer int) time.Duration {
	if timer == timerFlush {
		return time.Second
	}
	return 0
}

// fireLazy runs a lazy timer that is due at a wake-up of another cause
// (a BACKUP's is each advert it receives), which then costs it no
// wake-up of its own: with the second of slack alone, every BACKUP's
// report woke the process once every flushEvery on its own.
func (d *Group) fireLazy() {
	if t := d.deadlines[timerFlush]; !t.IsZero() {
		if now := time.Now(); !now.Before(t) {
			d.deadlines[timerFlush] = now.Add(flushEvery)
			d.flushLimits()
		}
	}
}

// loopTimer makes the loop's timer: Deps.NewTimer's, else a time.Timer.
func (d *Group) loopTimer() platform.Timer {
	if d.newTimer != nil {
		t, err := d.newTimer()
		if err == nil {
			return t
		}
		d.log.Debugf("Loop timer: a time.Timer (%s)", err)
	}
	return goTimer{time.NewTimer(time.Hour)}
}

// goTimer is a time.Timer as a platform.Timer.
type goTimer struct{ t *time.Timer }

func (g goTimer) C() <-chan time.Time { return g.t.C }
func (g goTimer) Set(at time.Time)    { g.t.Reset(time.Until(at)) }
func (g goTimer) Stop()               { g.t.Stop() }
func (g goTimer) Close() error        { g.t.Stop(); return nil }

// arm sets the loop's timer to the earliest deadline (for a lazy timer,
// the latest time it may fire).
func (d *Group) arm() {
	var next time.Time
	for i, t := range d.deadlines {
		if t.IsZero() {
			continue
		}
		if t = t.Add(lazy(i)); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if next.IsZero() {
		d.timer.Stop()
		return
	}
	d.timer.Set(next)
}

func (d *Group) fire(now time.Time) {
	if d.deadDue(now) {
		d.catchUp()
		now = time.Now()
	}
	for i, t := range d.deadlines {
		if t.IsZero() || t.After(now) {
			continue
		}
		d.deadlines[i] = time.Time{}
		switch {
		case i < int(carp.NumTimers):
			d.feed(carp.TimerEvent(carp.Timer(i)))
			if carp.Timer(i) == carp.TimerAdvert && d.m.State() == carp.Master && d.vips != nil && d.addrChg != nil {
				// A MASTER renews its address's lifetime with each advert,
				// in the same wake-up; address events do the rest.
				d.reconcile(true)
			}
		case i == timerAnnounce:
			d.announceOnce(now)
		case i == timerReconcile:
			d.reconcile(true)
			d.deadlines[timerReconcile] = now.Add(d.reconcileInterval())
		case i == timerMaint:
			d.maintTimer(now)
		case i == timerClaims:
			d.judgeClaims(now)
		case i == timerFlush:
			d.flushLimits()
			d.deadlines[timerFlush] = now.Add(flushEvery)
		}
	}
}

// deadDue reports whether a dead timer (the master's, IPv4 or IPv6) is
// due at now: whether the group is about to declare its master gone.
func (d *Group) deadDue(now time.Time) bool {
	for _, t := range []carp.Timer{carp.TimerMasterDown, carp.TimerMasterDown6} {
		if at := d.deadlines[t]; !at.IsZero() && !at.After(now) {
			return true
		}
	}
	return false
}

// catchUpMax bounds how long a BACKUP whose dead timer is due waits for
// its reader to catch up: the 2 MiB socket buffer holds some 2,700
// packets of a flood, a few milliseconds of the reader's checks.
const catchUpMax = 10 * time.Millisecond

// catchUp, when the dead timer is due, first takes what has been received
// already: the adverts waiting for the loop, and, while the reader is
// behind (packets queued in the socket or in its hands), those it hands
// on, for catchUpMax at most. A wake-up that comes late (the select picks
// the timer over adverts queued at the same time; the reader ran behind
// under load) must not take over from a master whose advert is already
// here: the advert pushes the dead timer back, and fire finds it no longer
// due. Under load this was the false failovers' cause (docs/BENCHMARKS.md).
func (d *Group) catchUp() {
	limit := time.Now().Add(catchUpMax)
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	for {
		behind := d.readerBehind() // before draining: what it hands on after this is in d.rx
		d.drainAdverts()           // at most cap(d.rx): a reader as fast as the loop cannot hold it here
		if !behind || !d.deadDue(time.Now()) || !time.Now().Before(limit) {
			return
		}
		if wait == nil {
			wait = time.NewTimer(catchUpStep)
		} else {
			wait.Reset(catchUpStep)
		}
		select {
		case r := <-d.rx:
			d.onPacket(r)
		case <-wait.C:
		}
	}
}

// catchUpStep is how often catchUp looks at a reader that is behind.
const catchUpStep = 250 * time.Microsecond

// readerBehind reports whether the readers of the group's sockets (its
// own, or the node's for a shared socket, which hands each packet on
// before it reads the next) have packets in hand or queued
// (platform.Backlogger).
func (d *Group) readerBehind() bool {
	for _, c := range []platform.IPConn{d.conn, d.conn6} {
		if b, ok := c.(platform.Backlogger); ok && b.Backlog() {
			return true
		}
	}
	return false
}

// feed hands an event to the machine and carries out its actions. Events
// that the actions cause (send results) are queued and fed in turn.
func (d *Group) feed(ev carp.Event) {
	d.pending = append(d.pending, ev)
	if d.feeding {
		return
	}
	d.feeding = true
	defer func() { d.feeding = false }()
	// By index, not by reslicing: the slice walked forward, and append
	// moved it to a new array each time it reached the end (an
	// allocation every few adverts). The actions' events are appended
	// while this runs.
	for i := 0; i < len(d.pending); i++ {
		ev := d.pending[i]
		now := time.Now()
		before := d.m.State()
		d.out = d.m.Handle(now, ev, d.out[:0])
		for _, a := range d.out {
			d.apply(now, a)
		}
		d.effects.commit(d.runner.busy())
		if after := d.m.State(); after != before {
			d.onTransition(before, after)
		}
	}
	d.pending = d.pending[:0] // all fed: the next event goes at the start of the same array
	d.pump()
}

func (d *Group) apply(now time.Time, a carp.Action) {
	switch a.Kind {
	case carp.ActionSendAdvert:
		if a.Msg == carp.MsgNonPreferredMaster {
			if !d.answering {
				return // rate-limited with the gratuitous ARP before it
			}
			d.stats.answerAdverts++
		}
		var err error
		if d.vm != nil {
			err = d.sendVRRP(a)
		} else {
			err = d.send(a.Advert)
		}
		d.pending = append(d.pending, carp.SendResultEvent(err != nil))
	case carp.ActionArmTimer:
		d.deadlines[a.Timer] = a.At
	case carp.ActionStopTimer:
		d.deadlines[a.Timer] = time.Time{}
	case carp.ActionLog:
		if a.Msg == carp.MsgSwitchState {
			d.switchReason = a.Reason
		}
		if a.Msg == carp.MsgNonPreferredMaster && !d.answering {
			return // the answer is rate-limited, and so is its line
		}
		d.logAction(a)
	case carp.ActionAnnounce:
		if a.Msg == carp.MsgNonPreferredMaster {
			// An answer to a master this one outranks: a replayed or
			// rewritten advert costs at most this, at the drops' rate.
			d.stats.nonPreferred++
			if d.answering = d.answers.allow(now); !d.answering {
				return
			}
			d.stats.answered++
		}
		d.effects.add(a)
	case carp.ActionRunScript, carp.ActionAddVIP, carp.ActionRemoveVIP:
		if d.maintDefer(a) {
			return
		}
		d.effects.add(a)
	}
}

// send signs and sends an advert with a random IP ID, as ucarp: over
// IPv4, and over IPv6 too for a group with IPv6 addresses (the same
// advert over each family, as the BSD kernels send them).
func (d *Group) send(h carp.Header) error {
	d.log.Debugf("-> carp_send_ad()")
	d.auth.Sign(&h)
	fam := d.cfg.families()
	var err error
	if fam&carp.FamilyIPv4 != 0 {
		err = d.send4(h)
	}
	if fam&carp.FamilyIPv6 != 0 {
		if err6 := d.send6(h); err == nil {
			err = err6
		}
	}
	if err != nil {
		d.stats.sendErrors++
		d.log.Warnf("write() has failed: %s", strerror(err))
		return err
	}
	d.stats.sent++
	d.log.Debugf("* advertisement injected *")
	return nil
}

// pump carries out the queued effects in order. A script blocks the
// effects behind it (the gratuitous ARP after the up script, the address
// removal after the down script) until it ends, but never the loop.
func (d *Group) pump() {
	for !d.runner.busy() {
		a, ok := d.effects.next()
		if !ok {
			return
		}
		switch a.Kind {
		case carp.ActionRunScript:
			if d.exit != nil && d.exit.forced {
				continue
			}
			if job, ok := d.scriptJob(a); ok {
				d.stats.scripts++
				job.seq = d.stats.scripts
				d.current = job.seq
				if res, started := d.runner.start(job); !started {
					d.onScriptResult(res)
				}
			}
		case carp.ActionAddVIP:
			d.acquire()
		case carp.ActionRemoveVIP:
			d.release()
		case carp.ActionAnnounce:
			if d.m.State() == carp.Master {
				d.announce(time.Now())
			}
		}
	}
}

func (d *Group) scriptJob(a carp.Action) (scriptJob, bool) {
	path := d.cfg.DownScript
	if a.Script == carp.ScriptUp {
		path = d.cfg.UpScript
	}
	if path == "" {
		return scriptJob{}, false
	}
	return scriptJob{
		path:   path,
		script: a.Script,
		args:   d.cfg.scriptArgs(),
		env: []string{
			"CARP_STATE=" + a.To.String(),
			"CARP_PREVIOUS_STATE=" + a.From.String(),
			fmt.Sprintf("CARP_VHID=%d", d.cfg.VHID),
			"CARP_INTERFACE=" + d.cfg.Interface,
			"CARP_VIP=" + d.cfg.Addr.Addr().String(),
			"CARP_VIPS=" + d.cfg.vipsEnv(),
			"CARP_REASON=" + a.Reason.String(),
			"CARP_PROTOCOL=" + d.cfg.Protocol.String(),
		},
	}, true
}

func (d *Group) onScriptDone(res scriptResult) {
	d.onScriptResult(res)
	d.pump()
}

// onScriptOverdue is a script that outlived --script-timeout; the runner
// is stopping it. An up script that hangs leaves a MASTER that advertises
// without the address its script was to bring up (ucarp would freeze
// instead, and its peer would take over): the MASTER gives up, with a
// bow-out so that a peer takes over at once. The down script and the
// address removal follow once the up script has ended.
func (d *Group) onScriptOverdue(job scriptJob) {
	if job.seq != d.current || !d.runner.busy() || job.script != carp.ScriptUp || d.exit != nil || d.m.State() != carp.Master || !d.effects.flightHolds() {
		return
	}
	d.log.Errorf("Up script [%s] did not finish within %v: giving up MASTER so that a peer takes over",
		job.describe(), d.cfg.ScriptTimeout)
	d.feed(carp.Event{Kind: carp.EventDemote})
}

func (d *Group) onScriptResult(res scriptResult) {
	d.runner.logResult(res)
	switch {
	case res.timedOut:
		d.stats.scriptTOs++
	case res.state == nil || !res.state.Success():
		d.stats.scriptFails++
	default:
		d.stats.scriptsOK++
	}
}

func (d *Group) onTransition(from, to carp.State) {
	d.stats.transitions++
	reason := d.switchReason
	if reason == carp.ReasonNone && to == carp.Init {
		reason = carp.ReasonShutdown // a release returns to INIT without a word
	}
	d.switchReason = carp.ReasonNone
	tr := Transition{Time: time.Now(), From: from, To: to, Reason: reason}
	d.record(tr)
	if d.onTrans != nil {
		d.onTrans(tr)
	}
	d.maintTransition(tr.Time, from, to)
	if to != carp.Master {
		d.announceLeft = 0
		d.deadlines[timerAnnounce] = time.Time{}
	}
	// Start and stop have their own notifications (READY=1 with the
	// status, STOPPING=1).
	if d.notify != nil && from != carp.Init && to != carp.Init {
		d.notify(fmt.Sprintf("%s on %s id %d", to, d.cfg.Interface, d.cfg.VHID))
	}
}

func (d *Group) logAction(a carp.Action) {
	level := carpLevel(a.Level)
	switch a.Msg {
	case carp.MsgSwitchState:
		if a.To == carp.Init {
			level = levelInfo
		}
		d.log.eventf(logfield.Transition, []slog.Attr{logfield.State(a.To.String()), logfield.Reason(a.Reason.String())},
			level, a.Msg.String(), a.To)
	case carp.MsgWriteErrors, carp.MsgCompareIntervals:
		d.log.logf(level, a.Msg.String(), a.Arg, a.Arg2)
	case carp.MsgCarrierLost, carp.MsgCarrierBack:
		d.log.eventf(logfield.Link, []slog.Attr{logfield.Reason(a.Msg.String())}, level, "[%s] %s", d.cfg.Interface, a.Msg)
	case carp.MsgDemoted, carp.MsgDemotionOver:
		d.log.eventf(logfield.Demotion, nil, level, "%s", a.Msg)
	default:
		d.log.logf(level, "%s", a.Msg)
	}
}

// announce sends the gratuitous ARP, and schedules the repeats that
// --garp-count asks for.
func (d *Group) announce(now time.Time) {
	if len(d.garp) == 0 || d.cfg.GARPCount == 0 {
		return
	}
	d.announceLeft = d.cfg.GARPCount
	d.garpNext = 0
	d.announceOnce(now)
}

// announceOnce sends the next burst of the announcement round: every
// frame, or with more than announceBurst addresses the next burst of
// them, the round spread over --garp-interval.
func (d *Group) announceOnce(now time.Time) {
	if d.announceLeft <= 0 || d.m.State() != carp.Master {
		return
	}
	end := min(d.garpNext+announceBurst, len(d.garp))
	for _, f := range d.garp[d.garpNext:end] {
		if err := d.arp.WriteFrame(f); err != nil {
			d.stats.garpErrors++
			d.log.Errorf("write() in garp: %s", strerror(err))
		} else {
			d.stats.garps++
		}
	}
	d.garpNext = end
	if step := announceStep(len(d.garp), d.cfg.GARPInterval); d.garpNext < len(d.garp) {
		d.deadlines[timerAnnounce] = now.Add(step)
		return
	}
	d.garpNext = 0
	d.announceLeft--
	if d.announceLeft > 0 {
		d.deadlines[timerAnnounce] = now.Add(d.cfg.GARPInterval - announceStep(len(d.garp), d.cfg.GARPInterval)*time.Duration((len(d.garp)-1)/announceBurst))
	}
}

func (d *Group) onPacket(r queued) {
	if r.err != nil {
		d.stats.readErrors++
		if d.stats.readErrors == 1 || d.stats.readErrors%1000 == 0 {
			d.log.Debugf("read error #%d: %s", d.stats.readErrors, strerror(r.err))
		}
		return
	}
	if d.exit != nil {
		return
	}
	d.stats.valid++
	now := time.Now()
	src := r.ev.Src
	if src != d.cfg.Src && src != d.src6 {
		// A peer's advert (a raw socket reads this host's own too): the
		// election settles who answers.
		d.quietFor(now)
	}
	if d.vm != nil {
		d.heardVRRP(now, src, r.ev)
		d.learnForm(src, r.form)
		d.feed(r.ev)
		return
	}
	d.heard(now, src, &r.ev)
	ev := r.ev
	ev.Src = src.Unmap()
	ev.Own = d.own6(src)
	d.feed(ev)
	d.maintAdvert(now, r)
}

// Report logs the state and the counters, as ucarp's SIGUSR1 and more.
func (d *Group) Report() {
	d.inLoop(func() {
		state := "MASTER"
		if d.m.State() == carp.Backup {
			state = "BACKUP"
		}
		d.log.Infof("%s on %s id %d", state, d.cfg.Interface, d.cfg.VHID)
		d.log.Infof("%s", d.statsLine())
	})
}

// Demote makes a MASTER give up for the hold time, as ucarp's SIGUSR2.
func (d *Group) Demote() {
	d.inLoop(func() {
		d.log.Debugf("Caught signal (USR2) considering going down")
		d.feed(carp.Event{Kind: carp.EventDemote})
	})
}

// Stop ends the group as ucarp's TERM, INT, QUIT or HUP (sig) does: with
// -z, the down script runs and Run returns code 0; without, Run returns
// sig to re-raise, after removing an address the group added itself. A
// second Stop while stopping ends the running script at once.
func (d *Group) Stop(sig os.Signal) {
	d.inLoop(func() {
		if d.exit != nil {
			d.log.Warnf("Signal %v while stopping: stopping the running script and exiting now", sig)
			d.exit.forced = true
			d.runner.kill()
			return
		}
		if d.cfg.Shutdown {
			down := d.cfg.DownScript
			if down == "" {
				down = "(null)"
			}
			d.log.eventf(logfield.Stop, nil, levelDebug, "sighandler_exit(): Calling [%s] and exiting", down)
			d.stop(&Exit{}, true)
			return
		}
		// Without -z ucarp dies of the signal at once: no down script. The
		// address the group added itself is removed all the same.
		d.stop(&Exit{Reraise: sig}, false)
	})
}

// Release gives the address up and ends the group, whatever -z says: a
// MASTER bows out, runs its down script and removes the address it
// manages. Run then returns code 0. It is how a group removed from a
// config file goes.
func (d *Group) Release() {
	d.inLoop(func() {
		if d.exit == nil {
			d.stop(&Exit{}, true)
		}
	})
}

// stop releases the machine and ends the loop once the effects are done.
func (d *Group) stop(p *Exit, runDownScript bool) {
	if d.notify != nil {
		d.notify("STOPPING")
	}
	d.exit = p
	if d.maint.holding() {
		// A stop during a handoff lets the address go, as a MASTER's does.
		d.maint.Phase = MaintOff
		d.closeListener()
		d.flushDeferred()
	}
	d.feed(carp.ReleaseEvent(runDownScript))
	for i := range d.deadlines {
		d.deadlines[i] = time.Time{}
	}
}

func (d *Group) onLink(st platform.LinkState) {
	if d.exit != nil {
		return
	}
	switch {
	case st.Gone:
		if d.cfg.WaitWhenDown {
			// Config mode: this group ends, the process and its other groups go on.
			d.log.eventf(logfield.Link, []slog.Attr{logfield.Reason("gone")}, levelError, "Interface [%s] is gone: this group stops", d.cfg.Interface)
		} else {
			d.log.eventf(logfield.Link, []slog.Attr{logfield.Reason("gone")}, levelError, "Interface [%s] is gone: exiting", d.cfg.Interface)
		}
		d.stop(&Exit{Code: 2}, d.cfg.Shutdown)
		return
	case !st.Up:
		if d.wasUp && !d.cfg.WaitWhenDown {
			// ucarp's words when ifdown takes the interface down; Debian's
			// ifupdown hook relies on the exit that follows.
			d.log.Errorf("exiting: pfds[0].revents = 8")
			d.log.eventf(logfield.Link, []slog.Attr{logfield.Reason("down")}, levelInfo, "Interface [%s] was set down administratively", d.cfg.Interface)
			d.stop(&Exit{}, d.cfg.Shutdown)
			return
		}
	default:
		d.wasUp = true
	}
	if d.cfg.IgnoreIfState {
		if st.Up && d.carrierDown {
			d.carrierDown = false
			d.feed(carp.Event{Kind: carp.EventLinkUp})
		}
		return
	}
	running := st.Up && st.Running
	switch {
	case !running && !d.carrierDown:
		d.carrierDown = true
		d.feed(carp.Event{Kind: carp.EventLinkDown})
	case running && d.carrierDown:
		d.carrierDown = false
		d.feed(carp.Event{Kind: carp.EventLinkUp})
	}
}

func (d *Group) statsLine() string {
	var drops []string
	var dropped uint64
	for r := carp.DropReason(1); r < carp.NumDropReasons; r++ {
		if n := d.drops[r].Load(); n > 0 {
			dropped += n
			drops = append(drops, fmt.Sprintf("%s %d", r, n))
		}
	}
	if n := d.queueFull.Load(); n > 0 {
		dropped += n
		drops = append(drops, fmt.Sprintf("queue full %d", n))
	}
	d.vrrpDrops(func(name string, n uint64) {
		dropped += n
		drops = append(drops, fmt.Sprintf("%s %d", name, n))
	})
	// What the socket dropped itself (FreeBSD: packets of another
	// interface, which a socket bound to one never sees on Linux).
	if dc, ok := d.conn.(platform.DropCounter); ok {
		byReason := dc.Drops()
		for _, r := range slices.Sorted(maps.Keys(byReason)) {
			dropped += byReason[r]
			drops = append(drops, fmt.Sprintf("%s %d", r, byReason[r]))
		}
	}
	s := &d.stats
	line := fmt.Sprintf("Counters: adverts sent %d (errors %d), valid adverts received %d, packets dropped %d",
		s.sent, s.sendErrors, s.valid, dropped)
	if len(drops) > 0 {
		line += " (" + strings.Join(drops, ", ") + ")"
	}
	return line + fmt.Sprintf(", gratuitous ARPs %d (errors %d), transitions %d, scripts %d (failed %d, timed out %d)"+
		", steps superseded %d, adverts of lesser masters %d (answered %d)",
		s.garps, s.garpErrors, s.transitions, s.scripts, s.scriptFails, s.scriptTOs,
		d.effects.superseded, s.nonPreferred, s.answered) + d.authStatsLine()
}
