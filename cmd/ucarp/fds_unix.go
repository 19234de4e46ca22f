//go:build unix

package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// closeInheritedDescriptors marks every descriptor above stderr that this
// process inherited as close-on-exec, so that none reaches the scripts
// (ucarp leaks its sockets to them). Go opens its own descriptors so.
func closeInheritedDescriptors() {
	if f, err := os.Open("/proc/self/fd"); err == nil {
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			if fd, err := strconv.Atoi(n); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
		return
	}
	// Without /proc (FreeBSD's /dev/fd lists only 0-2 unless fdescfs is
	// mounted), walk the descriptor table; fcntl on a closed one is harmless.
	var lim syscall.Rlimit
	n := uint64(1024)
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		n = min(uint64(lim.Cur), 1<<16)
	}
	for fd := 3; fd < int(n); fd++ {
		syscall.CloseOnExec(fd)
	}
}

// reraise ends the process by sig with the kernel's default action, which
// is how ucarp ends on TERM, INT, QUIT or HUP without -z: the parent sees
// "killed by signal". signal.Reset is not enough: it hands SIGQUIT back to
// Go's own handler, which dumps goroutines and exits 2.
func reraise(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if !ok {
		os.Exit(1)
	}
	signal.Reset(s)
	setDefaultAction(s)
	syscall.Kill(os.Getpid(), s)
	time.Sleep(100 * time.Millisecond) // the signal is delivered; if it is ignored:
	os.Exit(128 + int(s))
}
