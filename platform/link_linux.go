package platform

import (
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// linkBufLen is the receive buffer of a link subscription: an
// RTM_NEWLINK event is 1 to 3 KiB (the kernel puts no VF list in
// events). A larger message (a link with many alternative names) is read
// cut short (MSG_TRUNC), which loses nothing: only the ifinfomsg at its
// start is read (linkDatagram).
const linkBufLen = 16 << 10

// subscribeLinks subscribes to the kernel's link events of the interface
// index and sends its state to ch: first the state at subscription (an
// RTM_GETLINK of the index, sent once the subscription is bound, so that
// no change falls between), then the state after each change. It closes
// ch when done is closed or the subscription is lost (an overrun, an
// error answer other than ENODEV, which says the link is gone), which
// watchNetlink then renews.
//
// It replaces vishvananda/netlink's LinkSubscribe, whose reader receives
// into a 64 KiB array on its goroutine's stack: 128 KiB of stack for each
// interface for as long as the daemon runs, zeroed at every event, where
// this reader's buffer is 16 KiB of heap (docs/PERF.md, Memory: stacks).
func subscribeLinks(done <-chan struct{}, index int, ch chan LinkState) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	if err := filterLinks(fd, index); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (unix.RTNLGRP_LINK - 1)}); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("bind", err)
	}
	if err := unix.Sendto(fd, getLinkRequest(index), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("sendto", err)
	}
	f := os.NewFile(uintptr(fd), "rtnetlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return err
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-stop:
		}
		f.Close()
	}()
	go func() {
		defer close(ch)
		defer close(stop)
		buf := heapBuf(linkBufLen)
		for {
			var n int
			var from unix.Sockaddr
			var rerr error
			err := rc.Read(func(fd uintptr) bool {
				n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC|unix.MSG_DONTWAIT)
				return rerr != unix.EAGAIN
			})
			if err != nil || rerr != nil {
				return // closed, or an overrun (ENOBUFS)
			}
			if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
				continue // not the kernel's
			}
			quit := false
			err = linkDatagram(buf[:min(n, len(buf))], n > len(buf), index, func(st LinkState) bool {
				select {
				case ch <- st:
				case <-done:
					quit = true
				}
				return !quit
			})
			if quit || err != nil {
				return // done, or an answer that is no state: subscribe again
			}
		}
	}()
	return nil
}

// filterLinks makes the kernel drop, before they reach the socket fd, the
// link messages of other links (each interface of a node has its
// subscription), but not the kernel's errors: the answer to the
// subscription's RTM_GETLINK of a link that has gone (ENODEV) is one.
// Offsets: nlmsg_type is at 4 in the netlink header; ifi_index at 20,
// after the 16-byte header, a family byte, a pad byte and the 16-bit
// type. Both in host byte order, which classic BPF loads big-endian.
func filterLinks(fd, index int) error {
	var errType [2]byte
	binary.NativeEndian.PutUint16(errType[:], unix.NLMSG_ERROR)
	return attachFilter(fd, []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(binary.BigEndian.Uint16(errType[:])), SkipTrue: 2},
		bpf.LoadAbsolute{Off: unix.NLMSG_HDRLEN + 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: bpfWord(uint32(index)), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffffffff},
		bpf.RetConstant{Val: 0},
	})
}

// linkDatagram hands fn, until it returns false, each state of the link
// index that a datagram of link messages gives: b is what was read of it,
// cut says that the datagram was longer (MSG_TRUNC). A message cut short
// still gives its state, which its ifinfomsg at its start holds. The
// kernel's answer of ENODEV to an RTM_GETLINK is the link Gone; another
// error answer, or a malformed datagram, is returned.
func linkDatagram(b []byte, cut bool, index int, fn func(LinkState) bool) error {
	for len(b) >= unix.NLMSG_HDRLEN {
		h := nlHeader(b)
		l := int(h.Len)
		switch {
		case l < unix.NLMSG_HDRLEN || l > len(b) && !cut:
			return errors.New("platform: a malformed netlink message")
		case l > len(b):
			l = len(b)
		}
		data := b[unix.NLMSG_HDRLEN:l]
		st, ok := linkEvent(h.Type, data, index)
		if h.Type == unix.NLMSG_ERROR {
			if len(data) < 4 {
				return errors.New("platform: a short netlink error")
			}
			switch e := syscall.Errno(-int32(binary.NativeEndian.Uint32(data))); e {
			case 0: // an acknowledgement
			case unix.ENODEV:
				st, ok = LinkState{Gone: true}, true
			default:
				return e
			}
		}
		if ok && !fn(st) {
			return nil
		}
		b = b[min(nlAlign(l), len(b)):]
	}
	return nil
}

// getLinkRequest is an RTM_GETLINK request of the link index: a netlink
// header and an ifinfomsg.
func getLinkRequest(index int) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.RTM_GETLINK)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST)
	b[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[unix.NLMSG_HDRLEN+4:], uint32(index))
	return b
}

// linkEvent is the state that an RTM_NEWLINK or RTM_DELLINK message data
// (an ifinfomsg and its attributes) gives of the link index.
func linkEvent(typ uint16, data []byte, index int) (LinkState, bool) {
	if typ != unix.RTM_NEWLINK && typ != unix.RTM_DELLINK || len(data) < unix.SizeofIfInfomsg {
		return LinkState{}, false
	}
	if int(int32(binary.NativeEndian.Uint32(data[4:]))) != index {
		return LinkState{}, false
	}
	if data[0] != unix.AF_UNSPEC {
		// The bridge's own messages about a port (family AF_BRIDGE): an
		// RTM_DELLINK when the port leaves its bridge, which is no
		// removal of the link.
		return LinkState{}, false
	}
	st := linkStateOf(binary.NativeEndian.Uint32(data[8:]))
	st.Gone = typ == unix.RTM_DELLINK
	return st, true
}

// linkState asks the kernel for the state of the link index (Gone if
// there is none), on a socket of the calling thread's namespace, into a
// buffer on the heap. vishvananda/netlink's LinkByIndex receives into a
// 64 KiB array on the caller's stack, which grew the goroutine that
// starts the groups (the main one, which then waits for signals for as
// long as the daemon runs) to 128 KiB.
func linkState(index int) (LinkState, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return LinkState{}, os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	// The kernel answers at once; a bound on the wait all the same.
	tv := unix.NsecToTimeval(int64(5 * time.Second))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return LinkState{}, os.NewSyscallError("setsockopt SO_RCVTIMEO", err)
	}
	if err := unix.Sendto(fd, getLinkRequest(index), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return LinkState{}, os.NewSyscallError("sendto", err)
	}
	buf := heapBuf(linkBufLen)
	for {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_TRUNC)
		if err != nil {
			return LinkState{}, os.NewSyscallError("recvfrom", err)
		}
		var st LinkState
		found := false
		if err := linkDatagram(buf[:min(n, len(buf))], n > len(buf), index, func(s LinkState) bool {
			st, found = s, true
			return false
		}); err != nil {
			return LinkState{}, err
		}
		if found {
			return st, nil
		}
	}
}

// linkExists reports whether the calling thread's namespace has a link
// named name (SIOCGIFINDEX); true when it cannot tell, so that the caller
// asks in full.
func linkExists(name string) bool {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return true
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	return unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr) != unix.ENODEV
}

// heapBuf returns n bytes on the heap: a make of a constant size that
// does not escape goes on the goroutine's stack (up to 64 KiB), which
// then stays that large.
//
//go:noinline
func heapBuf(n int) []byte { return make([]byte, n) }
