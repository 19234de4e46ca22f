package carp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// setDemotion sets the demotion and checks the actions it returns: it is
// not an Event, so the steps around it run through run.
func setDemotion(t *testing.T, m *Machine, when string, level int, want ...string) {
	t.Helper()
	got := renderAll(m.SetDemotion(at(when), level, nil), false)
	if !slices.Equal(got, want) {
		t.Fatalf("SetDemotion(%d) at %s:\n got  %s\n want %s", level, when, strings.Join(got, "\n       "), strings.Join(want, "\n       "))
	}
}

func TestSetDemotion(t *testing.T) {
	master := []step{startedBackup, takeover} // advert sent at 3.390625s, next due at 4.78125s
	t.Run("master: the next advert carries the demoted skew, on the old schedule", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, master)
		setDemotion(t, m, "4s", 100) // a longer interval: no timer moves
		run(t, m, []step{{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/200 #1001", "arm advert @6.5625s"}, Master}})
		if m.Demotion() != 100 {
			t.Fatalf("Demotion() = %d", m.Demotion())
		}
	})
	t.Run("demoted master outranked by a preempting peer: steps down as the rules say", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, master)
		setDemotion(t, m, "4s", 100)
		run(t, m, []step{{"4.5s", advert("198.51.100.12", 1, 150, 50), []string{
			"send 1/200 #51",
			"WARNING Switching to state: BACKUP (preferred-master)",
			"script down MASTER->BACKUP preferred-master",
			"stop advert",
			"arm master-down @7.890625s",
			"WARNING Preferred master advertised: going back to BACKUP state",
		}, Backup}})
	})
	t.Run("promoted master: the shorter interval applies from the last advert", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, master)
		setDemotion(t, m, "3.5s", 100)
		run(t, m, []step{{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/200 #1001", "arm advert @6.5625s"}, Master}})
		setDemotion(t, m, "5s", 0, "arm advert @6.171875s")
	})
	t.Run("demoted backup with -P does not preempt; promoted, it does", func(t *testing.T) {
		m := newTestMachine(t, func(c *Config) { c.Preempt = true })
		run(t, m, []step{startedBackup})
		setDemotion(t, m, "0.5s", 100)
		run(t, m, []step{
			{"1s", advert("198.51.100.12", 1, 150, 7), []string{"arm master-down @4.390625s"}, Backup},
		})
		setDemotion(t, m, "1.5s", 0)
		run(t, m, []step{{"2s", advert("198.51.100.12", 1, 150, 8), []string{
			"stop master-down",
			"WARNING Switching to state: MASTER (preempt)",
			"script up BACKUP->MASTER preempt",
			"announce",
			"send 1/100 #9",
			"arm advert @3.390625s",
			"WARNING Putting MASTER down - preemption",
		}, Master}})
	})
	t.Run("the same level, or out of range: clamped, no action", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, master)
		setDemotion(t, m, "4s", 0)
		setDemotion(t, m, "4s", 300)
		if m.Demotion() != MaxDemotion {
			t.Fatalf("Demotion() = %d, want %d", m.Demotion(), MaxDemotion)
		}
		setDemotion(t, m, "4s", -1)
		if m.Demotion() != 0 {
			t.Fatalf("Demotion() = %d, want 0", m.Demotion())
		}
	})
}

// TestDemotionCap: the advertised skew is capped at 255, and at 254 with
// advbase 255, where 255/255 would be a bow-out.
func TestDemotionCap(t *testing.T) {
	tests := []struct {
		advbase, advskew uint8
		demotion         int
		want             string
	}{
		{1, 100, 0, "1/100"},
		{1, 100, 155, "1/255"},
		{1, 100, 255, "1/255"},
		{1, 255, 10, "1/255"},
		{255, 0, 254, "255/254"},
		{255, 100, 255, "255/254"},
		{254, 100, 255, "254/255"},
		{255, 255, 0, "255/255"}, // configured so: left as ucarp sends it
		{255, 255, 1, "255/255"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d+%d", tt.advbase, tt.advskew, tt.demotion), func(t *testing.T) {
			m := newTestMachine(t, func(c *Config) { c.AdvBase, c.AdvSkew = tt.advbase, tt.advskew })
			m.Handle(t0, start, nil)
			m.SetDemotion(t0, tt.demotion, nil)
			out := m.Handle(t0.Add(DeadInterval(tt.advbase, 3, tt.advskew)), TimerEvent(TimerMasterDown), nil)
			i := slices.IndexFunc(out, func(a Action) bool { return a.Kind == ActionSendAdvert })
			if i < 0 {
				t.Fatalf("no advert in %v", renderAll(out, true))
			}
			if got := fmt.Sprintf("%d/%d", out[i].Advert.AdvBase, out[i].Advert.AdvSkew); got != tt.want {
				t.Fatalf("advert %s, want %s", got, tt.want)
			}
		})
	}
}
