package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The interfaces that the daemon uses, looked up one at a time: an
// RTM_GETLINK of the one link, by name or index, whose answer is read
// whole whatever its size.
//
// Why not net.InterfaceByName, net.InterfaceByIndex or net.Interfaces:
// on Linux each of them reads a dump of every link of the host a page
// at a time (syscall.NetlinkRIB), and the kernel leaves out of a dump a
// link whose message does not fit the datagram: a link whose message is
// larger than a page (many alternative names, many VFs, ...) is not
// there. The daemon would not start on it (ENODEV), and one started
// before the link grew would no longer read its MAC.

// getLinkTimeout bounds the wait for the kernel's answer, which comes
// at once.
const getLinkTimeout = 5 * time.Second

// errMalformed is a netlink message that runs past its datagram.
var errMalformed = errors.New("platform: a malformed netlink message")

// errNoLink is the kernel's answer to an RTM_GETLINK of a link that is
// not there.
var errNoLink = errors.New("platform: no such link")

// interfaceByName finds the interface called name. An interface that
// does not exist is ErrNoInterface with ENODEV, the errno that ucarp's
// SIOCGIFHWADDR reports; a failure to ask wraps its own cause. The name
// is the link's name, as net.InterfaceByName has it: one of its
// alternative names (which the kernel would take) is none.
func interfaceByName(name string) (*net.Interface, error) {
	ifi, err := getLink(0, name)
	if errors.Is(err, errNoLink) || err == nil && ifi.Name != name {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoInterface, name, unix.ENODEV)
	}
	if err != nil {
		return nil, fmt.Errorf("platform: looking up the interface %s: %w", name, err)
	}
	return ifi, nil
}

// interfaceByIndex finds the interface of index, as interfaceByName.
func interfaceByIndex(index int) (*net.Interface, error) {
	ifi, err := getLink(index, "")
	if errors.Is(err, errNoLink) {
		return nil, fmt.Errorf("%w: index %d: %w", ErrNoInterface, index, unix.ENODEV)
	}
	if err != nil {
		return nil, fmt.Errorf("platform: looking up the interface of index %d: %w", index, err)
	}
	return ifi, nil
}

// getLink asks the kernel for the link of index, or (index 0) of name,
// on a socket of the calling thread's namespace; errNoLink when there is
// none.
func getLink(index int, name string) (*net.Interface, error) {
	if index == 0 && (name == "" || len(name) >= unix.IFNAMSIZ || strings.IndexByte(name, 0) >= 0) {
		return nil, errNoLink // no link has such a name
	}
	fd, err := routeRequest(getLinkByRequest(index, name))
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var buf []byte
	for {
		b, err := recvDatagram(fd, &buf)
		if err != nil {
			return nil, err
		}
		ifi, done, err := linkAnswer(b, index, name)
		if done {
			return ifi, err
		}
	}
}

// Interfaces lists the host's interfaces in the order of their indexes,
// as net.Interfaces does, from a dump of the links whose every datagram
// is read whole. The first read's buffer of 32 KiB makes the kernel's
// next datagrams of the dump that large (max_recvmsg_len, at most that):
// a link whose message is larger than a page is in them. (The kernel
// leaves out of a dump a link whose message does not fit its datagram:
// net.Interfaces, which reads a page at a time, never lists such a link.)
func Interfaces() ([]net.Interface, error) {
	req := getLinkRequest(0)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	fd, err := routeRequest(req)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var ifs []net.Interface
	buf := make([]byte, 32<<10)
	for {
		b, err := recvDatagram(fd, &buf)
		if err != nil {
			return nil, err
		}
		for len(b) >= unix.NLMSG_HDRLEN {
			h := nlHeader(b)
			l := int(h.Len)
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return nil, errMalformed
			}
			data := b[unix.NLMSG_HDRLEN:l]
			switch h.Type {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				if len(data) >= 4 {
					if e := syscall.Errno(-int32(binary.NativeEndian.Uint32(data))); e != 0 {
						return nil, os.NewSyscallError("RTM_GETLINK", e)
					}
				}
				if h.Type == unix.NLMSG_DONE {
					return ifs, nil
				}
			case unix.RTM_NEWLINK:
				ifi, ok := decodeLink(data)
				if !ok {
					return nil, errMalformed // as net's dump fails on it
				}
				ifs = append(ifs, *ifi)
			}
			b = b[min(nlAlign(l), len(b)):]
		}
	}
}

// routeRequest sends req on a new route netlink socket of the calling
// thread's namespace, whose reads wait getLinkTimeout at the most, and
// returns the socket, which the caller closes.
func routeRequest(req []byte) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	tv := unix.NsecToTimeval(int64(getLinkTimeout))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setsockopt SO_RCVTIMEO", err)
	}
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("sendto", err)
	}
	return fd, nil
}

// recvDatagram reads the next datagram of the netlink socket fd whole,
// into *buf grown to its size: a peek with MSG_TRUNC says the datagram's
// length without taking it.
func recvDatagram(fd int, buf *[]byte) ([]byte, error) {
	for {
		n, _, err := unix.Recvfrom(fd, *buf, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("recvfrom", err)
		}
		if n > len(*buf) {
			*buf = make([]byte, max(n, 4096))
		}
		n, _, err = unix.Recvfrom(fd, *buf, unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("recvfrom", err)
		}
		if n > len(*buf) {
			continue // cannot be: the datagram peeked at is the one read
		}
		return (*buf)[:n], nil
	}
}

// getLinkByRequest is an RTM_GETLINK request of the link index or, with
// index 0, of the link called name (IFLA_IFNAME): a netlink header, an
// ifinfomsg and the name's attribute.
func getLinkByRequest(index int, name string) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg, 64)
	b[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[unix.NLMSG_HDRLEN+4:], uint32(index))
	if index == 0 {
		l := unix.SizeofRtAttr + len(name) + 1 // NUL-terminated
		a := make([]byte, nlAlign(l))
		binary.NativeEndian.PutUint16(a[0:], uint16(l))
		binary.NativeEndian.PutUint16(a[2:], unix.IFLA_IFNAME)
		copy(a[unix.SizeofRtAttr:], name)
		b = append(b, a...)
	}
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.RTM_GETLINK)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST)
	return b
}

// linkAnswer reads a datagram that answers an RTM_GETLINK of the link
// index or name: done with the link, with errNoLink (ENODEV), or with
// another error answer or a malformed datagram or link message; not done
// when the datagram holds no answer.
func linkAnswer(b []byte, index int, name string) (ifi *net.Interface, done bool, err error) {
	for len(b) >= unix.NLMSG_HDRLEN {
		h := nlHeader(b)
		l := int(h.Len)
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return nil, true, errMalformed
		}
		data := b[unix.NLMSG_HDRLEN:l]
		switch h.Type {
		case unix.NLMSG_ERROR:
			if len(data) < 4 {
				return nil, true, errors.New("platform: a short netlink error")
			}
			switch e := syscall.Errno(-int32(binary.NativeEndian.Uint32(data))); e {
			case 0: // an acknowledgement
			case unix.ENODEV:
				return nil, true, errNoLink
			default:
				return nil, true, e
			}
		case unix.RTM_NEWLINK:
			ifi, ok := decodeLink(data)
			if !ok {
				return nil, true, errMalformed // not a wait for an answer that will not come
			}
			if index != 0 && ifi.Index == index || index == 0 && name != "" {
				return ifi, true, nil
			}
		}
		b = b[min(nlAlign(l), len(b)):]
	}
	return nil, false, nil
}

// decodeLink is the interface that an RTM_NEWLINK message's data (an
// ifinfomsg and its attributes) describes, as net.Interface has it: the
// same flags, and the hardware address unless it is all zeros or the
// address of an IP tunnel (net's newLink).
func decodeLink(data []byte) (*net.Interface, bool) {
	if len(data) < unix.SizeofIfInfomsg {
		return nil, false
	}
	typ := binary.NativeEndian.Uint16(data[2:])
	ifi := &net.Interface{
		Index: int(int32(binary.NativeEndian.Uint32(data[4:]))),
		Flags: netFlags(binary.NativeEndian.Uint32(data[8:])),
	}
	for a := data[unix.SizeofIfInfomsg:]; len(a) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		if l < unix.SizeofRtAttr || l > len(a) {
			return nil, false
		}
		v := a[unix.SizeofRtAttr:l]
		switch binary.NativeEndian.Uint16(a[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER) {
		case unix.IFLA_IFNAME:
			if i := strings.IndexByte(string(v), 0); i >= 0 {
				v = v[:i]
			}
			ifi.Name = string(v)
		case unix.IFLA_MTU:
			if len(v) >= 4 {
				ifi.MTU = int(binary.NativeEndian.Uint32(v))
			}
		case unix.IFLA_ADDRESS:
			if hardwareAddr(typ, v) {
				ifi.HardwareAddr = net.HardwareAddr(append([]byte(nil), v...))
			}
		}
		a = a[min(nlAlign(l), len(a)):]
	}
	return ifi, true
}

// hardwareAddr reports whether v, the IFLA_ADDRESS of a link of type
// typ (ARPHRD_*), is a hardware address for net.Interface: not all
// zeros (a loopback's), not an IPv4 or IPv6 tunnel's endpoint.
func hardwareAddr(typ uint16, v []byte) bool {
	switch {
	case len(v) == 4 && (typ == unix.ARPHRD_TUNNEL || typ == unix.ARPHRD_IPGRE || typ == unix.ARPHRD_SIT),
		len(v) == 16 && (typ == unix.ARPHRD_TUNNEL6 || typ == unix.ARPHRD_IP6GRE):
		return false
	}
	for _, c := range v {
		if c != 0 {
			return true
		}
	}
	return false
}

// netFlags are the net.Flags of a link's IFF_* flags.
func netFlags(raw uint32) net.Flags {
	var f net.Flags
	for _, x := range []struct {
		iff  uint32
		flag net.Flags
	}{
		{unix.IFF_UP, net.FlagUp}, {unix.IFF_RUNNING, net.FlagRunning}, {unix.IFF_BROADCAST, net.FlagBroadcast},
		{unix.IFF_LOOPBACK, net.FlagLoopback}, {unix.IFF_POINTOPOINT, net.FlagPointToPoint}, {unix.IFF_MULTICAST, net.FlagMulticast},
	} {
		if raw&x.iff != 0 {
			f |= x.flag
		}
	}
	return f
}
