//go:build linux

package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is a process the lab started in a host.
type Proc struct {
	Host    *Host
	Name    string
	Argv    []string
	LogPath string
	Started time.Time

	cmd   *exec.Cmd
	done  chan struct{}
	state *os.ProcessState
}

// Start runs argv in the host's namespace, its output in a log file. The
// process is the command itself (ip netns exec execs it), in its own
// process group.
func (h *Host) Start(name string, argv ...string) (*Proc, error) {
	return h.StartEnv(name, nil, argv...)
}

// StartEnv is Start with extra environment variables.
func (h *Host) StartEnv(name string, env []string, argv ...string) (*Proc, error) {
	l := h.lab
	logPath := filepath.Join(l.Dir, fmt.Sprintf("%s-%s.log", h.Name, name))
	for i := 2; fileExists(logPath); i++ {
		logPath = filepath.Join(l.Dir, fmt.Sprintf("%s-%s-%d.log", h.Name, name, i))
	}
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{Host: h, Name: name, Argv: argv, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lab: starting %v in %s: %w", argv, h.Name, err)
	}
	p.Started = time.Now()
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	l.log("%s: started %s (pid %d): %s", h.Name, name, p.Pid(), strings.Join(argv, " "))
	return p, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return syscall.Kill(p.Pid(), sig) }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits at most timeout for the process to end and returns its state.
func (p *Proc) Wait(timeout time.Duration) (*os.ProcessState, bool) {
	select {
	case <-p.done:
		return p.state, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Kill ends the process and its group with SIGKILL and waits for it.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	syscall.Kill(-p.Pid(), syscall.SIGKILL)
	syscall.Kill(p.Pid(), syscall.SIGKILL)
	p.Wait(5 * time.Second)
}

// Log is the process's output so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Count is the number of output lines that contain s.
func (p *Proc) Count(s string) int {
	n := 0
	for _, l := range strings.Split(p.Log(), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// WaitLog waits until the output holds n lines that contain s.
func (p *Proc) WaitLog(s string, n int, timeout time.Duration) bool {
	return Eventually(timeout, func() bool { return p.Count(s) >= n })
}

// consoleTime is the timestamp format of ucarp's console lines.
const consoleTime = "2006-01-02T15:04:05.000000"

// LogTimes returns the console timestamps of the lines that contain s.
func (p *Proc) LogTimes(s string) []time.Time {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ts []time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, s) || len(line) < len(consoleTime) {
			continue
		}
		if t, err := time.ParseInLocation(consoleTime, line[:len(consoleTime)], time.Local); err == nil {
			ts = append(ts, t)
		}
	}
	return ts
}

// LastLogTime is the timestamp of the last line that contains s, and
// false when there is none. A test must not discard that false: the zero
// time it comes with makes every "took < bound" comparison pass. Tests
// call MustLastLogTime; this form is kept for the callers that have not
// moved yet, and should become unexported once they have.
func (p *Proc) LastLogTime(s string) (time.Time, bool) {
	ts := p.LogTimes(s)
	if len(ts) == 0 {
		return time.Time{}, false
	}
	return ts[len(ts)-1], true
}

// Fataler is the part of testing.TB that MustLastLogTime needs; a
// *testing.T is one.
type Fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// logLag bounds how long a line the daemon has logged may take to reach
// its output: its console is written by a goroutine of its own, so that
// a slow reader never holds up the daemon, and a line can trail the
// event it reports (an address added) by a few milliseconds, or more
// under a flood of log lines.
const logLag = 3 * time.Second

// MustLastLogTime is the timestamp of the last line that contains s,
// waiting up to logLag for one to appear. When none does, it ends the
// test with the process's output: a missing line can never pass a timing
// bound. The timestamp is the daemon's own, taken at the event.
func (p *Proc) MustLastLogTime(t Fataler, s string) time.Time {
	t.Helper()
	var at time.Time
	var ok bool
	Eventually(logLag, func() bool {
		at, ok = p.LastLogTime(s)
		return ok
	})
	if !ok {
		t.Fatalf("%s/%s: no line with %q in its output:\n%s", p.Host.Name, p.Name, s, p.Log())
	}
	return at
}
