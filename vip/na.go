package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
)

// allNodes is ff02::1, the destination of unsolicited Neighbour
// Advertisements, and allNodesMAC its Ethernet address (RFC 2464).
var (
	allNodes    = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x01})
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

// naHopLimit is the hop limit of every Neighbour Discovery message
// (RFC 4861 §7.1.2: receivers drop any other).
const naHopLimit = 255

// UnsolicitedNA is the IPv6 announcement of target from mac: an
// unsolicited Neighbour Advertisement (RFC 4861 §7.2.6) to ff02::1 with the
// Override flag and a Target Link-Layer Address option of mac, from src
// (the interface's link-local address), hop limit 255, in an Ethernet frame
// from mac to 33:33:00:00:00:01. It is what FreeBSD's carp_send_na sends
// (bsd-carp-spec §4.1); router adds the Router flag, as OpenBSD does when
// it forwards. Neighbours that have target in their cache take mac at
// once, without waiting for the entry to expire. The frame is 86 bytes.
func UnsolicitedNA(mac net.HardwareAddr, src, target netip.Addr, router bool) ([]byte, error) {
	if !src.Is6() || !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("vip: neighbour advertisement for %v from %v: IPv6 addresses needed", target, src)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("vip: neighbour advertisement from %v: not an Ethernet address", mac)
	}
	src, target = src.WithZone(""), target.WithZone("")
	m := &ndp.NeighborAdvertisement{
		Router:        router,
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(m, src, allNodes)
	if err != nil {
		return nil, fmt.Errorf("vip: neighbour advertisement for %v: %w", target, err)
	}
	b := make([]byte, 0, ethernetHeaderLen+40+len(icmp))
	b = append(b, allNodesMAC...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, 0x86dd)
	b = binary.BigEndian.AppendUint32(b, 6<<28)
	b = binary.BigEndian.AppendUint16(b, uint16(len(icmp)))
	b = append(b, 58, naHopLimit) // ICMPv6
	s, d := src.As16(), allNodes.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	return append(b, icmp...), nil
}
