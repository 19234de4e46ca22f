package platformtest

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/net/bpf"

	"github.com/ucarp-go/ucarp/platform"
)

// Conn is the raw IP socket that Host.OpenIP returns.
type Conn struct {
	h      *Host
	o      platform.IPOptions
	net    string        // "ip4:<protocol>", for errors
	wakeup chan struct{} // a packet or an error came
	closed chan struct{} // closed by Close

	// Guarded by lan.mu.
	q        [][]byte
	err      error // to return once to a reader (ENETDOWN)
	isDone   bool
	drops    uint64
	filter   *bpf.VM // SetFilter's program, run as the kernel runs it
	filtered uint64  // the packets it dropped

	// vmac, for a conn of a virtual MAC (vmac.go): its packets leave
	// from that MAC, and it receives only those from it.
	vmac net.HardwareAddr
}

var (
	_ platform.IPConn   = (*Conn)(nil)
	_ platform.Filterer = (*Conn)(nil)
)

// SetFilter implements platform.Filterer: x/net/bpf's VM runs prog on
// every packet delivered to the conn, and those it drops are counted
// (Filtered) and not queued.
func (c *Conn) SetFilter(prog []bpf.Instruction) error {
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return err
	}
	c.h.lan.mu.Lock()
	defer c.h.lan.mu.Unlock()
	c.filter = vm
	return nil
}

// Filtered counts the packets the filter dropped.
func (c *Conn) Filtered() uint64 {
	c.h.lan.mu.Lock()
	defer c.h.lan.mu.Unlock()
	return c.filtered
}

// Drops counts the packets dropped because the queue was full.
func (c *Conn) Drops() uint64 {
	c.h.lan.mu.Lock()
	defer c.h.lan.mu.Unlock()
	return c.drops
}

// wake tells a reader to look again. lan.mu is held.
func (c *Conn) wake() {
	select {
	case c.wakeup <- struct{}{}:
	default:
	}
}

// ReadPacket implements platform.IPConn. It blocks until a packet comes
// or the conn is closed (net.ErrClosed).
func (c *Conn) ReadPacket(b []byte) (int, error) {
	l := c.h.lan
	for {
		l.mu.Lock()
		switch {
		case c.isDone:
			l.mu.Unlock()
			return 0, &net.OpError{Op: "read", Net: c.net, Err: net.ErrClosed}
		case c.err != nil:
			err := c.err
			c.err = nil
			l.mu.Unlock()
			return 0, &net.OpError{Op: "read", Net: c.net, Err: err}
		case len(c.q) > 0:
			p := c.q[0]
			c.q[0] = nil
			c.q = c.q[1:]
			l.mu.Unlock()
			return copy(b, p), nil
		}
		l.mu.Unlock()
		select {
		case <-c.wakeup:
		case <-c.closed:
		}
	}
}

// Close implements platform.IPConn: it unblocks the reader, and leaves
// the group.
func (c *Conn) Close() error {
	l := c.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.isDone {
		return &net.OpError{Op: "close", Net: c.net, Err: net.ErrClosed}
	}
	c.isDone = true
	c.q = nil
	close(c.closed)
	c.h.conns = slices.DeleteFunc(c.h.conns, func(x *Conn) bool { return x == c })
	return nil
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// WritePacket implements platform.IPConn: it delivers a copy of pkt, an
// IPv4 or IPv6 packet (the conn's family) with its header, to the conns of the other hosts that would
// receive it (see the package comment), and records it (LAN.Sent).
func (c *Conn) WritePacket(pkt []byte) error {
	l := c.h.lan
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.isDone {
		return &net.OpError{Op: "write", Net: c.net, Err: net.ErrClosed}
	}
	v6 := c.o.Group.Is6()
	switch {
	case v6 && (len(pkt) < 40 || pkt[0]>>4 != 6):
		return errors.New("platformtest: not an IPv6 packet")
	case !v6 && (len(pkt) < 20 || pkt[0]>>4 != 4):
		return errors.New("platformtest: not an IPv4 packet")
	}
	if err := c.h.sendErr(); err != nil {
		return &net.OpError{Op: "write", Net: c.net, Err: err}
	}
	if !c.h.state.Running {
		return nil // no carrier: the queue discards it, and says nothing
	}
	proto := pkt[9]
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	if v6 {
		// The kernel sends what the header says; the hop limit is kept.
		proto, dst = pkt[6], netip.AddrFrom16([16]byte(pkt[24:40]))
	}
	bcast := c.o.Broadcast || dst == limitedBroadcast
	src := c.h.mac
	if c.vmac != nil {
		src = c.vmac
	}
	f := Frame{Time: time.Now(), Host: c.h, Data: slices.Clone(pkt), Src: slices.Clone(src)}
	for _, r := range l.hosts {
		if r == c.h || r.island != c.h.island || !r.state.Up || !r.state.Running || r.state.Gone {
			continue
		}
		// As Linux's macvlan_handle_frame: a multicast frame from the
		// MAC of one of the receiver's macvlans goes to that macvlan
		// alone, never to the base interface.
		toVMAC := dst.IsMulticast() && r.hasVMAC(src)
		joined := dst.IsMulticast() && (r.joined(dst) || toVMAC)
		local := !dst.IsMulticast() && dst != limitedBroadcast && (r.addrs.Has(dst) || v6 && r.isLinkLocal(dst))
		if !bcast && !joined && !local { // the NIC's filter
			continue
		}
		ip := joined || local || dst == limitedBroadcast // the IP layer's
		for _, rc := range r.conns {
			if rc.o.Protocol != proto || rc.o.Group.Is6() != v6 || !(rc.o.Broadcast || ip) {
				continue
			}
			if toVMAC != (rc.vmac != nil && rc.vmac.String() == src.String()) {
				continue
			}
			if rc.filter != nil {
				if n, err := rc.filter.Run(pkt); err != nil || n == 0 {
					rc.filtered++
					r.filtered++
					continue
				}
			}
			if len(rc.q) >= l.queueLen() {
				rc.drops++
				r.drops++
				continue
			}
			rc.q = append(rc.q, slices.Clone(pkt))
			rc.wake()
			f.Delivered++
		}
	}
	l.sent = append(l.sent, f)
	return nil
}

// joined reports whether a conn of h joined the group g. lan.mu is held.
func (h *Host) joined(g netip.Addr) bool {
	return slices.ContainsFunc(h.conns, func(c *Conn) bool { return !c.o.Broadcast && c.vmac == nil && c.o.Group == g })
}

// isLinkLocal reports whether a is the host's link-local address (which
// the kernel makes, and its address table does not list): a unicast
// packet to it is the host's, as a unicast advert to a link-local peer.
func (h *Host) isLinkLocal(a netip.Addr) bool {
	ll, err := h.LinkLocal()
	return err == nil && a.WithZone("") == ll
}
