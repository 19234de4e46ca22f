//go:build linux || freebsd

package platform

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/net/ipv6"
)

// ip6Conn carries one protocol on a raw IPv6 socket bound to the
// interface. A raw IPv6 socket has no IP_HDRINCL: the kernel builds the
// header from the socket options and the ancillary data of each send, and
// hands the reader the bytes after it. So that a caller sees one IPConn
// for both families, ip6Conn turns each received packet back into a whole
// one (the 40-byte header rebuilt from its ancillary data: source,
// destination, hop limit, traffic class), and takes whole packets to send,
// of which it uses the source, destination, hop limit and traffic class.
type ip6Conn struct {
	ifi *net.Interface
	net string // "ip6:<protocol>", for errors
	c   net.PacketConn
	pc  *ipv6.PacketConn
	buf [1500]byte
	rd  ip6Reader // the reads' own state
}

// ip6HeaderLen is the length of the fixed IPv6 header.
const ip6HeaderLen = 40

// openIP6Conn opens the raw IPv6 socket for o.Protocol on ifi: multicast
// from ifi with hop limit 255 (CARP's; receivers drop any other), not
// looped back, o.Group joined (MLD), and the ancillary data that
// ReadPacket needs turned on.
func openIP6Conn(ifi *net.Interface, o IPOptions) (*ip6Conn, error) {
	if o.Broadcast {
		return nil, errors.New("platform: broadcast (--nomcast) is for IPv4 only")
	}
	network := "ip6:" + strconv.Itoa(int(o.Protocol))
	c, err := net.ListenPacket(network, "::")
	if err != nil {
		return nil, fmt.Errorf("platform: raw IPv6 socket for protocol %d: %w", o.Protocol, err)
	}
	ic := &ip6Conn{ifi: ifi, net: network, c: c, pc: ipv6.NewPacketConn(c)}
	if err := ic.setup(o); err != nil {
		c.Close()
		return nil, err
	}
	return ic, nil
}

func (ic *ip6Conn) setup(o IPOptions) error {
	sc, err := ic.c.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := sc.Control(func(fd uintptr) { serr = bindIP6(int(fd), ic.ifi) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("platform: binding the raw IPv6 socket to %s: %w", ic.ifi.Name, serr)
	}
	if err := ic.pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagSrc|ipv6.FlagDst|ipv6.FlagInterface|ipv6.FlagTrafficClass, true); err != nil {
		return fmt.Errorf("platform: receiving the hop limit of packets: %w", err)
	}
	if err := ic.pc.SetMulticastInterface(ic.ifi); err != nil {
		return fmt.Errorf("platform: multicast interface %s: %w", ic.ifi.Name, err)
	}
	if err := ic.pc.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("platform: multicast loopback: %w", err)
	}
	if err := ic.pc.SetMulticastHopLimit(255); err != nil {
		return fmt.Errorf("platform: multicast hop limit: %w", err)
	}
	if err := ic.pc.SetHopLimit(255); err != nil {
		return fmt.Errorf("platform: hop limit: %w", err)
	}
	if err := ic.pc.JoinGroup(ic.ifi, &net.IPAddr{IP: o.Group.AsSlice()}); err != nil {
		return fmt.Errorf("%w %v on %s: %w", ErrJoin, o.Group, ic.ifi.Name, err)
	}
	return nil
}

// ReadPacket implements IPConn: the packet with its IPv6 header rebuilt
// (version 6, the traffic class, flow label 0, the payload length, next
// header the protocol, the hop limit, source and destination as received).
// A packet without its hop limit or addresses, which the kernel always
// gives, or that came on another interface (FreeBSD has no
// SO_BINDTODEVICE: the interface of each packet is checked), is skipped.
func (ic *ip6Conn) ReadPacket(b []byte) (int, error) {
	for {
		n, r, err := ic.rd.read(ic)
		if err != nil {
			return 0, err
		}
		if !r.ok || r.ifindex != 0 && r.ifindex != ic.ifi.Index || n > 0xffff {
			continue
		}
		h := ip6Header(uint8(r.tclass), uint16(n), ic.proto(), uint8(r.hops), r.src, r.dst)
		return copy(b, append(h[:], ic.buf[:n]...)), nil
	}
}

// recv6 is what a read of the raw IPv6 socket gives of a packet beside
// its payload (in ip6Conn.buf): ok when the kernel gave its source and
// destination.
type recv6 struct {
	src, dst              netip.Addr
	hops, tclass, ifindex int
	ok                    bool
}

// proto is the socket's protocol, from its network name.
func (ic *ip6Conn) proto() uint8 {
	p, _ := strconv.Atoi(ic.net[len("ip6:"):])
	return uint8(p)
}

// ip6Header is a fixed IPv6 header.
func ip6Header(tc uint8, plen uint16, next, hops uint8, src, dst netip.Addr) [ip6HeaderLen]byte {
	var h [ip6HeaderLen]byte
	h[0], h[1] = 0x60|tc>>4, tc<<4
	h[4], h[5] = byte(plen>>8), byte(plen)
	h[6], h[7] = next, hops
	s, d := src.As16(), dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
	return h
}

// WritePacket implements IPConn: pkt is a whole IPv6 packet, of which the
// kernel is given the payload, with the header's source (which must be an
// address of the interface, its link-local one for CARP), destination,
// hop limit and traffic class.
func (ic *ip6Conn) WritePacket(pkt []byte) error {
	if len(pkt) < ip6HeaderLen || pkt[0]>>4 != 6 {
		return errors.New("platform: not an IPv6 packet")
	}
	src, dst := net.IP(pkt[8:24]), net.IP(pkt[24:40])
	cm := &ipv6.ControlMessage{
		TrafficClass: int(pkt[0]&0x0f)<<4 | int(pkt[1]>>4),
		HopLimit:     int(pkt[7]),
		Src:          src,
		IfIndex:      ic.ifi.Index,
	}
	to := &net.IPAddr{IP: dst}
	if zoneOnWrite && (dst.IsLinkLocalMulticast() || dst.IsLinkLocalUnicast()) {
		to.Zone = ic.ifi.Name
	}
	if _, err := ic.pc.WriteTo(pkt[ip6HeaderLen:], cm, to); err != nil {
		return err
	}
	return nil
}

// Close implements IPConn.
func (ic *ip6Conn) Close() error { return ic.c.Close() }

// LinkLocal is the first IPv6 link-local address of ifi: the source of
// CARP adverts and Neighbour Advertisements over IPv6.
func LinkLocal(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("platform: addresses of %s: %w", ifi.Name, err)
	}
	if a, ok := firstLinkLocal6(addrs); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("platform: %s has no IPv6 link-local address", ifi.Name)
}

// firstLinkLocal6 is the first IPv6 link-local address of addrs. Linux
// gives IPv4 addresses as 16-byte slices, which read as IPv4-mapped IPv6
// addresses: an IPv4 link-local one (169.254/16) would pass for IPv6.
func firstLinkLocal6(addrs []net.Addr) (netip.Addr, bool) {
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(n.IP); ok && a.Is6() && !a.Is4In6() && a.IsLinkLocalUnicast() {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}
