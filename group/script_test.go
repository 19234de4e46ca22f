package group

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeScript writes an executable shell script.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitResult waits for the end of a run, at most d.
func waitResult(t *testing.T, r *runner, d time.Duration) scriptResult {
	t.Helper()
	select {
	case res := <-r.done:
		return res
	case <-time.After(d):
		t.Fatalf("no script result within %v", d)
	}
	return scriptResult{}
}

func testRunner(t *testing.T, timeout time.Duration) (*runner, *syncBuffer) {
	var logs syncBuffer
	r := newRunner(testLog(&logs, true), timeout)
	r.stdout, r.stderr = os.Stderr, os.Stderr
	return r, &logs
}

func TestScriptArgumentsEnvironmentAndDescriptors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// The daemon's descriptors are close-on-exec: Go opens its own so, and
	// cmd/ucarp marks those it inherited at start, as this test does with
	// the test binary's.
	if names, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, n := range names {
			if fd, err := strconv.Atoi(n.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
	}
	script := writeScript(t, dir, "up.sh", `
{
  echo "argc=$#"
  for a in "$@"; do echo "arg=[$a]"; done
  env | grep '^CARP_' | sort
  echo "stdin=[$(cat)]"
  ls /proc/self/fd | tr '\n' ' '; echo
} > `+out+`
`)
	r, logs := testRunner(t, 0)
	job := scriptJob{path: script, args: []string{"eth0", "198.51.100.100", ""},
		env: []string{"CARP_STATE=MASTER", "CARP_PREVIOUS_STATE=BACKUP", "CARP_VHID=7", "CARP_INTERFACE=eth0",
			"CARP_VIP=198.51.100.100", "CARP_REASON=master-down"}}
	if _, started := r.start(job); !started {
		t.Fatal("not started")
	}
	res := waitResult(t, r, 10*time.Second)
	r.logResult(res)
	b, _ := os.ReadFile(out)
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		"argc=3", "arg=[eth0]", "arg=[198.51.100.100]", "arg=[]", // -x "" gives an empty third argument, as ucarp
		"CARP_INTERFACE=eth0", "CARP_PREVIOUS_STATE=BACKUP", "CARP_REASON=master-down", "CARP_STATE=MASTER",
		"CARP_VHID=7", "CARP_VIP=198.51.100.100",
		"stdin=[]",
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Fatalf("script saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// ls holds 0, 1, 2 and the directory it reads: nothing of ours.
	if fds := strings.Fields(got[len(want)]); !slices.Equal(fds, []string{"0", "1", "2", "3"}) {
		t.Fatalf("descriptors in the script: %v", fds)
	}
	if !strings.Contains(logs.String(), "[WARNING] Spawning ["+script+" eth0 198.51.100.100 ]") ||
		!strings.Contains(logs.String(), "exited with status 0") {
		t.Fatalf("logs:\n%s", logs)
	}
}

// scrubbedFromScripts are variables of the daemon's environment that must
// not reach a script: systemd's notification socket (a script could report
// for the daemon), socket activation (descriptors the script does not
// have) and watchdog, the password that Debian's ifupdown exports from the
// ucarp-password stanza, and the status descriptor of a -B start.
var scrubbedFromScripts = []string{"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
	"WATCHDOG_PID", "WATCHDOG_USEC", "IF_UCARP_PASSWORD", "UCARP_GO_DAEMON_STATUS_FD"}

// TestScriptEnvironmentIsScrubbed checks the whole environment a script
// receives, as its kernel saw it at exec (/proc/PID/environ, before the
// shell adds anything): the daemon's own, without scrubbedFromScripts, with
// the CARP_* variables of the run replacing any the daemon inherited.
// Before issue 12, scripts got append(os.Environ(), job.env...), and every
// one of these leaked.
func TestScriptEnvironmentIsScrubbed(t *testing.T) {
	for _, k := range scrubbedFromScripts {
		t.Setenv(k, "from-the-daemon-"+k)
	}
	t.Setenv("UCARP_TEST_ORDINARY", "an ordinary variable, passed on") // what is not scrubbed stays
	t.Setenv("CARP_STATE", "stale")                                    // replaced by the run's, not duplicated
	carp := []string{"CARP_STATE=MASTER", "CARP_PREVIOUS_STATE=BACKUP", "CARP_VHID=7", "CARP_INTERFACE=eth0",
		"CARP_VIP=198.51.100.100", "CARP_REASON=master-down"}
	var want []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(scrubbedFromScripts, k) && !strings.HasPrefix(k, "CARP_") {
			want = append(want, kv)
		}
	}
	want = append(want, carp...)
	slices.Sort(want)

	dir := t.TempDir()
	out := filepath.Join(dir, "environ")
	script := writeScript(t, dir, "up.sh", "cat /proc/$$/environ > "+out+"\n")
	r, logs := testRunner(t, 0)
	if _, started := r.start(scriptJob{path: script, args: []string{"eth0", "198.51.100.100"}, env: carp}); !started {
		t.Fatalf("not started:\n%s", logs)
	}
	waitResult(t, r, 10*time.Second)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	slices.Sort(got)
	if slices.Equal(got, want) {
		return
	}
	for _, kv := range got {
		if !slices.Contains(want, kv) {
			t.Errorf("the script received %q", kv)
		}
	}
	for _, kv := range want {
		if !slices.Contains(got, kv) {
			t.Errorf("the script did not receive %q", kv)
		}
	}
}

func TestScriptWithoutXparam(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := writeScript(t, dir, "down.sh", `echo "$# $1 $2" > `+out+"\n")
	r, logs := testRunner(t, 0)
	r.start(scriptJob{path: script, args: []string{"eth1", "10.0.0.1"}})
	waitResult(t, r, 10*time.Second)
	if b, _ := os.ReadFile(out); string(b) != "2 eth1 10.0.0.1\n" {
		t.Fatalf("got %q", b)
	}
	if !strings.Contains(logs.String(), "Spawning ["+script+" eth1 10.0.0.1]") {
		t.Fatalf("logs %s", logs)
	}
}

func TestScriptExitStatusLogged(t *testing.T) {
	dir := t.TempDir()
	r, logs := testRunner(t, 0)
	r.start(scriptJob{path: writeScript(t, dir, "fail.sh", "exit 3\n"), args: []string{"eth0", "x"}})
	r.logResult(waitResult(t, r, 10*time.Second))
	if !strings.Contains(logs.String(), "[WARNING] Script [") || !strings.Contains(logs.String(), "exited with status 3") {
		t.Fatalf("logs %s", logs)
	}
}

func TestScriptCannotExec(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	r, logs := testRunner(t, 0)
	for _, path := range []string{notExec, filepath.Join(dir, "missing"), "relative-without-slash"} {
		res, started := r.start(scriptJob{path: path, args: []string{"eth0", "1.2.3.4", "x"}})
		if started || res.err == nil || r.busy() {
			t.Fatalf("%s: started %v err %v", path, started, res.err)
		}
	}
	for _, want := range []string{
		"[ERROR] Unable to exec " + notExec + " eth0 1.2.3.4 x: Permission denied",
		"[ERROR] Unable to exec " + filepath.Join(dir, "missing") + " eth0 1.2.3.4 x: No such file or directory",
		// No PATH search: a bare name is relative to the working directory, as execl.
		"[ERROR] Unable to exec relative-without-slash eth0 1.2.3.4 x: No such file or directory",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("missing %q in\n%s", want, logs)
		}
	}
}

func TestScriptTimeout(t *testing.T) {
	dir := t.TempDir()
	child := filepath.Join(dir, "child.pid")
	t.Run("SIGTERM ends the script and its children", func(t *testing.T) {
		r, logs := testRunner(t, 300*time.Millisecond)
		begin := time.Now()
		r.start(scriptJob{path: writeScript(t, dir, "hang.sh", "sleep 60 & echo $! > "+child+"\nwait\n"), args: []string{"eth0", "x"}})
		res := waitResult(t, r, 10*time.Second)
		r.logResult(res)
		if !res.timedOut || time.Since(begin) > 5*time.Second {
			t.Fatalf("timed out %v after %v", res.timedOut, time.Since(begin))
		}
		if !strings.Contains(logs.String(), "sending SIGTERM") || !strings.Contains(logs.String(), "timed out after") {
			t.Fatalf("logs %s", logs)
		}
		b, _ := os.ReadFile(child)
		pid := strings.TrimSpace(string(b))
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := os.Stat("/proc/" + pid); err != nil {
				break // the background child died with the group
			}
			if st, _ := os.ReadFile("/proc/" + pid + "/stat"); strings.Contains(string(st), ") Z ") {
				break // a zombie waiting for init: dead
			}
			if time.Now().After(deadline) {
				t.Fatalf("child %s survived the timeout", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("SIGKILL when SIGTERM is ignored", func(t *testing.T) {
		r, logs := testRunner(t, 200*time.Millisecond)
		r.grace = 300 * time.Millisecond
		r.start(scriptJob{path: writeScript(t, dir, "stubborn.sh", "trap '' TERM\nsleep 60 &\nwait\nsleep 60\n"), args: []string{"eth0", "x"}})
		res := waitResult(t, r, 10*time.Second)
		r.logResult(res)
		if !res.timedOut || !strings.Contains(logs.String(), "sending SIGKILL") || !strings.Contains(logs.String(), "killed by signal KILL") {
			t.Fatalf("timed out %v, logs %s", res.timedOut, logs)
		}
	})
}

// TestRunnerChannelsLazy: a group without scripts makes no channels for
// their results (nil channels, which the loop's select leaves alone); the
// first script makes them, and its result arrives on them.
func TestRunnerChannelsLazy(t *testing.T) {
	r, _ := testRunner(t, 0)
	if r.results() != nil || r.overdue() != nil {
		t.Fatal("a runner that ran nothing has made its channels")
	}
	if n := testing.AllocsPerRun(10, func() { runnerSink = newRunner(logger{}, 0) }); n != 1 {
		t.Errorf("newRunner: %v allocations, want 1 (the runner)", n)
	}
	script := writeScript(t, t.TempDir(), "up.sh", "exit 3\n")
	if _, started := r.start(scriptJob{path: script}); !started {
		t.Fatal("not started")
	}
	select {
	case res := <-r.results():
		if res.state == nil || res.state.ExitCode() != 3 {
			t.Errorf("result %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no script result within 10 s")
	}
	if r.overdue() == nil {
		t.Error("no overdue channel after a start")
	}
}

var runnerSink *runner
