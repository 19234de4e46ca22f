//go:build linux || freebsd

package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
)

// ipConn carries adverts on a raw IPv4 socket of protocol 112 with the
// header included: the kernel puts the NIC's own MAC in the Ethernet
// source (not ucarp's 00:00:5e:00:00:<vhid>, which anti-spoofing switches
// drop), and hands every received advert to the reader at once. Received
// packets are kept only if they arrived on the interface.
type ipConn struct {
	ifi *net.Interface
	c   net.PacketConn
	rc  *ipv4.RawConn
	sc  syscall.RawConn
}

func openIPConn(ifi *net.Interface, o CARPOptions) (*ipConn, error) {
	c, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("platform: raw IPv4 socket for protocol 112: %w", err)
	}
	ic := &ipConn{ifi: ifi, c: c}
	if err := ic.setup(o); err != nil {
		c.Close()
		return nil, err
	}
	return ic, nil
}

func (ic *ipConn) setup(o CARPOptions) error {
	sc, err := ic.c.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	ic.sc = sc
	var serr error
	if err := sc.Control(func(fd uintptr) { serr = bindToDevice(int(fd), ic.ifi) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("platform: binding the advert socket to %s: %w", ic.ifi.Name, serr)
	}
	if ic.rc, err = ipv4.NewRawConn(ic.c); err != nil {
		return fmt.Errorf("platform: raw IPv4 socket: %w", err)
	}
	if err := ic.rc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return fmt.Errorf("platform: receiving the interface of adverts: %w", err)
	}
	if err := ic.rc.SetMulticastInterface(ic.ifi); err != nil {
		return fmt.Errorf("platform: multicast interface %s: %w", ic.ifi.Name, err)
	}
	// Our own adverts are not looped back: other daemons on this host
	// would only count them as another vhid.
	if err := ic.rc.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("platform: multicast loopback: %w", err)
	}
	if o.Broadcast {
		return nil
	}
	if err := ic.rc.JoinGroup(ic.ifi, &net.IPAddr{IP: o.Group.AsSlice()}); err != nil {
		return fmt.Errorf("%w %v on %s: %w", ErrJoin, o.Group, ic.ifi.Name, err)
	}
	return nil
}

// WritePacket implements CARPConn. The header is rebuilt field by field so
// that x/net/ipv4 writes it in the byte order the kernel expects.
func (ic *ipConn) WritePacket(pkt []byte) error {
	if len(pkt) < ipv4.HeaderLen {
		return errors.New("platform: packet shorter than an IPv4 header")
	}
	hl := int(pkt[0]&0x0f) * 4
	flags := binary.BigEndian.Uint16(pkt[6:8])
	h := &ipv4.Header{
		Version:  4,
		Len:      hl,
		TOS:      int(pkt[1]),
		TotalLen: len(pkt),
		ID:       int(binary.BigEndian.Uint16(pkt[4:6])),
		Flags:    ipv4.HeaderFlags(flags >> 13),
		FragOff:  int(flags & 0x1fff),
		TTL:      int(pkt[8]),
		Protocol: int(pkt[9]),
		Src:      net.IP(pkt[12:16]),
		Dst:      net.IP(pkt[16:20]),
	}
	if hl > ipv4.HeaderLen {
		h.Options = pkt[ipv4.HeaderLen:hl]
	}
	return ic.rc.WriteTo(h, pkt[hl:], nil)
}

// Close implements CARPConn.
func (ic *ipConn) Close() error { return ic.c.Close() }
