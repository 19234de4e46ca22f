package platform

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls of the daemon's steady state (an advert's sendto, the
// reads of received adverts and address events, the reads of netlink
// answers to requests that are no dump) are made with RawSyscall. None
// of them blocks: the sockets are non-blocking (the poller waits for
// them), and the kernel answers a netlink request that is no dump before
// sendto returns. (A request's sendto and a dump's reads can wait for the
// kernel's rtnl lock: rtnlSendto, rtnlRecv.) Through
// syscall.Syscall, the first system call after the process was idle
// wakes the runtime's sysmon, which then polls every 20 µs for a
// millisecond, and one that lasts (in the lab a send also carries the
// peer's receive, a veth delivering in the sender's softirq) makes it
// hand the P to another thread: at 256 groups that was a third of the
// process's CPU, since each wake-up of the process started it again. A
// raw call keeps the P and leaves sysmon asleep.

// rawSendto is sendto(2) of b to sa (nil: the socket's peer) with flags,
// without the scheduler's knowledge. It must not block: pass
// MSG_DONTWAIT where the socket may be blocking.
func rawSendto(fd int, b []byte, flags int, sa unsafe.Pointer, salen uintptr) error {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)), uintptr(flags), uintptr(sa), salen)
	if e != 0 {
		return e
	}
	return nil
}

// rtnlSendto is sendto(2) of a route netlink request, with the
// scheduler's knowledge (syscall.Syscall). Unlike the other calls here it
// can block, MSG_DONTWAIT or not: the kernel handles the request in
// sendto under its rtnl lock, which another process can hold for 100-300
// ms (network namespaces made or deleted, container runtimes). A raw call
// kept the P all that time, and with GOMAXPROCS=1 (the daemon's setting)
// no other goroutine ran: every group's adverts stopped, whichever
// goroutine had made the request (issue 19). Through Syscall, sysmon
// hands the P to another thread once the call lasts. The cost, sysmon
// woken, is paid once per netlink request: a wake-up's renewals go in one
// datagram (rtnl.post).
func rtnlSendto(fd int, b []byte) error {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// rtnlRecv is recvfrom(2) into b with MSG_DONTWAIT, with the scheduler's
// knowledge, for the answers of a route netlink dump (an address
// listing): the kernel builds a dump's parts after the first inside
// recvmsg, under the dump's mutex, which before Linux 6.9 is the rtnl
// lock (Debian 12's 6.1 among them): it can wait 100-300 ms for another
// process as rtnlSendto can, and must not hold the only P meanwhile.
func rtnlRecv(fd int, b []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawRecv is recvfrom(2) into b with MSG_DONTWAIT, without the
// scheduler's knowledge: EAGAIN when nothing is there. (A raw socket's
// read(2) is recvfrom without an address.)
func rawRecv(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// fastWrite sends pkt, a whole IPv4 packet in network byte order, on the
// IP_HDRINCL socket fd to its destination address, as Linux takes it
// (it fills in the total length and checksum). ok is false when the
// socket cannot take it now (EAGAIN): the caller then goes the poller's
// way.
func fastWrite(fd int, pkt []byte) (ok bool, err error) {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET}
	copy(sa.Addr[:], pkt[16:20])
	err = rawSendto(fd, pkt, 0, unsafe.Pointer(&sa), unsafe.Sizeof(sa))
	if err == unix.EAGAIN {
		return false, nil
	}
	return true, err
}

// mmsghdr is struct mmsghdr of recvmmsg(2), which x/sys/unix does not
// define: a msghdr and the length received (the compiler pads it as C).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// rawRecvmmsg is recvmmsg(2) into msgs with MSG_DONTWAIT, without the
// scheduler's knowledge: the number of packets there were, up to
// len(msgs), or EAGAIN when there was none.
func rawRecvmmsg(fd int, msgs []mmsghdr) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawSendmmsg is sendmmsg(2) of msgs, without the scheduler's knowledge
// (see rawSendto): the number of packets sent, from the first. As the
// kernel has it, an error is returned only if the first packet failed;
// a later failure ends the call with the count of those before it.
func rawSendmmsg(fd int, msgs []mmsghdr) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
