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
// host does that configures ip by hand and announces it (arping -U): an
// intruder, for the split-brain tests.
func (h *Host) Announce(ip netip.Addr) error {
	frame, err := vip.GratuitousARP(h.MAC, ip)
	if err != nil {
		return err
	}
	var c *packet.Conn
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.IfName)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		return err
	}); err != nil {
		return fmt.Errorf("lab: ARP socket in %s: %w", h.Name, err)
	}
	defer c.Close()
	_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[:6])})
	return err
}
