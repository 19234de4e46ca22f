package node

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/internal/logfield"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// ID identifies a group in a node: its interface and vhid, and for a
// VRRPv3 group its protocol and family (a VRRPv3 virtual router is of one
// family: IPv4 VRID 1 and IPv6 VRID 1 are two, beside CARP's vhid 1).
type ID = group.ID

// vkey is a group's key on its interface (ID without the interface).
type vkey struct {
	proto group.Protocol
	ipv6  bool
	vhid  uint8
}

func keyOf(id ID) vkey { return vkey{id.Protocol, id.IPv6, id.VHID} }

// Spec is one group that a node runs: its configuration, and whether the
// node manages its virtual address (else its scripts do).
type Spec struct {
	Config    group.Config
	ManageVIP bool
	// Name is the group's name in the control plane (the config file's
	// name key); "" names it IF-VHID.
	Name string
	// Probes are the health probes whose weights make the group's
	// demotion while they are not up (group.DemotionHealth). A probe that
	// several groups name, by the same name and settings, runs once.
	Probes []health.Spec
	// SyncGroup names the sync group of the group, "" for none: the
	// members of a sync group fail over together (see demoter), with
	// those of the same name in other processes (SyncPeers).
	SyncGroup string
	// HoldDown is the boot hold-down: until that long after New, the
	// group is demoted by 255 (group.DemotionHoldDown) so that it takes
	// the address from no running peer; with HoldDownUntilHealthy it
	// ends sooner, once the group's probes no longer demote it. A lone
	// host still becomes MASTER after the dead interval, as at any start:
	// a demotion never keeps a host from taking an address nobody holds.
	HoldDown             time.Duration
	HoldDownUntilHealthy bool
}

// ID is the spec's identity.
func (s Spec) ID() ID {
	c := &s.Config
	return ID{Interface: c.Interface, VHID: c.VHID, Protocol: c.Protocol, IPv6: c.IPv6()}
}

// Deps wires a node to the system; tests give platformtest's hosts.
type Deps struct {
	// Log receives the node's lines; each group logs through it with its
	// interface and vhid as attributes.
	Log *slog.Logger
	// Open returns the platform of an interface (platform.New).
	Open   func(ifname string) (platform.OS, error)
	Random func() uint64
	// Lock takes the lock of a group that manages its address
	// (platform.Lock); nil takes none.
	Lock func(name string) (io.Closer, error)

	// CheckPrivileges makes each start ask the system first whether the
	// process may do what its group needs (platform.OS.CheckPrivileges:
	// raw sockets, and addresses if the group manages its own), before a
	// socket is opened (StepPrivileges).
	CheckPrivileges bool
	// Before, if set, is called before each step of a group's start that
	// is taken, with the interface once it is found (nil before
	// StepInterface), on the goroutine of Apply: the caller may log what
	// it sees, or stop the start by returning an error, which Apply
	// returns as that step's *StartError.
	Before func(id ID, step Step, sys platform.OS) error
	// Degraded, if set, is told of a step that failed in a way the start
	// does without: StepARP with platform.ErrNoARP (the kernel announces
	// the addresses it adds).
	Degraded func(id ID, step Step, err error)
	// Ready is called once a group listens, as BACKUP (state); Notify
	// with each of its later states, and "STOPPING" (see group.Deps).
	Ready  func(id ID, state string)
	Notify func(id ID, status string)
	// Unclaimed hands each group of an interface what its socket gives
	// that is no group's: a packet for a vhid the node does not run, one
	// too short to name its vhid (group.Deliver), a read error
	// (group.ReadError). The group checks, counts and logs them as a
	// group that reads its own socket does: the ucarp command line's lone
	// group. Else the node counts such packets itself (not in the groups'
	// counters) and retries after a read error without a word.
	Unclaimed bool
	// Reload reads the configuration again and applies it, for the
	// control socket's reload; nil where there is none (the ucarp
	// command line): control.ErrNotSupported.
	Reload func() error
	// Check, if set, gives the check of a health probe in place of
	// health.NewCheck's real one: tests fail and heal probes with it.
	Check func(health.Spec) health.Check
	// StateDir keeps what outlives the process: the groups in
	// maintenance with --persistent (MaintenanceDir). "": none.
	StateDir string
	// NewTimer makes each group's loop timer (group.Deps.NewTimer:
	// platform.NewLoopTimer in the daemon); nil: a time.Timer (tests
	// under testing/synctest).
	NewTimer func() (platform.Timer, error)
}

// Step is a step of a group's start, in the order a node takes them;
// a *StartError names the one that failed. The interface's steps
// (StepInterface, StepSocket, StepARP, StepWatch) are taken by the first
// group on it; StepPrivileges only with Deps.CheckPrivileges; StepARP
// only on an Ethernet interface; StepLock and StepStale only by a group
// that manages its address.
type Step int

const (
	StepInterface  Step = iota + 1 // find the interface (Deps.Open)
	StepPrivileges                 // check the privileges (Deps.CheckPrivileges)
	StepSocket                     // open the socket, join the multicast group
	StepARP                        // open the socket of gratuitous ARP
	StepWatch                      // watch the link and the addresses
	StepLock                       // take the group's lock (Deps.Lock)
	StepStale                      // remove a stale copy of the group's address
	StepGroup                      // read the link state, make the group
	StepRun                        // start the group's loop
	// StepVMAC makes the group's virtual MAC interface (vmac.go), between
	// StepLock and StepStale.
	StepVMAC
)

var stepNames = [...]string{StepInterface: "interface", StepPrivileges: "privileges", StepSocket: "socket",
	StepARP: "arp", StepWatch: "watch", StepLock: "lock", StepStale: "stale", StepGroup: "group", StepRun: "run",
	StepVMAC: "vmac"}

func (s Step) String() string {
	if s > 0 && int(s) < len(stepNames) {
		return stepNames[s]
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// StartError is a group that could not start: the step that failed, and
// its cause, which errors.Is and errors.As see (platform.ErrJoin,
// platform.ErrLocked, a syscall.Errno...).
type StartError struct {
	ID   ID
	Step Step
	Err  error
	addr netip.Prefix // the group's address, which StepStale's words name
}

func (e *StartError) Error() string {
	switch e.Step {
	case StepLock:
		return fmt.Sprintf("node: %s: another daemon manages this group: %v", e.ID, e.Err)
	case StepStale:
		return fmt.Sprintf("node: %s: removing a stale copy of %s: %v", e.ID, e.addr, e.Err)
	}
	return fmt.Sprintf("node: %s: %v", e.ID, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// Node runs many groups over shared sockets: one socket and one link and
// address watch per interface, whatever the number of groups on it; a
// reader per interface hands each packet to the group of its vhid.
type Node struct {
	deps   Deps
	mu     sync.Mutex
	ifaces map[string]*iface
	groups map[ID]*member
	// events carries the transitions and demotions to the control
	// socket's watchers.
	events control.Broadcaster
	health probing
	dem    demoter
	born   time.Time // New's time: the hold-downs count from it
	// writes gathers the adverts of a wake-up to all the interfaces'
	// sockets that batch them (platform.Batcher): one flush, in a fixed
	// order on the wire.
	writes platform.WriteBatches
	// renewals sends the address renewals of all the interfaces and
	// their virtual MACs (platform.Renewer): one goroutine for the node.
	renewals platform.Renewals
}

// member is a running group.
type member struct {
	spec  Spec
	vip   netip.Addr   // the address it manages; invalid when none
	more  []netip.Addr // its other addresses (ipv6.go)
	g     *group.Group
	ifc   *iface
	lock  io.Closer
	link  chan platform.LinkState
	addrs chan struct{}
	ready chan struct{} // closed once the group listens
	ended chan struct{} // closed when its Run has returned
	exit  *group.Exit
	// has6: the group has IPv6 addresses; src6, the link-local address
	// it has (invalid: none yet), under ifc.mu6 (ipv6.go).
	has6 bool
	src6 netip.Addr
	// vmac is the group's virtual MAC interface (vmac.go); nil: none.
	vmac *vmacParts
}

// iface is an interface that carries groups.
type iface struct {
	name string
	os   platform.OS
	opts platform.IPOptions
	conn platform.IPConn // a sharedConn
	v6   ipv6Conn        // the IPv6 socket, opened for the first group with IPv6 (ipv6.go)
	arp  *sharedFrames   // nil: no gratuitous ARP
	// claims is the one listener of ARP and Neighbour Discovery that the
	// groups of the interface share (claims.go); nil without arp.
	claims *claimHub
	addrs  *addrCache // the address table, one listing for all groups
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.RWMutex
	vhids  map[vkey]*member
	// filter, when the socket takes one and the node filters (not
	// Deps.Unclaimed), has the kernel drop what none of vhids can accept
	// (carp.SocketFilter); set each time vhids changes, under mu.
	filter platform.Filterer
	// vips are every group's virtual addresses (unicast.go), for the
	// source of the adverts to a global IPv6 peer.
	vips atomic.Pointer[map[netip.Addr]bool]
	log  *slog.Logger
	// Packets for no group of this node, or too short to name one.
	unknown, short atomic.Uint64

	// mu6 serializes sync6, and guards v6.src, link and the members' src6.
	mu6  sync.Mutex
	link platform.LinkState // the link's last state
	// mac is the interface's MAC read again after a change (mac.go).
	mac atomic.Pointer[net.HardwareAddr]
}

// New returns a node with no group; Apply gives it its groups.
func New(deps Deps) *Node {
	// The groups draw their counters and IP IDs from one source, each on
	// its own goroutine.
	var mu sync.Mutex
	random := deps.Random
	deps.Random = func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return random()
	}
	n := &Node{deps: deps, ifaces: map[string]*iface{}, groups: map[ID]*member{}, born: time.Now()}
	n.dem.synced = n.synced
	return n
}

// synced logs a sync demotion that changed, and tells the watchers.
func (n *Node) synced(g *group.Group, syncGroup string, level int) {
	id, name := n.dem.names(g)
	if name == "" {
		return // gone
	}
	log := n.deps.Log.With("interface", id.Interface, "vhid", id.VHID)
	switch {
	case level > 0:
		log.Warn(fmt.Sprintf("Sync group %s: another member failed: demoted by %d", syncGroup, level))
	case syncGroup == "":
		log.Info("Out of its sync group: no sync demotion")
	default:
		log.Info(fmt.Sprintf("Sync group %s: no member failed: no sync demotion", syncGroup))
	}
	n.publishDemotion(g)
}

// Apply makes the node run exactly specs, touching only what changed: a
// group whose spec is unchanged keeps running as it is (its state, timers,
// counter and sockets); a changed timing, script or timeout is applied in
// place (group.Reconfigure: a transition only where the election rules
// demand one); a removed group gives its address up (bow-out, down
// script) and stops; a group whose identity changed (password, address,
// who manages it...) is replaced by a new one, which starts as BACKUP; a
// new group starts as BACKUP. Specs that cannot run together change
// nothing and give an error. A group that cannot start gives a
// *StartError (joined with the others' by errors.Join), and the other
// groups start all the same.
func (n *Node) Apply(specs []Spec) error {
	if err := errors.Join(check(specs), checkProbes(specs)); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	// A group whose Run returned on its own (its interface disappeared) is
	// forgotten, and its interface closed: the specs start it again, on
	// the interface as it is now.
	for _, m := range n.groups {
		select {
		case <-m.ended:
			n.remove(m)
		default:
		}
	}
	n.closeIdle()
	want := map[ID]Spec{}
	for _, s := range specs {
		want[s.ID()] = s
	}
	// Every interface must keep one socket setting for all its groups.
	for _, s := range specs {
		if ifc, ok := n.ifaces[s.Config.Interface]; ok && !n.leaving(ifc, want) && ifc.opts != ipOptions(s.Config) {
			return fmt.Errorf("node: %s: srcip, mcastip and nomcast must stay those of the other groups on %s (%s, %s, nomcast %v)",
				s.ID(), ifc.name, ifc.opts.Src, ifc.opts.Group, ifc.opts.Broadcast)
		}
	}
	var stopping []*member
	var refused []error
	for id, m := range n.groups {
		s, ok := want[id]
		switch {
		case ok && equalSpec(s, m.spec):
			continue // untouched
		case ok && equalSpec(nodeOnly(s), nodeOnly(m.spec)):
			m.spec = s // only the node's settings changed: probes, sync group, hold-down
			n.dem.respec(m.g, s)
			continue
		case ok && s.ManageVIP == m.spec.ManageVIP:
			err := m.g.Reconfigure(s.Config)
			if err == nil {
				m.ifc.mu.Lock()
				m.spec = s       // changed in place
				m.ifc.refilter() // --relax-ttl may have changed
				m.ifc.mu.Unlock()
				n.dem.respec(m.g, s)
				continue
			}
			if !errors.Is(err, group.ErrIdentity) && !errors.Is(err, group.ErrStopping) {
				// A config the running group refuses (a peer that is
				// its own link-local address, known only to it): a new
				// group would refuse it too, after giving up the
				// addresses. Keep the group as it runs.
				refused = append(refused, fmt.Errorf("node: %s: reload refused, the group keeps its settings: %w", id, err))
				continue
			}
		}
		m.g.Release()
		stopping = append(stopping, m)
	}
	for _, m := range stopping {
		<-m.ended
		n.remove(m)
	}
	errs := refused
	for _, s := range specs {
		if _, ok := n.groups[s.ID()]; ok {
			continue
		}
		if err := n.start(s); err != nil {
			errs = append(errs, err)
		}
	}
	n.closeIdle()
	if err := n.applyHealth(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// leaving reports whether every group on ifc goes with the new specs, so
// that the interface may be reopened with other settings.
func (n *Node) leaving(ifc *iface, want map[ID]Spec) bool {
	ifc.mu.RLock()
	defer ifc.mu.RUnlock()
	for _, m := range ifc.vhids {
		if s, ok := want[m.spec.ID()]; ok && equalSpec(s, m.spec) {
			return false
		}
	}
	return true
}

// check refuses specs that cannot run together: the same group twice, or
// groups of one interface with different socket settings.
func check(specs []Spec) error {
	seen := map[ID]bool{}
	opts := map[string]platform.IPOptions{}
	var errs []error
	for _, s := range specs {
		id := s.ID()
		if seen[id] {
			errs = append(errs, fmt.Errorf("node: %s is configured twice", id))
		}
		seen[id] = true
		o := ipOptions(s.Config)
		if prev, ok := opts[id.Interface]; ok && prev != o {
			errs = append(errs, fmt.Errorf("node: %s: the groups of %s must share srcip, mcastip and nomcast (one socket per interface)", id, id.Interface))
		}
		opts[id.Interface] = o
	}
	return errors.Join(errs...)
}

func ipOptions(c group.Config) platform.IPOptions {
	return platform.IPOptions{Protocol: carp.IPProtocol, Src: c.Src, Group: c.Mcast, Broadcast: c.NoMcast}
}

// equalSpec reports whether two specs are the same, field by field (the
// password's bytes and xparam's text, not where they are stored).
func equalSpec(a, b Spec) bool { return reflect.DeepEqual(a, b) }

// nodeOnly is s without what the node does for the group rather than
// the group itself: a change of these leaves the group running. A
// changed hold-down starts no hold-down for a group that runs: it is the
// start's.
func nodeOnly(s Spec) Spec {
	s.Probes, s.SyncGroup, s.HoldDown, s.HoldDownUntilHealthy = nil, "", 0, false
	return s
}

// step takes one step of the start of s: Deps.Before, then do. A
// failure of either is that step's *StartError.
func (n *Node) step(s Spec, step Step, sys platform.OS, do func() error) error {
	err := error(nil)
	if n.deps.Before != nil {
		err = n.deps.Before(s.ID(), step, sys)
	}
	if err == nil {
		err = do()
	}
	if err != nil {
		return &StartError{ID: s.ID(), Step: step, Err: err, addr: s.Config.Addr}
	}
	return nil
}

// start starts the group of s, opening its interface if it is the first,
// in the order of Step; it returns a *StartError.
func (n *Node) start(s Spec) error {
	c := s.Config
	ifc := n.ifaces[c.Interface]
	var sys platform.OS
	if ifc != nil {
		sys = ifc.os
	} else if err := n.step(s, StepInterface, nil, func() (err error) {
		sys, err = n.deps.Open(c.Interface)
		return err
	}); err != nil {
		return err
	}
	if n.deps.CheckPrivileges {
		if err := n.step(s, StepPrivileges, sys, func() error { return sys.CheckPrivileges(s.ManageVIP) }); err != nil {
			return err
		}
	}
	if ifc == nil {
		var err error
		if ifc, err = n.open(s, sys); err != nil {
			return err
		}
	}
	m := &member{spec: s, ifc: ifc, link: make(chan platform.LinkState, linkQueue), addrs: make(chan struct{}, 1),
		ready: make(chan struct{}), ended: make(chan struct{})}
	if s.ManageVIP {
		m.vip = c.Addr.Addr()
		m.more = moreAddrs(c)
	}
	log := n.deps.Log.With("interface", c.Interface, "vhid", c.VHID)
	if s.Name != "" {
		log = log.With(logfield.Group(s.Name))
	}
	var addrs vip.System
	if s.ManageVIP {
		if n.deps.Lock != nil {
			if err := n.step(s, StepLock, sys, func() (err error) {
				m.lock, err = n.deps.Lock(lockName(sys.Interface().Index, s.ID()))
				return err
			}); err != nil {
				return err
			}
		}
		addrs = ifc.addrs
		if c.VMAC != "" {
			if err := n.step(s, StepVMAC, sys, func() (err error) {
				m.vmac, err = n.openVMAC(s, sys, log, m.addrs)
				return err
			}); err != nil {
				m.closeLock()
				return err
			}
			addrs = m.vmac.addrs
		}
		// A copy left by a killed predecessor goes before the first
		// election; one someone else configured is for the first state.
		// Both sides: a run with the other vmac setting left its copies
		// on the interface, or its macvlan with them.
		if err := n.step(s, StepStale, sys, func() error {
			sides := []struct {
				sys  vip.System
				name string
			}{{addrs, c.Interface}}
			if c.VMAC != "" {
				sides = []struct {
					sys  vip.System
					name string
				}{{addrs, c.VMAC}, {ifc.addrs, c.Interface}}
			}
			for _, side := range sides {
				for _, p := range append([]netip.Prefix{c.Addr}, c.MoreAddrs...) {
					mgr := vip.NewManager(side.sys, p, staleLabel(c, p), 0)
					removed, err := mgr.RemoveOurs()
					if removed {
						log.Warn(fmt.Sprintf("Removed %s left on %s by a previous run", p, side.name))
					}
					if err != nil {
						return err
					}
				}
			}
			return n.removeStaleVMAC(s, sys, log)
		}); err != nil {
			m.closeVMAC(log)
			m.closeLock()
			return err
		}
	}
	var g *group.Group
	var initial platform.LinkState
	if err := n.step(s, StepGroup, sys, func() (err error) {
		initial, err = sys.LinkState()
		if err != nil {
			return err
		}
		var arp platform.FrameConn
		if ifc.arp != nil {
			arp = ifc.arp
		}
		var once sync.Once
		id := s.ID()
		conn6, src6, err := n.open6(s, sys, ifc)
		if err != nil {
			return err
		}
		if conn6 != nil {
			// No link-local address yet: the group waits as for a carrier.
			m.has6, m.src6 = true, src6
			initial = gate6(initial, src6)
		}
		gd := group.Deps{
			Log: log, MAC: ifc.hwaddr(), Conn: ifc.conn, Conn6: conn6, Src6: src6, ARP: arp, Addrs: addrs,
			Link: m.link, AddrChanged: m.addrs, Initial: initial, Random: n.deps.Random,
			Ready: func(state string) {
				once.Do(func() { close(m.ready) })
				if n.deps.Ready != nil {
					n.deps.Ready(id, state)
				}
			},
			Notify: func(status string) {
				if n.deps.Notify != nil {
					n.deps.Notify(id, status)
				}
			},
			OnTransition: func(tr group.Transition) { n.publishTransition(s, tr) },
			Shared:       true,
			Source6:      ifc.source6,
			NewTimer:     n.deps.NewTimer,
		}
		if ifc.claims != nil {
			gd.WatchClaims = ifc.claims.Watch
		}
		if v := m.vmac; v != nil {
			// Sent from the virtual MAC; another host's claim of the
			// addresses with that MAC cannot be told from ours: no
			// conflict detection.
			gd.MAC, gd.ARP, gd.WatchClaims = v.mac, v.arp, nil
			if v.conn != nil {
				gd.Conn = v.conn
			}
			if v.conn6 != nil {
				gd.Conn6 = v.conn6
			}
		}
		if g, err = group.New(c, gd); err != nil {
			return err
		}
		n.startMaintenance(s, g)
		return nil
	}); err != nil {
		m.closeVMAC(log)
		m.closeLock()
		return err
	}
	if err := n.step(s, StepRun, sys, func() error { return nil }); err != nil {
		m.closeVMAC(log)
		m.closeLock()
		return err
	}
	m.g = g
	if m.vmac != nil {
		m.readVMAC()
		n.watchVMAC(m, log)
	}
	n.groups[s.ID()] = m
	n.dem.add(g, s, initial) // before the link watch sees it
	if _, kept, _ := n.kept(s.GroupName()); kept {
		n.dem.record(g, group.DemotionMaintenance, maintLevel(true)) // startMaintenance's
	}
	ifc.mu.Lock()
	ifc.vhids[keyOf(s.ID())] = m
	ifc.refilter()
	ifc.mu.Unlock()
	// The hold-down is in the group before it runs: no advert it hears
	// can make it preempt undemoted.
	if until := n.born.Add(s.HoldDown); s.HoldDown > 0 && time.Now().Before(until) {
		log.Info(fmt.Sprintf("Hold-down: not taking MASTER from a peer until %s%s", until.Format(time.RFC3339),
			map[bool]string{true: " or the probes are up", false: ""}[s.HoldDownUntilHealthy]))
		n.dem.holdDown(g, until, s.HoldDownUntilHealthy, func() { n.endHoldDown(g, "its time is up") })
	}
	go func() {
		m.exit = g.Run()
		if m.vmac != nil {
			m.vmac.close(log) // the addresses are gone with the group
		}
		close(m.ended)
	}()
	if m.has6 {
		n.sync6(ifc) // a link-local address that came since open6
	}
	return nil
}

// endHoldDown ends the hold-down of g, saying why, once.
func (n *Node) endHoldDown(g *group.Group, why string) {
	if !n.dem.endHoldDown(g) {
		return
	}
	id, _ := n.dem.names(g)
	n.deps.Log.With("interface", id.Interface, "vhid", id.VHID).Info("Hold-down over: " + why)
	n.publishDemotion(g)
}

func (m *member) closeLock() {
	if m.lock != nil {
		m.lock.Close()
		m.lock = nil
	}
}

// remove forgets a group whose Run has returned.
func (n *Node) remove(m *member) {
	m.ifc.mu.Lock()
	if k := keyOf(m.spec.ID()); m.ifc.vhids[k] == m {
		delete(m.ifc.vhids, k)
		m.ifc.refilter()
	}
	m.ifc.mu.Unlock()
	if n.groups[m.spec.ID()] == m {
		delete(n.groups, m.spec.ID())
	}
	n.dem.remove(m.g)
	m.closeLock()
}

// open opens the sockets and watches of the interface sys, for the
// groups of s's interface, and keeps it.
func (n *Node) open(s Spec, sys platform.OS) (_ *iface, err error) {
	c := s.Config
	ifc := &iface{name: c.Interface, os: sys, opts: ipOptions(c), stop: make(chan struct{}), vhids: map[vkey]*member{}}
	if r, ok := sys.(platform.Renewer); ok {
		r.ShareRenewals(&n.renewals) // before its addresses' first renewal, and its virtual MACs'
	}
	defer func() {
		if err != nil {
			ifc.close()
		}
	}()
	if err := n.step(s, StepSocket, sys, func() error {
		conn, err := sys.OpenIP(ifc.opts)
		if err == nil {
			if b, ok := conn.(platform.Batcher); ok {
				b.ShareBatches(&n.writes)
			}
			ifc.conn = newSharedConn(conn)
			if f, ok := conn.(platform.Filterer); ok && !n.deps.Unclaimed {
				ifc.filter, ifc.log = f, n.deps.Log.With("interface", c.Interface)
			}
		}
		return err
	}); err != nil {
		return nil, err
	}
	ifc.addrs = &addrCache{sys: sys.Addresses(), log: n.deps.Log.With("interface", c.Interface), stop: ifc.stop, notify: func(all bool, addrs []netip.Addr) {
		// A listing made off the groups' loops corrected the copy:
		// the groups of what it changed look again (addrcache.go).
		ifc.each(func(m *member) {
			if all || slices.ContainsFunc(addrs, m.manages) {
				signal(m.addrs)
			}
		})
	}}
	if len(sys.Interface().HardwareAddr) == 6 {
		if err := n.step(s, StepARP, sys, func() error {
			arp, err := sys.OpenARP()
			switch {
			case errors.Is(err, platform.ErrNoARP):
				if n.deps.Degraded != nil {
					n.deps.Degraded(s.ID(), StepARP, err)
				}
				return nil
			case err != nil:
				return err
			}
			ifc.arp = &sharedFrames{FrameConn: arp}
			ifc.claims = newClaimHub(sys)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	var link <-chan platform.LinkState
	var addrs <-chan platform.AddrEvent
	if err := n.step(s, StepWatch, sys, func() (err error) {
		if link, err = sys.WatchLink(ifc.stop); err != nil {
			return err
		}
		addrs, err = sys.WatchAddresses(ifc.stop)
		return err
	}); err != nil {
		return nil, err
	}
	// The one listing waited for (no group runs yet), once subscribed:
	// the events from here on come after it.
	ifc.addrs.prime()
	ifc.link, _ = sys.LinkState()
	ifc.wg.Add(3)
	go ifc.read(n.deps.Unclaimed)
	go func() {
		defer ifc.wg.Done()
		for st := range link {
			n.onLink(ifc, st)
		}
	}()
	go func() {
		defer ifc.wg.Done()
		for {
			select {
			case ev, ok := <-addrs:
				if !ok {
					return
				}
				if a := ev.Addr.Prefix.Addr(); ev.Resync || a.Is6() && a.IsLinkLocalUnicast() {
					n.sync6(ifc) // the link-local address may have changed
				}
				// Only the group whose address changed looks, and only
				// if the table changed: a renewal's event wakes nobody.
				if !ifc.addrs.apply(ev) {
					continue
				}
				ifc.each(func(m *member) {
					if ev.Resync || m.manages(ev.Addr.Prefix.Addr()) {
						signal(m.addrs)
					}
				})
			case <-ifc.stop:
				return
			}
		}
	}()
	n.ifaces[c.Interface] = ifc
	return ifc, nil
}

// closeIdle closes the interfaces that carry no group any more.
func (n *Node) closeIdle() {
	for name, ifc := range n.ifaces {
		ifc.mu.RLock()
		idle := len(ifc.vhids) == 0
		ifc.mu.RUnlock()
		if idle {
			ifc.close()
			ifc.wg.Wait()
			delete(n.ifaces, name)
		}
	}
}

func (ifc *iface) close() {
	select {
	case <-ifc.stop:
	default:
		close(ifc.stop)
	}
	if ifc.conn != nil {
		ifc.conn.Close()
	}
	ifc.v6.close()
	if ifc.claims != nil {
		ifc.claims.close()
	}
	if ifc.arp != nil {
		ifc.arp.Close()
	}
}

// refilter gives the socket the filter of the interface's vhids; ifc.mu
// is held. Without a filter the daemon still drops and counts what the
// filter would have dropped (the groups check every packet), so a
// failure is logged and the interface goes on.
func (ifc *iface) refilter() {
	ifc.setVIPs()
	if ifc.filter == nil {
		return
	}
	var vhids, vrids []uint8
	anyTTL := false // a group with --relax-ttl: the TTL is left to the groups
	for k, m := range ifc.vhids {
		switch {
		case k.proto == group.ProtocolCARP:
			vhids = append(vhids, k.vhid)
		case !k.ipv6:
			vrids = append(vrids, k.vhid)
		}
		if a := m.spec.Config.Auth; a != nil && a.RelaxTTL {
			anyTTL = true
		}
	}
	if err := ifc.filter.SetFilter(carp.SocketFilterVRRP(vhids, vrids, anyTTL)); err != nil {
		ifc.log.Warn("the kernel cannot drop what no group here accepts", "err", err)
	}
}

// each runs f for every group of the interface.
func (ifc *iface) each(f func(m *member)) {
	ifc.mu.RLock()
	defer ifc.mu.RUnlock()
	for _, m := range ifc.vhids {
		f(m)
	}
}

// linkQueue is how many link changes wait for a group whose loop is
// busy, as many as the platform's watch holds: a group sees each edge
// (a down followed at once by an up still ends a group that exits when
// its interface is set down, as ucarp does).
const linkQueue = 16

// latest queues st for a group; when the queue is full, the oldest
// change goes: the newest state is what matters most.
func latest(ch chan platform.LinkState, st platform.LinkState) {
	for {
		select {
		case ch <- st:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// read is the interface's receiving goroutine: it hands each packet to
// the group of its vhid, which checks it on this goroutine, and what is
// no group's to every group when unclaimed is set (Deps.Unclaimed).
func (ifc *iface) read(unclaimed bool) {
	defer ifc.wg.Done()
	b := make([]byte, 2048)
	backoff := time.Millisecond
	for {
		n, err := ifc.conn.ReadPacket(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if unclaimed {
				ifc.each(func(m *member) { m.g.ReadError(err) })
			}
			select {
			case <-ifc.stop:
				return
			case <-time.After(backoff): // e.g. ENETDOWN while the link is down
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = time.Millisecond
		vhid, ok := carp.VHIDOf(b[:n])
		var m *member
		if ok {
			ifc.mu.RLock()
			m = ifc.vhids[vkey{vhid: vhid}]
			if v := b[(b[0]&0x0f)*4]; v>>4 == 3 {
				// VRRPv3: the group of this VRID if there is one; else
				// the CARP group of the vhid counts it, as before.
				if vm := ifc.vhids[vkey{group.ProtocolVRRP3, false, vhid}]; vm != nil {
					m = vm
				}
			}
			ifc.mu.RUnlock()
		}
		if m != nil {
			m.deliver(b[:n])
			continue
		}
		if ok {
			ifc.unknown.Add(1)
		} else {
			ifc.short.Add(1)
		}
		if unclaimed {
			ifc.each(func(m *member) { m.deliver(b[:n]) })
		}
	}
}

// Ready is closed once every group started so far listens.
func (n *Node) Ready() <-chan struct{} {
	n.mu.Lock()
	var waits []chan struct{}
	for _, m := range n.groups {
		waits = append(waits, m.ready)
	}
	n.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for _, w := range waits {
			<-w
		}
		close(done)
	}()
	return done
}

// Report logs every group's state and counters (SIGUSR1).
func (n *Node) Report() {
	for _, m := range n.members() {
		m.g.Report()
	}
}

// DemoteMasters makes every MASTER give up for the hold time (SIGUSR2).
func (n *Node) DemoteMasters() {
	for _, m := range n.members() {
		m.g.Demote()
	}
}

// Done returns a channel that delivers how the group id ended once its
// Run has returned (Stop, Interrupt, Release, its interface set down or
// gone: see group.Exit), or nil if the node runs no group id. A group
// that ended on its own stays in the node until the next Apply or Stop.
func (n *Node) Done(id ID) <-chan *group.Exit {
	n.mu.Lock()
	m := n.groups[id]
	n.mu.Unlock()
	if m == nil {
		return nil
	}
	ch := make(chan *group.Exit, 1)
	go func() {
		<-m.ended
		ch <- m.exit
	}()
	return ch
}

// Interrupt stops every group as Stop does, but returns without waiting
// for them to end (Done tells when each has): a second Interrupt while
// they stop ends their running scripts at once, as a second signal does
// to ucarp. The node keeps the ended groups and their interfaces until
// the next Apply or Stop.
func (n *Node) Interrupt(sig os.Signal) {
	n.stopHealth()
	n.dem.stopTimers()
	for _, m := range n.members() {
		m.g.Stop(sig)
	}
}

// Stop stops every group as ucarp's signal sig does (see group.Stop: the
// shutdown key says whether the down script runs) and waits for them; the
// node is then empty.
func (n *Node) Stop(sig os.Signal) {
	n.stopHealth()
	n.dem.stopTimers()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.groups {
		m.g.Stop(sig)
	}
	for _, m := range n.groups {
		<-m.ended
		n.remove(m)
	}
	n.closeIdle()
}

// members lists the running groups, by interface and vhid.
func (n *Node) members() []*member {
	n.mu.Lock()
	defer n.mu.Unlock()
	ms := make([]*member, 0, len(n.groups))
	for _, m := range n.groups {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int {
		if c := cmpString(a.spec.Config.Interface, b.spec.Config.Interface); c != 0 {
			return c
		}
		if c := int(a.spec.Config.VHID) - int(b.spec.Config.VHID); c != 0 {
			return c
		}
		ka, kb := keyOf(a.spec.ID()), keyOf(b.spec.ID())
		if ka.proto != kb.proto {
			return int(ka.proto) - int(kb.proto)
		}
		return map[bool]int{false: 0, true: 1}[ka.ipv6] - map[bool]int{false: 0, true: 1}[kb.ipv6]
	})
	return ms
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Groups lists the running groups, by interface and vhid.
func (n *Node) Groups() []ID {
	var ids []ID
	for _, m := range n.members() {
		ids = append(ids, m.spec.ID())
	}
	return ids
}

// newSharedConn wraps an interface's socket for its groups. A socket
// that drops packets itself (platform.DropCounter: FreeBSD's, for those
// of another interface) keeps saying how many, for the groups' counters.
func newSharedConn(c platform.IPConn) platform.IPConn {
	s := &sharedConn{IPConn: c}
	if dc, ok := c.(platform.DropCounter); ok {
		return countingConn{s, dc}
	}
	return s
}

// countingConn is a sharedConn over a socket that counts its drops.
type countingConn struct {
	*sharedConn
	platform.DropCounter
}

// sharedConn is an interface's socket, written by all its groups.
type sharedConn struct {
	platform.IPConn
	mu sync.Mutex
}

// Backlog passes on the socket's platform.Backlogger: the interface's
// reader hands each packet to its group before it reads the next, so a
// group whose dead timer is due can wait for what it has not handed yet.
func (c *sharedConn) Backlog() bool {
	b, ok := c.IPConn.(platform.Backlogger)
	return ok && b.Backlog()
}

// WritePacket serializes the groups' writes, unless the socket takes
// them at once and gathers those of a wake-up into one system call
// (platform.Batcher).
func (c *sharedConn) WritePacket(pkt []byte) error {
	if _, ok := c.IPConn.(platform.Batcher); ok {
		return c.IPConn.WritePacket(pkt)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.IPConn.WritePacket(pkt)
}

// sharedFrames is an interface's frame socket, written by all its groups.
type sharedFrames struct {
	platform.FrameConn
	mu sync.Mutex
}

func (f *sharedFrames) WriteFrame(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.FrameConn.WriteFrame(b)
}

// lockName is the name of the lock of group id on the interface of index
// ifindex: ucarp-go/IFINDEX/VHID for CARP, with the protocol and family
// between for VRRPv3.
func lockName(ifindex int, id ID) string {
	if id.Protocol == group.ProtocolCARP {
		return fmt.Sprintf("ucarp-go/%d/%d", ifindex, id.VHID)
	}
	fam := "ipv4"
	if id.IPv6 {
		fam = "ipv6"
	}
	return fmt.Sprintf("ucarp-go/%d/%s-%s/%d", ifindex, id.Protocol, fam, id.VHID)
}
