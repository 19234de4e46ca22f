package health

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// icmpCheck sends one echo request to the address target and is healthy
// when the echo reply comes back before the timeout.
func icmpCheck(target string) (Check, error) {
	dst, err := netip.ParseAddr(target)
	if err != nil {
		return nil, fmt.Errorf("health: icmp target: %w", err)
	}
	id := uint16(rand.N(1 << 16))
	var seq atomic.Uint32
	return func(ctx context.Context) error {
		return ping(ctx, dst, id, uint16(seq.Add(1)))
	}, nil
}

// echoKinds are the echo request and reply types and the protocol number
// of ICMP, and of ICMPv6.
type echoKind struct {
	request, reply icmp.Type
	proto          int
}

var (
	echo4 = echoKind{ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply, 1}
	echo6 = echoKind{ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58}
)

// echo is one echo request: where it goes, what it holds, on which
// kind of socket.
type echo struct {
	dst     netip.Addr
	kind    echoKind
	id, seq uint16
	token   []byte // a random payload
	raw     bool
}

// request returns the request's bytes; the kernel sums ICMPv6.
func (e *echo) request() ([]byte, error) {
	m := icmp.Message{Type: e.kind.request, Body: &icmp.Echo{ID: int(e.id), Seq: int(e.seq), Data: e.token}}
	return m.Marshal(nil)
}

// isReply reports whether the message b from the address from answers e:
// an echo reply from e.dst with e's sequence number and payload; on a raw
// socket, which sees every echo reply of the host, also with e's
// identifier (a datagram socket's is the kernel's choice, and the kernel
// hands each such socket only its own replies).
func (e *echo) isReply(b []byte, from net.Addr) bool {
	m, err := icmp.ParseMessage(e.kind.proto, b)
	if err != nil || m.Type != e.kind.reply {
		return false
	}
	r, ok := m.Body.(*icmp.Echo)
	return ok && r.Seq == int(e.seq) && bytes.Equal(r.Data, e.token) && (!e.raw || r.ID == int(e.id)) &&
		addrOf(from) == e.dst.WithZone("")
}

// ping sends one echo request to dst and waits for its reply until ctx
// is done.
func ping(ctx context.Context, dst netip.Addr, id, seq uint16) error {
	c, raw, err := listenICMP(dst.Is4())
	if err != nil {
		return err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	e := &echo{dst: dst, kind: echo4, id: id, seq: seq, token: make([]byte, 16), raw: raw}
	if !dst.Is4() {
		e.kind = echo6
	}
	crand.Read(e.token)
	b, err := e.request()
	if err != nil {
		return err
	}
	ip := net.IP(dst.AsSlice())
	var to net.Addr = &net.UDPAddr{IP: ip, Zone: dst.Zone()}
	if raw {
		to = &net.IPAddr{IP: ip, Zone: dst.Zone()}
	}
	if _, err := c.WriteTo(b, to); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		switch {
		case err == nil:
		case errors.Is(ctx.Err(), context.Canceled):
			return ctx.Err()
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("no echo reply from %s", dst)
		default:
			return err
		}
		if e.isReply(buf[:n], from) {
			return nil
		}
	}
}

// addrOf returns the address of a socket's peer, without its zone.
func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

// listenICMP opens an ICMP socket of the family: an unprivileged datagram
// socket where the system allows it (Linux, for the groups of
// net.ipv4.ping_group_range), else a raw socket (root, or CAP_NET_RAW).
// raw says which.
func listenICMP(v4 bool) (c *icmp.PacketConn, raw bool, err error) {
	dgram, rawNet, wildcard := "udp6", "ip6:ipv6-icmp", "::"
	if v4 {
		dgram, rawNet, wildcard = "udp4", "ip4:icmp", "0.0.0.0"
	}
	c, err = icmp.ListenPacket(dgram, wildcard)
	if err == nil {
		return c, false, nil
	}
	c, rerr := icmp.ListenPacket(rawNet, wildcard)
	if rerr != nil {
		return nil, false, fmt.Errorf("no ICMP socket: %v; raw: %v", err, rerr)
	}
	return c, true, nil
}
