package platform

import (
	"net"
	"net/netip"
)

// zoneOnWrite is false: a write to a link-local destination goes out of
// the interface that its IPV6_PKTINFO names (and the socket is bound to
// it), with no zone. A zone by name costs a lookup in the zone cache of
// net and x/net, which lists every link again once a minute, and at
// every write when the name is not in the list: a link whose message
// exceeds a page never is (ifinfo_linux.go), and each write listed every
// link of the host.
const zoneOnWrite = false

// bindIP6 binds the raw IPv6 socket to the interface.
func bindIP6(fd int, ifi *net.Interface) error { return bindToDevice(fd, ifi) }

// LinkLocal implements LinkLocaler.
func (l *linuxOS) LinkLocal() (netip.Addr, error) { return LinkLocal(l.ifi) }
