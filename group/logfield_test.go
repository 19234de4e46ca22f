package group

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// recorder keeps each record's message and attributes.
type recorder struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, m)
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// TestLogFields: the lines that report an event carry its kind, and the
// state and reason they name, as attributes (see logfield); ucarp's text
// is the message, unchanged.
func TestLogFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  func(d *Group)
		want map[string]string
	}{
		{"transition", func(d *Group) {
			d.logAction(carp.Action{Kind: carp.ActionLog, Level: carp.LevelWarning, Msg: carp.MsgSwitchState,
				From: carp.Backup, To: carp.Master, Reason: carp.ReasonMasterDown})
		}, map[string]string{"msg": "Switching to state: MASTER", logfield.KeyEvent: "transition",
			logfield.KeyState: "MASTER", logfield.KeyReason: "master-down"}},
		{"carrier", func(d *Group) {
			d.logAction(carp.Action{Kind: carp.ActionLog, Level: carp.LevelWarning, Msg: carp.MsgCarrierLost})
		}, map[string]string{"msg": "[eth0] " + carp.MsgCarrierLost.String(), logfield.KeyEvent: "link",
			logfield.KeyReason: carp.MsgCarrierLost.String()}},
		{"demotion", func(d *Group) {
			d.logAction(carp.Action{Kind: carp.ActionLog, Level: carp.LevelWarning, Msg: carp.MsgDemoted})
		}, map[string]string{"msg": carp.MsgDemoted.String(), logfield.KeyEvent: "demotion"}},
		{"drop", func(d *Group) {
			d.logDrop(carp.Drop{Reason: carp.DropBadDigest})
		}, map[string]string{"msg": carp.Drop{Reason: carp.DropBadDigest}.String(), logfield.KeyEvent: "advert-drop",
			logfield.KeyReason: "bad-digest"}},
		{"a line of no event", func(d *Group) {
			d.logAction(carp.Action{Kind: carp.ActionLog, Level: carp.LevelWarning, Msg: carp.MsgWriteErrors, Arg: 1, Arg2: 2})
		}, map[string]string{"msg": "write() error #1/2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			d := &Group{}
			d.log, d.cfg = logger{slog.New(r)}, &Config{Interface: "eth0"}
			tc.log(d)
			if len(r.recs) != 1 {
				t.Fatalf("%d records: %v", len(r.recs), r.recs)
			}
			got := r.recs[0]
			if len(got) != len(tc.want) {
				t.Errorf("record %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (record %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// TestScriptLogFields: a script's run, its exit 0, its failure and a
// script that cannot start are each their event, with the status as the
// reason.
func TestScriptLogFields(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{}
	r := newRunner(logger{slog.New(rec)}, 0)
	r.stdout, r.stderr = os.Stderr, os.Stderr
	for _, body := range []string{"exit 0\n", "exit 3\n"} {
		if _, started := r.start(scriptJob{path: writeScript(t, dir, "s.sh", body), args: []string{"eth0", "x"}}); !started {
			t.Fatal("the script did not start")
		}
		r.logResult(waitResult(t, r, 10*time.Second))
	}
	r.start(scriptJob{path: filepath.Join(dir, "missing"), args: []string{"eth0", "x"}})
	want := [][2]string{{"script-run", ""}, {"script-exit", "exit 0"}, {"script-run", ""}, {"script-failure", "exited with status 3"},
		{"script-run", ""}, {"script-failure", "exec"}}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.recs) != len(want) {
		t.Fatalf("%d records, want %d: %v", len(rec.recs), len(want), rec.recs)
	}
	for i, w := range want {
		if got := rec.recs[i]; got[logfield.KeyEvent] != w[0] || got[logfield.KeyReason] != w[1] {
			t.Errorf("record %d: %v, want event %q reason %q", i, got, w[0], w[1])
		}
	}
}
