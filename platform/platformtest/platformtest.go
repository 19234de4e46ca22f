package platformtest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// DefaultQueueLen is the number of packets a conn holds for its reader
// when LAN.QueueLen is zero: about what a 208 KiB socket buffer holds of
// small packets.
const DefaultQueueLen = 256

// LAN is one Ethernet segment. The zero value is an empty segment, ready
// to use; set QueueLen before the first OpenIP.
type LAN struct {
	// QueueLen bounds the packets waiting for the reader of each conn;
	// more are dropped and counted (Conn.Drops). Zero: DefaultQueueLen.
	QueueLen int

	mu      sync.Mutex
	hosts   []*Host
	index   int // the index of the last interface added
	islands int // the last island made by Partition
	sent    []Frame
}

// Frame is what a host put on the wire: an IP packet (header included)
// written to an IPConn, or an Ethernet frame written to the ARP conn.
type Frame struct {
	Time      time.Time // time.Now() when written: the fake clock under synctest
	Host      *Host     // the sender
	ARP       bool      // an Ethernet frame from OpenARP; else an IP packet
	Data      []byte    // a copy of what was written
	Delivered int       // the conns that queued a copy
	// Src is an IP packet's Ethernet source: the host's MAC, or the
	// virtual MAC of the conn that sent it (vmac.go).
	Src net.HardwareAddr
}

// Host adds a host with one interface called name (e.g. "eth0"), the
// next free index (from 2, as lo is 1) and mac, up and running, whose
// address table holds addrs (labelled name, not listed by Calls).
func (l *LAN) Host(name string, mac net.HardwareAddr, addrs ...netip.Prefix) *Host {
	h := &Host{lan: l, name: name, mac: slices.Clone(mac), addrs: viptest.New(name),
		state: platform.LinkState{Up: true, Running: true}}
	h.ll = h.eui64()
	for _, p := range addrs {
		if err := h.addrs.Add(vip.Address{Prefix: p}); err != nil {
			panic(fmt.Sprintf("platformtest: address %v of %s: %v", p, name, err))
		}
	}
	h.addrs.Calls() // Calls lists the daemon's only
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.index == 0 {
		l.index = 1
	}
	l.index++
	h.index = l.index
	l.hosts = append(l.hosts, h)
	return h
}

// Sent returns every frame written on the LAN so far, in order: what
// reached the wire, partitioned or not, but not what a host without a
// link or a carrier could not send.
func (l *LAN) Sent() []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sent)
}

// Partition moves hosts to an island of their own: they still reach each
// other but no one else, and no one else reaches them. Their links stay
// up, as when a switch between them fails.
func (l *LAN) Partition(hosts ...*Host) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.islands++
	for _, h := range hosts {
		h.island = l.islands
	}
}

// Heal puts hosts back on the main segment.
func (l *LAN) Heal(hosts ...*Host) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range hosts {
		h.island = 0
	}
}

func (l *LAN) queueLen() int {
	if l.QueueLen > 0 {
		return l.QueueLen
	}
	return DefaultQueueLen
}

// Host is one machine on the LAN with one interface. It implements
// platform.OS.
type Host struct {
	lan   *LAN
	name  string
	mac   net.HardwareAddr
	mac0  net.HardwareAddr // the MAC before SetMAC: Interface's
	addrs *viptest.Addrs

	// Guarded by lan.mu.
	index     int
	state     platform.LinkState
	island    int
	conns     []*Conn
	filtered  uint64 // see Filtered
	linkSubs  []*sub[platform.LinkState]
	addrSubs  []*sub[platform.AddrEvent]
	openIPErr error
	arpErr    error
	noRaw     bool
	noAdmin   bool
	drops     uint64
	// ll is the IPv6 link-local address (zero: none), as the kernel
	// keeps it: made when the link first has a carrier, gone when the
	// link is set down (see setLink, SetLinkLocal).
	ll netip.Addr
	// ListenARP's listeners.
	arpListeners []*arpListener
	listens      int // listeners ever opened
	// vmacs are the host's virtual MAC interfaces by name (vmac.go).
	vmacs map[string]*VMAC
}

var (
	_ platform.OS        = (*Host)(nil)
	_ platform.MACReader = (*Host)(nil)
)

// String is the interface's name and MAC.
func (h *Host) String() string { return h.name + " " + h.mac.String() }

// Interface implements platform.OS; its flags follow the link state.
func (h *Host) Interface() *net.Interface {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	flags := net.FlagBroadcast | net.FlagMulticast
	if h.state.Up {
		flags |= net.FlagUp
	}
	if h.state.Running {
		flags |= net.FlagRunning
	}
	mac := h.mac
	if h.mac0 != nil {
		mac = h.mac0
	}
	return &net.Interface{Index: h.index, MTU: 1500, Name: h.name, HardwareAddr: slices.Clone(mac), Flags: flags}
}

// LinkState implements platform.OS.
func (h *Host) LinkState() (platform.LinkState, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return h.state, nil
}

// SetLink changes the link state and tells every WatchLink subscriber,
// even when nothing changed (the kernel, too, sends a message for each
// flag it touches). Taking the link down (up false) makes each reader of
// a Broadcast conn fail once with ENETDOWN, as a packet socket does.
func (h *Host) SetLink(up, running bool) {
	h.setLink(platform.LinkState{Up: up, Running: running})
}

// SetMAC changes the interface's MAC (`ip link set address`): what
// HardwareAddr reads from now on (Interface keeps the first, as the Linux
// OS does), and every WatchLink subscriber hears a link message, as from
// the kernel.
func (h *Host) SetMAC(mac net.HardwareAddr) {
	h.lan.mu.Lock()
	if h.mac0 == nil {
		h.mac0 = h.mac
	}
	h.mac = slices.Clone(mac)
	st := h.state
	h.lan.mu.Unlock()
	h.setLink(st)
}

// HardwareAddr implements platform.MACReader.
func (h *Host) HardwareAddr() (net.HardwareAddr, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return slices.Clone(h.mac), nil
}

// Remove removes the interface: LinkState reports Gone, subscribers get
// it, sends fail with ENODEV and nothing is received any more.
func (h *Host) Remove() { h.setLink(platform.LinkState{Gone: true}) }

func (h *Host) setLink(st platform.LinkState) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.state.Gone {
		return
	}
	if h.state.Up && !st.Up {
		for _, c := range h.conns {
			if c.o.Broadcast {
				c.err = syscall.ENETDOWN
				c.wake()
			}
		}
	}
	h.state = st
	for _, s := range h.linkSubs {
		s.push(st)
	}
	// The kernel makes the link-local address when the link is up with
	// a carrier, and deletes it when the link is set down.
	switch {
	case st.Gone:
		h.ll = netip.Addr{} // the Resync below tells
	case st.Up && st.Running && !h.ll.IsValid():
		h.setLinkLocal(h.eui64())
	case !st.Up && h.ll.IsValid():
		h.setLinkLocal(netip.Addr{})
	}
	if st.Gone {
		// The kernel deletes its addresses; the table here stays as it
		// is, for the tests to look at, and its readers read it again.
		h.pushAddrs([]platform.AddrEvent{{Resync: true}})
	}
}

// sub is one WatchLink or WatchAddresses subscription: q is what its
// pump has still to deliver; kick wakes the pump. lan.mu guards q.
type sub[T any] struct {
	q    []T
	kick chan struct{}
}

func (s *sub[T]) push(v T) {
	s.q = append(s.q, v)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// WatchLink implements platform.OS. Like FreeBSD's, it delivers changes
// only (Linux's first replays the current state). Nothing is lost however
// slowly the caller reads; the channel is closed after done. A goroutine
// delivers them until done is closed: under synctest, close done before
// the bubble ends.
func (h *Host) WatchLink(done <-chan struct{}) (<-chan platform.LinkState, error) {
	return subscribe(h, &h.linkSubs, done), nil
}

// WatchAddresses implements platform.OS as Linux does: an event for each
// address that a change made by ChangeAddresses (an administrator) added,
// changed or deleted, delivered as WatchLink delivers; a Resync when the
// table could not be read. The changes made through Addresses (the
// daemon's own) are not events.
func (h *Host) WatchAddresses(done <-chan struct{}) (<-chan platform.AddrEvent, error) {
	return subscribe(h, &h.addrSubs, done), nil
}

// subscribe adds a subscription to subs and starts its pump.
func subscribe[T any](h *Host, subs *[]*sub[T], done <-chan struct{}) <-chan T {
	s := &sub[T]{kick: make(chan struct{}, 1)}
	h.lan.mu.Lock()
	*subs = append(*subs, s)
	h.lan.mu.Unlock()
	out := make(chan T)
	go pump(h, subs, s, out, done)
	return out
}

func pump[T any](h *Host, subs *[]*sub[T], s *sub[T], out chan<- T, done <-chan struct{}) {
	defer close(out)
	defer func() {
		h.lan.mu.Lock()
		defer h.lan.mu.Unlock()
		*subs = slices.DeleteFunc(*subs, func(x *sub[T]) bool { return x == s })
	}()
	for {
		h.lan.mu.Lock()
		var next T
		have := len(s.q) > 0
		if have {
			next = s.q[0]
		}
		h.lan.mu.Unlock()
		if !have {
			select {
			case <-s.kick:
				continue
			case <-done:
				return
			}
		}
		select {
		case out <- next:
			h.lan.mu.Lock()
			s.q = s.q[1:]
			h.lan.mu.Unlock()
		case <-done:
			return
		}
	}
}

// pushAddrs queues evs for every address subscriber. lan.mu is held.
func (h *Host) pushAddrs(evs []platform.AddrEvent) {
	for _, s := range h.addrSubs {
		for _, ev := range evs {
			s.push(ev)
		}
	}
}

// diffAddrs is the events that turn the table before into after.
func diffAddrs(before, after []vip.Address) []platform.AddrEvent {
	var evs []platform.AddrEvent
	for _, a := range before {
		if !slices.ContainsFunc(after, func(b vip.Address) bool { return b.Prefix == a.Prefix }) {
			evs = append(evs, platform.AddrEvent{Addr: a, Deleted: true})
		}
	}
	for _, b := range after {
		if !slices.Contains(before, b) {
			evs = append(evs, platform.AddrEvent{Addr: b})
		}
	}
	return evs
}

// change runs f on the table and sends the events of what it changed.
func (h *Host) change(f func()) {
	before, berr := h.addrs.Snapshot()
	f()
	after, aerr := h.addrs.Snapshot()
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if berr != nil || aerr != nil {
		h.pushAddrs([]platform.AddrEvent{{Resync: true}})
		return
	}
	h.pushAddrs(diffAddrs(before, after))
}

// Addrs is the interface's address table, to inspect it; changes made
// directly on it are not signalled (see ChangeAddresses).
func (h *Host) Addrs() *viptest.Addrs { return h.addrs }

// ChangeAddresses runs f on the address table, as an administrator would
// ("ip addr add", "ip addr flush"), then sends the WatchAddresses
// subscribers an event for each address it changed.
func (h *Host) ChangeAddresses(f func(*viptest.Addrs)) {
	h.change(func() { f(h.addrs) })
}

// MissAddrEvents runs f on the address table, as ChangeAddresses does,
// but its events are lost, as when the kernel's events overran the
// subscription: the WatchAddresses subscribers get a Resync instead.
func (h *Host) MissAddrEvents(f func(*viptest.Addrs)) {
	f(h.addrs)
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.pushAddrs([]platform.AddrEvent{{Resync: true}})
}

// Addresses implements platform.OS: the viptest table of the interface.
// Its changes are the daemon's own, which WatchAddresses does not send.
func (h *Host) Addresses() vip.System { return h.addrs }

// Local implements platform.OS: whether a is in the host's table.
func (h *Host) Local(a netip.Addr) bool { return h.addrs.Has(a) }

// DenyPrivileges makes CheckPrivileges report CAP_NET_RAW (raw) or
// CAP_NET_ADMIN (admin) missing. It does not stop OpenIP or the address
// table: see FailOpenIP and Addrs().Fail.
func (h *Host) DenyPrivileges(raw, admin bool) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.noRaw, h.noAdmin = raw, admin
}

// CheckPrivileges implements platform.OS.
func (h *Host) CheckPrivileges(manageAddrs bool) error {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	var missing []string
	if h.noRaw {
		missing = append(missing, "CAP_NET_RAW")
	}
	if manageAddrs && h.noAdmin {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	if len(missing) > 0 {
		return fmt.Errorf("platformtest: missing capability %v", missing)
	}
	return nil
}

// FailOpenIP makes OpenIP fail with err (nil: succeed again).
func (h *Host) FailOpenIP(err error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.openIPErr = err
}

// FailOpenARP makes OpenARP fail with err (nil: succeed again).
func (h *Host) FailOpenARP(err error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.arpErr = err
}

// Drops counts the packets dropped because a reader of one of the host's
// conns, open or closed, did not keep up.
func (h *Host) Drops() uint64 {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return h.drops
}

// Filtered counts the packets that the socket filter of one of the
// host's conns, open or closed, dropped (Conn.SetFilter).
func (h *Host) Filtered() uint64 {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return h.filtered
}

// ARP returns the frames the host wrote through OpenARP.
func (h *Host) ARP() []Frame {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	var fs []Frame
	for _, f := range h.lan.sent {
		if f.ARP && f.Host == h {
			fs = append(fs, f)
		}
	}
	return fs
}

// sendErr is why h cannot send now, if it cannot: ENODEV when removed,
// ENETDOWN when down. lan.mu is held.
func (h *Host) sendErr() error {
	switch {
	case h.state.Gone:
		return syscall.ENODEV
	case !h.state.Up:
		return syscall.ENETDOWN
	}
	return nil
}

// OpenIP implements platform.OS.
func (h *Host) OpenIP(o platform.IPOptions) (platform.IPConn, error) {
	if !o.Group.Is4() && !o.Group.Is6() {
		return nil, fmt.Errorf("platformtest: raw IP socket for group %v: not an IP address", o.Group)
	}
	if o.Group.Is6() && o.Broadcast {
		return nil, fmt.Errorf("platformtest: broadcast is for IPv4 only")
	}
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.openIPErr != nil {
		return nil, h.openIPErr
	}
	if h.state.Gone {
		return nil, fmt.Errorf("platformtest: raw socket on %s: %w", h.name, syscall.ENODEV)
	}
	family := "ip4"
	if o.Group.Is6() {
		family = "ip6"
	}
	c := &Conn{h: h, o: o, net: fmt.Sprintf("%s:%d", family, o.Protocol),
		wakeup: make(chan struct{}, 1), closed: make(chan struct{})}
	h.conns = append(h.conns, c)
	return c, nil
}

// OpenARP implements platform.OS. The frames written are recorded (ARP,
// LAN.Sent) and delivered to the ListenARP listeners of the segment.
func (h *Host) OpenARP() (platform.FrameConn, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.arpErr != nil {
		return nil, h.arpErr
	}
	if h.state.Gone {
		return nil, fmt.Errorf("platformtest: ARP socket on %s: %w", h.name, syscall.ENODEV)
	}
	return &arpConn{h: h}, nil
}

type arpConn struct {
	h      *Host
	closed bool // guarded by lan.mu
}

func (a *arpConn) WriteFrame(frame []byte) error {
	l := a.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.closed {
		return &net.OpError{Op: "write", Net: "packet", Err: net.ErrClosed}
	}
	if len(frame) < 14 {
		return errors.New("platformtest: frame shorter than an Ethernet header")
	}
	if err := a.h.sendErr(); err != nil {
		return &net.OpError{Op: "write", Net: "packet", Err: err}
	}
	f := Frame{Time: time.Now(), Host: a.h, ARP: true, Data: slices.Clone(frame)}
	if a.h.state.Running {
		f.Delivered = l.deliverARP(a.h, frame)
	}
	l.sent = append(l.sent, f)
	return nil
}

func (a *arpConn) Close() error {
	a.h.lan.mu.Lock()
	defer a.h.lan.mu.Unlock()
	a.closed = true
	return nil
}

// LinkLocal implements platform.LinkLocaler: fe80::/64 with the modified
// EUI-64 interface identifier of the host's MAC, as the kernel makes it,
// once the link has had a carrier while up (an error before, as there is
// none), or what SetLinkLocal set.
func (h *Host) LinkLocal() (netip.Addr, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if !h.ll.IsValid() {
		return netip.Addr{}, fmt.Errorf("platformtest: %s has no link-local address", h.name)
	}
	return h.ll, nil
}

// SetLinkLocal changes the link-local address (the zero Addr removes
// it), as a removal and a new one, or DAD, would, and sends the
// WatchAddresses subscribers its events.
func (h *Host) SetLinkLocal(a netip.Addr) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	h.setLinkLocal(a)
}

// setLinkLocal is SetLinkLocal with lan.mu held.
func (h *Host) setLinkLocal(a netip.Addr) {
	var evs []platform.AddrEvent
	if h.ll.IsValid() {
		evs = append(evs, platform.AddrEvent{Addr: vip.Address{Prefix: netip.PrefixFrom(h.ll, 64)}, Deleted: true})
	}
	if a.IsValid() {
		evs = append(evs, platform.AddrEvent{Addr: vip.Address{Prefix: netip.PrefixFrom(a, 64)}})
	}
	h.ll = a
	h.pushAddrs(evs)
}

// eui64 is the link-local address the kernel makes from the MAC, or
// none without a 6-byte MAC.
func (h *Host) eui64() netip.Addr {
	if len(h.mac) != 6 {
		return netip.Addr{}
	}
	m := h.mac
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 8: m[0] ^ 2, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5]})
}
