package main

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// syslogPaths are the local syslog sockets, tried in order.
var syslogPaths = []string{"/dev/log", "/var/run/log", "/var/run/syslog"}

// syslogWriter sends messages to the local syslog daemon the way glibc's
// syslog(3) does: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE" over a
// datagram socket, a stream socket if that is refused. It reconnects once
// when a write fails (syslogd restarted) and otherwise drops the line.
// A write may wait up to a second per attempt: the daemon's logger calls
// it from its writer goroutine, never from the loop (see outQueue).
type syslogWriter struct {
	mu       sync.Mutex
	paths    []string
	ident    string
	pid      int // 0: no "[pid]", as before ucarp's openlog
	facility int
	conn     net.Conn
	now      func() time.Time
	down     atomic.Bool // the last line could not be delivered
}

func newSyslog(ident string, pid, facility int, paths ...string) *syslogWriter {
	if len(paths) == 0 {
		paths = syslogPaths
	}
	return &syslogWriter{paths: paths, ident: ident, pid: pid, facility: facility, now: time.Now}
}

func (w *syslogWriter) connect() {
	for _, p := range w.paths {
		for _, network := range []string{"unixgram", "unix"} {
			if c, err := net.DialTimeout(network, p, time.Second); err == nil {
				w.conn = c
				return
			}
		}
	}
}

// syslogReachable reports whether a syslog daemon listens on one of the
// paths (default: syslogPaths).
func syslogReachable(paths ...string) bool {
	w := newSyslog("", 0, 0, paths...)
	w.connect()
	if w.conn == nil {
		return false
	}
	w.conn.Close()
	return true
}

// format renders a message as its syslog line, stamped now: the time of
// the event, not of its delivery.
func (w *syslogWriter) format(severity int, msg string) []byte {
	tag := w.ident
	if w.pid != 0 {
		tag = fmt.Sprintf("%s[%d]", w.ident, w.pid)
	}
	return fmt.Appendf(nil, "<%d>%s %s: %s", w.facility|severity, w.now().Format(time.Stamp), tag, msg)
}

// Write sends one formatted line; it never fails, a line that cannot be
// delivered is dropped.
func (w *syslogWriter) Write(line []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if w.conn == nil {
			w.connect()
			if w.conn == nil {
				w.down.Store(true)
				return len(line), nil
			}
		}
		w.conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := w.conn.Write(line); err == nil {
			w.down.Store(false)
			return len(line), nil
		}
		w.conn.Close()
		w.conn = nil
	}
	w.down.Store(true)
	return len(line), nil
}

// write formats and sends a message at once.
func (w *syslogWriter) write(severity int, msg string) {
	w.Write(w.format(severity, msg))
}

// Close closes the connection.
func (w *syslogWriter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}
