package platform

import (
	"net"
	"net/netip"

	"github.com/ucarp-go/ucarp/vip"
)

// VMACOptions is a group's virtual MAC interface: a macvlan named Name
// on the OS's interface, with the address MAC. IPv6 leaves IPv6 on in it
// (a group with IPv6 addresses); else it is off, so that the macvlan,
// up on every host of the group, never speaks.
type VMACOptions struct {
	Name string
	MAC  net.HardwareAddr
	IPv6 bool
}

// VMACer is an OS that can give a group a virtual MAC interface, as
// keepalived's use_vmac (Linux: a private-mode macvlan).
type VMACer interface {
	// CreateVMAC makes the macvlan, or takes over the one of the same
	// name on this interface that a killed daemon left (the same MAC, in
	// private mode; any other is refused, left alone), and sets the
	// sysctls that make the kernel answer ARP for the group's addresses
	// with the virtual MAC only: notes say what it found and changed,
	// for the log.
	CreateVMAC(o VMACOptions) (v VMAC, notes []string, err error)
	// RemoveVMAC removes the macvlan o.Name of this interface if it is
	// one a killed daemon left (o.MAC, private mode), with what is on it:
	// for a group started without a virtual MAC. removed is false when
	// there is none; another one of the name is left alone.
	RemoveVMAC(o VMACOptions) (removed bool, err error)
}

// VMAC is a group's virtual MAC interface: its addresses go on it, its
// adverts and announcements leave through it, from its MAC. It reads
// nothing: the base interface's socket does.
type VMAC interface {
	Interface() *net.Interface
	Addresses() vip.System
	// OpenSend opens a conn that sends whole IP packets (header
	// included, as IPConn) of protocol proto to the multicast group, as
	// Ethernet frames from the virtual MAC. It reads the packets of proto
	// and of the group's family that come from the virtual MAC, the other
	// hosts' of the group: the kernel (macvlan_handle_frame) hands a
	// multicast frame whose source is a local macvlan's MAC to that
	// macvlan alone, never to the base interface.
	OpenSend(proto uint8, group netip.Addr) (IPConn, error)
	// WatchLink reports the macvlan's link state, the current one first,
	// as OS.WatchLink: someone else may set it down or remove it.
	WatchLink(done <-chan struct{}) (<-chan LinkState, error)
	// OpenARP opens the socket of its announcements.
	OpenARP() (FrameConn, error)
	// Close removes the macvlan, and puts back the base interface's
	// sysctls that CreateVMAC changed once no virtual MAC is left on it:
	// notes say what it put back.
	Close() (notes []string, err error)
}

// VirtualMAC is the group's virtual MAC: 00:00:5e:00:01:ID, or
// 00:00:5e:00:02:ID for a VRRPv3 IPv6 virtual router (RFC 9568 §7.3); BSD
// CARP uses 00:00:5e:00:01:VHID for both families.
func VirtualMAC(id uint8, vrrp6 bool) net.HardwareAddr {
	fam := byte(1)
	if vrrp6 {
		fam = 2
	}
	return net.HardwareAddr{0, 0, 0x5e, 0, fam, id}
}
