package group

import (
	"context"
	"log/slog"
	"sync"
	"testing"

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
