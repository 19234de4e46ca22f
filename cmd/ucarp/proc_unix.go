//go:build unix

package main

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// journalStreams reports whether stdout and stderr are connected to the
// systemd journal: systemd sets $JOURNAL_STREAM to the device and inode
// numbers ("DEV:INO") of the stream it gives a service, and a program
// that still finds them on its stdout or stderr writes to the journal
// there (systemd.exec(5)).
func journalStreams(env string, stdout, stderr *os.File) (out, err bool) {
	dev, ino, ok := strings.Cut(env, ":")
	if !ok {
		return false, false
	}
	d, err1 := strconv.ParseUint(dev, 10, 64)
	i, err2 := strconv.ParseUint(ino, 10, 64)
	if err1 != nil || err2 != nil {
		return false, false
	}
	is := func(f *os.File) bool {
		var st syscall.Stat_t
		if f == nil || syscall.Fstat(int(f.Fd()), &st) != nil {
			return false
		}
		return uint64(st.Dev) == d && uint64(st.Ino) == i
	}
	return is(stdout), is(stderr)
}

// reapOrphans makes a daemon that runs as PID 1 (a container's init) do
// init's work: the kernel hands it every orphan of its pid namespace (the
// children that scripts leave behind), and each would stay a zombie until
// it is waited for. On every SIGCHLD it waits for its zombie children,
// except the scripts, whose exit status exec.Cmd.Wait takes and the
// daemon logs: a script is a child that leads its own process group in
// the daemon's session (scripts are started so), and is left alone.
func reapOrphans(log *logger) {
	if os.Getpid() != 1 {
		return
	}
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for {
			reapZombies(log)
			<-chld
		}
	}()
}

func reapZombies(log *logger) {
	self := os.Getpid()
	sid, err := unix.Getsid(0)
	if err != nil {
		return
	}
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range dir {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold anything.
		st := string(b)
		f := strings.Fields(st[strings.LastIndexByte(st, ')')+1:])
		if len(f) < 4 || f[0] != "Z" || f[1] != strconv.Itoa(self) {
			continue
		}
		pgrp, _ := strconv.Atoi(f[2])
		session, _ := strconv.Atoi(f[3])
		if pgrp == pid && session == sid {
			continue // a script
		}
		var ws syscall.WaitStatus
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err == nil && got == pid {
			log.Debugf("Reaped orphan process %d", pid)
		}
	}
}
