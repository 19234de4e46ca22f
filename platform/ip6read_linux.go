package platform

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ip6Reader is the reads' state: the socket's RawConn and the
// recvmsg(2) handed to it, made once, with its answer.
type ip6Reader struct {
	rc   syscall.RawConn
	recv func(fd uintptr) bool
	oob  [128]byte
	n    int
	oobn int
	from unix.Sockaddr
	err  error
}

// read reads ic's next packet into ic.buf with one recvmsg(2), and its
// ancillary data (IPV6_PKTINFO: destination and interface; the hop
// limit; the traffic class) from the control messages. Not through
// x/net: its parse of the source address turns the zone (the interface's
// index) into a name through a list of every link, made again once a
// minute and at once when the index is not in it, which a link whose
// message exceeds a page never is (ifinfo_linux.go): each packet read on
// such a link listed every link of the host.
func (r *ip6Reader) read(ic *ip6Conn) (int, recv6, error) {
	if r.rc == nil {
		sc, err := ic.c.(syscall.Conn).SyscallConn()
		if err != nil {
			return 0, recv6{}, err
		}
		r.rc, r.recv = sc, ic.recvmsg
	}
	for {
		if err := r.rc.Read(r.recv); err != nil {
			return 0, recv6{}, &net.OpError{Op: "read", Net: ic.net, Err: err}
		}
		if r.err == unix.EINTR {
			continue
		}
		if r.err != nil {
			return 0, recv6{}, &net.OpError{Op: "read", Net: ic.net, Err: os.NewSyscallError("recvmsg", r.err)}
		}
		return r.n, parseRecv6(r.from, r.oob[:r.oobn]), nil
	}
}

// recvmsg is the reads' recvmsg(2), on the reader's goroutine.
func (ic *ip6Conn) recvmsg(fd uintptr) bool {
	r := &ic.rd
	r.n, r.oobn, _, r.from, r.err = unix.Recvmsg(int(fd), ic.buf[:], r.oob[:], 0)
	return r.err != unix.EAGAIN
}

// parseRecv6 is the source from and the ancillary data of a packet's
// control messages oob.
func parseRecv6(from unix.Sockaddr, oob []byte) recv6 {
	var r recv6
	sa, ok := from.(*unix.SockaddrInet6)
	if !ok {
		return r
	}
	r.src = netip.AddrFrom16(sa.Addr)
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return r
	}
	for _, cm := range cms {
		if cm.Header.Level != unix.SOL_IPV6 {
			continue
		}
		switch {
		case cm.Header.Type == unix.IPV6_PKTINFO && len(cm.Data) >= unix.SizeofInet6Pktinfo:
			r.dst = netip.AddrFrom16([16]byte(cm.Data[:16]))
			r.ifindex = int(binary.NativeEndian.Uint32(cm.Data[16:20]))
			r.ok = true
		case cm.Header.Type == unix.IPV6_HOPLIMIT && len(cm.Data) >= 4:
			r.hops = int(int32(binary.NativeEndian.Uint32(cm.Data)))
		case cm.Header.Type == unix.IPV6_TCLASS && len(cm.Data) >= 4:
			r.tclass = int(int32(binary.NativeEndian.Uint32(cm.Data)))
		}
	}
	return r
}
