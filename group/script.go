package group

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// scriptJob is one run of an up or down script.
type scriptJob struct {
	path   string
	script carp.Script
	args   []string // ucarp's: interface, address as given, and xparam when given
	env    []string // CARP_* variables, added to the daemon's environment
	seq    uint64   // the loop's number of the run
}

// privateEnv are variables of the daemon's environment that scripts do
// not get: systemd's, which are meant for the daemon alone (a script that
// wrote to NOTIFY_SOCKET would speak for the daemon), and the password
// that Debian's ifupdown exports for its stanza.
var privateEnv = []string{"NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
	"WATCHDOG_PID", "WATCHDOG_USEC", "IF_UCARP_PASSWORD",
	"UCARP_GO_DAEMON_STATUS_FD"} // the last: the status descriptor of ucarp -B

// scriptEnv is the environment of a script: the daemon's, less
// privateEnv, plus the job's CARP_* variables.
func scriptEnv(environ, extra []string) []string {
	env := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(privateEnv, name) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// describe is ucarp's rendering of a run: "script iface vip[ xparam]".
func (j scriptJob) describe() string {
	return strings.Join(append([]string{j.path}, j.args...), " ")
}

// scriptResult is the end of a run.
type scriptResult struct {
	job      scriptJob
	state    *os.ProcessState // nil when the script could not be started
	err      error
	timedOut bool
	elapsed  time.Duration
}

// runner runs scripts one at a time without ever blocking its caller: the
// daemon keeps advertising, receiving and answering signals while a script
// runs. A script gets exactly ucarp's arguments, no shell and no PATH
// search, stdin from /dev/null, the daemon's stdout and stderr, and no
// other descriptor of the daemon. With a timeout, a script that overruns
// gets SIGTERM, and SIGKILL after the grace period, with all its children.
type runner struct {
	log     logger
	timeout time.Duration
	grace   time.Duration
	stdout  *os.File
	stderr  *os.File
	done    chan scriptResult
	late    chan scriptJob

	mu      sync.Mutex
	running *exec.Cmd
	timers  []*time.Timer
}

// newRunner returns a runner whose channels are made by its first start:
// a group without scripts never makes them (0.4 KiB in each group, 0.1
// MiB at 256 groups). results and overdue are nil channels until then,
// which the loop's select leaves alone.
func newRunner(log logger, timeout time.Duration) *runner {
	return &runner{log: log, timeout: timeout, grace: 5 * time.Second, stdout: os.Stdout, stderr: os.Stderr}
}

func (r *runner) results() <-chan scriptResult { return r.done }

func (r *runner) setTimeout(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timeout = d
}
func (r *runner) overdue() <-chan scriptJob { return r.late }

// busy reports whether a script is running.
func (r *runner) busy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running != nil
}

// start runs job and reports on r.done when it ends. It logs ucarp's
// "Spawning" line; a script that cannot be started is logged with ucarp's
// "Unable to exec" line and returned at once, with started false.
func (r *runner) start(job scriptJob) (res scriptResult, started bool) {
	cmd := &exec.Cmd{
		Path:   job.path,
		Args:   append([]string{job.path}, job.args...),
		Env:    scriptEnv(os.Environ(), job.env),
		Stdout: r.stdout,
		Stderr: r.stderr,
	}
	setProcessGroup(cmd)
	r.log.eventf(logfield.ScriptRun, nil, levelWarning, "Spawning [%s]", job.describe())
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		r.log.eventf(logfield.ScriptFailure, []slog.Attr{logfield.Reason("exec")}, levelError, "Unable to exec %s: %s", job.describe(), strerror(err))
		return scriptResult{job: job, err: err}, false
	}
	if r.done == nil { // the first script (start and results are the loop's)
		r.done, r.late = make(chan scriptResult, 1), make(chan scriptJob, 1)
	}
	r.mu.Lock()
	r.running = cmd
	timeout := r.timeout
	r.mu.Unlock()
	var timedOut bool
	var tmu sync.Mutex
	if timeout > 0 {
		r.timers = []*time.Timer{
			time.AfterFunc(timeout, func() {
				tmu.Lock()
				timedOut = true
				tmu.Unlock()
				r.log.Errorf("Script [%s] still running after %v: sending SIGTERM", job.describe(), timeout)
				r.signal(cmd, "TERM")
				select {
				case r.late <- job:
				default: // one job at a time: the loop has not read the last one yet
				}
			}),
			time.AfterFunc(timeout+r.grace, func() {
				r.log.Errorf("Script [%s] still running %v after SIGTERM: sending SIGKILL", job.describe(), r.grace)
				r.signal(cmd, "KILL")
			}),
		}
	}
	go func() {
		err := cmd.Wait()
		r.mu.Lock()
		for _, t := range r.timers {
			t.Stop()
		}
		r.timers = nil
		r.running = nil
		r.mu.Unlock()
		tmu.Lock()
		to := timedOut
		tmu.Unlock()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = nil // the status says it
		}
		r.done <- scriptResult{job: job, state: cmd.ProcessState, err: err, timedOut: to, elapsed: time.Since(begin)}
	}()
	return scriptResult{}, true
}

// signal sends sig to the script's process group, if it still runs.
func (r *runner) signal(cmd *exec.Cmd, sig string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running == cmd {
		killProcessGroup(cmd, sig)
	}
}

// kill stops the running script at once (a second exit signal).
func (r *runner) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running != nil {
		killProcessGroup(r.running, "KILL")
	}
}

// logResult logs how a script ended.
func (r *runner) logResult(res scriptResult) {
	d := res.job.describe()
	switch {
	case res.state == nil:
		// Already logged as "Unable to exec".
	case res.timedOut:
		r.log.eventf(logfield.ScriptFailure, []slog.Attr{logfield.Reason("timeout")}, levelError, "Script [%s] timed out after %v (%s)", d, res.elapsed.Round(time.Millisecond), exitText(res.state))
	case res.state.Success():
		r.log.eventf(logfield.ScriptExit, []slog.Attr{logfield.Reason("exit 0")}, levelInfo, "Script [%s] exited with status 0 after %v", d, res.elapsed.Round(time.Millisecond))
	default:
		r.log.eventf(logfield.ScriptFailure, []slog.Attr{logfield.Reason(exitText(res.state))}, levelWarning, "Script [%s] %s after %v", d, exitText(res.state), res.elapsed.Round(time.Millisecond))
	}
}

func exitText(ps *os.ProcessState) string {
	if sig, ok := signaled(ps); ok {
		return "killed by signal " + sig
	}
	return fmt.Sprintf("exited with status %d", ps.ExitCode())
}
