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
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

type freebsdOS struct {
	ifi *net.Interface
	run Runner
}

// New returns the FreeBSD implementation for the interface named ifname.
func New(ifname string) (OS, error) {
	ifi, err := interfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	return &freebsdOS{ifi: ifi, run: ExecRunner{}}, nil
}

func (f *freebsdOS) Interface() *net.Interface { return f.ifi }

func (f *freebsdOS) Local(a netip.Addr) bool { return local(a) }

func (f *freebsdOS) LinkState() (LinkState, error) {
	ifi, err := net.InterfaceByIndex(f.ifi.Index)
	if err != nil {
		return LinkState{Gone: true}, nil
	}
	return LinkState{Up: ifi.Flags&net.FlagUp != 0, Running: ifi.Flags&net.FlagRunning != 0}, nil
}

// routeSocket opens a routing socket whose reads go through the runtime's
// poller, so that closing it ends a pending read.
func routeSocket() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_ROUTE, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("platform: routing socket: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "route"), nil
}

// watch reads the routing socket until done and hands each message to fn.
func watch(done <-chan struct{}, fn func(rtMessage)) error {
	f, err := routeSocket()
	if err != nil {
		return err
	}
	go func() {
		<-done
		f.Close()
	}()
	go readRoutingSocket(done, f.Read, fn)
	return nil
}

func (f *freebsdOS) WatchLink(done <-chan struct{}) (<-chan LinkState, error) {
	out := make(chan LinkState, 16)
	err := watch(done, func(m rtMessage) {
		if m.Index != f.ifi.Index {
			return
		}
		var st LinkState
		switch {
		case m.Type == rtmIfInfo:
			st = linkStateOfFlags(m.Flags)
		case m.Type == rtmIfAnnounce && m.What == ifanDeparture:
			st = LinkState{Gone: true}
		default:
			return
		}
		select {
		case out <- st:
		case <-done:
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WatchAddresses sends a Resync on every address message of the
// interface: the routing socket's messages are not decoded into
// addresses, which are listed again instead (few groups run on FreeBSD
// today; the coalescing keeps one pending).
func (f *freebsdOS) WatchAddresses(done <-chan struct{}) (<-chan AddrEvent, error) {
	out := make(chan AddrEvent, 1)
	err := watch(done, func(m rtMessage) {
		if (m.Type == rtmNewAddr || m.Type == rtmDelAddr) && m.Index == f.ifi.Index {
			select {
			case out <- AddrEvent{Resync: true}:
			default:
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (f *freebsdOS) Addresses() vip.System {
	return ifconfigAddrs{ifname: f.ifi.Name, run: f.run, list: interfaceAddrs(f.ifi.Index)}
}

func (f *freebsdOS) CheckPrivileges(bool) error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root on FreeBSD (raw sockets, ifconfig)")
	}
	return nil
}

// OpenIP: a raw IPv4 socket, or for Broadcast bpf(4), which sends the
// broadcast frame itself and receives those of the protocol without any
// group membership.
func (f *freebsdOS) OpenIP(o IPOptions) (IPConn, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Group.Is6() {
		// Not yet run on a FreeBSD machine: only vetted (see README).
		return openIP6Conn(f.ifi, o)
	}
	if o.Broadcast {
		return openBPF(f.ifi, ipProtoFilter(o.Protocol))
	}
	ic, err := openIPConn(f.ifi, o)
	if err != nil {
		return nil, err
	}
	return &recvifConn{ipConn: ic}, nil
}

// recvifConn is the raw IP socket on FreeBSD: it receives from every
// interface and keeps what IP_RECVIF places on ours. Its Drops counts the
// rest.
type recvifConn struct {
	*ipConn
	recvifFilter
}

var _ DropCounter = (*recvifConn)(nil)

// ReadPacket implements IPConn.
func (c *recvifConn) ReadPacket(b []byte) (int, error) { return c.readPacketRaw(b, &c.recvifFilter) }

// OpenARP opens bpf(4) to send gratuitous ARP: the delayed repeat and
// the reassertion that ucarp sends. FreeBSD's kernel also sends one
// itself when an address is added. Without /dev/bpf (a jail), only the
// kernel's is sent: the error wraps ErrNoARP.
func (f *freebsdOS) OpenARP() (FrameConn, error) {
	c, err := openBPF(f.ifi, noFrames)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoARP, err)
	}
	return c, nil
}

// bindToDevice: FreeBSD has no SO_BINDTODEVICE; received packets are
// filtered by the interface that IP_RECVIF reports.
func bindToDevice(int, *net.Interface) error { return nil }

// fixHeader rewrites the header as it was on the wire: FreeBSD before 11
// handed raw sockets ip_len and ip_off in host order (x/net/ipv4 knows
// which, and h holds the true values). The checksum is recomputed only
// if something changed.
func fixHeader(b []byte, h *ipv4.Header) {
	if len(b) < ipv4.HeaderLen {
		return
	}
	var want [4]byte
	binary.BigEndian.PutUint16(want[0:2], uint16(h.TotalLen))
	binary.BigEndian.PutUint16(want[2:4], uint16(int(h.Flags)<<13|h.FragOff))
	if [2]byte(b[2:4]) == [2]byte(want[0:2]) && [2]byte(b[6:8]) == [2]byte(want[2:4]) {
		return
	}
	copy(b[2:4], want[0:2])
	copy(b[6:8], want[2:4])
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:12], headerChecksum(b[:h.Len]))
}

// interfaceAddrs lists the IPv4 addresses of ifi as the standard library
// reads them (a sysctl on the BSDs).
func interfaceAddrs(index int) func() ([]vip.Address, error) {
	return func() ([]vip.Address, error) {
		ifi, err := net.InterfaceByIndex(index)
		if err != nil {
			return nil, fmt.Errorf("platform: interface %d: %w", index, err)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("platform: addresses of %s: %w", ifi.Name, err)
		}
		var out []vip.Address
		for _, x := range addrs {
			n, ok := x.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap().WithZone("")
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				continue // the kernel's own: the daemon manages no link-local
			}
			ones, _ := n.Mask.Size()
			out = append(out, vip.Address{Prefix: netip.PrefixFrom(ip, ones)})
		}
		return out, nil
	}
}

// readPacketRaw reads with x/net/ipv4, which parses the header and the
// control message that says on which interface the packet came: FreeBSD
// has no SO_BINDTODEVICE. A packet that f does not keep, from another
// interface or from none reported, is dropped and counted.
func (ic *ipConn) readPacketRaw(b []byte, f *recvifFilter) (int, error) {
	for {
		h, p, cm, err := ic.rc.ReadFrom(b)
		if err != nil {
			// Socket errors carry an errno; x/net/ipv4's own parse errors
			// (a header it cannot slice) do not, and only lose that packet.
			var errno syscall.Errno
			if errors.Is(err, net.ErrClosed) || errors.As(err, &errno) {
				return 0, err
			}
			continue
		}
		if !f.keep(cm, ic.ifi.Index) {
			continue
		}
		n := h.Len + len(p)
		fixHeader(b[:n], h)
		return n, nil
	}
}

// Lock takes the lock called name for the life of the process: flock(2)
// on /var/run/ucarp-go.<name>.lock ("/" in name becomes "_"), which the
// kernel releases when the process exits. FreeBSD has no abstract
// sockets; a VNET jail with its own /var/run has its own locks.
func Lock(name string) (io.Closer, error) {
	path := "/var/run/ucarp-go." + strings.ReplaceAll(name, "/", "_") + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("platform: lock %s: %w", name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, name)
		}
		return nil, fmt.Errorf("platform: lock %s: %w", name, err)
	}
	return f, nil
}
