//go:build linux

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// slowScripts writes an up script that records its call, sleeps, and adds
// the VIP, and a down script that records and removes it.
func slowScripts(t *testing.T, l *lab.Lab, sleep string) (up, down, record string) {
	record = filepath.Join(l.Dir, "calls")
	up = filepath.Join(l.Dir, "slow-up.sh")
	down = filepath.Join(l.Dir, "slow-down.sh")
	os.WriteFile(up, []byte(fmt.Sprintf(`#!/bin/sh
echo "up $* state=$CARP_STATE prev=$CARP_PREVIOUS_STATE reason=$CARP_REASON start $(date +%%s.%%N)" >> %s
sleep %s
ip addr add "$2"/32 dev "$1"
echo "up end $(date +%%s.%%N)" >> %s
`, record, sleep, record)), 0o755)
	os.WriteFile(down, []byte(fmt.Sprintf(`#!/bin/sh
echo "down $* state=$CARP_STATE reason=$CARP_REASON" >> %s
ip addr del "$2"/32 dev "$1" 2>/dev/null
exit 0
`, record)), 0o755)
	return up, down, record
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestScriptsDoNotFreezeTheDaemon: while a slow up script runs, the new
// MASTER keeps advertising on time; its gratuitous ARP follows the script,
// as ucarp's does.
func TestScriptsDoNotFreezeTheDaemon(t *testing.T) {
	l := newLab(t, 1)
	up, down, record := slowScripts(t, l, "4")
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{Extra: []string{"--upscript=" + up, "--downscript=" + down, "--xparam=extra"}}))
	if !p.WaitLog("Switching to state: MASTER", 1, 10*time.Second) || !lab.Eventually(10*time.Second, func() bool {
		return strings.Contains(readFile(record), "up end")
	}) {
		t.Fatalf("no takeover with the script done:\n%s", p.Log())
	}
	master := p.MustLastLogTime(t, "Switching to state: MASTER")
	// The gratuitous ARP follows the script's end: wait for it.
	lab.Eventually(2*time.Second, func() bool {
		return slices.ContainsFunc(capture.Frames(), func(f lab.Frame) bool { return f.IsGARPFor(vip) })
	})
	frames := capture.Stop()
	var adverts []time.Time
	var garp time.Time
	for _, f := range frames {
		if f.IsCARP() && !f.At.Before(master) {
			adverts = append(adverts, f.At)
		}
		if garp.IsZero() && f.IsGARPFor(vip) {
			garp = f.At
		}
	}
	// One advert at the takeover and one a second during the 4 s script.
	if len(adverts) < 4 {
		t.Fatalf("%d adverts during the script", len(adverts))
	}
	// A loop that waits for the script leaves a gap of the script's 4 s;
	// a loaded machine delays an advert by a fraction of a second.
	for i := 1; i < 4; i++ {
		if gap := adverts[i].Sub(adverts[i-1]); gap < 500*time.Millisecond || gap > 1500*time.Millisecond {
			t.Fatalf("advert %d came %v after the previous one", i, gap)
		}
	}
	if garp.IsZero() || garp.Sub(master) < 3900*time.Millisecond {
		t.Fatalf("gratuitous ARP %v after the takeover: before the up script ended", garp.Sub(master))
	}
	calls := readFile(record)
	if !strings.Contains(calls, "up eth0 198.51.100.100 extra state=MASTER prev=BACKUP reason=master-down") ||
		!strings.Contains(calls, "down eth0 198.51.100.100 extra state=BACKUP reason=start") {
		t.Fatalf("script calls:\n%s", calls)
	}
	if !strings.Contains(p.Log(), "Script ["+up+" eth0 198.51.100.100 extra] exited with status 0") {
		t.Fatalf("exit status not logged:\n%s", p.Log())
	}
}

// TestSignalsWhileAScriptRuns: signals during a long script are answered
// at once; different signals close together all take effect (ucarp keeps
// one pending signal and lets a later one overwrite it); and a TERM with -z
// stops the daemon. (Identical signals sent faster than they can be taken
// are merged by the kernel, as POSIX standard signals are not queued: no
// program can count those, so the test spaces them.)
func TestSignalsWhileAScriptRuns(t *testing.T) {
	l := newLab(t, 1)
	up, down, record := slowScripts(t, l, "30")
	p := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{Shutdown: true,
		Extra: []string{"--upscript=" + up, "--downscript=" + down, "--script-timeout=60"}}))
	if !lab.Eventually(10*time.Second, func() bool { return strings.Contains(readFile(record), "up eth0") }) {
		t.Fatalf("the up script did not start:\n%s", p.Log())
	}
	for i := 1; i <= 10; i++ {
		p.Signal(syscall.SIGUSR1)
		if !p.WaitLog("[INFO] MASTER on eth0 id 1", i, 2*time.Second) {
			t.Fatalf("USR1 #%d not answered while the script runs:\n%s", i, p.Log())
		}
	}
	// A demotion and a status request together: both take effect.
	p.Signal(syscall.SIGUSR2)
	p.Signal(syscall.SIGUSR1)
	if !p.WaitLog("Demoted: leaving MASTER", 1, 2*time.Second) || !p.WaitLog(" on eth0 id 1", 11, 2*time.Second) {
		t.Fatalf("USR2 and USR1 sent together:\n%s", p.Log())
	}
	p.Signal(syscall.SIGTERM)
	// The up script is still running: the down script waits for it. A
	// second TERM ends the wait.
	time.Sleep(100 * time.Millisecond) // give the first TERM a head start; the second must come after it
	p.Signal(syscall.SIGTERM)
	st, ok := p.Wait(5 * time.Second)
	if !ok || st.ExitCode() != 0 {
		t.Fatalf("exit %v (ended %v):\n%s", st, ok, p.Log())
	}
	if !strings.Contains(p.Log(), "while stopping: stopping the running script and exiting now") {
		t.Fatalf("log:\n%s", p.Log())
	}
}

// TestExitSignals: with -z, TERM, INT, QUIT and HUP run the down script
// of a MASTER and exit 0; without -z the process dies of the signal, as
// ucarp's does, and only the address the daemon added itself is removed.
func TestExitSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP} {
		for _, z := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/-z=%v", sig, z), func(t *testing.T) {
				t.Parallel()
				l := newLab(t, 1)
				up, down := l.Scripts()
				c := ours(lab.CARP{Shutdown: z, Extra: []string{"--upscript=" + up, "--downscript=" + down}})
				p := start(t, l.Hosts[0], "ucarp", c)
				waitMasters(t, l, 10*time.Second, l.Hosts[0])
				p.Signal(sig)
				st, ok := p.Wait(5 * time.Second)
				if !ok {
					t.Fatal("did not exit")
				}
				calls := readFile(filepath.Join(l.Dir, "scripts.log"))
				downs := strings.Count(calls, "down ")
				if z {
					if st.ExitCode() != 0 || downs != 2 || l.Hosts[0].HasAddr(vip) {
						t.Fatalf("exit %v, %d down calls, address kept %v", st, downs, l.Hosts[0].HasAddr(vip))
					}
					return
				}
				ws := st.Sys().(syscall.WaitStatus)
				if !ws.Signaled() || ws.Signal() != sig || downs != 1 || !l.Hosts[0].HasAddr(vip) {
					t.Fatalf("status %v, %d down calls, address kept %v", st, downs, l.Hosts[0].HasAddr(vip))
				}
			})
		}
	}
	t.Run("managed address removed without -z", func(t *testing.T) {
		l := newLab(t, 1)
		p := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{}))
		waitMasters(t, l, 10*time.Second, l.Hosts[0])
		p.Signal(syscall.SIGTERM)
		st, _ := p.Wait(5 * time.Second)
		if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || l.Hosts[0].HasAddr(vip) {
			t.Fatalf("status %v, address kept %v", st, l.Hosts[0].HasAddr(vip))
		}
	})
}

// TestDaemonize: -B returns once the daemon listens, in its own session,
// with / as working directory and nothing on the terminal; the pid file
// names it and goes away with it. A failed start is reported to the caller.
func TestDaemonize(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	pidfile := filepath.Join(l.Dir, "ucarp.pid")
	c := ours(lab.CARP{Extra: []string{"--daemonize", "--pidfile=" + pidfile}})
	out, err := h.Exec(c.Args(h)...)
	if err != nil || out != "" {
		t.Fatalf("-B: %v, output %q", err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(pidfile)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Fatalf("session %d, want its own (%d)", sid, pid)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != "/" {
		t.Fatalf("cwd %q", cwd)
	}
	for fd := 0; fd <= 2; fd++ {
		if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); target != "/dev/null" {
			t.Fatalf("fd %d is %s", fd, target)
		}
	}
	waitMasters(t, l, 10*time.Second, h)
	syscall.Kill(pid, syscall.SIGTERM)
	if !lab.Eventually(5*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }) {
		t.Fatal("the daemon did not stop")
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Fatal("pid file left behind")
	}

	// A start-up failure in the background reaches the caller.
	bad := ours(lab.CARP{Extra: []string{"--daemonize", "--mcast=198.51.100.50"}})
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS}, bad.Args(h)...)...)
	output, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 ||
		!strings.Contains(string(output), "Can't do IP_ADD_MEMBERSHIP errno=Invalid argument (22)") {
		t.Fatalf("failed -B start: %v, %q", err, output)
	}
}

// TestScriptsRunInOrder: a preferred master appears while h1's up script
// still runs; h1 steps down at once (its adverts say so), but its down
// script starts only after the up script has ended, then the address goes.
func TestScriptsRunInOrder(t *testing.T) {
	l := newLab(t, 2)
	up, down, record := slowScripts(t, l, "3")
	p1 := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{AdvSkew: 100, Extra: []string{"--upscript=" + up, "--downscript=" + down}}))
	if !lab.Eventually(10*time.Second, func() bool { return strings.Contains(readFile(record), "up eth0") }) {
		t.Fatalf("no up script:\n%s", p1.Log())
	}
	start(t, l.Hosts[1], "ucarp", ours(lab.CARP{Preempt: true}))
	if !p1.WaitLog("Preferred master advertised", 1, 5*time.Second) {
		t.Fatalf("h1 did not step down:\n%s", p1.Log())
	}
	stepDown := p1.MustLastLogTime(t, "Switching to state: BACKUP")
	downCalls := func() int { return strings.Count("\n"+readFile(record), "\ndown ") }
	if !lab.Eventually(10*time.Second, func() bool { return downCalls() == 2 }) {
		t.Fatalf("no down script after the up script:\n%s", readFile(record))
	}
	lines := strings.Split(strings.TrimSpace(readFile(record)), "\n")
	// down (start), up, up end, down (step-down): strictly in that order.
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "down ") || !strings.HasPrefix(lines[1], "up eth0") ||
		!strings.HasPrefix(lines[2], "up end") || !strings.HasPrefix(lines[3], "down ") ||
		!strings.Contains(lines[3], "reason=preferred-master") {
		t.Fatalf("script calls:\n%s", readFile(record))
	}
	upEnd, _ := strconv.ParseFloat(strings.Fields(lines[2])[2], 64)
	if float64(stepDown.UnixNano())/1e9 > upEnd {
		t.Fatal("h1 stepped down only after its up script: the loop waited for it")
	}
	waitMasters(t, l, 5*time.Second, l.Hosts[1])
}

// TestSystemdNotify: under systemd (Type=notify) the daemon reports ready
// once it listens, as BACKUP, then its state, then that it stops.
func TestSystemdNotify(t *testing.T) {
	l := newLab(t, 1)
	sock := filepath.Join(l.Dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := l.Hosts[0]
	p, err := h.StartEnv("ucarp", []string{"NOTIFY_SOCKET=" + sock}, ours(lab.CARP{Shutdown: true}).Args(h)...)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	next := func() string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\n%s", err, p.Log())
		}
		return string(buf[:n])
	}
	if got, want := next(), fmt.Sprintf("READY=1\nMAINPID=%d\nSTATUS=BACKUP on eth0 id 1", p.Pid()); got != want {
		t.Fatalf("first notification %q, want %q", got, want)
	}
	if got := next(); got != "STATUS=MASTER on eth0 id 1" {
		t.Fatalf("notification %q", got)
	}
	p.Signal(syscall.SIGTERM)
	if got := next(); got != "STOPPING=1" {
		t.Fatalf("notification %q", got)
	}
}
