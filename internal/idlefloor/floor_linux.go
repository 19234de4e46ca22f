//go:build linux

package main

import (
	"flag"
	"fmt"
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
//
// The datagram is 36 bytes of IP protocol 112 to 224.0.0.18 (the size and
// destination of a CARP advert), multicast TTL 255, no loopback.
// GOMAXPROCS is 1, as the daemon sets it.
func floorMain(args []string) {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	mode := fs.String("mode", "timerfd", "sleep, timerfd[+rearm][+hop][+edge] or recv")
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
	for o := range strings.SplitSeq(opts, "+") {
		switch o {
		case "":
		case "rearm":
			rearm = true
		case "hop":
			hop = true
		case "edge":
			edge = true
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
