package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
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

// maxLabel is the longest Linux address label (IFNAMSIZ - 1).
const maxLabel = 15

// Label is the label the daemon gives the address it adds on ifname:
// "<if>:ucarp", or "<if>:<vhid>" when that is too long, or "" when even
// that does not fit (the address alone then marks it).
func Label(ifname string, vhid uint8) string {
	for _, l := range []string{ifname + ":ucarp", fmt.Sprintf("%s:%d", ifname, vhid)} {
		if len(l) <= maxLabel {
			return l
		}
	}
	return ""
}

// Manager adds and removes one virtual address.
type Manager struct {
	sys  System
	want Address
}

// NewManager manages prefix p on sys, with label (see Label). With a
// lifetime, the address vanishes by itself when Refresh stops being
// called: a killed or frozen daemon leaves no stale address.
func NewManager(sys System, p netip.Prefix, label string, lifetime time.Duration) *Manager {
	return &Manager{sys: sys, want: Address{Prefix: p, Label: label, Lifetime: lifetime}}
}

// Address is the managed address.
func (m *Manager) Address() Address { return m.want }

// State says whether the address is on the interface and whether it is
// the daemon's own copy (same prefix, our label).
type State struct {
	Present bool // the address is on the interface, with any prefix length or label
	Ours    bool // and it is our copy
}

// Check looks the address up.
func (m *Manager) Check() (State, error) {
	as, err := m.sys.Addresses()
	if err != nil {
		return State{}, err
	}
	var s State
	for _, a := range as {
		if a.Prefix.Addr() != m.want.Prefix.Addr() {
			continue
		}
		s.Present = true
		if a.Prefix.Bits() == m.want.Prefix.Bits() && (m.want.Label == "" || a.Label == m.want.Label) {
			s.Ours = true
		}
	}
	return s, nil
}

// ErrForeign means the address is configured on the interface by someone
// else (another label or prefix length): the daemon leaves it alone.
var ErrForeign = errors.New("vip: the address is configured by someone else")

// Acquire makes sure the address is on the interface; added is true when
// it had to be added. An address configured by someone else counts as
// present and gives ErrForeign.
func (m *Manager) Acquire() (added bool, err error) {
	s, err := m.Check()
	switch {
	case err != nil:
		return false, err
	case s.Ours:
		return false, nil
	case s.Present:
		return false, ErrForeign
	}
	if err := m.sys.AddAddress(m.want); err != nil {
		return false, err
	}
	return true, nil
}

// Refresh renews the lifetime of our copy of the address, if it has one
// and is there; it reports the state it found.
func (m *Manager) Refresh() (State, error) {
	s, err := m.Check()
	if err != nil || !s.Ours || m.want.Lifetime == 0 {
		return s, err
	}
	return s, m.sys.AddAddress(m.want)
}

// Release removes the daemon's copy of the address; removed is false when
// there was none. A copy configured by someone else is left alone.
func (m *Manager) Release() (removed bool, err error) {
	s, err := m.Check()
	if err != nil || !s.Ours {
		return false, err
	}
	if err := m.sys.DeleteAddress(m.want); err != nil {
		return false, err
	}
	return true, nil
}

// GratuitousARP is ucarp's announcement of ip from mac: an Ethernet
// broadcast carrying an ARP request whose sender and target are both ip at
// mac (src/garp.c). It is 42 bytes.
func GratuitousARP(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	p, err := arp.NewPacket(arp.OperationRequest, mac, ip, mac, ip)
	if err != nil {
		return nil, fmt.Errorf("vip: gratuitous ARP for %v from %v: %w", ip, mac, err)
	}
	body, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("vip: gratuitous ARP: %w", err)
	}
	frame := make([]byte, 0, 14+len(body))
	frame = append(frame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	frame = append(frame, mac...)
	frame = append(frame, 0x08, 0x06)
	return append(frame, body...), nil
}
