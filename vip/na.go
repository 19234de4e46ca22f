package vip

import (
	"encoding/binary"
	"errors"
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

// ParseNDClaim reads who claims an IPv6 address in a Neighbour Discovery
// frame (Ethernet header included, untagged): a Neighbour Advertisement
// claims its target, a Neighbour Solicitation its source (unless it is
// the unspecified address of duplicate address detection), each at the
// MAC of its link-layer address option, else at the frame's source, as
// neighbours take it (RFC 4861 §7.2.5, §7.2.3). Messages with a hop limit
// other than 255, which every neighbour drops, and anything else are an
// error.
func ParseNDClaim(frame []byte) (Claim, error) {
	const ipv6Len = 40
	if len(frame) < ethernetHeaderLen+ipv6Len+4 {
		return Claim{}, errors.New("vip: neighbour discovery frame: too short")
	}
	if binary.BigEndian.Uint16(frame[12:14]) != 0x86dd {
		return Claim{}, fmt.Errorf("vip: not an IPv6 frame: EtherType %#04x", binary.BigEndian.Uint16(frame[12:14]))
	}
	ip := frame[ethernetHeaderLen:]
	if ip[0]>>4 != 6 || ip[6] != 58 || ip[7] != naHopLimit {
		return Claim{}, errors.New("vip: not a neighbour discovery message (ICMPv6, hop limit 255)")
	}
	n := int(binary.BigEndian.Uint16(ip[4:6]))
	if n > len(ip)-ipv6Len {
		return Claim{}, errors.New("vip: neighbour discovery frame: truncated")
	}
	msg, err := ndp.ParseMessage(ip[ipv6Len : ipv6Len+n])
	if err != nil {
		return Claim{}, fmt.Errorf("vip: neighbour discovery frame: %w", err)
	}
	var addr netip.Addr
	var dir ndp.Direction
	var opts []ndp.Option
	switch m := msg.(type) {
	case *ndp.NeighborAdvertisement:
		addr, dir, opts = m.TargetAddress, ndp.Target, m.Options
	case *ndp.NeighborSolicitation:
		addr, dir, opts = netip.AddrFrom16([16]byte(ip[8:24])), ndp.Source, m.Options
	default:
		return Claim{}, errors.New("vip: neither a neighbour advertisement nor a solicitation")
	}
	if !addr.Is6() || addr.Is4In6() || addr.IsUnspecified() || addr.IsMulticast() {
		return Claim{}, fmt.Errorf("vip: neighbour discovery claims no unicast address: %v", addr)
	}
	mac := net.HardwareAddr(frame[6:12])
	for _, o := range opts {
		if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == dir && len(l.Addr) == 6 {
			mac = l.Addr
		}
	}
	return Claim{MAC: mac, Addr: addr.WithZone("")}, nil
}
