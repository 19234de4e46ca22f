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
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			if fd, err := strconv.Atoi(n); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
		return
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
