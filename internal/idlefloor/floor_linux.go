//go:build linux

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Go floor: what a Go program that wakes once a second costs here,
// with nothing of a daemon in it. This binary runs it when its first
// argument is "floor" (main), before anything of the bench: the bench
// starts it in a namespace as it starts the daemons.
//
//	floor -mode MODE -src ADDR
//
// Modes:
//
//	sleep    a loop of time.Sleep (a timer of the Go runtime: its sysmon
//	         thread wakes at each deadline) that sends one datagram
//	timerfd  a periodic timerfd (1 s) that the netpoller waits for, read
//	         with a raw read (a periodic timerfd restarts only when read),
//	         and one datagram sent with a raw sendto (no entersyscall, which
//	         wakes a sleeping sysmon): sysmon sleeps, one wake-up a second
//	recv     a raw socket in the netpoller, one raw recvfrom per wake-up:
//	         the floor of a BACKUP, which only receives
//
// and, on timerfd, what ours does per wake-up beyond it, each separately:
//
//	+rearm   a one-shot timerfd set again at each expiry with a raw
//	         timerfd_settime instead of the read (ours: a MASTER's next
//	         advert deadline; the same number of system calls)
//	+hop     the expiry handed over a channel to another goroutine, which
//	         sends (ours: the timer's goroutine and the group's loop)
//	+edge    the sending socket in the netpoller too (ours: the raw socket
//	         that also receives), whose EPOLLOUT edge after each send is
//	         one more epoll_pwait
//	+renew   after each datagram, the renewal of an address's lifetime as
//	         a MASTER managing its address makes it: one RTM_NEWADDR with
//	         NLM_F_REPLACE (lifetime 3 s) of 198.51.100.200/32 on the
//	         interface of -src, sent with a blocking sendto
//	         (syscall.Syscall: entersyscall, which wakes a sleeping sysmon)
//	         and its errors read with a raw recvfrom, as platform's rtnl
//	         does; no subscription, no goroutine
//	+rawrenew the same sent with a raw sendto (sysmon sleeps; the daemon
//	         cannot do this, see docs/PERF.md): the kernel's part alone
//
// The datagram is 36 bytes of IP protocol 112 to 224.0.0.18 (the size and
// destination of a CARP advert), multicast TTL 255, no loopback.
// GOMAXPROCS is 1, as the daemon sets it.
func floorMain(args []string) {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	mode := fs.String("mode", "timerfd", "sleep, timerfd[+rearm][+hop][+edge][+renew|+rawrenew] or recv")
	srcS := fs.String("src", "", "the address of the interface to send or receive on")
	fs.Parse(args)
	src, err := netip.ParseAddr(*srcS)
	if err != nil || !src.Is4() {
		fmt.Fprintf(os.Stderr, "floor: bad -src %q\n", *srcS)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	if err := runFloor(*mode, src.As4()); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
}

var group = [4]byte{224, 0, 0, 18}

func runFloor(mode string, src [4]byte) error {
	base, opts, _ := strings.Cut(mode, "+")
	var rearm, hop, edge bool
	renew := 0 // 1: +renew, 2: +rawrenew
	for o := range strings.SplitSeq(opts, "+") {
		switch o {
		case "":
		case "rearm":
			rearm = true
		case "hop":
			hop = true
		case "edge":
			edge = true
		case "renew":
			renew = 1
		case "rawrenew":
			renew = 2
		default:
			return fmt.Errorf("unknown mode %q", mode)
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 112)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if base == "recv" {
		if err := unix.SetsockoptIPMreq(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &unix.IPMreq{Multiaddr: group, Interface: src}); err != nil {
			return fmt.Errorf("IP_ADD_MEMBERSHIP: %w", err)
		}
		return receive(fd)
	}
	if err := unix.SetsockoptInet4Addr(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, src); err != nil {
		return fmt.Errorf("IP_MULTICAST_IF: %w", err)
	}
	if err := unix.SetsockoptByte(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 255); err != nil {
		return fmt.Errorf("IP_MULTICAST_TTL: %w", err)
	}
	if err := unix.SetsockoptByte(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0); err != nil {
		return fmt.Errorf("IP_MULTICAST_LOOP: %w", err)
	}
	send := sender(fd)
	switch base {
	case "sleep":
		if opts != "" {
			return fmt.Errorf("unknown mode %q", mode)
		}
		next := time.Now()
		for {
			next = next.Add(time.Second)
			time.Sleep(time.Until(next))
			send()
		}
	case "timerfd":
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	if edge {
		// In the netpoller, as the daemon's raw socket is: its EPOLLOUT
		// edges come whether anyone waits for them or not.
		f := os.NewFile(uintptr(fd), "raw")
		defer f.Close()
		if _, err := f.SyscallConn(); err != nil {
			return err
		}
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("timerfd_create: %w", err)
	}
	tf := os.NewFile(uintptr(tfd), "timerfd") // non-blocking: in the netpoller
	rc, err := tf.SyscallConn()
	if err != nil {
		return err
	}
	its := unix.ItimerSpec{Value: unix.Timespec{Sec: 1}}
	if !rearm {
		its.Interval = unix.Timespec{Sec: 1}
	}
	set := func() {
		unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(tfd), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	}
	set()
	fire := send
	if renew != 0 {
		ren, err := renewer(src, renew == 2)
		if err != nil {
			return err
		}
		fire = func() { send(); ren() }
	}
	if hop {
		c := make(chan struct{}, 1)
		go func() {
			for range c {
				send()
			}
		}()
		fire = func() { c <- struct{}{} }
	}
	var ready bool
	var ticks [8]byte
	wait := func(uintptr) bool {
		// The first call after the wait's reset finds nothing; the
		// expiry's edge wakes the second.
		if !ready {
			ready = true
			return false
		}
		if rearm {
			return true // never read: the re-arm clears the count
		}
		// A periodic timerfd restarts only when read (timerfd_read
		// forwards its hrtimer): one raw read per wake-up.
		n, _, _ := unix.RawSyscall(unix.SYS_READ, uintptr(tfd), uintptr(unsafe.Pointer(&ticks[0])), 8)
		return n == 8
	}
	for {
		ready = false
		if err := rc.Read(wait); err != nil {
			return err
		}
		if rearm {
			set()
		}
		fire()
	}
}

// sender returns a function that sends one datagram on fd with a raw
// system call.
func sender(fd int) func() {
	var buf [36]byte
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: group}
	return func() {
		unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0,
			uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
}

// renewer returns a function that renews the lifetime of floorVIP on the
// interface that holds src, as the daemon's rtnl does: one request
// without NLM_F_ACK, then a raw non-blocking read of any error. raw sends
// with a raw system call.
func renewer(src [4]byte, raw bool) (func(), error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	index := 0
	for _, ifi := range ifs {
		as, _ := ifi.Addrs()
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && [4]byte(n.IP.To4()) == src {
				index = ifi.Index
			}
		}
	}
	if index == 0 {
		return nil, fmt.Errorf("no interface holds %v", src)
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	ne := binary.NativeEndian
	var req []byte
	req = ne.AppendUint32(req, 0)
	req = ne.AppendUint16(req, unix.RTM_NEWADDR)
	req = ne.AppendUint16(req, unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	req = ne.AppendUint32(req, 0) // seq
	req = ne.AppendUint32(req, 0)
	req = append(req, unix.AF_INET, 32, 0, 0)
	req = ne.AppendUint32(req, uint32(index))
	attr := func(typ uint16, v []byte) {
		req = ne.AppendUint16(req, uint16(4+len(v)))
		req = ne.AppendUint16(req, typ)
		req = append(req, v...)
	}
	attr(unix.IFA_LOCAL, floorVIP[:])
	attr(unix.IFA_ADDRESS, floorVIP[:])
	var ci [16]byte
	ne.PutUint32(ci[0:], 3) // preferred
	ne.PutUint32(ci[4:], 3) // valid
	attr(unix.IFA_CACHEINFO, ci[:])
	ne.PutUint32(req, uint32(len(req)))
	buf := make([]byte, 4096)
	var seq uint32
	return func() {
		seq++
		ne.PutUint32(req[8:], seq)
		p, n := uintptr(unsafe.Pointer(&req[0])), uintptr(len(req))
		if raw {
			unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), p, n, unix.MSG_DONTWAIT, 0, 0)
		} else {
			unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), p, n, unix.MSG_DONTWAIT, 0, 0)
		}
		for {
			_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_DONTWAIT, 0, 0)
			if e != 0 {
				return
			}
		}
	}, nil
}

// floorVIP is the address that +renew renews (TEST-NET-2, the lab's).
var floorVIP = [4]byte{198, 51, 100, 200}

// receive reads fd's datagrams as they come, waiting in the netpoller.
func receive(fd int) error {
	f := os.NewFile(uintptr(fd), "raw")
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var buf [2048]byte
	for {
		// One recvfrom per wake-up: each datagram's arrival is an edge
		// of its own, and they come a second apart.
		err := rc.Read(func(uintptr) bool {
			unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
			return false
		})
		if err != nil {
			return err
		}
	}
}
