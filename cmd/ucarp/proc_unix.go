//go:build unix

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
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

// setProcessGroup puts a script in its own process group, so that a
// timeout ends the script and every child it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd, sig string) {
	s := syscall.SIGTERM
	if sig == "KILL" {
		s = syscall.SIGKILL
	}
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, s)
	}
}

// signaled reports the name of the signal that ended a process.
func signaled(ps *os.ProcessState) (string, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	return signalName(ws.Signal()), true
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGQUIT:
		return "QUIT"
	}
	return s.String()
}
