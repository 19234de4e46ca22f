package platform

import (
	"net"
	"net/netip"
)

// bindIP6 binds the raw IPv6 socket to the interface.
func bindIP6(fd int, ifi *net.Interface) error { return bindToDevice(fd, ifi) }

// LinkLocal implements LinkLocaler.
func (l *linuxOS) LinkLocal() (netip.Addr, error) { return LinkLocal(l.ifi) }
