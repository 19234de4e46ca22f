package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// ProtoCARP is the address protocol (Linux IFA_PROTO, "proto 112" in
// iproute2) that marks the daemon's copy of the address. Linux keeps 0
// for "unspecified" and 1-3 for its own (loopback, router advertisement,
// link-local); 112 is CARP's IP protocol number, which no other program
// is known to use here.
const ProtoCARP uint8 = 112

// Mark is how a System tells the daemon's copy of an address from one
// that someone else configured.
type Mark int

const (
	// MarkProto: by the address protocol ProtoCARP (Linux 5.18 and later),
	// whatever the label; the label is still set where it fits.
	MarkProto Mark = iota
	// MarkLabel: by the label (Linux before 5.18, which ignores the
	// protocol). Where the label does not fit (see Label), by the address
	// and prefix length alone, as MarkNone.
	MarkLabel
	// MarkNone: by the address and prefix length alone (FreeBSD, whose
	// aliases carry neither labels nor protocols).
	MarkNone
)

func (m Mark) String() string {
	switch m {
	case MarkProto:
		return "protocol"
	case MarkLabel:
		return "label"
	case MarkNone:
		return "none"
	}
	return fmt.Sprintf("Mark(%d)", int(m))
}

// Address is an address configured on the interface, with its label
// ("" where the system has none) and protocol (0 where it has none).
type Address struct {
	Prefix netip.Prefix
	Label  string
	Proto  uint8
	// Lifetime, when not zero, makes the kernel remove the address by
	// itself unless it is added again within that time (Linux valid_lft).
	Lifetime time.Duration
}

func (a Address) String() string {
	s := a.Prefix.String()
	if a.Label != "" {
		s += " label " + a.Label
	}
	if a.Proto != 0 {
		s += fmt.Sprintf(" proto %d", a.Proto)
	}
	return s
}

// System is what the OS offers to manage the addresses of one interface.
// An address is identified, as the Linux kernel does for IPv4, by its
// address and prefix length: there is at most one of each pair, whatever
// its label or protocol.
type System interface {
	// Addresses lists the IPv4 addresses of the interface.
	Addresses() ([]Address, error)
	// AddAddress adds a with its label, protocol and lifetime; when an
	// address with the same prefix is there already, it gives it a's
	// protocol and lifetime in place (its label stays).
	AddAddress(a Address) error
	// DeleteAddress removes the address with a's prefix and, when a has
	// one, a's label; it fails when there is none.
	DeleteAddress(a Address) error
	// Mark says how the daemon's copy can be told apart.
	Mark() Mark
}

// Poster is a System that renews an address without its caller waiting
// for the kernel (issue 19): a MASTER's loop posts its renewals and goes
// on. Manager.PostRenewal uses it where a System has it.
type Poster interface {
	// PostAddress makes the request AddAddress makes, later, and calls
	// done with its result; it does not wait for the kernel. The requests
	// are made, and done called, on a goroutine of the System's that
	// serves every request posted to it: done must not block, and nobody
	// may wait for that goroutine (AddAddress may) holding a lock that a
	// done takes.
	PostAddress(a Address, done func(error))
}

// Finder is a System that can list the copies of one address without
// listing the whole table (a table kept in memory): Manager uses it where
// a System has it.
type Finder interface {
	// Find lists the addresses of the interface whose address is a, with
	// any prefix length.
	Find(a netip.Addr) ([]Address, error)
}

// maxLabel is the longest Linux address label (IFNAMSIZ - 1).
const maxLabel = 15

// Label is the label the daemon gives the address it adds on ifname:
// "<if>:ucarp", or "<if>:<vhid>" when that is too long, or "" when even
// that does not fit (the protocol alone then marks it, or before Linux
// 5.18 the address alone).
func Label(ifname string, vhid uint8) string {
	for _, l := range []string{ifname + ":ucarp", fmt.Sprintf("%s:%d", ifname, vhid)} {
		if len(l) <= maxLabel {
			return l
		}
	}
	return ""
}

// Manager adds and removes one virtual address.
//
// Every copy of the address on the interface (any prefix length, label or
// protocol) answers ARP for it, so the rule is: a MASTER holds it, nobody
// else does. Acquire takes over a copy someone else configured with the
// same prefix length; Release removes every copy. Only RemoveOurs, for a
// copy left by a killed predecessor, looks at the mark alone.
type Manager struct {
	sys  System
	want Address
}

// NewManager manages prefix p on sys, with label (see Label). With a
// lifetime, the address vanishes by itself when Refresh stops being
// called: a killed or frozen daemon leaves no stale address.
func NewManager(sys System, p netip.Prefix, label string, lifetime time.Duration) *Manager {
	return &Manager{sys: sys, want: Address{Prefix: p, Label: label, Proto: ProtoCARP, Lifetime: lifetime}}
}

// Address is the managed address.
func (m *Manager) Address() Address { return m.want }

// Mark is how the daemon's copy is told apart on this system.
func (m *Manager) Mark() Mark { return m.sys.Mark() }

// State is what the interface holds of the address.
type State struct {
	Present bool      // a copy of the address is on the interface: any prefix length, label or protocol
	Held    bool      // a copy with the managed prefix length is there, ours or not: what a MASTER needs
	Ours    bool      // that copy carries the daemon's mark
	Foreign []Address // the copies without the daemon's mark
}

// Ours says whether a, a copy of the address, carries the daemon's mark.
func (m *Manager) Ours(a Address) bool {
	if a.Prefix != m.want.Prefix {
		return false
	}
	switch m.sys.Mark() {
	case MarkProto:
		return a.Proto == ProtoCARP
	case MarkLabel:
		return m.want.Label == "" || a.Label == m.want.Label
	}
	return true
}

// copies lists the copies of the address, and the state they make.
func (m *Manager) copies() ([]Address, State, error) {
	var as []Address
	var err error
	if f, ok := m.sys.(Finder); ok {
		as, err = f.Find(m.want.Prefix.Addr())
	} else {
		as, err = m.sys.Addresses()
	}
	if err != nil {
		return nil, State{}, err
	}
	var s State
	var cs []Address
	for _, a := range as {
		if a.Prefix.Addr() != m.want.Prefix.Addr() {
			continue
		}
		cs = append(cs, a)
		s.Present = true
		if a.Prefix == m.want.Prefix {
			s.Held = true
		}
		if m.Ours(a) {
			s.Ours = true
		} else {
			s.Foreign = append(s.Foreign, a)
		}
	}
	return cs, s, nil
}

// Check looks the address up.
func (m *Manager) Check() (State, error) {
	_, s, err := m.copies()
	return s, err
}

// heldForeign is the copy with the managed prefix when it is not ours.
func (m *Manager) heldForeign(s State) []Address {
	for _, a := range s.Foreign {
		if a.Prefix == m.want.Prefix {
			return []Address{a}
		}
	}
	return nil
}

// Acquire makes the address the daemon's on the interface. added is true
// when it had to be added. A copy that someone else configured with the
// same prefix length is taken over in place (given the daemon's protocol
// and lifetime, never removed, so the address does not blink): took holds
// it as it was. Copies with another prefix length are left: they answer
// for this host, which is the MASTER; Release removes them.
func (m *Manager) Acquire() (added bool, took []Address, err error) {
	s, err := m.Check()
	switch {
	case err != nil:
		return false, nil, err
	case s.Ours:
		return false, nil, nil
	}
	took = m.heldForeign(s)
	if err := m.sys.AddAddress(m.want); err != nil {
		return false, nil, err
	}
	return !s.Held, took, nil
}

// Refresh renews the lifetime of the copy with the managed prefix, which a
// MASTER holds whoever configured it, and reports the state it found.
// took is a copy someone else configured that the renewal has just marked
// as the daemon's; it stays empty where the mark cannot be changed in
// place (MarkLabel), since then every renewal would report it again.
func (m *Manager) Refresh() (s State, took []Address, err error) {
	s, took, renew, err := m.PrepareRenewal()
	if !renew {
		return s, nil, err
	}
	return s, took, m.Renew()
}

// PrepareRenewal is Refresh's look, without the renewal: the state found,
// and whether Renew is to be called (renew: a copy with the managed prefix
// is there and the address has a lifetime), with the copy someone else
// configured that the renewal would take over. A caller that renews off
// its own goroutine (group's MASTER, whose adverts must never wait for
// the kernel) looks here and calls Renew on another.
func (m *Manager) PrepareRenewal() (s State, took []Address, renew bool, err error) {
	s, err = m.Check()
	if err != nil || !s.Held || m.want.Lifetime == 0 {
		return s, nil, false, err
	}
	if m.sys.Mark() == MarkProto {
		took = m.heldForeign(s)
	}
	return s, took, true, nil
}

// Renew gives the managed address its lifetime again: an add that
// replaces the copy there. It only calls the System (safe for concurrent
// use with the Manager's other methods if the System is). Beware: like
// "ip addr replace", it adds the address when it is not there (the Linux
// kernel creates an absent address whatever NLM_F_CREATE says), so a
// caller must not let a renewal run past a release.
func (m *Manager) Renew() error { return m.sys.AddAddress(m.want) }

// PostRenewal is Renew without the wait: it posts the renewal to the
// System (Poster) and returns, and done gets its result on the System's
// goroutine. A System that cannot post gets a goroutine of its own for
// this renewal, which ends with it. The same warning as Renew's: the
// caller must not let a renewal run past a release, so it waits for done
// before releasing.
func (m *Manager) PostRenewal(done func(error)) {
	if p, ok := m.sys.(Poster); ok {
		p.PostAddress(m.want, done)
		return
	}
	go func() { done(m.Renew()) }()
}

// Release removes every copy of the address from the interface: the
// daemon's, and any that someone else configured, which would otherwise
// answer ARP beside the MASTER's. removed lists what was removed.
func (m *Manager) Release() (removed []Address, err error) {
	cs, _, err := m.copies()
	if err != nil {
		return nil, err
	}
	for _, a := range cs {
		if err := m.sys.DeleteAddress(a); err != nil {
			return removed, err
		}
		removed = append(removed, a)
	}
	return removed, nil
}

// RemoveOurs removes the daemon's own copy only (one left by a killed
// predecessor, before the first election); removed is false when there
// was none.
func (m *Manager) RemoveOurs() (removed bool, err error) {
	cs, _, err := m.copies()
	if err != nil {
		return false, err
	}
	for _, a := range cs {
		if !m.Ours(a) {
			continue
		}
		if err := m.sys.DeleteAddress(a); err != nil {
			return false, err
		}
		removed = true
	}
	return removed, nil
}

// GratuitousARP is ucarp's announcement of ip from mac: an Ethernet
// broadcast carrying an ARP request whose sender and target are both ip at
// mac (src/garp.c). It is 42 bytes, as ucarp writes it: the padding to
// Ethernet's 60-byte minimum is left to the NIC.
func GratuitousARP(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, ip, mac, ip)
	if err != nil {
		return nil, fmt.Errorf("vip: gratuitous ARP for %v from %v: %w", ip, mac, err)
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("vip: gratuitous ARP: %w", err)
	}
	f := ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: body}
	frame, err := f.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("vip: gratuitous ARP: %w", err)
	}
	return frame[:ethernetHeaderLen+len(body)], nil
}

// ethernetHeaderLen is the length of an Ethernet header without VLAN tags.
const ethernetHeaderLen = 14

// Claim is who claims an address in an ARP frame: its sender.
type Claim struct {
	MAC  net.HardwareAddr
	Addr netip.Addr
}

// ParseClaim reads the sender of an ARP frame (Ethernet header
// included, untagged): a request or a reply over Ethernet and IPv4. A
// host that sends one holds the sender address, and every host that
// hears a gratuitous one points its cache there. Anything else is an
// error.
func ParseClaim(frame []byte) (Claim, error) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil {
		return Claim{}, fmt.Errorf("vip: ARP frame: %w", err)
	}
	if f.EtherType != ethernet.EtherTypeARP {
		return Claim{}, fmt.Errorf("vip: not an ARP frame: EtherType %#04x", uint16(f.EtherType))
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return Claim{}, fmt.Errorf("vip: ARP frame: %w", err)
	}
	if len(p.SenderHardwareAddr) != 6 || !p.SenderIP.Is4() {
		return Claim{}, errors.New("vip: ARP frame: not Ethernet and IPv4")
	}
	return Claim{MAC: p.SenderHardwareAddr, Addr: p.SenderIP}, nil
}
