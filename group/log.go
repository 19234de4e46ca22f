package group

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/logfield"
	"github.com/ucarp-go/ucarp/internal/syserr"
)

// Log levels: slog's, with ucarp's names (its NOTICE is unused).
const (
	levelDebug   = slog.LevelDebug
	levelInfo    = slog.LevelInfo
	levelWarning = slog.LevelWarn
	levelError   = slog.LevelError
)

// carpLevel is the slog level of a carp level.
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

// logger formats ucarp's printf-style lines into the group's slog.Logger.
// A line is formatted only when its level is enabled.
type logger struct{ *slog.Logger }

func (l logger) enabled(level slog.Level) bool { return l.Enabled(context.Background(), level) }

func (l logger) logf(level slog.Level, format string, args ...any) {
	if !l.enabled(level) {
		return
	}
	l.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// eventf logs a line that reports the event ev, with its structured
// fields (see logfield): ucarp's text is the same as logf's.
func (l logger) eventf(ev logfield.Event, attrs []slog.Attr, level slog.Level, format string, args ...any) {
	if !l.enabled(level) {
		return
	}
	l.LogAttrs(context.Background(), level, fmt.Sprintf(format, args...), append(attrs, ev.Attr())...)
}

func (l logger) Debugf(format string, args ...any) { l.logf(levelDebug, format, args...) }
func (l logger) Infof(format string, args ...any)  { l.logf(levelInfo, format, args...) }
func (l logger) Warnf(format string, args ...any)  { l.logf(levelWarning, format, args...) }
func (l logger) Errorf(format string, args ...any) { l.logf(levelError, format, args...) }

// strerror words an error as ucarp prints it.
func strerror(err error) string { return syserr.Strerror(err) }
