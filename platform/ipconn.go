//go:build linux || freebsd

package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/net/ipv4"

	"github.com/ucarp-go/ucarp/internal/inet"
)

// ipConn carries one protocol on a raw IPv4 socket with the header
// included: the kernel puts the NIC's own MAC in the Ethernet source, and
// hands every received packet to the reader at once. Received packets are
// kept only if they arrived on the interface.
type ipConn struct {
	ifi *net.Interface
	net string // "ip4:<protocol>", for errors
	c   net.PacketConn
	rc  *ipv4.RawConn
	sc  syscall.RawConn
}

// check says whether the options name a family that this package speaks.
func (o IPOptions) check() error {
	if !o.Group.Is4() && !o.Group.Is6() {
		return fmt.Errorf("platform: raw IP socket for group %v: not an IP address", o.Group)
	}
	return nil
}

func openIPConn(ifi *net.Interface, o IPOptions) (*ipConn, error) {
	network := "ip4:" + strconv.Itoa(int(o.Protocol))
	c, err := net.ListenPacket(network, "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("platform: raw IPv4 socket for protocol %d: %w", o.Protocol, err)
	}
	ic := &ipConn{ifi: ifi, net: network, c: c}
	if err := ic.setup(o); err != nil {
		c.Close()
		return nil, err
	}
	return ic, nil
}

func (ic *ipConn) setup(o IPOptions) error {
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
		return fmt.Errorf("platform: binding the raw socket to %s: %w", ic.ifi.Name, serr)
	}
	if ic.rc, err = ipv4.NewRawConn(ic.c); err != nil {
		return fmt.Errorf("platform: raw IPv4 socket: %w", err)
	}
	if err := ic.rc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return fmt.Errorf("platform: receiving the interface of packets: %w", err)
	}
	if err := ic.rc.SetMulticastInterface(ic.ifi); err != nil {
		return fmt.Errorf("platform: multicast interface %s: %w", ic.ifi.Name, err)
	}
	// Our own packets are not looped back: the other users of the
	// protocol on this host have no use for them.
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

// WritePacket implements IPConn. The header is rebuilt field by field so
// that x/net/ipv4 writes it in the byte order the kernel expects.
func (ic *ipConn) WritePacket(pkt []byte) error {
	if len(pkt) < ipv4.HeaderLen {
		return errors.New("platform: packet shorter than an IPv4 header")
	}
	var ok bool
	var err error
	if cerr := ic.sc.Control(func(fd uintptr) { ok, err = fastWrite(int(fd), pkt) }); cerr == nil && ok {
		if err != nil {
			return ic.writeError("sendto", pkt, err)
		}
		return nil
	}
	return ic.pollWrite(pkt)
}

// writeError is the error of a failed system call that sent pkt.
func (ic *ipConn) writeError(call string, pkt []byte, err error) error {
	return &net.OpError{Op: "write", Net: ic.net, Addr: &net.IPAddr{IP: net.IP(pkt[16:20])}, Err: os.NewSyscallError(call, err)}
}

// pollWrite sends pkt, an IPv4 packet of at least a header, through
// x/net/ipv4, which waits in the poller while the socket cannot take it.
func (ic *ipConn) pollWrite(pkt []byte) error {
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

// Close implements IPConn.
func (ic *ipConn) Close() error { return ic.c.Close() }

// headerChecksum is the IPv4 header checksum of h (RFC 1071), whose
// checksum field is zero.
func headerChecksum(h []byte) uint16 { return inet.Checksum(h) }
