package platform

import (
	"net"
	"net/netip"
)

// zoneOnWrite is true: a write to a link-local destination names the
// interface as its zone, as it always did here.
const zoneOnWrite = true

// bindIP6 does nothing: FreeBSD has no SO_BINDTODEVICE, and ip6Conn keeps
// the packets whose IPV6_PKTINFO names the interface.
func bindIP6(int, *net.Interface) error { return nil }

// LinkLocal implements LinkLocaler.
func (f *freebsdOS) LinkLocal() (netip.Addr, error) { return LinkLocal(f.ifi) }
