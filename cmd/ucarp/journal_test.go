package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// fakeJournal records what the logger sends to the journal.
type fakeJournal struct {
	mu      sync.Mutex
	entries []fakeEntry
	block   chan struct{} // non-nil: each send waits for it (a stalled journald)
	fail    bool
}

type fakeEntry struct {
	msg  string
	prio journal.Priority
	vars map[string]string
}

func (f *fakeJournal) send(msg string, prio journal.Priority, vars map[string]string) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return fmt.Errorf("journal: connection refused")
	}
	f.entries = append(f.entries, fakeEntry{msg, prio, maps.Clone(vars)})
	return nil
}

func (f *fakeJournal) all() []fakeEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeEntry(nil), f.entries...)
}

// transition logs what a group logs when it becomes MASTER, through a
// group's logger as node makes it.
func transition(l *slog.Logger, name string) {
	g := l.With("interface", "eth0", "vhid", 7)
	if name != "" {
		g = g.With(logfield.Group(name))
	}
	g.LogAttrs(context.Background(), levelWarning, "Switching to state: MASTER",
		logfield.State("MASTER"), logfield.Reason("master-down"), logfield.Transition.Attr())
}

// TestJournalFields: under systemd, a line goes to the journal once, with
// its fields (GROUP, VHID, INTERFACE, STATE, REASON, MESSAGE_ID) and the
// identifier and facility of syslog; neither syslog nor the console
// stream that is the journal gets a copy.
func TestJournalFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		plain  bool   // the command line's logger
		group  string // config mode's group name
		fields map[string]string
		msg    string // syslog's line, as before
	}{
		{"config mode", false, "web", map[string]string{"GROUP": "web"}, "[WARNING] Switching to state: MASTER interface=eth0 vhid=7"},
		{"command line", true, "", nil, "[WARNING] Switching to state: MASTER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stream, other syncBuffer
			sys := newSyslog("ucarp", 7, facility("local3"), "/nonexistent/log")
			l := newLogger(&other, &stream, sys)
			l.SetJournal(false, true)
			fj := &fakeJournal{}
			l.SetNativeJournal(fj.send)
			lg := l.Logger
			if tc.plain {
				lg = l.Plain()
			}
			transition(lg, tc.group)
			l.Infof("Running %d groups", 2)
			got := fj.all()
			if len(got) != 2 {
				t.Fatalf("%d entries, want 2: %+v", len(got), got)
			}
			want := map[string]string{"SYSLOG_IDENTIFIER": "ucarp", "SYSLOG_FACILITY": "19", "INTERFACE": "eth0", "VHID": "7",
				"STATE": "MASTER", "REASON": "master-down", "MESSAGE_ID": logfield.Transition.MessageID()}
			maps.Copy(want, tc.fields)
			e := got[0]
			if e.msg != tc.msg || e.prio != journal.PriWarning || !maps.Equal(e.vars, want) {
				t.Errorf("entry %q %d %v,\nwant %q %d %v", e.msg, e.prio, e.vars, tc.msg, journal.PriWarning, want)
			}
			if e := got[1]; e.msg != "[INFO] Running 2 groups" || e.prio != journal.PriInfo || e.vars["MESSAGE_ID"] != "" || e.vars["STATE"] != "" {
				t.Errorf("plain entry %+v", e)
			}
			if stream.String() != "" {
				t.Errorf("the journal stream got a copy: %q", stream.String())
			}
			// INFO goes to stdout, which is not the journal here.
			if !strings.HasSuffix(other.String(), ": [INFO] Running 2 groups\n") || strings.Contains(other.String(), "MASTER") {
				t.Errorf("stdout %q", other.String())
			}
		})
	}
}

// TestJournalRefused: a line the journal refuses goes to the console
// stream instead, in ucarp's words.
func TestJournalRefused(t *testing.T) {
	var stream syncBuffer
	l := newLogger(&stream, &stream, nil)
	l.SetJournal(true, true)
	l.SetNativeJournal((&fakeJournal{fail: true}).send)
	l.Warnf("kept")
	if !strings.HasSuffix(stream.String(), ": [WARNING] kept\n") {
		t.Fatalf("stream %q", stream.String())
	}
}

// TestJournalStallBlocksNothing: a journald that takes nothing blocks no
// log call; once it drains, the lines come in order, and those a full
// queue dropped are counted in a WARNING entry.
func TestJournalStallBlocksNothing(t *testing.T) {
	var stream syncBuffer
	l := newLogger(&stream, &stream, newSyslog("ucarp", 7, facility("daemon"), "/nonexistent/log"))
	l.SetJournal(true, true)
	fj := &fakeJournal{block: make(chan struct{})}
	l.SetNativeJournal(fj.send)
	l.s.startQueues(4)
	inTime(t, 5*time.Second, "logging to a stalled journal", func() {
		for i := 1; i <= 50; i++ {
			l.Infof("line %d", i)
		}
	})
	close(fj.block)
	if !l.Flush(5 * time.Second) {
		t.Fatal("the queue was not written")
	}
	got := fj.all()
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.msg)
	}
	last := got[len(got)-1]
	if len(got) < 2 || len(got) > 6 || msgs[0] != "[INFO] line 1" || !strings.HasSuffix(last.msg, "log lines dropped") ||
		last.prio != journal.PriWarning || last.vars["SYSLOG_IDENTIFIER"] != "ucarp" {
		t.Fatalf("entries %q (last %+v)", msgs, last)
	}
	if stream.String() != "" {
		t.Fatalf("the stream got %q", stream.String())
	}
}

// TestTextLeavesFieldsOut: the structured fields change no text line, in
// config mode (interface and vhid, as before) or on the command line
// (none), on the console or through syslog.
func TestTextLeavesFieldsOut(t *testing.T) {
	at := time.Date(2026, 11, 21, 20, 58, 14, 588131000, time.Local)
	for _, tc := range []struct {
		plain bool
		want  string
	}{
		{false, "2026-11-21T20:58:14.588131: [WARNING] Switching to state: MASTER interface=eth0 vhid=7\n"},
		{true, "2026-11-21T20:58:14.588131: [WARNING] Switching to state: MASTER\n"},
	} {
		var out, errs syncBuffer
		l := newLogger(&out, &errs, nil)
		l.s.now = func() time.Time { return at }
		lg := l.Logger
		if tc.plain {
			lg = l.Plain()
		}
		transition(lg, "web")
		if errs.String() != tc.want {
			t.Errorf("plain %v: %q, want %q", tc.plain, errs.String(), tc.want)
		}
	}
}

// TestJSONLines: --log-format=json writes one object per line, with the
// time, the level, the bare message and the fields the line has.
func TestJSONLines(t *testing.T) {
	at := time.Date(2026, 11, 21, 20, 58, 14, 588131000, time.UTC)
	var out, errs syncBuffer
	l := newLogger(&out, &errs, nil)
	l.s.now = func() time.Time { return at }
	l.SetJSON(true)
	transition(l.Plain(), "web")
	l.Infof("Running %d groups from %s", 2, `/etc/"u".toml`)
	want := `{"time":"2026-11-21T20:58:14.588131Z","level":"WARNING","msg":"Switching to state: MASTER","group":"web","interface":"eth0","vhid":7,"state":"MASTER","reason":"master-down","event":"transition","message_id":"` + logfield.Transition.MessageID() + `"}` + "\n"
	if errs.String() != want {
		t.Errorf("stderr\n%s\nwant\n%s", errs.String(), want)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out.String()), &m); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if m["level"] != "INFO" || m["msg"] != `Running 2 groups from /etc/"u".toml` || len(m) != 3 {
		t.Errorf("stdout %v", m)
	}
}

func TestLogFormatOption(t *testing.T) {
	for _, tc := range []struct {
		v        string
		json, ok bool
	}{{"text", false, true}, {"json", true, true}, {"JSON", false, false}, {"", false, false}} {
		if json, ok := logFormat(tc.v); json != tc.json || ok != tc.ok {
			t.Errorf("logFormat(%q) = %v %v", tc.v, json, ok)
		}
	}
}

// BenchmarkLogLine: the cost of a transition's line for the caller (the
// loop), as text, as JSON, and for the journal (its send is the writer
// goroutine's, not counted here: a no-op fake), queues running.
func BenchmarkLogLine(b *testing.B) {
	for _, mode := range []string{"text", "json", "journal"} {
		b.Run(mode, func(b *testing.B) {
			l := newLogger(io.Discard, io.Discard, nil)
			switch mode {
			case "json":
				l.SetJSON(true)
			case "journal":
				l.SetJournal(true, true)
				l.SetNativeJournal(func(string, journal.Priority, map[string]string) error { return nil })
			}
			l.Async()
			g := l.Logger.With("interface", "eth0", "vhid", 7, logfield.KeyGroup, "web")
			b.ReportAllocs()
			for b.Loop() {
				g.LogAttrs(context.Background(), levelWarning, "Switching to state: MASTER",
					logfield.State("MASTER"), logfield.Reason("master-down"), logfield.Transition.Attr())
			}
			l.Flush(5 * time.Second)
		})
	}
}
