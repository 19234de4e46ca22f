package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

type linuxOS struct {
	ifi  *net.Interface
	rtnl *rtnl // the address requests' socket
}

// New returns the Linux implementation for the interface named ifname.
func New(ifname string) (OS, error) {
	ifi, err := interfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	return &linuxOS{ifi: ifi, rtnl: newRTNL(nil)}, nil
}

var _ Renewer = (*linuxOS)(nil)

// ShareRenewals implements Renewer: the renewals of the interface's
// addresses, and of the virtual MACs made on it afterwards, go to rs's
// renewer.
func (l *linuxOS) ShareRenewals(rs *Renewals) { l.rtnl.share(rs) }

func (l *linuxOS) Interface() *net.Interface { return l.ifi }

func (l *linuxOS) Local(a netip.Addr) bool { return local(a) }

func linkStateOf(flags uint32) LinkState {
	return LinkState{Up: flags&unix.IFF_UP != 0, Running: flags&unix.IFF_RUNNING != 0}
}

func (l *linuxOS) LinkState() (LinkState, error) {
	st, err := linkState(l.ifi.Index)
	if err != nil {
		return LinkState{}, fmt.Errorf("platform: reading the state of %s: %w", l.ifi.Name, err)
	}
	return st, nil
}

// WatchLink subscribes to rtnetlink link messages. Each subscription
// starts with the current state (an RTM_GETLINK), so one renewed after a
// loss reports what changed meanwhile.
func (l *linuxOS) WatchLink(done <-chan struct{}) (<-chan LinkState, error) {
	out := make(chan LinkState, 16)
	err := watchNetlink(done, func(ch chan LinkState) error {
		return subscribeLinks(done, l.ifi.Index, ch)
	}, func(st LinkState) bool {
		select {
		case out <- st:
			return true
		case <-done:
			return false
		}
	}, nil, func() { close(out) })
	if err != nil {
		return nil, fmt.Errorf("platform: subscribing to link changes: %w", err)
	}
	return out, nil
}

// WatchAddresses subscribes to rtnetlink address messages, each decoded
// with the label, protocol and lifetime that vip.System lists; after a
// lost subscription it sends a Resync, since changes may have been missed.
func (l *linuxOS) WatchAddresses(done <-chan struct{}) (<-chan AddrEvent, error) {
	out := make(chan AddrEvent, 64)
	send := func(ev AddrEvent) bool {
		select {
		case out <- ev:
			return true
		case <-done:
			return false
		}
	}
	own := l.rtnl.portID()
	err := watchNetlink(done, func(ch chan AddrEvent) error {
		return subscribeAddrs(done, l.ifi.Index, own, ch)
	}, send, func() { send(AddrEvent{Resync: true}) }, func() { close(out) })
	if err != nil {
		return nil, fmt.Errorf("platform: subscribing to address changes: %w", err)
	}
	return out, nil
}

// watchNetlink subscribes, and hands every update to handle, until done
// is closed or handle returns false. vishvananda/netlink ends a
// subscription by closing its channel, when done is closed or on an error
// (a socket overrun); after an error it subscribes again 100 ms later,
// until that works, then calls lost: the old one may have missed changes.
// It never polls. stop runs when it returns. lost and stop may be nil.
func watchNetlink[U any](done <-chan struct{}, subscribe func(chan U) error, handle func(U) bool, lost, stop func()) error {
	sub := func() (chan U, error) {
		ch := make(chan U, 64)
		return ch, subscribe(ch)
	}
	ch, err := sub()
	if err != nil {
		return err
	}
	go func() {
		if stop != nil {
			defer stop()
		}
		for {
			for u := range ch {
				if !handle(u) {
					return
				}
			}
			for {
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
				}
				var err error
				if ch, err = sub(); err == nil {
					break
				}
			}
			if lost != nil {
				lost()
			}
		}
	}()
	return nil
}

func (l *linuxOS) Addresses() vip.System {
	return linuxAddrs{ifi: l.ifi, mark: addressMark(kernelRelease()), rtnl: l.rtnl}
}

// linuxAddrs manages addresses through rtnetlink messages of its own:
// vishvananda/netlink has no field for the address protocol (IFA_PROTO)
// that marks the daemon's copy.
type linuxAddrs struct {
	ifi  *net.Interface
	mark vip.Mark
	rtnl *rtnl
}

var _ vip.Poster = linuxAddrs{}

// ifaProto is IFA_PROTO (Linux 5.18), which x/sys/unix does not name:
// a u8 that says who added the address. Older kernels ignore it.
const ifaProto = 11

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// addressMark is MarkProto from Linux 5.18 (which keeps IFA_PROTO), else
// MarkLabel. A distribution kernel that backported IFA_PROTO to an older
// version gets MarkLabel, which is safe: the label is still set.
func addressMark(release string) vip.Mark {
	var major, minor int
	if _, err := fmt.Sscanf(release, "%d.%d", &major, &minor); err != nil {
		return vip.MarkLabel
	}
	if major > 5 || major == 5 && minor >= 18 {
		return vip.MarkProto
	}
	return vip.MarkLabel
}

func (a linuxAddrs) Mark() vip.Mark { return a.mark }

func (a linuxAddrs) Addresses() ([]vip.Address, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfAddrmsg(unix.AF_UNSPEC)) // IPv4 and IPv6
	var out []vip.Address
	err := a.rtnl.execute(req, unix.RTM_NEWADDR, func(m []byte) {
		if v, ok := parseAddr(m, a.ifi.Index); ok {
			out = append(out, v)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("platform: listing the addresses of %s: %w", a.ifi.Name, err)
	}
	return out, nil
}

// parseAddr decodes an RTM_NEWADDR message for interface index: an IPv4
// or IPv6 address, but not the kernel's own IPv6 link-local addresses,
// which the daemon never manages (and whose duplicate address detection
// would wake it for nothing).
func parseAddr(m []byte, index int) (vip.Address, bool) {
	if len(m) < unix.SizeofIfAddrmsg {
		return vip.Address{}, false
	}
	msg := nl.DeserializeIfAddrmsg(m)
	if int(msg.Index) != index || msg.Family != unix.AF_INET && msg.Family != unix.AF_INET6 {
		return vip.Address{}, false
	}
	attrs, err := nl.ParseRouteAttr(m[msg.Len():])
	if err != nil {
		return vip.Address{}, false
	}
	var v vip.Address
	var local, address netip.Addr
	for _, at := range attrs {
		switch at.Attr.Type {
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(at.Value)
		case unix.IFA_ADDRESS:
			address, _ = netip.AddrFromSlice(at.Value)
		case unix.IFA_LABEL:
			v.Label = unix.ByteSliceToString(at.Value)
		case ifaProto:
			if len(at.Value) == 1 {
				v.Proto = at.Value[0]
			}
		case unix.IFA_CACHEINFO:
			if len(at.Value) >= unix.SizeofIfaCacheinfo {
				if ci := nl.DeserializeIfaCacheInfo(at.Value); ci.Valid != forever {
					v.Lifetime = time.Duration(ci.Valid) * time.Second
				}
			}
		}
	}
	if !local.IsValid() {
		local = address // IPv6 has IFA_ADDRESS alone
	}
	if !local.IsValid() || local.Is4() != (msg.Family == unix.AF_INET) {
		return vip.Address{}, false
	}
	v.Prefix = netip.PrefixFrom(local, int(msg.Prefixlen))
	if kernelLinkLocal(v) {
		return vip.Address{}, false
	}
	return v, true
}

// forever is the lifetime of an address that never expires.
const forever = 0xffffffff

// appendAddrRequest appends to b an RTM_NEWADDR or RTM_DELADDR message
// for v, with sequence number 0, as iproute2 builds "ip addr
// add|replace|del" (and as vishvananda/netlink's request would
// serialize it: TestAddrRequestBytes). It allocates nothing once b has
// room: a MASTER's renewal builds one every advert interval, and the
// requests built field by field through the netlink package (26
// allocations, 1.2 KB each) were most of the daemon's garbage.
func (a linuxAddrs) appendAddrRequest(b []byte, typ uint16, flags int, v vip.Address) []byte {
	start := len(b)
	b = binary.NativeEndian.AppendUint32(b, 0) // the length, below
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.NLM_F_REQUEST|flags|unix.NLM_F_ACK))
	b = binary.NativeEndian.AppendUint32(b, 0) // seq: the rtnl's
	b = binary.NativeEndian.AppendUint32(b, 0) // pid
	addr := v.Prefix.Addr()
	var ifaFlags uint8
	if addr.Is6() && typ != unix.RTM_DELADDR {
		ifaFlags = unix.IFA_F_NODAD
	}
	b = append(b, uint8(familyOf(addr)), uint8(v.Prefix.Bits()), ifaFlags, 0)
	b = binary.NativeEndian.AppendUint32(b, uint32(a.ifi.Index))
	ip, n := addr.As16(), 16
	if addr.Is4() {
		a4 := addr.As4()
		n = copy(ip[:], a4[:])
	}
	b = appendAttr(b, unix.IFA_LOCAL, ip[:n])
	b = appendAttr(b, unix.IFA_ADDRESS, ip[:n])
	if addr.Is6() {
		b = appendAddr6Attrs(b, typ, v)
		binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
		return b
	}
	if v.Label != "" {
		b = appendAttrHeader(b, unix.IFA_LABEL, len(v.Label)+1)
		b = append(b, v.Label...)
		b = append(b, 0)
		b = nlPad(b)
	}
	if typ != unix.RTM_DELADDR {
		if v.Prefix.Bits() < 31 {
			brd := v.Prefix.Masked().Addr().As4()
			bits := v.Prefix.Bits()
			for i := range brd {
				if k := bits - 8*i; k < 8 {
					brd[i] |= 0xff >> max(k, 0)
				}
			}
			b = appendAttr(b, unix.IFA_BROADCAST, brd[:])
		}
		b = appendTail(b, v)
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// appendTail appends the attributes that end an addition or replace:
// the protocol and the lifetime.
func appendTail(b []byte, v vip.Address) []byte {
	if v.Proto != 0 {
		b = appendAttr(b, ifaProto, []byte{v.Proto})
	}
	if v.Lifetime > 0 {
		secs := uint32((v.Lifetime + time.Second - 1) / time.Second)
		b = appendAttrHeader(b, unix.IFA_CACHEINFO, unix.SizeofIfaCacheinfo)
		b = binary.NativeEndian.AppendUint32(b, secs) // ifa_prefered
		b = binary.NativeEndian.AppendUint32(b, secs) // ifa_valid
		b = binary.NativeEndian.AppendUint64(b, 0)    // cstamp, tstamp
	}
	return b
}

// appendAttr appends a route attribute of type typ holding data, padded.
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = appendAttrHeader(b, typ, len(data))
	return nlPad(append(b, data...))
}

func appendAttrHeader(b []byte, typ uint16, n int) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.SizeofRtAttr+n))
	return binary.NativeEndian.AppendUint16(b, typ)
}

// nlPad pads b with zeros to the netlink alignment.
func nlPad(b []byte) []byte {
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// add adds v as "ip addr add" does: EEXIST when its prefix is there.
func (a linuxAddrs) add(v vip.Address) error {
	if err := a.rtnl.executeMsg(a.appendAddrRequest(nil, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, v)); err != nil {
		return fmt.Errorf("platform: adding %s to %s: %w", v.Prefix, a.ifi.Name, err)
	}
	return nil
}

// AddAddress replaces: it adds the address, or gives the one there v's
// protocol and lifetime (the kernel keeps its label). It is made by the
// renewer, batched with the renewals of the same wake-up (rtnl.post), and
// waits for it.
func (a linuxAddrs) AddAddress(v vip.Address) error { return a.rtnl.renew(a, v) }

// PostAddress implements vip.Poster: AddAddress's request, made by the
// renewer (Renewals) with the other renewals of the same wake-up, in one
// datagram (rtnl.post); done gets the answer on the renewer's goroutine.
func (a linuxAddrs) PostAddress(v vip.Address, done func(error)) { a.rtnl.post(a, v, done) }

func (a linuxAddrs) DeleteAddress(v vip.Address) error {
	if err := a.rtnl.executeMsg(a.appendAddrRequest(nil, unix.RTM_DELADDR, 0, v)); err != nil {
		return fmt.Errorf("platform: removing %s from %s: %w", v.Prefix, a.ifi.Name, err)
	}
	return nil
}

// Capabilities, as numbered in <linux/capability.h>.
const (
	capNetAdmin = 12
	capNetRaw   = 13
)

// CheckPrivileges asks the kernel for the effective capabilities.
func (l *linuxOS) CheckPrivileges(manageAddrs bool) error {
	eff, err := effectiveCaps()
	if err != nil {
		return nil // cannot tell: let the sockets say
	}
	var missing []string
	if eff&(1<<capNetRaw) == 0 {
		missing = append(missing, "CAP_NET_RAW (to send and receive adverts and gratuitous ARP)")
	}
	if manageAddrs && eff&(1<<capNetAdmin) == 0 {
		missing = append(missing, "CAP_NET_ADMIN (to add and remove the virtual address)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing capability %s: run as root, or grant it (systemd AmbientCapabilities=, setcap)", strings.Join(missing, " and "))
	}
	return nil
}

// effectiveCaps is the calling thread's effective capability set, from
// capget(2).
func effectiveCaps() (uint64, error) {
	var data [2]unix.CapUserData
	if err := unix.Capget(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &data[0]); err != nil {
		return 0, err
	}
	return effectiveSet(data), nil
}

// effectiveSet joins the two 32-bit words of a version 3 capget(2):
// capabilities 0 to 31 in the first, 32 to 63 in the second.
func effectiveSet(data [2]unix.CapUserData) uint64 {
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective)
}

func bindToDevice(fd int, ifi *net.Interface) error {
	return unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
}

func (l *linuxOS) OpenIP(o IPOptions) (IPConn, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Group.Is6() {
		return openIP6Conn(l.ifi, o)
	}
	if o.Broadcast {
		return openPacketConn(l.ifi, o.Protocol)
	}
	ic, err := openIPConn(l.ifi, o)
	if err != nil {
		return nil, err
	}
	return newBatchConn(ic), nil
}

// packetConn carries one IPv4 protocol in Ethernet broadcasts (ucarp's
// --nomcast): it sends the frame itself, to ff:ff:ff:ff:ff:ff, with the IP
// destination as written, from the NIC's own MAC. It receives every IPv4
// frame of the protocol on the interface, without any group membership.
// buf holds the Ethernet header, built once, then the packet being sent.
type packetConn struct {
	c   *packet.Conn
	to  *packet.Addr
	buf []byte
}

func openPacketConn(ifi *net.Interface, proto uint8) (*packetConn, error) {
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_IP, nil)
	if err != nil {
		return nil, fmt.Errorf("platform: packet socket on %s: %w", ifi.Name, err)
	}
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: ipProtoByte, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(proto), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
	if err == nil {
		err = c.SetBPF(prog)
	}
	if err == nil {
		err = ignoreOutgoing(c)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("platform: packet socket on %s: %w", ifi.Name, err)
	}
	hdr := etherHeader(ethernet.Broadcast, ifi.HardwareAddr, ethernet.EtherTypeIPv4)
	return &packetConn{c: c, to: &packet.Addr{HardwareAddr: ethernet.Broadcast}, buf: append(make([]byte, 0, 1514), hdr...)}, nil
}

func ignoreOutgoing(c *packet.Conn) error {
	sc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	}); err != nil {
		return err
	}
	return serr
}

func (p *packetConn) ReadPacket(b []byte) (int, error) {
	for {
		n, _, err := p.c.ReadFrom(b)
		if err != nil {
			return 0, err
		}
		if n <= ethLen {
			continue
		}
		return copy(b, b[ethLen:n]), nil
	}
}

func (p *packetConn) WritePacket(pkt []byte) error {
	p.buf = append(p.buf[:ethLen], pkt...)
	_, err := p.c.WriteTo(p.buf, p.to)
	return err
}

func (p *packetConn) Close() error { return p.c.Close() }

// arpConn sends gratuitous ARP frames; it never reads, and a filter keeps
// the kernel from queueing received ARP on it.
type arpConn struct {
	c *packet.Conn
}

func (l *linuxOS) OpenARP() (FrameConn, error) {
	c, err := packet.Listen(l.ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return nil, fmt.Errorf("platform: ARP socket on %s: %w", l.ifi.Name, err)
	}
	prog, _ := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err := c.SetBPF(prog); err != nil {
		c.Close()
		return nil, fmt.Errorf("platform: ARP socket on %s: %w", l.ifi.Name, err)
	}
	return &arpConn{c: c}, nil
}

func (a *arpConn) WriteFrame(frame []byte) error {
	if len(frame) < ethLen {
		return errors.New("platform: frame shorter than an Ethernet header")
	}
	_, err := a.c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[:6])})
	return err
}

func (a *arpConn) Close() error { return a.c.Close() }

// arpReader reads the ARP frames of the interface (ListenARP).
type arpReader struct {
	c *packet.Conn
}

var _ ARPListener = (*linuxOS)(nil)

// ListenARP implements ARPListener with a packet socket of ARP's
// EtherType whose filter, set before it is bound, keeps only what the
// interface receives (inFilter): never the host's own frames.
func (l *linuxOS) ListenARP() (FrameReader, error) {
	prog, err := bpf.Assemble(inFilter)
	if err != nil {
		return nil, fmt.Errorf("platform: ARP listener on %s: %w", l.ifi.Name, err)
	}
	c, err := packet.Listen(l.ifi, packet.Raw, unix.ETH_P_ARP, &packet.Config{Filter: prog})
	if err != nil {
		return nil, fmt.Errorf("platform: ARP listener on %s: %w", l.ifi.Name, err)
	}
	return &arpReader{c: c}, nil
}

func (a *arpReader) ReadFrame(b []byte) (int, error) {
	n, _, err := a.c.ReadFrom(b)
	return n, err
}

func (a *arpReader) Close() error { return a.c.Close() }

var (
	_ NDListener = (*linuxOS)(nil)
	_ MACReader  = (*linuxOS)(nil)
)

// HardwareAddr implements MACReader: the interface's MAC now.
func (l *linuxOS) HardwareAddr() (net.HardwareAddr, error) {
	ifi, err := interfaceByIndex(l.ifi.Index)
	if err != nil {
		return nil, fmt.Errorf("platform: reading the MAC of %s: %w", l.ifi.Name, err)
	}
	return ifi.HardwareAddr, nil
}

// inFilter keeps the frames of a packet socket that the interface
// received for this host (PACKET_HOST, PACKET_BROADCAST and
// PACKET_MULTICAST). It drops the frames for other hosts
// (PACKET_OTHERHOST: a promiscuous interface, a veth, another VLAN's
// frames on a trunk's parent), which are no claim heard by this host, and
// the host's own (PACKET_OUTGOING). The kernel hands a packet socket
// bound to one protocol none of those today (dev_queue_xmit_nit taps
// only ETH_P_ALL's), but they must never count as another host's claim,
// whatever MAC they carry (the interface's can change under the daemon):
// the filter says so where the socket is made.
var inFilter = []bpf.Instruction{
	bpf.LoadExtension{Num: bpf.ExtType},
	bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: unix.PACKET_MULTICAST, SkipTrue: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
}

// ndFilter keeps the Neighbour Solicitations and Advertisements that the
// interface receives (inFilter's packet types) of an IPv6 packet socket
// (next header ICMPv6 right after the IPv6 header, as Neighbour
// Discovery always is), and drops every other IPv6 packet in the kernel.
var ndFilter = []bpf.Instruction{
	bpf.LoadExtension{Num: bpf.ExtType},
	bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: unix.PACKET_MULTICAST, SkipTrue: 6},
	bpf.LoadAbsolute{Off: ethLen + 6, Size: 1}, // next header
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 58, SkipTrue: 4},
	bpf.LoadAbsolute{Off: ethLen + 40, Size: 1}, // ICMPv6 type
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: 135, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 136, SkipTrue: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
}

// ListenND implements NDListener with a packet socket of IPv6's
// EtherType whose filter, set before it is bound, keeps only Neighbour
// Discovery's solicitations and advertisements.
func (l *linuxOS) ListenND() (FrameReader, error) {
	prog, err := bpf.Assemble(ndFilter)
	if err != nil {
		return nil, fmt.Errorf("platform: ND listener on %s: %w", l.ifi.Name, err)
	}
	c, err := packet.Listen(l.ifi, packet.Raw, unix.ETH_P_IPV6, &packet.Config{Filter: prog})
	if err != nil {
		return nil, fmt.Errorf("platform: ND listener on %s: %w", l.ifi.Name, err)
	}
	return &arpReader{c: c}, nil
}

// batchConn is the Linux raw IP socket: the raw socket, read a batch at a
// time with recvmmsg(2). bufs holds the packets of the last wake-up,
// msgs and iovs describe them to the kernel (built once: a read
// allocates nothing), and msgs[next:n] are still to be returned.
type batchConn struct {
	*ipConn
	bufs [batchSize][batchBuf]byte
	iovs [batchSize]unix.Iovec
	msgs [batchSize]mmsghdr
	n    int
	next int
	// busy: from just before a read takes packets from the socket until
	// the reader comes back and finds the socket empty (Backlog).
	busy atomic.Bool

	// The writes: gathered by wb (the socket's own, or the process's
	// after ShareBatches), sent by sendBatch with the arrays below,
	// filled for each batch under wmu.
	wb    atomic.Pointer[writeBatcher]
	wmu   sync.Mutex
	wmsgs [maxWriteBatch]mmsghdr
	wiovs [maxWriteBatch]unix.Iovec
	wsas  [maxWriteBatch]unix.RawSockaddrInet4
	sends int // the system calls that sent packets
	// send is the sendmmsg that sendBatch1 hands to RawConn.Control,
	// made once as recv is (a closure at each call, with the count,
	// error and index it captured, was five allocations a flush): it
	// sends wmsgs[sfrom:sto] and leaves its answer in sn and serr.
	send       func(fd uintptr)
	sfrom, sto int
	sn         int
	serr       error

	// recv is the read that ReadPacket hands to RawConn.Read, made once:
	// a closure made at each call (it captured the error) was two
	// allocations a call, four per advert a BACKUP receives. rerr is its
	// error. Both are the one reader's, as n and next are.
	recv func(fd uintptr) bool
	rerr error
}

const (
	batchSize = 16
	// batchBuf is the room for one packet, an Ethernet MTU as before.
	batchBuf = 1500
)

// rcvBuf is the raw socket's receive buffer: about 2,700 packets of a
// flood (the kernel charges each its buffer, some 768 bytes), 60 ms of
// the 43,000 a second that pass the socket filter in a flood of 100,000
// (forged digests, which only the daemon can tell), so that a reader that
// the scheduler holds back for a moment loses none of the real adverts
// queued among them. The memory is the kernel's, and only while packets
// wait. The default (rmem_default, 208 KiB here) held 6 ms of them.
const rcvBuf = 2 << 20

func newBatchConn(ic *ipConn) *batchConn {
	ic.sc.Control(func(fd uintptr) {
		// As root, beyond rmem_max; else as far as rmem_max allows.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
		}
	})
	c := &batchConn{ipConn: ic}
	c.recv = c.recvBatch
	c.send = c.sendmmsg
	for i := range c.msgs {
		c.iovs[i].Base = &c.bufs[i][0]
		c.iovs[i].SetLen(batchBuf)
		c.msgs[i].hdr.Iov = &c.iovs[i]
		c.msgs[i].hdr.SetIovlen(1)
	}
	for i := range c.wmsgs {
		c.wsas[i].Family = unix.AF_INET
		c.wmsgs[i].hdr.Name = (*byte)(unsafe.Pointer(&c.wsas[i]))
		c.wmsgs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		c.wmsgs[i].hdr.Iov = &c.wiovs[i]
		c.wmsgs[i].hdr.SetIovlen(1)
	}
	c.wb.Store(&writeBatcher{})
	return c
}

var _ Batcher = (*batchConn)(nil)

// ShareBatches implements Batcher.
func (ic *batchConn) ShareBatches(w *WriteBatches) { ic.wb.Store(&w.w) }

func (ic *batchConn) batchIndex() int { return ic.ifi.Index }

// WritePacket implements IPConn, safe for concurrent use: the packets
// that goroutines woken together write go in one sendmmsg(2) (Batcher).
func (ic *batchConn) WritePacket(pkt []byte) error {
	if len(pkt) < ipv4.HeaderLen {
		return errors.New("platform: packet shorter than an IPv4 header")
	}
	return ic.wb.Load().write(ic, pkt)
}

// sendBatch sends pkts, whole IPv4 packets in network byte order, each to
// its destination address as Linux takes them (see fastWrite), with as
// few sendmmsg(2) as the kernel allows: one, unless a packet fails. The
// kernel stops at a failed packet and reports only the count of those
// before it; the next call, from that packet on, fails with its error,
// which is that packet's, and the rest go in a call after it. When the
// socket cannot take a packet now (EAGAIN), that packet and the rest get
// errWouldBlock: their writers send them the poller's way, which waits,
// after the flush (writeBatcher.write).
func (ic *batchConn) sendBatch(pkts [][]byte, errs []error) {
	ic.wmu.Lock()
	defer ic.wmu.Unlock()
	for len(pkts) > maxWriteBatch {
		ic.sendBatch1(pkts[:maxWriteBatch], errs[:maxWriteBatch])
		pkts, errs = pkts[maxWriteBatch:], errs[maxWriteBatch:]
	}
	ic.sendBatch1(pkts, errs)
}

// sendBatch1 is sendBatch of at most maxWriteBatch packets (under wmu).
func (ic *batchConn) sendBatch1(pkts [][]byte, errs []error) {
	for i, p := range pkts {
		copy(ic.wsas[i].Addr[:], p[16:20])
		ic.wiovs[i].Base = &p[0]
		ic.wiovs[i].SetLen(len(p))
	}
	defer func() {
		for i := range pkts {
			ic.wiovs[i].Base = nil // the packets are the writers' again
		}
	}()
	for i := 0; i < len(pkts); {
		ic.sfrom, ic.sto = i, len(pkts)
		cerr := ic.sc.Control(ic.send)
		n, err := ic.sn, ic.serr
		ic.serr = nil
		if cerr != nil {
			for ; i < len(pkts); i++ { // closed: its error, without a wait under the locks
				errs[i] = &net.OpError{Op: "write", Net: ic.net, Addr: &net.IPAddr{IP: net.IP(pkts[i][16:20])}, Err: cerr}
			}
			return
		}
		ic.sends++
		switch {
		case err == unix.EAGAIN || err == nil && n <= 0:
			for ; i < len(pkts); i++ {
				errs[i] = errWouldBlock
			}
		case err != nil:
			errs[i] = ic.writeError("sendmmsg", pkts[i], err)
			i++
		default:
			i += n
		}
	}
}

// sendmmsg is send (under wmu).
func (ic *batchConn) sendmmsg(fd uintptr) {
	ic.sn, ic.serr = rawSendmmsg(int(fd), ic.wmsgs[ic.sfrom:ic.sto])
}

// ReadPacket implements IPConn. The socket is bound to the interface and
// a raw socket's read returns the packet with its header, as received: a
// plain read, with nothing to parse or allocate, is all it takes. When
// packets come faster than one at a time (a flood), one recvmmsg(2)
// reads up to a batch of them, and the next calls take them from the
// batch.
func (ic *batchConn) ReadPacket(b []byte) (int, error) {
	if ic.next < ic.n {
		i := ic.next
		ic.next++
		return copy(b, ic.bufs[i][:min(int(ic.msgs[i].len), batchBuf)]), nil
	}
	ic.n, ic.next, ic.rerr = 0, 0, nil
	err := ic.sc.Read(ic.recv)
	rerr := ic.rerr
	if err != nil || rerr != nil || ic.n == 0 {
		ic.busy.Store(false) // nothing in hand: a closed socket or a failed read must not look behind forever
	}
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, &net.OpError{Op: "read", Net: ic.net, Err: rerr}
	}
	if ic.n == 0 {
		return 0, &net.OpError{Op: "read", Net: ic.net, Err: unix.EAGAIN}
	}
	ic.next = 1
	return copy(b, ic.bufs[0][:min(int(ic.msgs[0].len), batchBuf)]), nil
}

// recvBatch is ReadPacket's read (recv): one recvmmsg(2) into the batch.
func (ic *batchConn) recvBatch(fd uintptr) bool {
	ic.busy.Store(true)                        // before the packets leave the socket: Backlog
	n, err := rawRecvmmsg(int(fd), ic.msgs[:]) // see rawSendto
	ic.rerr = nil                              // an EAGAIN before the wait is not this attempt's
	if err != nil {
		ic.busy.Store(false)
		ic.rerr = err
		return err != unix.EAGAIN
	}
	ic.n = n
	return true
}

// Backlog implements Backlogger: the socket is looked at first, then
// busy, which was set before any packet left it and is cleared only once
// the reader has come back for more and found none, so that no packet
// received before the call escapes both.
func (ic *batchConn) Backlog() bool {
	queued := false
	ic.sc.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 0)
		queued = err == nil && n > 0 && pfd[0].Revents&unix.POLLIN != 0
	})
	return queued || ic.busy.Load()
}

// SetFilter implements Filterer.
func (ic *batchConn) SetFilter(prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err == nil {
		err = ic.rc.SetBPF(raw)
	}
	if err != nil {
		return fmt.Errorf("platform: socket filter on %s: %w", ic.ifi.Name, err)
	}
	return nil
}

// Lock takes the lock called name for the life of the process, in the
// current network namespace: it binds an abstract unix socket of that
// name (abstract names belong to a network namespace, need no file, and
// the kernel frees them when the socket is closed, at the latest when the
// process exits, however it dies). The socket is close-on-exec, so that
// scripts do not inherit the lock. ErrLocked: another process holds it.
func Lock(name string) (io.Closer, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("platform: lock %s: %w", name, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "@" + name}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EADDRINUSE) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, name)
		}
		return nil, fmt.Errorf("platform: lock %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "@"+name), nil
}
