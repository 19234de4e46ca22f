//go:build unix

package health

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// inGroup starts cmd in a process group of its own, and makes the
// cancellation of its context kill the whole group.
func inGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := killGroup(cmd.Process.Pid); !errors.Is(err, syscall.ESRCH) {
			return err
		}
		return os.ErrProcessDone
	}
}

// killGroup kills the process group whose leader was pid.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
