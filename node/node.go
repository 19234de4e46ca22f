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
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// ID identifies a group in a node: its interface and vhid.
type ID struct {
	Interface string
	VHID      uint8
}

func (id ID) String() string { return fmt.Sprintf("%s vhid %d", id.Interface, id.VHID) }

// Spec is one group that a node runs: its configuration, and whether the
// node manages its virtual address (else its scripts do).
type Spec struct {
	Config    group.Config
	ManageVIP bool
}

// ID is the spec's identity.
func (s Spec) ID() ID { return ID{s.Config.Interface, s.Config.VHID} }

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
}

// Node runs many groups over shared sockets: one socket and one link and
// address watch per interface, whatever the number of groups on it; a
// reader per interface hands each packet to the group of its vhid.
type Node struct {
	deps   Deps
	mu     sync.Mutex
	ifaces map[string]*iface
	groups map[ID]*member
}

// member is a running group.
type member struct {
	spec  Spec
	vip   netip.Addr // the address it manages; invalid when none
	g     *group.Group
	ifc   *iface
	lock  io.Closer
	link  chan platform.LinkState
	addrs chan struct{}
	ready chan struct{} // closed once the group listens
	ended chan struct{} // closed when its Run has returned
	exit  *group.Exit
}

// iface is an interface that carries groups.
type iface struct {
	name  string
	os    platform.OS
	opts  platform.IPOptions
	conn  *sharedConn
	arp   *sharedFrames // nil: no gratuitous ARP
	addrs *addrCache    // the address table, one listing for all groups
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.RWMutex
	vhids map[uint8]*member
	// Packets for no group of this node, or too short to name one.
	unknown, short atomic.Uint64
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
	return &Node{deps: deps, ifaces: map[string]*iface{}, groups: map[ID]*member{}}
}

// Apply makes the node run exactly specs, touching only what changed: a
// group whose spec is unchanged keeps running as it is (its state, timers,
// counter and sockets); a changed timing, script or timeout is applied in
// place (group.Reconfigure: a transition only where the election rules
// demand one); a removed group gives its address up (bow-out, down
// script) and stops; a group whose identity changed (password, address,
// who manages it...) is replaced by a new one, which starts as BACKUP; a
// new group starts as BACKUP. Specs that cannot run together change
// nothing and give an error.
func (n *Node) Apply(specs []Spec) error {
	if err := check(specs); err != nil {
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
	for id, m := range n.groups {
		s, ok := want[id]
		switch {
		case ok && equalSpec(s, m.spec):
			continue // untouched
		case ok && s.ManageVIP == m.spec.ManageVIP && m.g.Reconfigure(s.Config) == nil:
			m.spec = s // changed in place
			continue
		}
		m.g.Release()
		stopping = append(stopping, m)
	}
	for _, m := range stopping {
		<-m.ended
		n.remove(m)
	}
	var errs []error
	for _, s := range specs {
		if _, ok := n.groups[s.ID()]; ok {
			continue
		}
		if err := n.start(s); err != nil {
			errs = append(errs, fmt.Errorf("node: %s: %w", s.ID(), err))
		}
	}
	n.closeIdle()
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

// start starts the group of s, opening its interface if it is the first.
func (n *Node) start(s Spec) error {
	ifc, err := n.open(s.Config)
	if err != nil {
		return err
	}
	c := s.Config
	m := &member{spec: s, ifc: ifc, link: make(chan platform.LinkState, 1), addrs: make(chan struct{}, 1),
		ready: make(chan struct{}), ended: make(chan struct{})}
	if s.ManageVIP {
		m.vip = c.Addr.Addr()
	}
	log := n.deps.Log.With("interface", c.Interface, "vhid", c.VHID)
	var addrs vip.System
	if s.ManageVIP {
		if n.deps.Lock != nil {
			if m.lock, err = n.deps.Lock(fmt.Sprintf("ucarp-go/%d/%d", ifc.os.Interface().Index, c.VHID)); err != nil {
				return fmt.Errorf("another daemon manages this group: %w", err)
			}
		}
		addrs = ifc.addrs
		// A copy left by a killed predecessor goes before the first
		// election; one someone else configured is for the first state.
		mgr := vip.NewManager(addrs, c.Addr, vip.Label(c.Interface, c.VHID), 0)
		if removed, err := mgr.RemoveOurs(); err != nil {
			m.closeLock()
			return fmt.Errorf("removing a stale copy of %s: %w", c.Addr, err)
		} else if removed {
			log.Warn(fmt.Sprintf("Removed %s left on %s by a previous run", c.Addr, c.Interface))
		}
	}
	initial, err := ifc.os.LinkState()
	if err != nil {
		m.closeLock()
		return err
	}
	var arp platform.FrameConn
	if ifc.arp != nil {
		arp = ifc.arp
	}
	var once sync.Once
	g, err := group.New(c, group.Deps{
		Log: log, MAC: ifc.os.Interface().HardwareAddr, Conn: ifc.conn, ARP: arp, Addrs: addrs,
		Link: m.link, AddrChanged: m.addrs, Initial: initial, Random: n.deps.Random,
		Ready: func(string) { once.Do(func() { close(m.ready) }) }, Shared: true,
	})
	if err != nil {
		m.closeLock()
		return err
	}
	m.g = g
	n.groups[s.ID()] = m
	ifc.mu.Lock()
	ifc.vhids[c.VHID] = m
	ifc.mu.Unlock()
	go func() {
		m.exit = g.Run()
		close(m.ended)
	}()
	return nil
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
	if m.ifc.vhids[m.spec.Config.VHID] == m {
		delete(m.ifc.vhids, m.spec.Config.VHID)
	}
	m.ifc.mu.Unlock()
	if n.groups[m.spec.ID()] == m {
		delete(n.groups, m.spec.ID())
	}
	m.closeLock()
}

// open returns the interface of c, opening its socket and watches once.
func (n *Node) open(c group.Config) (*iface, error) {
	if ifc, ok := n.ifaces[c.Interface]; ok {
		return ifc, nil
	}
	sys, err := n.deps.Open(c.Interface)
	if err != nil {
		return nil, err
	}
	ifc := &iface{name: c.Interface, os: sys, opts: ipOptions(c), stop: make(chan struct{}), vhids: map[uint8]*member{}}
	conn, err := sys.OpenIP(ifc.opts)
	if err != nil {
		return nil, err
	}
	ifc.conn = &sharedConn{IPConn: conn}
	ifc.addrs = &addrCache{sys: sys.Addresses()}
	if len(sys.Interface().HardwareAddr) == 6 {
		if arp, err := sys.OpenARP(); err == nil {
			ifc.arp = &sharedFrames{FrameConn: arp}
		} else if !errors.Is(err, platform.ErrNoARP) {
			conn.Close()
			return nil, err
		}
	}
	link, err := sys.WatchLink(ifc.stop)
	if err != nil {
		ifc.close()
		return nil, err
	}
	addrs, err := sys.WatchAddresses(ifc.stop)
	if err != nil {
		ifc.close()
		return nil, err
	}
	ifc.wg.Add(3)
	go ifc.read(n.deps.Log)
	go func() {
		defer ifc.wg.Done()
		for st := range link {
			ifc.each(func(m *member) { latest(m.link, st) })
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
				// Only the group whose address changed looks, and only
				// if the table changed: a renewal's event wakes nobody.
				if !ifc.addrs.apply(ev) {
					continue
				}
				ifc.each(func(m *member) {
					if ev.Resync || m.vip.IsValid() && m.vip == ev.Addr.Prefix.Addr() {
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
	ifc.conn.Close()
	if ifc.arp != nil {
		ifc.arp.Close()
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

// latest puts st in a one-place channel, replacing what its reader has
// not taken: the newest state is what matters.
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
// the group of its vhid, which checks it on this goroutine.
func (ifc *iface) read(log *slog.Logger) {
	defer ifc.wg.Done()
	b := make([]byte, 2048)
	backoff := time.Millisecond
	for {
		n, err := ifc.conn.ReadPacket(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
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
		if !ok {
			ifc.short.Add(1)
			continue
		}
		ifc.mu.RLock()
		m := ifc.vhids[vhid]
		ifc.mu.RUnlock()
		if m == nil {
			ifc.unknown.Add(1)
			continue
		}
		m.g.Deliver(b[:n])
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

// Demote makes every MASTER give up for the hold time (SIGUSR2).
func (n *Node) Demote() {
	for _, m := range n.members() {
		m.g.Demote()
	}
}

// Stop stops every group as ucarp's signal sig does (see group.Stop: the
// shutdown key says whether the down script runs) and waits for them; the
// node is then empty.
func (n *Node) Stop(sig os.Signal) {
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
		return int(a.spec.Config.VHID) - int(b.spec.Config.VHID)
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

// sharedConn is an interface's socket, written by all its groups.
type sharedConn struct {
	platform.IPConn
	mu sync.Mutex
}

func (c *sharedConn) WritePacket(pkt []byte) error {
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
