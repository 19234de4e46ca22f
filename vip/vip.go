package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
)

// Address is an address configured on the interface, with its label
// ("" where the system has none).
type Address struct {
	Prefix netip.Prefix
	Label  string
	// Lifetime, when not zero, makes the kernel remove the address by
	// itself unless it is added again within that time (Linux valid_lft).
	Lifetime time.Duration
}

// System is what the OS offers to manage the addresses of one interface.
type System interface {
	// Addresses lists the IPv4 addresses of the interface.
	Addresses() ([]Address, error)
	// AddAddress adds a with its label, or renews its lifetime when it is
	// already there.
	AddAddress(a Address) error
	// DeleteAddress removes a.
	DeleteAddress(a Address) error
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
