//go:build linux

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	"golang.org/x/sys/unix"
)

// direct is the daemon started straight in a host's namespace, without
// the "ip netns exec" of lab.Start: its pid is the daemon's from the fork
// on, so that a signal sent at once reaches the daemon and not ip(8).
type direct struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startDirect(t *testing.T, h *lab.Host, env []string, stdout, stderr *os.File, argv ...string) *direct {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The fork happens on the thread that Do moved into the namespace.
	if err := h.Do(cmd.Start); err != nil {
		t.Fatal(err)
	}
	d := &direct{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	})
	return d
}

func (d *direct) pid() int { return d.cmd.Process.Pid }

func (d *direct) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// TestEarlySignals: USR1, USR2 and TERM sent while the daemon is still
// starting (here: reading its passfile, a FIFO that the test holds) are
// kept until the loop takes them: USR1 is answered, USR2 demotes, TERM
// with -z stops the daemon cleanly. (Before the Go runtime's first steps,
// a few milliseconds after execve, the kernel's default action applies
// to any Go program; no code of ours runs then.)
func TestEarlySignals(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	for _, tc := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGUSR1, "[INFO] BACKUP on eth0 id 1"},
		{syscall.SIGUSR2, "[DEBUG] Caught signal (USR2) considering going down"},
		{syscall.SIGTERM, "[DEBUG] sighandler_exit(): Calling [(null)] and exiting"},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "pass")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := os.Create(filepath.Join(dir, "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			c := ours(lab.CARP{Shutdown: true}).WithExtra("--passfile="+fifo, "--debug")
			d := startDirect(t, h, nil, out, out, c.Args(h)...)
			// Opening the FIFO for writing returns once the daemon opened it
			// for reading: it is reading its command line.
			opened := make(chan *os.File, 1)
			go func() {
				f, _ := os.OpenFile(fifo, os.O_WRONLY, 0)
				opened <- f
			}()
			var w *os.File
			select {
			case w = <-opened:
			case <-time.After(10 * time.Second):
				os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0) // unblock the opener
				t.Fatal("the daemon never opened its passfile")
			}
			if w == nil {
				t.Fatal("opening the FIFO failed")
			}
			syscall.Kill(d.pid(), tc.sig)
			w.WriteString("carplab\n")
			w.Close()
			log := func() string { b, _ := os.ReadFile(out.Name()); return string(b) }
			if !lab.Eventually(5*time.Second, func() bool { return strings.Contains(log(), tc.want) || d.exited() }) ||
				!strings.Contains(log(), tc.want) {
				t.Fatalf("%v sent during start-up was lost (%v):\n%s", tc.sig, d.cmd.ProcessState, log())
			}
			if tc.sig == syscall.SIGTERM {
				select {
				case <-d.done:
				case <-time.After(5 * time.Second):
					t.Fatal("TERM with -z: the daemon did not stop")
				}
				if st := d.cmd.ProcessState; !st.Exited() || st.ExitCode() != 0 {
					t.Fatalf("TERM with -z: %v, want exit 0", st)
				}
			} else if d.exited() {
				t.Fatalf("the daemon ended: %v\n%s", d.cmd.ProcessState, log())
			}
		})
	}
}

// TestStalledConsole: the daemon's stdout and stderr go to a pipe that
// nobody reads (a stalled journald, a terminal paused with Ctrl-S): once
// the pipe is full every write to it blocks, and the daemon must go on
// advertising all the same, or its peer takes over.
func TestStalledConsole(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The smallest pipe (a page) fills after a few dozen lines.
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatal(err)
	}
	// Advertising every 78 ms with -D: two lines per advert.
	d := startDirect(t, h1, nil, w, w, ours(lab.CARP{AdvBase: -1, AdvSkew: 20}).WithExtra("--debug").Args(h1)...)
	w.Close()
	start(t, h2, "ucarp", ours(lab.CARP{AdvBase: -1, AdvSkew: 100}))
	waitMasters(t, l, 10*time.Second, h1)
	full := func() bool {
		n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
		return err == nil && n > 4096-200
	}
	if !lab.Eventually(10*time.Second, full) {
		t.Fatal("the pipe never filled")
	}
	// h2's dead time is 3 x 100/256 s = 1.17 s.
	holdMasters(t, l, 4*time.Second, h1)
	// At exit the daemon waits for its console for 2 s, not forever.
	syscall.Kill(d.pid(), syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not exit with its console stalled")
	}
	if ws := d.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("%v, want killed by TERM as ucarp", d.cmd.ProcessState)
	}
}

// TestConsoleReaderGone: "ucarp ... | logger" whose logger has exited:
// the daemon must not die of SIGPIPE (leaving a host that no longer
// advertises), but go on without that stream.
func TestConsoleReaderGone(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader is gone before the first line
	errs, err := os.Create(filepath.Join(l.Dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errs.Close()
	d := startDirect(t, h, nil, w, errs, ours(lab.CARP{Shutdown: true}).Args(h)...)
	w.Close()
	waitMasters(t, l, 10*time.Second, h)
	stderr := func() string { b, _ := os.ReadFile(errs.Name()); return string(b) }
	// The address can be seen a moment before the line is written.
	if !lab.Eventually(2*time.Second, func() bool { return strings.Contains(stderr(), "[WARNING] Switching to state: MASTER") }) ||
		d.exited() {
		t.Fatalf("daemon exited %v, stderr:\n%s", d.exited(), stderr())
	}
	syscall.Kill(d.pid(), syscall.SIGUSR1) // answered on the broken stdout
	holdMasters(t, l, 500*time.Millisecond, h)
	syscall.Kill(d.pid(), syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	if st := d.cmd.ProcessState; !st.Exited() || st.ExitCode() != 0 {
		t.Fatalf("%v, want exit 0 (-z)\n%s", st, stderr())
	}
}

// zombies lists the zombie children of pid.
func zombies(pid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var zs []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state ppid ...
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(strings.Fields(s)[0])
			zs = append(zs, n)
		}
	}
	return zs
}

// TestReapsOrphansAsPID1: run as a container's init (PID 1 of its own pid
// namespace), the daemon reaps the orphans that its scripts leave (here,
// children that outlive them), without taking the scripts' own exit
// status, which it still logs.
func TestReapsOrphansAsPID1(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	script := filepath.Join(l.Dir, "orphans.sh")
	// Three children that outlive the script and end after it.
	body := "#!/bin/sh\nfor i in 1 2 3; do ( sleep 0.2 & ); done\nexit 3\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	c := ours(lab.CARP{}).WithExtra("--upscript="+script, "--downscript="+script)
	p, err := h.Start("ucarp", append([]string{"unshare", "--pid", "--mount-proc", "--kill-child"}, c.Args(h)...)...)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon is unshare's child: PID 1 inside, some pid outside.
	var daemon int
	if !lab.Eventually(5*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p.Pid(), p.Pid()))
		daemon, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return daemon != 0
	}) {
		t.Fatalf("no daemon under unshare:\n%s", p.Log())
	}
	want := fmt.Sprintf("Script [%s eth0 %s] exited with status 3", script, vip)
	if !p.WaitLog(want, 2, 10*time.Second) { // the down script at start, the up script
		t.Fatalf("the scripts' status was not logged twice:\n%s", p.Log())
	}
	if !lab.Eventually(5*time.Second, func() bool { return len(zombies(daemon)) == 0 }) {
		t.Fatalf("zombies under the daemon: %v\n%s", zombies(daemon), p.Log())
	}
	if strings.Contains(p.Log(), "no child processes") {
		t.Fatalf("a script's status was taken:\n%s", p.Log())
	}
}

// TestJournalOnce: under systemd, stdout and stderr are the journal (the
// stream that $JOURNAL_STREAM names) and so is syslog: each line goes
// there once, through syslog. Without syslog (-f none) the console copy
// stays. The daemon runs in a private mount namespace whose syslog socket
// (/var/run/log, /run being a fresh tmpfs) is the test's.
func TestJournalOnce(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	sock := filepath.Join(l.Dir, "syslog")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		name   string
		extra  []string
		syslog bool
	}{
		{"syslog", nil, true},
		{"no syslog", []string{"--facility=none"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			journal, err := os.Create(filepath.Join(t.TempDir(), "journal"))
			if err != nil {
				t.Fatal(err)
			}
			defer journal.Close()
			var st syscall.Stat_t
			if err := syscall.Fstat(int(journal.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			env := []string{fmt.Sprintf("JOURNAL_STREAM=%d:%d", uint64(st.Dev), uint64(st.Ino))}
			setup := fmt.Sprintf("mount -t tmpfs none /run && touch /run/log && mount --bind %s /run/log && exec \"$@\"", sock)
			argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", setup, "sh"},
				ours(lab.CARP{}).WithExtra(tc.extra...).Args(h)...)
			d := startDirect(t, h, env, journal, journal, argv...)
			const line = "[WARNING] Switching to state: BACKUP"
			console := func() string { b, _ := os.ReadFile(journal.Name()); return string(b) }
			if tc.syslog {
				buf := make([]byte, 1024)
				srv.SetReadDeadline(time.Now().Add(10 * time.Second))
				for {
					n, err := srv.Read(buf)
					if err != nil {
						t.Fatalf("no line through syslog: %v\n%s", err, console())
					}
					if strings.HasSuffix(string(buf[:n]), fmt.Sprintf("ucarp[%d]: %s", d.pid(), line)) {
						break
					}
				}
				// The daemon writes its queues out before it exits.
				syscall.Kill(d.pid(), syscall.SIGTERM)
				select {
				case <-d.done:
				case <-time.After(5 * time.Second):
					t.Fatal("the daemon did not stop")
				}
				if c := console(); strings.Contains(c, line) {
					t.Fatalf("the line reached the journal twice:\n%s", c)
				}
			} else if !lab.Eventually(10*time.Second, func() bool { return strings.Contains(console(), line) }) {
				t.Fatalf("without syslog the console copy is missing:\n%s", console())
			}
		})
	}
}
