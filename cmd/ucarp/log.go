package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/carp"
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

func carpLevel(l carp.Level) slog.Level {
	switch l {
	case carp.LevelDebug:
		return levelDebug
	case carp.LevelInfo:
		return levelInfo
	case carp.LevelWarning:
		return levelWarning
	}
	return levelError
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
type sink struct {
	mu      sync.Mutex
	debug   bool
	console consoleMode
	stdout  io.Writer
	stderr  io.Writer
	syslog  *syslogWriter
	now     func() time.Time
	buf     []byte
}

// handler is the slog.Handler over a sink.
type handler struct {
	s     *sink
	attrs string
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return l >= levelInfo || h.s.debug
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message + h.attrs
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	h.s.write(r.Level, msg)
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		b.WriteString(" " + a.String())
	}
	return &handler{s: h.s, attrs: b.String()}
}

func (h *handler) WithGroup(string) slog.Handler { return h }

func (s *sink) write(l slog.Level, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix, severity := levelPrefix(l)
	if s.syslog != nil {
		s.syslog.write(severity, prefix+msg)
	}
	if s.console == consoleNone || s.console == consoleErrors && l < levelError {
		return
	}
	w := s.stdout
	if l >= levelWarning {
		w = s.stderr
	}
	s.buf = s.now().AppendFormat(s.buf[:0], "2006-01-02T15:04:05.000000")
	s.buf = append(s.buf, ": "...)
	s.buf = append(s.buf, prefix...)
	s.buf = append(s.buf, msg...)
	s.buf = append(s.buf, '\n')
	w.Write(s.buf)
}

// logger is the daemon's one *slog.Logger with printf helpers, and the
// switches that the command line turns.
type logger struct {
	*slog.Logger
	s *sink
}

func newLogger(stdout, stderr io.Writer, sys *syslogWriter) *logger {
	s := &sink{stdout: stdout, stderr: stderr, syslog: sys, now: time.Now}
	return &logger{Logger: slog.New(&handler{s: s}), s: s}
}

func (l *logger) logf(level slog.Level, format string, args ...any) {
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.Log(context.Background(), level, fmt.Sprintf(format, args...))
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
	old := l.s.syslog
	l.s.syslog = w
	l.s.mu.Unlock()
	if old != nil && old != w {
		old.Close()
	}
}

// Stderr is where getopt diagnostics go.
func (l *logger) Stderr() io.Writer { return l.s.stderr }
