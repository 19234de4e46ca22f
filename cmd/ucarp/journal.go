package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"strconv"

	"github.com/coreos/go-systemd/v22/journal"
)

// journalSend sends one entry to the journal (journal.Send; tests give
// fakes).
type journalSend func(message string, priority journal.Priority, vars map[string]string) error

// journalSink sends lines to the systemd journal over its native protocol
// (the datagram socket /run/systemd/journal/socket), with the structured
// fields of each line: GROUP, VHID, INTERFACE, STATE, REASON, MESSAGE_ID
// (see logfield), besides SYSLOG_IDENTIFIER and SYSLOG_FACILITY, which
// keep journalctl -t ucarp and the facility of -f working. MESSAGE is the
// line that syslog got before: "[LEVEL] message".
//
// A send may block while journald is stalled: the sink's writer goroutine
// makes it, never the loop (see outQueue). A line the journal refuses goes
// to the fallback stream instead.
type journalSink struct {
	send     journalSend
	fallback io.Writer
}

// journalEntry is one line on its way to the journal: an io.Writer, so
// that an outQueue carries it, which ignores what it is given to write.
type journalEntry struct {
	j       *journalSink
	message string
	prio    journal.Priority
	vars    map[string]string
	console []byte // the fallback's line
}

// entry makes the journal's entry of a line; sys is the syslog writer
// whose identifier and facility it carries (nil: "ucarp", no facility).
func (j *journalSink) entry(severity int, message string, f *fields, console []byte, sys *syslogWriter) *journalEntry {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "ucarp"}
	if sys != nil {
		vars["SYSLOG_IDENTIFIER"] = sys.ident
		vars["SYSLOG_FACILITY"] = strconv.Itoa(sys.facility >> 3)
	}
	if f != nil {
		for k, v := range map[string]string{"GROUP": f.group, "VHID": f.vhid, "INTERFACE": f.iface,
			"STATE": f.state, "REASON": f.reason, "MESSAGE_ID": f.messageID()} {
			if v != "" {
				vars[k] = v
			}
		}
	}
	return &journalEntry{j: j, message: message, prio: journal.Priority(severity), vars: vars, console: console}
}

// with is the same entry with another severity and message, and no
// event: the notice of dropped lines.
func (e *journalEntry) with(severity int, message string) *journalEntry {
	vars := map[string]string{}
	for _, k := range []string{"SYSLOG_IDENTIFIER", "SYSLOG_FACILITY"} {
		if v, ok := e.vars[k]; ok {
			vars[k] = v
		}
	}
	return &journalEntry{j: e.j, message: message, prio: journal.Priority(severity), vars: vars, console: []byte(message + "\n")}
}

func (e *journalEntry) Write([]byte) (int, error) {
	if err := e.j.send(e.message, e.prio, e.vars); err != nil && e.j.fallback != nil {
		e.j.fallback.Write(e.console)
	}
	return 0, nil
}

// levelName is the level of a JSON line: ucarp's names.
func levelName(l slog.Level) string {
	switch {
	case l >= levelError:
		return "ERROR"
	case l >= levelWarning:
		return "WARNING"
	case l >= levelNotice:
		return "NOTICE"
	case l >= levelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// jsonLine is --log-format=json's line: one object with the time, the
// level, the message and the line's fields, those it has.
func (s *sink) jsonLine(l slog.Level, msg string, f *fields) []byte {
	b := make([]byte, 0, 128+len(msg))
	b = append(b, `{"time":"`...)
	b = s.now().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, `","level":"`...)
	b = append(b, levelName(l)...)
	b = append(b, `","msg":`...)
	b = appendJSONString(b, msg)
	if f != nil {
		str := func(key, v string) {
			if v != "" {
				b = append(b, ',', '"')
				b = append(b, key...)
				b = append(b, '"', ':')
				b = appendJSONString(b, v)
			}
		}
		str("group", f.group)
		str("interface", f.iface)
		if f.vhid != "" {
			if _, err := strconv.Atoi(f.vhid); err == nil {
				b = append(b, `,"vhid":`...)
				b = append(b, f.vhid...)
			} else {
				str("vhid", f.vhid)
			}
		}
		str("state", f.state)
		str("reason", f.reason)
		str("event", f.event)
		str("message_id", f.messageID())
		for _, a := range f.other {
			str(a.Key, a.Value.Resolve().String())
		}
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // invalid UTF-8 is replaced, not refused: cannot happen
		return append(b, `""`...)
	}
	return append(b, q...)
}
