//go:build linux

package lab

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

// Announce sends from h a gratuitous ARP that claims ip at h's MAC, as a
// host does that configures ip by hand and announces it (arping -U), or
// for an IPv6 ip an unsolicited Neighbour Advertisement with the Override
// flag from h's link-local address (EnableIPv6): an intruder, for the
// split-brain tests.
func (h *Host) Announce(ip netip.Addr) error {
	var frame []byte
	var err error
	proto := unix.ETH_P_ARP
	if ip.Is6() {
		ll, lerr := h.LinkLocal()
		if lerr != nil {
			return lerr
		}
		frame, err = vip.UnsolicitedNA(h.MAC, ll, ip, false)
		proto = unix.ETH_P_IPV6
	} else {
		frame, err = vip.GratuitousARP(h.MAC, ip)
	}
	if err != nil {
		return err
	}
	var c *packet.Conn
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.IfName)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, proto, nil)
		return err
	}); err != nil {
		return fmt.Errorf("lab: ARP socket in %s: %w", h.Name, err)
	}
	defer c.Close()
	_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[:6])})
	return err
}
