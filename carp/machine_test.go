package carp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// at is a time of the simulated clock, as an offset from t0.
func at(d string) time.Time {
	dd, err := time.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return t0.Add(dd)
}

// render writes an action compactly, with times as offsets from t0.
func render(a Action) string {
	switch a.Kind {
	case ActionSendAdvert:
		return fmt.Sprintf("send %d/%d #%d", a.Advert.AdvBase, a.Advert.AdvSkew, a.Advert.Counter)
	case ActionRunScript:
		return fmt.Sprintf("script %v %v->%v %v", a.Script, a.From, a.To, a.Reason)
	case ActionArmTimer:
		return fmt.Sprintf("arm %v @%v", a.Timer, a.At.Sub(t0))
	case ActionStopTimer:
		return fmt.Sprintf("stop %v", a.Timer)
	case ActionLog:
		text := a.Msg.String()
		switch a.Msg {
		case MsgSwitchState:
			text = fmt.Sprintf(text, a.To) + " (" + a.Reason.String() + ")"
		case MsgWriteErrors, MsgCompareIntervals:
			text = fmt.Sprintf(text, a.Arg, a.Arg2)
		}
		return a.Level.String() + " " + text
	}
	return a.Kind.String()
}

func renderAll(as []Action, debug bool) []string {
	var s []string
	for _, a := range as {
		if a.Kind == ActionLog && a.Level == LevelDebug && !debug {
			continue
		}
		s = append(s, render(a))
	}
	return s
}

// sequence is a counter source that returns 1000, 1001, ... so that the
// random counters sent before anything is heard are recognisable.
func sequence() func() uint64 {
	n := uint64(999)
	return func() uint64 { n++; return n }
}

func newTestMachine(t testing.TB, edit func(c *Config)) *Machine {
	t.Helper()
	c := Config{VHID: 1, AdvBase: 1, AdvSkew: 100, DeadRatio: 3, Src: testSelf, DownScript: true, Random: sequence()}
	if edit != nil {
		edit(&c)
	}
	m, err := NewMachine(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type step struct {
	at    string // simulated time, offset from t0
	ev    Event
	want  []string
	state State
}

func advert(src string, advbase, advskew uint8, counter uint64) Event {
	return Event{Kind: EventAdvert, Src: netip.MustParseAddr(src), AdvBase: advbase, AdvSkew: advskew, Counter: counter}
}

func run(t *testing.T, m *Machine, steps []step) {
	t.Helper()
	for i, s := range steps {
		before := m.State()
		got := renderAll(m.Handle(at(s.at), s.ev, nil), false)
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%v at %s) in %v:\n got  %s\n want %s", i, s.ev.Kind, s.at, before,
				strings.Join(got, "\n       "), strings.Join(s.want, "\n       "))
		}
		if m.State() != s.state {
			t.Fatalf("step %d: state %v, want %v", i, m.State(), s.state)
		}
	}
}

var start = Event{Kind: EventStart}

// startedBackup is the start of a node with advbase 1, advskew 100,
// deadratio 3: T_down = 3.390625 s.
var startedBackup = step{"0s", start, []string{
	"WARNING Switching to state: BACKUP (start)",
	"script down INIT->BACKUP start",
	"arm master-down @3.390625s",
}, Backup}

// takeover is what the node of startedBackup does when its dead timer
// expires at 3.390625 s: T_adv = 1.390625 s.
var takeover = step{"3.390625s", TimerEvent(TimerMasterDown), []string{
	"WARNING Switching to state: MASTER (master-down)",
	"script up BACKUP->MASTER master-down",
	"announce",
	"send 1/100 #1000",
	"arm advert @4.78125s",
}, Master}

func TestStart(t *testing.T) {
	t.Run("down script at start", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{startedBackup})
	})
	t.Run("neutral: no down script at start", func(t *testing.T) {
		run(t, newTestMachine(t, func(c *Config) { c.Neutral = true }), []step{
			{"0s", start, []string{"WARNING Switching to state: BACKUP (start)", "arm master-down @3.390625s"}, Backup},
		})
	})
	t.Run("start twice", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{startedBackup, {"1s", start, nil, Backup}})
	})
	t.Run("dead time without skew is advbase*deadratio", func(t *testing.T) {
		run(t, newTestMachine(t, func(c *Config) { c.AdvSkew = 0; c.DeadRatio = 5; c.AdvBase = 2 }), []step{
			{"0s", start, []string{"WARNING Switching to state: BACKUP (start)", "script down INIT->BACKUP start",
				"arm master-down @10s"}, Backup},
		})
	})
	t.Run("sub-second: -b 0 -k 64", func(t *testing.T) {
		run(t, newTestMachine(t, func(c *Config) { c.AdvBase = 0; c.AdvSkew = 64 }), []step{
			{"0s", start, []string{"WARNING Switching to state: BACKUP (start)", "script down INIT->BACKUP start",
				"arm master-down @250ms"}, Backup},
			{"250ms", TimerEvent(TimerMasterDown), []string{"WARNING Switching to state: MASTER (master-down)",
				"script up BACKUP->MASTER master-down", "announce", "send 0/64 #1000", "arm advert @500ms"}, Master},
		})
	})
}

func TestDeadTimer(t *testing.T) {
	t.Run("takeover at exactly T_down", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{
			startedBackup,
			{"3.390624s", TimerEvent(TimerMasterDown), nil, Backup}, // 1 µs early: nothing
			takeover,
		})
	})
	t.Run("advert re-arms the dead timer; the stale one is ignored", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{
			startedBackup,
			{"1s", advert("198.51.100.12", 1, 0, 7), []string{"arm master-down @4.390625s"}, Backup},
			{"3.390625s", TimerEvent(TimerMasterDown), nil, Backup},
			{"4.390625s", TimerEvent(TimerMasterDown), []string{
				"WARNING Switching to state: MASTER (master-down)",
				"script up BACKUP->MASTER master-down", "announce",
				"send 1/100 #8", // the counter heard, plus one
				"arm advert @5.78125s"}, Master},
		})
	})
	t.Run("delayed gratuitous ARP two adverts after takeover", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{
			startedBackup, takeover,
			{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/100 #1001", "arm advert @6.171875s"}, Master},
			{"6.171875s", TimerEvent(TimerAdvert), []string{"send 1/100 #1002", "announce", "arm advert @7.5625s"}, Master},
			{"7.5625s", TimerEvent(TimerAdvert), []string{"send 1/100 #1003", "arm advert @8.953125s"}, Master},
		})
	})
	t.Run("timer of an unknown kind is ignored", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{startedBackup, {"9s", TimerEvent(NumTimers), nil, Backup}})
	})
}

func TestBackupHearsAdvert(t *testing.T) {
	preempt := func(c *Config) { c.Preempt = true; c.AdvSkew = 0 }
	tests := []struct {
		name   string
		config func(c *Config)
		ev     Event
		want   []string
		state  State
	}{
		{"slower master without -P: wait", func(c *Config) { c.AdvSkew = 0 },
			advert("198.51.100.12", 1, 100, 5), []string{"arm master-down @4s"}, Backup},
		{"slower master with -P: preempt", preempt, advert("198.51.100.12", 1, 100, 5), []string{
			"stop master-down", "WARNING Switching to state: MASTER (preempt)", "script up BACKUP->MASTER preempt", "announce",
			"send 1/0 #6", "arm advert @2s", "WARNING Putting MASTER down - preemption"}, Master},
		{"equal master with -P: strictly slower only", preempt, advert("198.51.100.12", 1, 0, 5),
			[]string{"arm master-down @4s"}, Backup},
		{"faster master with -P: wait", func(c *Config) { c.Preempt = true; c.AdvSkew = 50 },
			advert("198.51.100.12", 1, 10, 5), []string{"arm master-down @4.195312s"}, Backup},
		{"bow-out advert: going to time out, without -P", nil, advert("198.51.100.12", 255, 255, 5), []string{
			"stop master-down", "WARNING Switching to state: MASTER (master-timing-out)", "script up BACKUP->MASTER master-timing-out",
			"announce", "send 1/100 #6", "arm advert @2.390625s", "WARNING Putting MASTER DOWN (going to time out)"}, Master},
		{"remote interval equal to advbase*deadratio: wait", func(c *Config) { c.AdvSkew = 0 },
			advert("198.51.100.12", 3, 0, 5), []string{"arm master-down @4s"}, Backup},
		{"remote interval 1/256 s above advbase*deadratio: time out", func(c *Config) { c.AdvSkew = 0 },
			advert("198.51.100.12", 3, 1, 5), []string{
				"stop master-down", "WARNING Switching to state: MASTER (master-timing-out)", "script up BACKUP->MASTER master-timing-out",
				"announce", "send 1/0 #6", "arm advert @2s", "WARNING Putting MASTER DOWN (going to time out)"}, Master},
		{"time-out rule uses the local skew", nil, // local (3 s, 100/256) vs remote (3 s, 99/256)
			advert("198.51.100.12", 3, 99, 5), []string{"arm master-down @4.390625s"}, Backup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMachine(t, tt.config)
			m.Handle(at("0s"), start, nil)
			run(t, m, []step{{"1s", tt.ev, tt.want, tt.state}})
		})
	}
}

func TestMasterHearsAdvert(t *testing.T) {
	master := func(t *testing.T, src string, skew uint8) *Machine {
		m := newTestMachine(t, func(c *Config) { c.Src = netip.MustParseAddr(src); c.AdvSkew = skew })
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil)
		if m.State() != Master {
			t.Fatal("not master")
		}
		return m
	}
	stepDown := func(counter int) []string {
		return []string{
			fmt.Sprintf("send 1/100 #%d", counter),
			"WARNING Switching to state: BACKUP (preferred-master)",
			"script down MASTER->BACKUP preferred-master",
			"stop advert",
			"arm master-down @7.390625s",
			"WARNING Preferred master advertised: going back to BACKUP state",
		}
	}
	reassert := []string{"announce", "send 1/100 #51", "WARNING Non-preferred master advertising: reasserting control of VIP with another gratuitous arp"}

	t.Run("faster master: one more advert, then BACKUP", func(t *testing.T) {
		run(t, master(t, "198.51.100.11", 100), []step{{"4s", advert("198.51.100.12", 1, 0, 50), stepDown(51), Backup}})
	})
	t.Run("slower master: reassert with a gratuitous ARP, again two adverts later", func(t *testing.T) {
		run(t, master(t, "198.51.100.11", 100), []step{
			{"4s", advert("198.51.100.12", 1, 200, 50), reassert, Master},
			{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/100 #52", "arm advert @6.171875s"}, Master},
			{"6.171875s", TimerEvent(TimerAdvert), []string{"send 1/100 #53", "announce", "arm advert @7.5625s"}, Master},
		})
	})
	// Equal intervals: the lower address wins, as ucarp compares it on x86,
	// i.e. with the last octet most significant.
	t.Run("tie, peer address lower: step down", func(t *testing.T) {
		run(t, master(t, "198.51.100.12", 100), []step{{"4s", advert("198.51.100.11", 1, 100, 50), stepDown(51), Backup}})
	})
	t.Run("tie, peer address higher: reassert", func(t *testing.T) {
		run(t, master(t, "198.51.100.11", 100), []step{{"4s", advert("198.51.100.12", 1, 100, 50), reassert, Master}})
	})
	t.Run("tie across subnets: little-endian order, not numeric", func(t *testing.T) {
		// Observed with the real ucarp: 10.1.0.1 stays MASTER, 10.0.0.2 steps down.
		run(t, master(t, "10.0.0.2", 100), []step{{"4s", advert("10.1.0.1", 1, 100, 50), stepDown(51), Backup}})
		run(t, master(t, "10.1.0.1", 100), []step{{"4s", advert("10.0.0.2", 1, 100, 50), reassert, Master}})
	})
}

func TestSendErrorSuppression(t *testing.T) {
	fail, ok := SendResultEvent(true), SendResultEvent(false)
	m := newTestMachine(t, nil)
	run(t, m, []step{
		startedBackup, takeover,
		{"3.390625s", fail, nil, Master},
		{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/100 #1001", "arm advert @6.171875s"}, Master},
		{"4.78125s", fail, nil, Master},
		{"6.171875s", TimerEvent(TimerAdvert), []string{"send 1/100 #1002", "announce", "arm advert @7.5625s"}, Master},
		// The third error in a row: suppression, and an advert at once
		// with advskew 240 and the longer interval 1 + 240/256 s.
		{"6.171875s", fail, []string{"ERROR write() error #0/3", "send 1/240 #1003", "arm advert @8.109375s"}, Master},
		{"6.171875s", ok, nil, Master},
		{"8.109375s", TimerEvent(TimerAdvert), []string{"send 1/240 #1004", "arm advert @10.046875s"}, Master},
		{"8.109375s", ok, nil, Master},
		{"10.046875s", TimerEvent(TimerAdvert), []string{"send 1/240 #1005", "arm advert @11.984375s"}, Master},
		// Three successes in a row end it.
		{"10.046875s", ok, []string{"INFO Adverts are sent again: send-error suppression over"}, Master},
		{"11.984375s", TimerEvent(TimerAdvert), []string{"send 1/100 #1006", "arm advert @13.375s"}, Master},
	})
	if m.suppress > 0 {
		t.Fatal("still suppressed")
	}

	t.Run("suppressed master yields to a peer it would beat", func(t *testing.T) {
		m := newTestMachine(t, func(c *Config) { c.AdvSkew = 0 })
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3s"), TimerEvent(TimerMasterDown), nil)
		for range 3 {
			m.Handle(at("3s"), fail, nil)
		}
		// Local (1 s, 240/256) is now slower than the peer's (1 s, 100/256).
		got := renderAll(m.Handle(at("3.5s"), advert("198.51.100.12", 1, 100, 9), nil), false)
		if m.State() != Backup || got[0] != "send 1/240 #10" {
			t.Fatalf("state %v, actions %q", m.State(), got)
		}
	})
	t.Run("an advert skew above 240 is kept", func(t *testing.T) {
		m := newTestMachine(t, func(c *Config) { c.AdvSkew = 250 })
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3.9765625s"), TimerEvent(TimerMasterDown), nil)
		m.Handle(at("4s"), fail, nil)
		m.Handle(at("4s"), fail, nil)
		got := renderAll(m.Handle(at("4s"), fail, nil), false)
		if got[1] != "send 1/250 #1001" {
			t.Fatalf("actions %q", got)
		}
	})
	t.Run("send results in BACKUP do not send", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, []step{startedBackup,
			{"1s", fail, nil, Backup}, {"1s", fail, nil, Backup},
			{"1s", fail, []string{"ERROR write() error #0/3"}, Backup}})
	})
}

func TestDemotion(t *testing.T) {
	t.Run("master bows out and holds 3 s", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, []step{
			startedBackup, takeover,
			{"4s", Event{Kind: EventDemote}, []string{
				"send 255/255 #1001",
				"INFO Demoted: leaving MASTER, not contending for the hold time",
				"WARNING Switching to state: BACKUP (demote)",
				"script down MASTER->BACKUP demote",
				"stop advert",
				"arm hold @7s"}, Backup},
			// The new master's adverts are heard but re-arm nothing.
			{"5s", advert("198.51.100.12", 1, 200, 70), nil, Backup},
			{"7s", TimerEvent(TimerHold), []string{"INFO Demotion over: contending again", "arm master-down @10.390625s"}, Backup},
			{"10.390625s", TimerEvent(TimerMasterDown), []string{
				"WARNING Switching to state: MASTER (master-down)", "script up BACKUP->MASTER master-down", "announce",
				"send 1/100 #71", "arm advert @11.78125s"}, Master},
		})
	})
	t.Run("no bow-out while the address stays", func(t *testing.T) {
		m := newTestMachine(t, func(c *Config) { c.DownScript = false })
		run(t, m, []step{startedBackup, takeover,
			{"4s", Event{Kind: EventDemote}, []string{
				"INFO Demoted: leaving MASTER, not contending for the hold time",
				"WARNING Switching to state: BACKUP (demote)", "script down MASTER->BACKUP demote",
				"stop advert", "arm hold @7s"}, Backup}})
	})
	t.Run("backup ignores it", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{startedBackup, {"1s", Event{Kind: EventDemote}, nil, Backup}})
	})
	t.Run("preempting master returns after the hold", func(t *testing.T) {
		m := newTestMachine(t, func(c *Config) { c.Preempt = true; c.AdvSkew = 0 })
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3s"), TimerEvent(TimerMasterDown), nil)
		m.Handle(at("3.5s"), Event{Kind: EventDemote}, nil)
		m.Handle(at("4s"), advert("198.51.100.12", 1, 100, 9), nil)
		if m.State() != Backup {
			t.Fatal("preempted during the hold")
		}
		m.Handle(at("6.5s"), TimerEvent(TimerHold), nil)
		m.Handle(at("7s"), advert("198.51.100.12", 1, 100, 11), nil)
		if m.State() != Master {
			t.Fatal("did not preempt after the hold")
		}
	})
}

func TestRelease(t *testing.T) {
	tests := []struct {
		name    string
		config  func(c *Config)
		runDown bool
		want    []string
	}{
		{"-z with a down script: bow-out, then the script", nil, true, []string{
			"send 255/255 #1001", "script down MASTER->INIT shutdown", "stop advert"}},
		{"no -z, scripts own the address: it stays, no bow-out", nil, false, []string{"stop advert"}},
		{"-z without a down script: the address stays, no bow-out", func(c *Config) { c.DownScript = false }, true,
			[]string{"script down MASTER->INIT shutdown", "stop advert"}},
		{"no -z, daemon owns the address: bow-out and removal", func(c *Config) { c.ManageVIP = true; c.DownScript = false }, false,
			[]string{"send 255/255 #1001", "remove-vip", "stop advert"}},
		{"-z, daemon owns the address: removal after the down script", func(c *Config) { c.ManageVIP = true }, true,
			[]string{"send 255/255 #1001", "script down MASTER->INIT shutdown", "remove-vip", "stop advert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMachine(t, tt.config)
			m.Handle(at("0s"), start, nil)
			m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil)
			got := renderAll(m.Handle(at("4s"), ReleaseEvent(tt.runDown), nil), false)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if m.State() != Init {
				t.Fatalf("state %v", m.State())
			}
			for tm := range NumTimers {
				if !m.timers[tm].IsZero() {
					t.Fatalf("timer %v still armed", tm)
				}
			}
		})
	}
	t.Run("backup: nothing to release", func(t *testing.T) {
		run(t, newTestMachine(t, nil), []step{startedBackup, {"1s", ReleaseEvent(true), []string{"stop master-down"}, Init}})
	})
}

func TestCarrier(t *testing.T) {
	down, up := Event{Kind: EventLinkDown}, Event{Kind: EventLinkUp}
	m := newTestMachine(t, nil)
	run(t, m, []step{
		startedBackup, takeover,
		{"4s", down, []string{
			"WARNING Carrier lost: leaving the election until it is back",
			"WARNING Switching to state: BACKUP (carrier-lost)",
			"script down MASTER->BACKUP carrier-lost",
			"stop advert"}, Backup},
		{"4.1s", down, nil, Backup},
		{"5s", advert("198.51.100.12", 1, 0, 3), nil, Backup}, // deaf without a carrier
		{"6s", Event{Kind: EventDemote}, nil, Backup},
		{"14s", up, []string{"INFO Carrier back: starting a new election", "arm master-down @17.390625s"}, Backup},
		{"14.5s", up, nil, Backup},
	})
	t.Run("carrier lost before start", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, []step{
			{"0s", down, []string{"WARNING Carrier lost: leaving the election until it is back"}, Init},
			{"0s", start, []string{"WARNING Switching to state: BACKUP (start)", "script down INIT->BACKUP start"}, Backup},
			{"2s", up, []string{"INFO Carrier back: starting a new election", "arm master-down @5.390625s"}, Backup},
		})
	})
}

func TestManagedVIP(t *testing.T) {
	m := newTestMachine(t, func(c *Config) { c.ManageVIP = true })
	run(t, m, []step{
		startedBackup,
		{"3.390625s", TimerEvent(TimerMasterDown), []string{
			"WARNING Switching to state: MASTER (master-down)",
			"add-vip", // before the up script
			"script up BACKUP->MASTER master-down",
			"announce",
			"send 1/100 #1000",
			"arm advert @4.78125s"}, Master},
		{"4s", advert("198.51.100.12", 1, 0, 50), []string{
			"send 1/100 #51",
			"WARNING Switching to state: BACKUP (preferred-master)",
			"script down MASTER->BACKUP preferred-master",
			"remove-vip", // after the down script
			"stop advert",
			"arm master-down @7.390625s",
			"WARNING Preferred master advertised: going back to BACKUP state"}, Backup},
	})
}

func TestDebugIntervalsLine(t *testing.T) {
	m := newTestMachine(t, nil)
	m.Handle(at("0s"), start, nil)
	got := renderAll(m.Handle(at("1s"), advert("198.51.100.12", 2, 0, 1), nil), true)
	if got[0] != "DEBUG sc_tv(local) = [1] ch_tv(remote) = [2]" {
		t.Fatalf("%q", got)
	}
}

func TestNewMachineErrors(t *testing.T) {
	for name, edit := range map[string]func(c *Config){
		"vhid 0":         func(c *Config) { c.VHID = 0 },
		"no time base":   func(c *Config) { c.AdvBase, c.AdvSkew = 0, 0 },
		"dead ratio 0":   func(c *Config) { c.DeadRatio = 0 },
		"IPv6 source":    func(c *Config) { c.Src = netip.MustParseAddr("2001:db8::1") },
		"no random":      func(c *Config) { c.Random = nil },
		"invalid source": func(c *Config) { c.Src = netip.Addr{} },
	} {
		c := Config{VHID: 1, AdvBase: 1, DeadRatio: 3, Src: testSelf, Random: sequence()}
		edit(&c)
		if _, err := NewMachine(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestIntervals(t *testing.T) {
	tests := []struct {
		got, want time.Duration
	}{
		{AdvertInterval(1, 0), time.Second},
		{AdvertInterval(1, 100), 1390625 * time.Microsecond},
		{AdvertInterval(0, 64), 250 * time.Millisecond},
		{AdvertInterval(0, 1), 3906 * time.Microsecond}, // 1000000/256 rounded down
		{AdvertInterval(255, 255), 255*time.Second + 996093*time.Microsecond},
		{DeadInterval(1, 3, 100), 3390625 * time.Microsecond},
		{DeadInterval(2, 3, 0), 6 * time.Second},
		{DeadInterval(255, ^uint32(0), 255), maxInterval},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: %v, want %v", i, tt.got, tt.want)
		}
	}
}

// settings is a Config without its Random, which cannot be compared.
func settings(c Config) string {
	c.Random = nil
	return fmt.Sprintf("%+v", c)
}

func TestReconfigure(t *testing.T) {
	master := []step{startedBackup, takeover} // last advert sent at 3.390625s, next due at 4.78125s
	heard := []step{startedBackup,            // last advert heard at 1s, dead timer at 4.390625s
		{"1s", advert("198.51.100.12", 1, 0, 7), []string{"arm master-down @4.390625s"}, Backup}}
	demoted := append(slices.Clone(master), step{"4s", Event{Kind: EventDemote}, []string{
		"send 255/255 #1001", "INFO Demoted: leaving MASTER, not contending for the hold time",
		"WARNING Switching to state: BACKUP (demote)", "script down MASTER->BACKUP demote",
		"stop advert", "arm hold @7s"}, Backup})

	tests := []struct {
		name   string
		config func(c *Config) // the machine's first configuration
		before []step
		at     string
		edit   func(c *Config) // the change to its configuration
		want   []string
		err    error // ErrIdentity, or errAnyConfig for a validation error
		after  []step
	}{
		// Nothing changed: nothing happens, and the schedule goes on.
		{name: "unchanged master: no action, next advert on time", before: master, at: "4s",
			after: []step{{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/100 #1001", "arm advert @6.171875s"}, Master}}},
		{name: "unchanged backup: no action, dead timer on time", before: heard, at: "2s",
			after: []step{{"4.390625s", TimerEvent(TimerMasterDown), []string{
				"WARNING Switching to state: MASTER (master-down)", "script up BACKUP->MASTER master-down", "announce",
				"send 1/100 #8", "arm advert @5.78125s"}, Master}}},
		{name: "unchanged master with an overdue advert timer: left alone", before: master, at: "5s"},
		{name: "DemoteHold 0 is the default: unchanged", before: demoted, at: "5s",
			edit: func(c *Config) { c.DemoteHold = 0 }},
		{name: "nil Random: the machine keeps its own", config: func(c *Config) { c.AdvSkew = 0 },
			before: []step{{"0s", start, []string{"WARNING Switching to state: BACKUP (start)",
				"script down INIT->BACKUP start", "arm master-down @3s"}, Backup}},
			at: "1s", edit: func(c *Config) { c.Random = nil; c.AdvSkew = 100 }, want: []string{"arm master-down @3.390625s"},
			after: []step{takeover}},

		// MASTER.
		{name: "master, faster: next advert from the last one sent", before: master, at: "4s",
			edit: func(c *Config) { c.AdvSkew = 0 }, want: []string{"arm advert @4.390625s"},
			after: []step{{"4.390625s", TimerEvent(TimerAdvert), []string{"send 1/0 #1001", "arm advert @5.390625s"}, Master}}},
		{name: "master, faster and already due: advert now", before: master, at: "4.5s",
			edit: func(c *Config) { c.AdvSkew = 0 }, want: []string{"arm advert @4.5s"},
			after: []step{{"4.5s", TimerEvent(TimerAdvert), []string{"send 1/0 #1001", "arm advert @5.5s"}, Master}}},
		{name: "master, advbase lowered: advert now", before: master, at: "4s",
			edit: func(c *Config) { c.AdvBase = 0 }, want: []string{"arm advert @4s"}},
		{name: "master, slower: old deadline kept, that advert carries the new skew", before: master, at: "4s",
			edit:  func(c *Config) { c.AdvSkew = 200 },
			after: []step{{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/200 #1001", "arm advert @6.5625s"}, Master}}},
		{name: "master, advbase raised: old deadline kept", before: master, at: "4s",
			edit:  func(c *Config) { c.AdvBase = 3 },
			after: []step{{"4.78125s", TimerEvent(TimerAdvert), []string{"send 3/100 #1001", "arm advert @8.171875s"}, Master}}},
		{name: "master, dead ratio changed: no action", before: master, at: "4s",
			edit: func(c *Config) { c.DeadRatio = 10 }},
		{name: "master, now outranked: steps down at the peer's next advert", before: master, at: "4s",
			edit: func(c *Config) { c.AdvSkew = 200 },
			after: []step{{"4.5s", advert("198.51.100.12", 1, 150, 40), []string{
				"send 1/200 #41", "WARNING Switching to state: BACKUP (preferred-master)",
				"script down MASTER->BACKUP preferred-master", "stop advert", "arm master-down @8.28125s",
				"WARNING Preferred master advertised: going back to BACKUP state"}, Backup}}},
		{name: "master, send errors suppress: advertised skew stays 240", before: append(slices.Clone(master),
			step{"4s", SendResultEvent(true), nil, Master}, step{"4s", SendResultEvent(true), nil, Master},
			step{"4s", SendResultEvent(true), []string{"ERROR write() error #0/3", "send 1/240 #1001", "arm advert @5.9375s"}, Master}),
			at: "4.5s", edit: func(c *Config) { c.AdvSkew = 50 }},
		{name: "master, send-error suppression over, unchanged: the 240-skew deadline stays", before: append(slices.Clone(master),
			step{"4s", SendResultEvent(true), nil, Master}, step{"4s", SendResultEvent(true), nil, Master},
			step{"4s", SendResultEvent(true), []string{"ERROR write() error #0/3", "send 1/240 #1001", "arm advert @5.9375s"}, Master},
			step{"4s", SendResultEvent(false), nil, Master}, step{"4s", SendResultEvent(false), nil, Master},
			step{"4s", SendResultEvent(false), []string{"INFO Adverts are sent again: send-error suppression over"}, Master}),
			at:    "4.5s",
			after: []step{{"5.9375s", TimerEvent(TimerAdvert), []string{"send 1/100 #1002", "announce", "arm advert @7.328125s"}, Master}}},

		// BACKUP.
		{name: "backup, shorter dead interval: from the last advert heard", before: heard, at: "2s",
			edit: func(c *Config) { c.DeadRatio = 2 }, want: []string{"arm master-down @3.390625s"}},
		{name: "backup, dead interval already over: master-down now", before: heard, at: "3s",
			edit: func(c *Config) { c.DeadRatio = 1 }, want: []string{"arm master-down @3s"},
			after: []step{{"3s", TimerEvent(TimerMasterDown), []string{
				"WARNING Switching to state: MASTER (master-down)", "script up BACKUP->MASTER master-down", "announce",
				"send 1/100 #8", "arm advert @4.390625s"}, Master}}},
		{name: "backup, longer dead interval: the old deadline does not fire", before: heard, at: "2s",
			edit: func(c *Config) { c.AdvSkew = 200 }, want: []string{"arm master-down @4.78125s"},
			after: []step{
				{"4.390625s", TimerEvent(TimerMasterDown), nil, Backup},
				{"4.78125s", TimerEvent(TimerMasterDown), []string{
					"WARNING Switching to state: MASTER (master-down)", "script up BACKUP->MASTER master-down", "announce",
					"send 1/200 #8", "arm advert @6.5625s"}, Master}}},
		{name: "backup, dead interval from the start", before: []step{startedBackup}, at: "1s",
			edit: func(c *Config) { c.AdvBase = 2 }, want: []string{"arm master-down @6.390625s"}},
		{name: "backup, preempt turned on: at the next advert heard", config: func(c *Config) { c.AdvSkew = 0 },
			before: []step{{"0s", start, []string{"WARNING Switching to state: BACKUP (start)",
				"script down INIT->BACKUP start", "arm master-down @3s"}, Backup},
				{"1s", advert("198.51.100.12", 1, 100, 7), []string{"arm master-down @4s"}, Backup}},
			at: "2s", edit: func(c *Config) { c.Preempt = true },
			after: []step{{"2.390625s", advert("198.51.100.12", 1, 100, 8), []string{
				"stop master-down", "WARNING Switching to state: MASTER (preempt)", "script up BACKUP->MASTER preempt",
				"announce", "send 1/0 #9", "arm advert @3.390625s", "WARNING Putting MASTER down - preemption"}, Master}}},

		// Flags read at the next transition.
		{name: "manage-vip on, down script off: at the next transition", before: master, at: "4s",
			edit: func(c *Config) { c.ManageVIP = true; c.DownScript = false },
			after: []step{{"4.5s", Event{Kind: EventDemote}, []string{
				"send 255/255 #1001", "INFO Demoted: leaving MASTER, not contending for the hold time",
				"WARNING Switching to state: BACKUP (demote)", "script down MASTER->BACKUP demote", "remove-vip",
				"stop advert", "arm hold @7.5s"}, Backup}}},

		// No timer running: stored.
		{name: "init: stored, used at start", at: "0s", edit: func(c *Config) { c.AdvSkew = 0; c.Neutral = true },
			after: []step{{"1s", start, []string{"WARNING Switching to state: BACKUP (start)", "arm master-down @4s"}, Backup}}},
		{name: "released: stored", before: append(slices.Clone(master), step{"4s", ReleaseEvent(false), []string{"stop advert"}, Init}),
			at: "5s", edit: func(c *Config) { c.AdvSkew = 0 },
			after: []step{{"6s", start, []string{"WARNING Switching to state: BACKUP (start)",
				"script down INIT->BACKUP start", "arm master-down @9s"}, Backup}}},
		{name: "demoted: no dead timer; the hold moves with DemoteHold", before: demoted, at: "5s",
			edit: func(c *Config) { c.AdvSkew = 0; c.DemoteHold = 5 * time.Second }, want: []string{"arm hold @9s"},
			after: []step{{"9s", TimerEvent(TimerHold), []string{"INFO Demotion over: contending again", "arm master-down @12s"}, Backup}}},
		{name: "carrier lost: stored, used when it is back", before: append(slices.Clone(master),
			step{"4s", Event{Kind: EventLinkDown}, []string{"WARNING Carrier lost: leaving the election until it is back",
				"WARNING Switching to state: BACKUP (carrier-lost)", "script down MASTER->BACKUP carrier-lost", "stop advert"}, Backup}),
			at: "5s", edit: func(c *Config) { c.AdvSkew = 0 },
			after: []step{{"10s", Event{Kind: EventLinkUp}, []string{"INFO Carrier back: starting a new election", "arm master-down @13s"}, Backup}}},

		// Refused: the machine is left as it was.
		{name: "vhid changed", before: master, at: "4s", edit: func(c *Config) { c.VHID = 2 }, err: ErrIdentity,
			after: []step{{"4.78125s", TimerEvent(TimerAdvert), []string{"send 1/100 #1001", "arm advert @6.171875s"}, Master}}},
		{name: "source changed", before: heard, at: "2s", edit: func(c *Config) { c.Src = netip.MustParseAddr("198.51.100.99") }, err: ErrIdentity},
		{name: "no time base", before: master, at: "4s", edit: func(c *Config) { c.AdvBase, c.AdvSkew = 0, 0 }, err: errTimeBase},
		{name: "dead ratio 0", before: heard, at: "2s", edit: func(c *Config) { c.DeadRatio = 0 }, err: errDeadRatio},
		{name: "vhid 0", before: heard, at: "2s", edit: func(c *Config) { c.VHID = 0 }, err: errVHID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMachine(t, tt.config)
			run(t, m, tt.before)
			cfg := m.Config()
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			state, timers, armedAt, old := m.State(), m.timers, m.armedAt, m.Config()
			out, err := m.Reconfigure(at(tt.at), cfg, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if got := renderAll(out, true); !slices.Equal(got, tt.want) {
				t.Fatalf("got  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
			if m.State() != state {
				t.Fatalf("state %v -> %v", state, m.State())
			}
			if len(out) == 0 && (m.timers != timers || m.armedAt != armedAt) {
				t.Fatalf("no action, but the timers moved: %v -> %v", timers, m.timers)
			}
			if tt.err != nil && settings(m.Config()) != settings(old) {
				t.Fatalf("refused, but the configuration changed: %s", settings(m.Config()))
			}
			if tt.err == nil && tt.edit != nil {
				want := cfg
				if want.DemoteHold == 0 {
					want.DemoteHold = DefaultDemoteHold
				}
				if settings(m.Config()) != settings(want) {
					t.Fatalf("configuration %s, want %s", settings(m.Config()), settings(want))
				}
			}
			run(t, m, tt.after)
		})
	}
}

// TestReconfigureTwice: a second reload counts from the last advert sent
// or heard, not from a deadline that the first one kept or clamped.
func TestReconfigureTwice(t *testing.T) {
	reload := func(t *testing.T, m *Machine, when string, edit func(c *Config), want ...string) {
		t.Helper()
		c := m.Config()
		edit(&c)
		out, err := m.Reconfigure(at(when), c, nil)
		if got := renderAll(out, true); err != nil || !slices.Equal(got, want) {
			t.Fatalf("reload at %s: %q, %v; want %q", when, got, err, want)
		}
	}
	t.Run("master: slower, then back: the advert stays on time", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, []step{startedBackup, takeover})
		reload(t, m, "4s", func(c *Config) { c.AdvSkew = 200 })
		reload(t, m, "4.1s", func(c *Config) { c.AdvSkew = 100 })
		reload(t, m, "4.2s", func(c *Config) { c.AdvSkew = 50 }, "arm advert @4.585937s")
		run(t, m, []step{{"4.585937s", TimerEvent(TimerAdvert), []string{"send 1/50 #1001", "arm advert @5.781249s"}, Master}})
	})
	t.Run("backup: clamped to now, then longer again", func(t *testing.T) {
		m := newTestMachine(t, nil)
		run(t, m, []step{startedBackup, {"1s", advert("198.51.100.12", 1, 0, 7), []string{"arm master-down @4.390625s"}, Backup}})
		reload(t, m, "3s", func(c *Config) { c.DeadRatio = 1 }, "arm master-down @3s")
		reload(t, m, "3s", func(c *Config) { c.DeadRatio = 3 }, "arm master-down @4.390625s")
		run(t, m, []step{{"3s", TimerEvent(TimerMasterDown), nil, Backup}})
	})
}

// TestAlignedAdvert: the grid point after an advert sent at now. Times
// are from a grid point of every vhid ≡ 0 (mod 16): t0 is a whole second
// from the Unix epoch, and so a multiple of a 1 s interval.
func TestAlignedAdvert(t *testing.T) {
	const s = time.Second
	skewed := AdvertInterval(1, 100) // 1.390625 s
	epoch := time.Unix(0, 0)
	for _, tt := range []struct {
		name string
		now  time.Time
		d    time.Duration
		vhid uint8
		want time.Time
	}{
		{"on time: one interval", at("0s"), s, 16, at("1s")},
		{"late: the grid, not now+d", at("0.3s"), s, 16, at("1s")},
		{"nearly half an interval late", at("0.499s"), s, 32, at("1s")},
		{"past half: the next point but one", at("0.5s"), s, 0, at("2s")},
		{"early: the grid", at("-0.2s"), s, 0, at("1s")},
		{"vhid 1: a sixteenth later", at("0.0625s"), s, 1, at("1.0625s")},
		{"vhid 17 as vhid 1", at("0.0625s"), s, 17, at("1.0625s")},
		{"vhid 15", at("0s"), s, 15, at("0.9375s")},
		{"a takeover just after a point: about d", at("0.01s"), s, 0, at("1s")},
		{"a takeover just before half: d/2 later", at("0.49s"), s, 0, at("1s")},
		{"an interval with advskew", epoch.Add(5 * skewed), skewed, 0, epoch.Add(6 * skewed)},
		{"an interval with advskew, late", epoch.Add(5*skewed + 100*time.Millisecond), skewed, 0, epoch.Add(6 * skewed)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := alignedAdvert(tt.now, tt.d, tt.vhid)
			if !got.Equal(tt.want) {
				t.Errorf("alignedAdvert(%v, %v, %d) = %v, want %v", tt.now.Sub(t0), tt.d, tt.vhid, got.Sub(t0), tt.want.Sub(t0))
			}
			if gap := got.Sub(tt.now); gap < tt.d/2 || gap > 3*tt.d/2 {
				t.Errorf("gap %v outside [d/2, 3d/2]", gap)
			}
		})
	}
	// The monotonic clock is kept: the timer waits got.Sub(now).
	now := time.Now()
	if got := alignedAdvert(now, s, 0); got.Sub(now) <= 0 || got.Sub(now) > 3*s/2 {
		t.Errorf("with a monotonic clock: %v", got.Sub(now))
	}
}

// TestMachineAlignedAdverts: a MASTER with Align sends on the grid
// whatever its timer's lateness, and one without keeps ucarp's interval
// from the last advert (drifting by the lateness).
func TestMachineAlignedAdverts(t *testing.T) {
	for _, align := range []bool{true, false} {
		t.Run(fmt.Sprint("align=", align), func(t *testing.T) {
			m := newTestMachine(t, func(c *Config) { c.Align, c.VHID = align, 16 })
			m.Handle(at("0s"), Event{Kind: EventStart}, nil)
			// No advert heard: MASTER when the dead interval ends.
			var when time.Time
			for _, a := range m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil) {
				if a.Kind == ActionArmTimer && a.Timer == TimerAdvert {
					when = a.At
				}
			}
			if m.State() != Master {
				t.Fatalf("state %v", m.State())
			}
			d := AdvertInterval(1, 100)
			for range 5 {
				prev := when
				late := when.Add(7 * time.Millisecond)
				for _, a := range m.Handle(late, TimerEvent(TimerAdvert), nil) {
					if a.Kind == ActionArmTimer && a.Timer == TimerAdvert {
						when = a.At
					}
				}
				gap := when.Sub(prev)
				switch {
				case align && (gap != d || when.UnixNano()%int64(d) != 0):
					t.Fatalf("aligned advert at %v, %v after the last: want %v, on the grid", when.Sub(t0), gap, d)
				case !align && gap != d+7*time.Millisecond:
					t.Fatalf("advert at %v, %v after the last: want %v plus the lateness", when.Sub(t0), gap, d)
				}
			}
		})
	}
}
