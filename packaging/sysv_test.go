package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeDaemon is a stand-in for a daemon started with --pidfile=PIDFILE: a
// shell that writes its pid there and waits, with that option on its
// command line as the real daemon has it. TERM ends it.
const fakeDaemon = `#!/bin/sh
for a; do case "$a" in --pidfile=*) pf=${a#--pidfile=} ;; esac; done
sh -c 'echo $$ >"$0"; while :; do sleep 1; done' "$pf" "--pidfile=$pf" </dev/null >/dev/null 2>&1 &
`

// startUnrelated starts a process that is not ours (the pid a crashed
// daemon left, reused), ended when the test ends.
func startUnrelated(t *testing.T) *exec.Cmd {
	t.Helper()
	p := exec.Command("sleep", "60")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	return p
}

// running reports whether pid runs (and is not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(file)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return pid
		}
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

// TestSysVStalePidFile: a pid file left by a crash, whose pid now belongs
// to an unrelated process, neither passes for the instance (status, start)
// nor gets that process killed (stop).
func TestSysVStalePidFile(t *testing.T) {
	dir := t.TempDir()
	rundir := filepath.Join(dir, "run")
	os.MkdirAll(rundir, 0o700)
	instance := filepath.Join(dir, "ucarp-instance")
	os.WriteFile(instance, []byte(fakeDaemon), 0o755)
	pidfile := filepath.Join(rundir, "lan.pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	sysv := func(args ...string) (string, error) {
		cmd := exec.Command("sh", append([]string{filepath.Join("sysv", "ucarp")}, args...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "UCARP_CONFDIR=" + dir, "UCARP_RUNDIR=" + rundir, "UCARP_INSTANCE=" + instance}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	other := startUnrelated(t)
	stale := []byte(strconv.Itoa(other.Process.Pid) + "\n")

	os.WriteFile(pidfile, stale, 0o644)
	if out, err := sysv("status", "lan"); err == nil {
		t.Errorf("status with a stale pid file: running\n%s", out)
	}
	os.WriteFile(pidfile, stale, 0o644)
	if out, err := sysv("start", "lan"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	pid := readPid(t, pidfile)
	if pid == other.Process.Pid || !running(pid) {
		t.Fatalf("start skipped the instance: the stale pid file was taken for it")
	}
	if out, err := sysv("status", "lan"); err != nil || !strings.Contains(out, "is running") {
		t.Errorf("status: %v\n%s", err, out)
	}
	if out, err := sysv("stop", "lan"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if running(pid) {
		t.Fatal("stop left the instance running")
	}

	os.WriteFile(pidfile, stale, 0o644)
	if out, err := sysv("stop", "lan"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if !running(other.Process.Pid) {
		t.Fatal("stop killed an unrelated process named by a stale pid file")
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Error("the stale pid file is left")
	}
}
