package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/syncbuf"
)

// stalled is a console that blocks every write until released, as a
// stalled journald, a terminal paused with Ctrl-S or a full pipe does.
type stalled struct {
	release chan struct{}
	mu      sync.Mutex
	b       bytes.Buffer
}

func newStalled() *stalled { return &stalled{release: make(chan struct{})} }

func (s *stalled) Write(p []byte) (int, error) {
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *stalled) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// inTime runs f and fails if it has not returned within d.
func inTime(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s blocked for %v", what, d)
	}
}

// TestLogNeverBlocks: a stalled console blocks no log call; once it
// drains, the lines come out in order, and the ones a full queue dropped
// are counted where they were lost.
func TestLogNeverBlocks(t *testing.T) {
	con := newStalled()
	l := newLogger(con, con, nil)
	l.s.now = func() time.Time { return time.Date(2026, 11, 21, 20, 58, 14, 588131000, time.Local) }
	l.s.startQueues(4)
	inTime(t, 5*time.Second, "logging to a stalled console", func() { l.Infof("line 1") })
	// Wait until the writer holds line 1, blocked.
	q := l.s.consoleQ
	deadline := time.Now().Add(5 * time.Second)
	for {
		q.mu.Lock()
		taken := q.busy && len(q.lines) == 0
		q.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never took line 1")
		}
		time.Sleep(time.Millisecond)
	}
	inTime(t, 5*time.Second, "logging to a stalled console", func() {
		for i := 2; i <= 10; i++ {
			l.Infof("line %d", i)
		}
	})
	if l.Flush(50 * time.Millisecond) {
		t.Fatal("Flush reported a stalled console as written")
	}
	close(con.release)
	if !l.Flush(5 * time.Second) {
		t.Fatal("Flush timed out on a working console")
	}
	l.Warnf("after")
	l.Flush(5 * time.Second)
	// The writer took line 1 and blocked on it; 2-5 filled the queue; 6-10
	// were dropped.
	const ts = "2026-11-21T20:58:14.588131: "
	var want strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&want, "%s[INFO] line %d\n", ts, i)
	}
	want.WriteString(ts + "[WARNING] 5 log lines dropped\n" + ts + "[WARNING] after\n")
	if got := con.String(); got != want.String() {
		t.Fatalf("console:\n%s\nwant:\n%s", got, want.String())
	}
}

// TestLogTimestampIsTheEvent: a queued line keeps the time it was logged.
func TestLogTimestampIsTheEvent(t *testing.T) {
	con := newStalled()
	l := newLogger(con, con, nil)
	at := time.Date(2026, 11, 21, 20, 58, 14, 1000, time.Local)
	l.s.now = func() time.Time { return at }
	l.Async()
	inTime(t, 5*time.Second, "logging to a stalled console", func() { l.Infof("event") })
	at = at.Add(time.Hour)
	close(con.release)
	l.Flush(5 * time.Second)
	if got := con.String(); got != "2026-11-21T20:58:14.000001: [INFO] event\n" {
		t.Fatalf("console %q", got)
	}
}

// TestSyslogStallBlocksNothing: a syslog daemon that reads nothing (its
// socket buffer full) blocks neither the log calls nor the console.
func TestSyslogStallBlocksNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var out syncBuffer
	l := newLogger(&out, &out, newSyslog("ucarp", 1, facility("daemon"), path))
	l.Async()
	inTime(t, 5*time.Second, "logging to a stalled syslog", func() {
		for i := 0; i < 3000; i++ { // more than the socket's and the writer's queues
			l.Infof("line %d", i)
			// The console has its own queue, and it drains while syslog
			// stalls; letting it drain now and then keeps a slow run
			// (-race) from filling it, so that every line must be there.
			if i%500 == 499 && !l.s.consoleQ.flush(time.Now().Add(5*time.Second)) {
				t.Error("the console waited for syslog")
				return
			}
		}
	})
	if !l.s.consoleQ.flush(time.Now().Add(5 * time.Second)) {
		t.Fatal("the console waited for syslog")
	}
	for _, i := range []int{0, 1499, 2999} {
		if !strings.Contains(out.String(), fmt.Sprintf("[INFO] line %d\n", i)) {
			t.Fatalf("line %d did not reach the console", i)
		}
	}
	if strings.Contains(out.String(), "lines dropped") {
		t.Fatal("the console dropped lines while syslog stalled")
	}
	// Syslog reads again: the lines its full queue dropped are counted.
	buf := make([]byte, 512)
	srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, err := srv.Read(buf)
		if err != nil {
			t.Fatalf("no count of dropped lines in syslog: %v", err)
		}
		if strings.Contains(string(buf[:n]), "ucarp[1]: [WARNING] ") && strings.HasSuffix(string(buf[:n]), " log lines dropped") {
			break
		}
	}
}

// TestBrokenConsole: a console whose reader has gone (EPIPE) is no longer
// written; the other destinations go on.
func TestBrokenConsole(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	var errs syncBuffer
	l := newLogger(w, &errs, nil)
	l.Infof("to a broken pipe")
	if !l.s.stdout.gone.Load() {
		t.Fatal("EPIPE did not retire stdout")
	}
	l.Infof("again")
	l.Errorf("still on stderr")
	if !strings.HasSuffix(errs.String(), "[ERROR] still on stderr\n") {
		t.Fatalf("stderr %q", errs.String())
	}
}

// TestJournalStreams: $JOURNAL_STREAM names the stream by device and
// inode; only a descriptor that is that stream matches.
func TestJournalStreams(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	other, err := os.Create(filepath.Join(t.TempDir(), "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(w.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	env := fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino))
	if out, errs := journalStreams(env, w, other); !out || errs {
		t.Fatalf("stdout %v stderr %v, want true false", out, errs)
	}
	if out, errs := journalStreams(env, other, w); out || !errs {
		t.Fatalf("stdout %v stderr %v, want false true", out, errs)
	}
	for _, bad := range []string{"", "1", "x:y", fmt.Sprintf("%d:%d", uint64(st.Dev), uint64(st.Ino)+1)} {
		if out, errs := journalStreams(bad, w, w); out || errs {
			t.Fatalf("JOURNAL_STREAM=%q matched", bad)
		}
	}
}

// TestJournalOnce: when the console is the journal, a line goes there once,
// through syslog (with its facility and identifier); the console copy is
// kept when syslog is off (-f none) or cannot be reached.
func TestJournalOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var journal, other syncBuffer
	l := newLogger(&journal, &other, newSyslog("ucarp", 7, facility("daemon"), path))
	l.SetJournal(true, false)
	l.Infof("once")
	l.Warnf("on stderr")
	buf := make([]byte, 512)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"ucarp[7]: [INFO] once", "ucarp[7]: [WARNING] on stderr"} {
		n, err := srv.Read(buf)
		if err != nil || !strings.HasSuffix(string(buf[:n]), want) {
			t.Fatalf("syslog %q %v, want %q", buf[:n], err, want)
		}
	}
	if journal.String() != "" || !strings.Contains(other.String(), "[WARNING] on stderr") {
		t.Fatalf("journal stream %q, other stream %q", journal.String(), other.String())
	}
	if !syslogReachable(filepath.Join(t.TempDir(), "none"), path) || syslogReachable(filepath.Join(t.TempDir(), "none")) {
		t.Fatal("syslogReachable is wrong")
	}
	// Syslog unreachable: after the first line it could not deliver, the
	// console copy comes back.
	l.SetSyslog(newSyslog("ucarp", 7, facility("daemon"), filepath.Join(t.TempDir(), "none")))
	l.Infof("lost to syslog")
	l.Infof("kept")
	if !strings.Contains(journal.String(), "[INFO] kept") {
		t.Fatalf("journal stream %q", journal.String())
	}
	// -f none.
	l.SetSyslog(nil)
	l.Infof("no syslog")
	if !strings.Contains(journal.String(), "[INFO] no syslog") {
		t.Fatalf("journal stream %q", journal.String())
	}
}

// syncBuffer is a buffer that a logger's writer goroutines and the test
// can share.
type syncBuffer = syncbuf.Buffer
