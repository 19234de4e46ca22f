package platform

import (
	"errors"
	"net"
	"net/netip"
	"runtime"

	"github.com/mdlayher/ethernet"
	"golang.org/x/net/bpf"

	"github.com/ucarp-go/ucarp/vip"
)

// ErrNotSupported is returned by New on systems without an implementation.
var ErrNotSupported = errors.New("platform: not supported on " + runtime.GOOS)

// ErrJoin wraps the failure to join the multicast group, so that the
// daemon can print ucarp's "Can't do IP_ADD_MEMBERSHIP" line.
var ErrJoin = errors.New("platform: cannot join the multicast group")

// ErrNoARP wraps the failure to open the socket for gratuitous ARP where
// the daemon can do without it (FreeBSD, whose kernel announces addresses).
var ErrNoARP = errors.New("platform: gratuitous ARP cannot be sent")

// ErrLocked means that another process holds the lock (see Lock).
var ErrLocked = errors.New("platform: locked by another process")

// ErrNoInterface wraps the failure to find the interface.
var ErrNoInterface = errors.New("platform: no such interface")

// LinkState is the state of the interface.
type LinkState struct {
	Up      bool // administratively up (IFF_UP)
	Running bool // up with a carrier (IFF_RUNNING)
	Gone    bool // the interface was removed
}

// AddrEvent is a change of one of the interface's addresses, as the
// kernel reports it: Addr is the address as it now is, or as it was when
// Deleted. Resync says instead that changes may have been missed (a lost
// subscription, a system that cannot tell which address changed): the
// whole table must be read again.
type AddrEvent struct {
	Addr    vip.Address
	Deleted bool
	Resync  bool
}

// IPOptions configures a raw IP socket.
type IPOptions struct {
	// Protocol is the IP protocol number of the packets sent and received
	// (CARP's is 112); the socket sees no other.
	Protocol uint8
	// Src is the local address and Group the multicast group joined; both
	// of one family. For IPv6 the conn reads and writes whole IPv6
	// packets as for IPv4, and sends with hop limit 255.
	Src, Group netip.Addr
	// Broadcast sends every packet to the Ethernet broadcast address (the
	// IP destination stays as written) and receives the protocol's packets
	// without joining Group.
	Broadcast bool
}

// IPConn sends and receives the packets of one IP protocol on one
// interface.
type IPConn interface {
	// ReadPacket reads the next packet of the protocol received on the
	// interface into b, IP header included and in network byte order, and
	// returns its length.
	ReadPacket(b []byte) (int, error)
	// WritePacket sends the packet pkt (IP header included). The source
	// address and IP ID in the header are kept as they are.
	WritePacket(pkt []byte) error
	Close() error
}

// Backlogger is implemented by an IPConn that can tell whether its reader
// is behind: Backlog reports whether packets wait in the socket, or the
// reader holds packets it has taken from the socket and not yet come back
// for more (a batch, or the packet it is checking). Safe to call while
// another goroutine reads.
type Backlogger interface {
	Backlog() bool
}

// Batcher is implemented by an IPConn whose WritePacket is safe for
// concurrent use and sends the packets that goroutines woken together
// write in one system call (Linux's raw IPv4 socket: sendmmsg), each
// writer still getting its own packet's error. A caller that serializes
// its writes must not hold its lock across WritePacket: a batch would
// then hold one packet.
type Batcher interface {
	// ShareBatches makes the socket's writes join those of the other
	// sockets that share w: the packets of a wake-up then go in one
	// flush, socket by socket in the order of their interfaces' indexes
	// and each socket's by their payloads' bytes (for CARP, by vhid), so
	// that the order on the wire does not change from one wake-up to the
	// next. Call it before the first write.
	ShareBatches(w *WriteBatches)
}

// Renewer is implemented by an OS whose address renewals
// (vip.Poster.PostAddress) are sent by a goroutine that gathers those of
// a wake-up (Linux: Renewals).
type Renewer interface {
	// ShareRenewals makes the renewals of the interface's addresses, and
	// of the virtual MACs made on it afterwards, go to rs's renewer, one
	// goroutine for all the handles that share it. Call it before the
	// first renewal.
	ShareRenewals(rs *Renewals)
}

// Filterer is implemented by an IPConn whose kernel can drop packets
// before they are read (Linux): SetFilter attaches prog, a classic BPF
// socket filter that sees each packet from its IP header on and returns
// 0 to drop it, in place of the one before. The kernel counts the
// packets it drops nowhere that the daemon can read.
type Filterer interface {
	SetFilter(prog []bpf.Instruction) error
}

// FrameConn sends raw Ethernet frames on one interface.
type FrameConn interface {
	WriteFrame(frame []byte) error
	Close() error
}

// FrameReader reads the raw Ethernet frames received on one interface.
type FrameReader interface {
	// ReadFrame reads the next frame into b, Ethernet header included,
	// and returns its length.
	ReadFrame(b []byte) (int, error)
	Close() error
}

// ARPListener is an OS that can read the ARP frames that its interface
// receives (broadcast, multicast, to its MAC: never those it sends): a maintenance
// handoff waits for the peer's gratuitous ARP with it. The Linux OS
// implements it; elsewhere a handoff waits for the peer's adverts only.
type ARPListener interface {
	ListenARP() (FrameReader, error)
}

// NDListener is an OS that can read the Neighbour Solicitations and
// Advertisements that its interface receives (Ethernet frames, as
// ListenARP): a MASTER sees with it another host that answers for its IPv6
// addresses. The Linux OS implements it.
type NDListener interface {
	ListenND() (FrameReader, error)
}

// MACReader is an OS that can read its interface's MAC again: it changes
// under a running daemon (`ip link set address`, a bond's
// fail_over_mac), and Interface keeps the one of the start. The Linux OS
// implements it.
type MACReader interface {
	HardwareAddr() (net.HardwareAddr, error)
}

// OS is the operating system's side of the daemon for one interface.
type OS interface {
	// Interface is the interface, with its index and MAC.
	Interface() *net.Interface
	// LinkState reads the interface's current state.
	LinkState() (LinkState, error)
	// WatchLink delivers a LinkState on every change of the interface,
	// until done is closed. It never polls.
	WatchLink(done <-chan struct{}) (<-chan LinkState, error)
	// OpenIP opens a raw IP socket for one protocol.
	OpenIP(o IPOptions) (IPConn, error)
	// OpenARP opens the socket that sends gratuitous ARP.
	OpenARP() (FrameConn, error)
	// Addresses manages the interface's addresses.
	Addresses() vip.System
	// WatchAddresses delivers every change of the interface's addresses
	// that others make (an administrator, a script, another daemon, the
	// kernel when a lifetime ends), until done is closed; nil when the
	// system cannot tell. Changes made through this OS's Addresses() are
	// not delivered where the system can tell them apart (Linux): the
	// daemon knows them already.
	WatchAddresses(done <-chan struct{}) (<-chan AddrEvent, error)
	// CheckPrivileges says which privilege is missing: raw sockets always,
	// address management when manageAddrs.
	CheckPrivileges(manageAddrs bool) error
	// Local reports whether a is configured on any interface of the host.
	Local(a netip.Addr) bool
}

// local reports whether a is configured on any interface of the host.
func local(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr() == a {
			return true
		}
	}
	return false
}

// The Ethernet header length, and the offset of the IPv4 protocol byte in
// a frame.
const (
	ethLen      = 14
	ipProtoByte = ethLen + 9
)

// etherHeader is the Ethernet header of a frame from src to dst carrying
// t, built once for all the frames that a socket sends.
func etherHeader(dst, src net.HardwareAddr, t ethernet.EtherType) []byte {
	f := ethernet.Frame{Destination: dst, Source: src, EtherType: t}
	b, _ := f.MarshalBinary() // fails only on VLAN tags, which f has none of
	return b[:ethLen]         // without the padding of the empty payload
}

// LinkLocaler is an OS that can tell the interface's IPv6 link-local
// address: the source of CARP adverts and Neighbour Advertisements over
// IPv6.
type LinkLocaler interface {
	LinkLocal() (netip.Addr, error)
}
