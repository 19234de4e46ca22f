package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/internal/logfield"
)

// Log levels: slog's, with ucarp's names. NOTICE exists in ucarp but is unused.
const (
	levelDebug   = slog.LevelDebug
	levelInfo    = slog.LevelInfo
	levelNotice  = slog.Level(2)
	levelWarning = slog.LevelWarn
	levelError   = slog.LevelError
)

// levelPrefix is ucarp's prefix for a level, and the syslog severity.
func levelPrefix(l slog.Level) (string, int) {
	switch {
	case l >= levelError:
		return "[ERROR] ", 3
	case l >= levelWarning:
		return "[WARNING] ", 4
	case l >= levelNotice:
		return "[NOTICE] ", 5
	case l >= levelInfo:
		return "[INFO] ", 6
	}
	return "[DEBUG] ", 7
}

// consoleMode says what goes to the terminal.
type consoleMode int

const (
	consoleAll    consoleMode = iota
	consoleErrors             // -B before detaching: errors only, so the caller sees why start-up failed
	consoleNone               // detached
)

// sink is where log lines go: the console in ucarp's format
// (YYYY-MM-DDTHH:MM:SS.uuuuuu: [LEVEL] message, WARNING and ERROR on
// stderr, INFO and DEBUG on stdout, one write per line so that nothing is
// lost at exit), and syslog.
//
// A line is formatted when it is logged, with the time of the event. Until
// startQueues, it is also written then (the command line's messages);
// after, it is handed to a bounded queue per destination, console and
// syslog, each written by its own goroutine, so that no destination can
// block the loop: not a stalled journald or syslogd, a terminal paused
// with Ctrl-S, or a pipe that nobody reads. A full queue drops lines and
// counts them; "N log lines dropped" takes their place as soon as there is
// room. Lines keep their order in each destination; flush waits, with a
// deadline, for the queues to be written before the process exits.
type sink struct {
	mu      sync.Mutex
	debug   bool
	console consoleMode
	stdout  *guard
	stderr  *guard
	syslog  *syslogWriter
	now     func() time.Time

	// Streams that are the systemd journal, which gets syslog's copy of
	// every line already: their console copy is left out while syslog is on.
	journalOut, journalErr bool

	// journal is the systemd journal's native protocol, under systemd;
	// json is --log-format=json on the console.
	journal *journalSink
	json    bool

	consoleQ, syslogQ, journalQ *outQueue // nil until startQueues
}

// guard is a console stream that stops being written once its reader has
// gone (EPIPE): main catches SIGPIPE, so such a write fails instead of
// killing the daemon, and the daemon goes on without that stream.
type guard struct {
	w    io.Writer
	gone atomic.Bool
}

func (g *guard) Write(b []byte) (int, error) {
	if g.gone.Load() {
		return len(b), nil
	}
	n, err := g.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		g.gone.Store(true)
	}
	return n, err
}

// handler is the slog.Handler over a sink. Its text is ucarp's line: the
// message, then the attributes of config mode (" interface=eth0 vhid=1"),
// but never those that are structured fields only (logfield.FieldOnly). A
// plain handler writes no attributes in its text (see logger.Plain). Every
// attribute, plain or not, feeds the structured outputs (the journal's
// fields, --log-format=json).
type handler struct {
	s     *sink
	attrs []slog.Attr
	text  string // the text of attrs
	plain bool
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return l >= levelInfo || h.s.debug
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	if !h.plain {
		msg += h.text
		r.Attrs(func(a slog.Attr) bool {
			if !logfield.FieldOnly(a.Key) {
				msg += " " + a.String()
			}
			return true
		})
	}
	var f *fields
	if h.s.structured() {
		f = &fields{}
		for _, a := range h.attrs {
			f.set(a)
		}
		r.Attrs(func(a slog.Attr) bool {
			f.set(a)
			return true
		})
	}
	h.s.write(r.Level, msg, r.Message, f)
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.text)
	for _, a := range as {
		if !logfield.FieldOnly(a.Key) {
			b.WriteString(" " + a.String())
		}
	}
	return &handler{s: h.s, attrs: append(slices.Clip(h.attrs), as...), text: b.String(), plain: h.plain}
}

func (h *handler) WithGroup(string) slog.Handler { return h }

// fields are a line's structured fields (see logfield), "" when absent.
type fields struct {
	event, group, iface, vhid, state, reason string
	other                                    []slog.Attr // any other attribute, for JSON
}

func (f *fields) set(a slog.Attr) {
	v := a.Value.Resolve().String()
	switch a.Key {
	case logfield.KeyEvent:
		f.event = v
	case logfield.KeyGroup:
		f.group = v
	case logfield.KeyInterface:
		f.iface = v
	case logfield.KeyVHID:
		f.vhid = v
	case logfield.KeyState:
		f.state = v
	case logfield.KeyReason:
		f.reason = v
	default:
		f.other = append(f.other, a)
	}
}

// messageID is the journal's MESSAGE_ID of the line's event, or "".
func (f *fields) messageID() string { return logfield.Event(f.event).MessageID() }

// structured reports whether a line's fields are wanted: by the journal,
// or by JSON lines.
func (s *sink) structured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.journal != nil || s.json
}

// write sends a line to its destinations: text is ucarp's (with config
// mode's attributes), msg the bare message of JSON lines and the journal,
// f the structured fields (nil unless structured).
func (s *sink) write(l slog.Level, text, msg string, f *fields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix, severity := levelPrefix(l)
	if s.journal != nil {
		// Under systemd, the journal takes every line once, with its
		// fields; syslog's copy and the console's copy on a journal
		// stream would only repeat it.
		s.out(s.journalQ, s.journal.entry(severity, prefix+text, f, s.consoleLine(prefix, text), s.syslog), nil)
	} else if s.syslog != nil {
		s.out(s.syslogQ, s.syslog, s.syslog.format(severity, prefix+text))
	}
	if s.console == consoleNone || s.console == consoleErrors && l < levelError {
		return
	}
	w, journal := s.stdout, s.journalOut
	if l >= levelWarning {
		w, journal = s.stderr, s.journalErr
	}
	if journal && s.journal != nil {
		return
	}
	if journal && s.syslog != nil && !s.syslog.down.Load() {
		// Syslog's copy reaches the journal with the facility and the
		// "ucarp" identifier that admins filter on (journalctl -t ucarp);
		// the console copy would only repeat it. While syslog cannot be
		// reached, the console copy is the one kept.
		return
	}
	if s.json {
		s.out(s.consoleQ, w, s.jsonLine(l, msg, f))
		return
	}
	s.out(s.consoleQ, w, s.consoleLine(prefix, text))
}

// consoleLine is ucarp's console line, stamped now.
func (s *sink) consoleLine(prefix, msg string) []byte {
	b := make([]byte, 0, len("2006-01-02T15:04:05.000000: ")+len(prefix)+len(msg)+1)
	b = s.now().AppendFormat(b, "2006-01-02T15:04:05.000000")
	b = append(b, ": "...)
	b = append(b, prefix...)
	b = append(b, msg...)
	return append(b, '\n')
}

// out writes a line at once, or queues it once the queues run.
func (s *sink) out(q *outQueue, w io.Writer, line []byte) {
	if w == nil {
		return
	}
	if q == nil {
		w.Write(line)
		return
	}
	q.push(outLine{w: w, b: line})
}

// Queue sizes: far more than the daemon logs in a burst (a transition is
// a handful of lines, a debug advert two), and at most a few hundred KiB.
const (
	queueLines   = 1000
	flushTimeout = 2 * time.Second
)

// startQueues makes every later line go through the queues.
func (s *sink) startQueues(size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consoleQ != nil {
		return
	}
	s.consoleQ = newOutQueue(size, func(n int) outLine {
		// The sink's lock is held: this runs inside push, or the writer
		// calls it with only the queue's lock, where now and stderr are
		// read-only.
		return outLine{w: s.stderr, b: s.consoleLine("[WARNING] ", fmt.Sprintf("%d log lines dropped", n))}
	})
	s.syslogQ = newOutQueue(size, func(n int) outLine {
		return outLine{w: nil, b: []byte(fmt.Sprintf("[WARNING] %d log lines dropped", n))}
	})
	s.journalQ = newOutQueue(size, func(n int) outLine {
		return outLine{w: nil, b: []byte(fmt.Sprintf("[WARNING] %d log lines dropped", n))}
	})
}

// flush waits until both queues are written, or the deadline passes; it
// reports whether they were.
func (s *sink) flush(timeout time.Duration) bool {
	s.mu.Lock()
	cq, sq, jq := s.consoleQ, s.syslogQ, s.journalQ
	s.mu.Unlock()
	if cq == nil {
		return true
	}
	deadline := time.Now().Add(timeout)
	return cq.flush(deadline) && sq.flush(deadline) && jq.flush(deadline)
}

// outLine is a formatted line and where it goes.
type outLine struct {
	w io.Writer
	b []byte
}

// outQueue is a bounded FIFO of lines, written by one goroutine.
type outQueue struct {
	mu      sync.Mutex
	lines   []outLine
	max     int
	dropped int
	lastW   io.Writer // where the last dropped line went
	busy    bool      // the writer holds a line
	wake    chan struct{}
	waiters []chan struct{}
	notice  func(n int) outLine
}

func newOutQueue(max int, notice func(n int) outLine) *outQueue {
	q := &outQueue{max: max, wake: make(chan struct{}, 1), notice: notice}
	go q.run()
	return q
}

// push queues a line, or counts it as dropped when the queue is full.
func (q *outQueue) push(l outLine) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.noteDrops()
	if len(q.lines) >= q.max || q.dropped > 0 {
		q.dropped++
		q.lastW = l.w
		return
	}
	q.lines = append(q.lines, l)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// noteDrops queues the count of dropped lines where they would have been,
// once there is room; q.mu is held.
func (q *outQueue) noteDrops() {
	if q.dropped == 0 || len(q.lines) >= q.max {
		return
	}
	n := q.notice(q.dropped)
	if n.w == nil {
		n.w = q.lastW
		switch w := q.lastW.(type) {
		case *syslogWriter:
			// Syslog's notice is formatted by the writer it goes to.
			n.b = w.format(4, string(n.b))
		case *journalEntry:
			n.w, n.b = w.with(4, string(n.b)), nil
		}
	}
	q.lines = append(q.lines, n)
	q.dropped = 0
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *outQueue) run() {
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.lines) == 0 {
				q.busy = false
				for _, w := range q.waiters {
					close(w)
				}
				q.waiters = nil
				q.mu.Unlock()
				break
			}
			l := q.lines[0]
			q.lines[0] = outLine{}
			q.lines = q.lines[1:]
			q.busy = true
			q.mu.Unlock()
			l.w.Write(l.b)
			q.mu.Lock()
			q.noteDrops()
			q.mu.Unlock()
		}
	}
}

// flush waits until the queue is empty and written, or the deadline.
func (q *outQueue) flush(deadline time.Time) bool {
	q.mu.Lock()
	q.noteDrops()
	if len(q.lines) == 0 && !q.busy {
		q.mu.Unlock()
		return true
	}
	done := make(chan struct{})
	q.waiters = append(q.waiters, done)
	q.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// logger is the daemon's one *slog.Logger with printf helpers, and the
// switches that the command line turns.
type logger struct {
	*slog.Logger
	s *sink
}

func newLogger(stdout, stderr io.Writer, sys *syslogWriter) *logger {
	s := &sink{stdout: &guard{w: stdout}, stderr: &guard{w: stderr}, syslog: sys, now: time.Now}
	return &logger{Logger: slog.New(&handler{s: s}), s: s}
}

func (l *logger) logf(level slog.Level, format string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// Plain is the logger of the ucarp command line's group: its lines are
// ucarp's, without the attributes that name a group among others in
// config mode (interface, vhid).
func (l *logger) Plain() *slog.Logger { return slog.New(&handler{s: l.s, plain: true}) }

// eventf logs a line that reports the event ev (see logfield).
func (l *logger) eventf(ev logfield.Event, level slog.Level, format string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.LogAttrs(context.Background(), level, fmt.Sprintf(format, args...), ev.Attr())
}

func (l *logger) Debugf(format string, args ...any) { l.logf(levelDebug, format, args...) }
func (l *logger) Infof(format string, args ...any)  { l.logf(levelInfo, format, args...) }
func (l *logger) Warnf(format string, args ...any)  { l.logf(levelWarning, format, args...) }
func (l *logger) Errorf(format string, args ...any) { l.logf(levelError, format, args...) }

// SetDebug turns DEBUG lines on (-D).
func (l *logger) SetDebug(on bool) {
	l.s.mu.Lock()
	l.s.debug = on
	l.s.mu.Unlock()
}

// SetConsole chooses what reaches the terminal.
func (l *logger) SetConsole(m consoleMode) {
	l.s.mu.Lock()
	l.s.console = m
	l.s.mu.Unlock()
}

// SetSyslog replaces the syslog writer; nil turns syslog off.
func (l *logger) SetSyslog(w *syslogWriter) {
	l.s.mu.Lock()
	old, q := l.s.syslog, l.s.syslogQ
	l.s.syslog = w
	if old != nil && old != w && q != nil {
		// Closed after the lines queued for it.
		q.push(outLine{w: closer{old}})
		old = nil
	}
	l.s.mu.Unlock()
	if old != nil && old != w {
		old.Close()
	}
}

// closer closes a syslog writer when the queue reaches it.
type closer struct{ w *syslogWriter }

func (c closer) Write([]byte) (int, error) {
	c.w.Close()
	return 0, nil
}

// SetJournal says which console streams are the systemd journal.
func (l *logger) SetJournal(out, err bool) {
	l.s.mu.Lock()
	l.s.journalOut, l.s.journalErr = out, err
	l.s.mu.Unlock()
}

// SetNativeJournal sends every line to the systemd journal through send,
// with its structured fields, instead of syslog and the console streams
// that are the journal (see journalSink); nil turns it off.
func (l *logger) SetNativeJournal(send journalSend) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if send == nil {
		l.s.journal = nil
		return
	}
	l.s.journal = &journalSink{send: send, fallback: l.s.stderr}
}

// SetJSON makes the console lines JSON objects (--log-format=json).
func (l *logger) SetJSON(on bool) {
	l.s.mu.Lock()
	l.s.json = on
	l.s.mu.Unlock()
}

// Async makes every later line go through the queues (see sink).
func (l *logger) Async() { l.s.startQueues(queueLines) }

// Flush waits at most timeout for the queued lines to be written, and
// reports whether they were.
func (l *logger) Flush(timeout time.Duration) bool { return l.s.flush(timeout) }

// Stderr is where getopt diagnostics go.
func (l *logger) Stderr() io.Writer { return l.s.stderr }
