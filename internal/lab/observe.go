//go:build linux

package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/carp"
)

// Pinger sends ICMP echo requests at a fixed interval from a host and
// records the replies.
type Pinger struct {
	Interval time.Duration

	c    *icmp.PacketConn
	id   int
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	sent []time.Time       // by sequence number
	got  map[int]time.Time // by sequence number, unwrapped from the 16-bit echo field
}

// Ping starts pinging target every interval from h: ICMPv6 echoes (ping
// -6) when target is IPv6, which needs EnableIPv6.
func (h *Host) Ping(target netip.Addr, interval time.Duration) (*Pinger, error) {
	var c *icmp.PacketConn
	network, laddr, proto := "ip4:icmp", h.Addr.String(), 1
	var echo, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if target.Is6() {
		network, laddr, proto = "ip6:ipv6-icmp", "::", 58
		echo, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	if err := h.Do(func() (err error) {
		c, err = icmp.ListenPacket(network, laddr)
		return err
	}); err != nil {
		return nil, fmt.Errorf("lab: ping socket in %s: %w", h.Name, err)
	}
	p := &Pinger{Interval: interval, c: c, id: (os.Getpid() ^ int(serial.Add(1))<<8) & 0xffff,
		stop: make(chan struct{}), got: map[int]time.Time{}}
	dst := &net.IPAddr{IP: target.AsSlice()}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for seq := 0; ; seq++ {
			msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: p.id, Seq: seq & 0xffff, Data: []byte("carplab")}}
			b, _ := msg.Marshal(nil)
			p.mu.Lock()
			p.sent = append(p.sent, time.Now())
			p.mu.Unlock()
			c.WriteTo(b, dst)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			now := time.Now()
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != reply {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == p.id {
				p.mu.Lock()
				seq := unwrapSeq(len(p.sent)-1, e.Seq)
				if _, dup := p.got[seq]; !dup && seq >= 0 {
					p.got[seq] = now
				}
				p.mu.Unlock()
			}
		}
	}()
	return p, nil
}

// Stop stops pinging.
func (p *Pinger) Stop() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.c.Close()
	p.wg.Wait()
}

// unwrapSeq maps the 16-bit sequence number of an echo reply to the
// latest request sent (last is its index) with those low bits; it is
// negative when no request had them.
func unwrapSeq(last, low int) int {
	return last - (last-low)&0xffff
}

// Sent counts the requests sent in [from, to).
func (p *Pinger) Sent(from, to time.Time) int {
	return p.count(from, to, func(int) bool { return true })
}

// count counts the requests sent in [from, to) for which keep is true.
func (p *Pinger) count(from, to time.Time, keep func(seq int) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for seq, at := range p.sent {
		if !at.Before(from) && at.Before(to) && keep(seq) {
			n++
		}
	}
	return n
}

// Replied reports whether any request sent after t has been answered.
func (p *Pinger) Replied(after time.Time) bool {
	_, ok := p.FirstReplyAfter(after)
	return ok
}

// FirstReplyAfter is the arrival time of the first reply to a request
// sent after t.
func (p *Pinger) FirstReplyAfter(t time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first time.Time
	for seq, at := range p.got {
		if seq < len(p.sent) && p.sent[seq].After(t) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// Lost counts the requests sent in [from, to) that got no reply.
func (p *Pinger) Lost(from, to time.Time) int {
	return p.count(from, to, func(seq int) bool { _, ok := p.got[seq]; return !ok })
}

// WhoHas sends an ARP request for ip from h and returns every distinct
// MAC that answers within wait: more than one means two hosts claim ip.
func (h *Host) WhoHas(ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error) {
	var c *packet.Conn
	var ifi *net.Interface
	if err := h.Do(func() (err error) {
		if ifi, err = net.InterfaceByName(h.IfName); err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		return err
	}); err != nil {
		return nil, fmt.Errorf("lab: ARP socket in %s: %w", h.Name, err)
	}
	defer c.Close()
	req, err := arp.NewPacket(arp.OperationRequest, h.MAC, h.Addr, net.HardwareAddr{0, 0, 0, 0, 0, 0}, ip)
	if err != nil {
		return nil, err
	}
	body, _ := req.MarshalBinary()
	f := ethernet.Frame{Destination: ethernet.Broadcast, Source: h.MAC, EtherType: ethernet.EtherTypeARP, Payload: body}
	frame, err := f.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if _, err := c.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
		return nil, err
	}
	var macs []net.HardwareAddr
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1500)
	for {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		var p arp.Packet
		if n < 14 || p.UnmarshalBinary(buf[14:n]) != nil {
			continue
		}
		if p.Operation == arp.OperationReply && p.SenderIP == ip &&
			!slices.ContainsFunc(macs, func(m net.HardwareAddr) bool { return m.String() == p.SenderHardwareAddr.String() }) {
			macs = append(macs, p.SenderHardwareAddr)
		}
	}
	return macs, nil
}

// Frame is one captured Ethernet frame.
type Frame struct {
	At   time.Time
	Data []byte
}

// IsCARP reports whether the frame is an IPv4 packet of protocol 112.
func (f Frame) IsCARP() bool {
	return len(f.Data) >= 34 && binary.BigEndian.Uint16(f.Data[12:14]) == 0x0800 && f.Data[23] == carp.IPProtocol
}

// IPv4Source is the source of an IPv4 frame (zero otherwise).
func (f Frame) IPv4Source() netip.Addr {
	if len(f.Data) < 34 || binary.BigEndian.Uint16(f.Data[12:14]) != 0x0800 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(f.Data[26:30]))
}

// Advert decodes a CARP frame.
func (f Frame) Advert() (carp.Packet, error) {
	var p carp.Packet
	if !f.IsCARP() {
		return p, errors.New("lab: not a CARP frame")
	}
	err := p.UnmarshalBinary(f.Data[14:])
	return p, err
}

// IsGARPFor reports whether the frame is a gratuitous ARP request for ip:
// sender and target both ip.
func (f Frame) IsGARPFor(ip netip.Addr) bool {
	if len(f.Data) < 42 || binary.BigEndian.Uint16(f.Data[12:14]) != 0x0806 {
		return false
	}
	var p arp.Packet
	if p.UnmarshalBinary(f.Data[14:]) != nil {
		return false
	}
	return p.Operation == arp.OperationRequest && p.SenderIP == ip && p.TargetIP == ip
}

// Source is the Ethernet source address.
func (f Frame) Source() net.HardwareAddr { return net.HardwareAddr(f.Data[6:12]) }

// Capture records the frames that cross the bridge: every broadcast and
// multicast frame (all adverts and gratuitous ARPs) and what is sent to
// the bridge itself.
type Capture struct {
	c      *packet.Conn
	mu     sync.Mutex
	frames []Frame
	done   chan struct{}
	drops  uint64
}

// Capture starts capturing on the bridge br0.
func (l *Lab) Capture() (*Capture, error) { return l.CaptureOn(0) }

// CaptureOn starts capturing on bridge br<k>, the LAN of the hosts'
// interface k (Options.Interfaces).
func (l *Lab) CaptureOn(k int) (*Capture, error) { return l.capture(k, nil) }

// CaptureIPv4From captures on br0 only the IPv4 frames whose source is
// one of the hosts' addresses, filtered in the kernel and with a large
// receive buffer: a capture that keeps up with the adverts of a pair while
// the observer floods the LAN and every core is busy. Drops reports what
// the kernel dropped all the same.
func (l *Lab) CaptureIPv4From(hosts ...*Host) (*Capture, error) {
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: uint8(len(hosts) + 1)},
		bpf.LoadAbsolute{Off: 26, Size: 4},
	}
	for i, h := range hosts {
		a := h.Addr.As4()
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: binary.BigEndian.Uint32(a[:]), SkipTrue: uint8(len(hosts) - i)})
	}
	prog = append(prog, bpf.RetConstant{Val: 0}, bpf.RetConstant{Val: 0xffff})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("lab: capture filter: %w", err)
	}
	return l.capture(0, raw)
}

// Drops is how many frames the kernel dropped for the capture so far
// (PACKET_STATISTICS; reading it resets the kernel's count).
func (c *Capture) Drops() uint64 {
	st, err := c.c.Stats()
	if err != nil {
		return 0
	}
	c.drops += uint64(st.Drops)
	return c.drops
}

func (l *Lab) capture(k int, filter []bpf.RawInstruction) (*Capture, error) {
	br := fmt.Sprintf("br%d", k)
	sw := &Host{Name: "switch", NS: l.sw, IfName: br, lab: l}
	var c *packet.Conn
	if err := sw.Do(func() error {
		ifi, err := net.InterfaceByName(br)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: filter})
		return err
	}); err != nil {
		return nil, fmt.Errorf("lab: capture socket: %w", err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("lab: capture socket: %w", err)
	}
	// The kernel stamps each frame as it reaches the socket: the
	// capture's own scheduling delays, large on a busy machine, are not
	// counted in the intervals measured from it.
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		if serr == nil && filter != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		}
	}); err != nil || serr != nil {
		c.Close()
		return nil, fmt.Errorf("lab: capture timestamps: %v %v", err, serr)
	}
	cp := &Capture{c: c, done: make(chan struct{})}
	go func() {
		defer close(cp.done)
		buf := make([]byte, 2048)
		oob := make([]byte, 128)
		for {
			var n, oobn int
			var rerr error
			err := rc.Read(func(fd uintptr) bool {
				n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
				return rerr != unix.EAGAIN
			})
			if err != nil || rerr != nil {
				return
			}
			f := Frame{At: kernelTime(oob[:oobn]), Data: slices.Clone(buf[:n])}
			cp.mu.Lock()
			cp.frames = append(cp.frames, f)
			cp.mu.Unlock()
		}
	}()
	return cp, nil
}

// kernelTime is the SCM_TIMESTAMPNS stamp in oob, or now when there is
// none.
func kernelTime(oob []byte) time.Time {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec)
		}
	}
	return time.Now()
}

// Frames returns the frames captured so far.
func (c *Capture) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames)
}

// Stop ends the capture and returns every frame.
func (c *Capture) Stop() []Frame {
	c.c.Close()
	<-c.done
	return c.Frames()
}
