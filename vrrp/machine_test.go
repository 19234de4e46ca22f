package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

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
		return fmt.Sprintf("send %d/%d", a.Priority, a.Interval)
	case ActionTransition:
		return fmt.Sprintf("%v->%v %v", a.From, a.To, a.Reason)
	case ActionAnnounce:
		return "announce"
	case ActionArmTimer:
		return fmt.Sprintf("arm %v +%v", a.Timer, a.At.Sub(t0))
	case ActionStopTimer:
		return fmt.Sprintf("stop %v", a.Timer)
	}
	return fmt.Sprintf("%v?", a.Kind)
}

var (
	self4 = netip.MustParseAddr("198.51.100.10")
	low4  = netip.MustParseAddr("198.51.100.9")
	high4 = netip.MustParseAddr("198.51.100.11")
	self6 = netip.MustParseAddr("2001:db8::10")
	high6 = netip.MustParseAddr("2001:db8::11")
	low6  = netip.MustParseAddr("2001:db8::f")
)

func adv(src netip.Addr, prio uint8, interval uint16) Event {
	return AdvertEvent(src, &Advert{Priority: prio, MaxAdvertInterval: interval})
}

type step struct {
	at   string
	ev   Event
	want []string
	// state is the state after the step; checked when set.
	state *State
}

func in(s State) *State { return &s }

// anything is the want of a step whose actions are not checked: a step
// that only leads to the ones under test.
var anything = []string{"..."}

var (
	start    = Event{Kind: EventStartup}
	shutdown = Event{Kind: EventShutdown}
	down     = TimerEvent(TimerMasterDown)
	adver    = TimerEvent(TimerAdver)
)

// TestMachine runs the timing rules of RFC 9568 §6 on a simulated clock.
// Unless a case says otherwise the router has priority 100, interval 100
// cs (1 s) and address 198.51.100.10: Skew_Time is 156/256 s = 609.375 ms
// and Master_Down_Interval 3.609375 s.
func TestMachine(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{
			name: "startup-backup-then-master-down",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, in(Backup)},
				{"3.609374999s", down, nil, in(Backup)}, // early: the caller's timer fired a bit soon
				{"3.609375s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +4.609375s", "announce"}, in(Master)},
				{"4.609375s", adver, []string{"send 100/100", "arm adver +5.609375s"}, in(Master)},
				{"5.7s", adver, []string{"send 100/100", "arm adver +6.7s"}, in(Master)},
			},
		},
		{
			name: "owner-starts-master-at-once",
			cfg:  Config{Priority: 255, Interval: 250},
			steps: []step{
				{"0s", start, []string{"INIT->MASTER owner", "send 255/250", "arm adver +2.5s", "announce"}, in(Master)},
				{"2.5s", adver, []string{"send 255/250", "arm adver +5s"}, nil},
				{"3s", start, nil, in(Master)}, // once started, startup is ignored
			},
		},
		{
			name: "backup-learns-master-adver-interval",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				// 3 * 2.5 s + 156 * 2.5 s / 256 = 7.5 s + 1.5234375 s
				{"1s", adv(high4, 200, 250), []string{"arm master-down +10.0234375s"}, in(Backup)},
				{"3.5s", adv(high4, 200, 250), []string{"arm master-down +12.5234375s"}, nil},
				// Back to a faster master: 3 * 0.5 s + 156 * 0.5 s / 256.
				{"4s", adv(high4, 200, 50), []string{"arm master-down +5.8046875s"}, nil},
				{"5.8046875s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +6.8046875s", "announce"}, in(Master)},
			},
		},
		{
			name: "preempt-delay-accepts-a-lower-master-for-a-while",
			cfg:  Config{PreemptDelay: 5 * time.Second},
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				// Within the delay a master of lower priority is accepted
				// (its interval learned, the timer re-armed)...
				{"1s", adv(low4, 50, 100), []string{"arm master-down +4.609375s"}, in(Backup)},
				{"4.9s", adv(low4, 50, 100), []string{"arm master-down +8.509375s"}, in(Backup)},
				// ...after it, its adverts are discarded and the timer runs out.
				{"5s", adv(low4, 50, 100), nil, in(Backup)},
				{"8.509375s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +9.509375s", "announce"}, in(Master)},
			},
		},
		{
			name: "skew-depends-on-priority",
			cfg:  Config{Priority: 254},
			steps: []step{
				// 2 * 1 s / 256 = 7.8125 ms.
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.0078125s"}, nil},
			},
		},
		{
			name: "master-leaves-backup-waits-skew-time",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				{"1s", adv(high4, 200, 100), []string{"arm master-down +4.609375s"}, nil},
				{"2s", adv(high4, 0, 100), []string{"arm master-down +2.609375s"}, in(Backup)},
				{"2.609375s", down, []string{"BACKUP->MASTER master-left", "send 100/100", "arm adver +3.609375s", "announce"}, in(Master)},
			},
		},
		{
			name: "master-leaves-skew-of-learned-interval",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				{"1s", adv(high4, 200, 400), []string{"arm master-down +15.4375s"}, nil},
				// Skew_Time = 156 * 4 s / 256 = 2.4375 s; the leaving advert's
				// own interval is not used.
				{"2s", adv(high4, 0, 1), []string{"arm master-down +4.4375s"}, nil},
				// An advert from the new master puts the whole interval back.
				{"3s", adv(high4, 150, 100), []string{"arm master-down +6.609375s"}, nil},
				{"6.609375s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +7.609375s", "announce"}, nil},
			},
		},
		{
			name: "preempt-lower-priority-master-ignored-then-taken-over",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				{"1s", adv(high4, 50, 100), nil, in(Backup)},
				{"2s", adv(high4, 50, 100), nil, in(Backup)},
				{"3.609375s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +4.609375s", "announce"}, in(Master)},
				// The old master's adverts are now of lower priority: ignored.
				{"4s", adv(high4, 50, 100), nil, in(Master)},
			},
		},
		{
			name: "backup-equal-priority-accepted-whatever-the-address",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				{"1s", adv(low4, 100, 100), []string{"arm master-down +4.609375s"}, in(Backup)},
			},
		},
		{
			name: "no-preempt-lower-priority-master-accepted",
			cfg:  Config{NoPreempt: true},
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				{"1s", adv(high4, 50, 200), []string{"arm master-down +8.21875s"}, in(Backup)},
				{"4s", adv(high4, 50, 200), []string{"arm master-down +11.21875s"}, in(Backup)},
			},
		},
		{
			name: "master-steps-down-for-higher-priority",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				{"3.609375s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +4.609375s", "announce"}, nil},
				{"4s", adv(low4, 101, 300), []string{"stop adver", "MASTER->BACKUP higher-priority", "arm master-down +14.828125s"}, in(Backup)},
				{"4.609375s", adver, nil, in(Backup)}, // the stopped timer, delivered anyway
			},
		},
		{
			name: "master-equal-priority-higher-address-wins",
			steps: []step{
				{"0s", start, anything, nil},
				{"3.609375s", down, anything, in(Master)},
				{"4s", adv(low4, 100, 100), nil, in(Master)},
				{"4.1s", adv(self4, 100, 100), nil, in(Master)},
				{"4.2s", adv(high4, 100, 100), []string{"stop adver", "MASTER->BACKUP higher-address", "arm master-down +7.809375s"}, in(Backup)},
			},
		},
		{
			name: "master-ignores-lower-priority",
			steps: []step{
				{"0s", start, anything, nil},
				{"3.609375s", down, anything, in(Master)},
				{"4s", adv(high4, 99, 100), nil, in(Master)},
				{"4.1s", adv(high4, 1, 1), nil, in(Master)},
			},
		},
		{
			name: "master-answers-another-masters-leaving",
			steps: []step{
				{"0s", start, anything, nil},
				{"3.609375s", down, anything, in(Master)},
				{"4s", adv(high4, 0, 100), []string{"send 100/100", "arm adver +5s"}, in(Master)},
				{"4.609375s", adver, nil, in(Master)}, // superseded
				{"5s", adver, []string{"send 100/100", "arm adver +6s"}, nil},
			},
		},
		{
			name: "shutdown-master-sends-priority-0",
			steps: []step{
				{"0s", start, anything, nil},
				{"3.609375s", down, anything, in(Master)},
				{"4s", shutdown, []string{"stop adver", "send 0/100", "MASTER->INIT shutdown"}, in(Initialize)},
				{"4.609375s", adver, nil, in(Initialize)},
				{"5s", adv(high4, 200, 100), nil, in(Initialize)},
				{"6s", shutdown, nil, in(Initialize)},
				// Started again: a new election.
				{"7s", start, []string{"INIT->BACKUP startup", "arm master-down +10.609375s"}, in(Backup)},
			},
		},
		{
			name: "restart-forgets-the-old-masters-interval",
			steps: []step{
				{"0s", start, anything, nil},
				{"1s", adv(high4, 200, 400), []string{"arm master-down +15.4375s"}, nil},
				{"2s", shutdown, anything, in(Initialize)},
				{"3s", start, []string{"INIT->BACKUP startup", "arm master-down +6.609375s"}, in(Backup)},
			},
		},
		{
			name: "shutdown-backup",
			steps: []step{
				{"0s", start, anything, nil},
				{"1s", shutdown, []string{"stop master-down", "BACKUP->INIT shutdown"}, in(Initialize)},
				{"3.609375s", down, nil, in(Initialize)},
			},
		},
		{
			name: "shutdown-owner",
			cfg:  Config{Priority: 255},
			steps: []step{
				{"0s", start, anything, in(Master)},
				{"1s", shutdown, []string{"stop adver", "send 0/100", "MASTER->INIT shutdown"}, in(Initialize)},
			},
		},
		{
			name: "priority-change-moves-the-master-down-timer",
			steps: []step{
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +3.609375s"}, nil},
				// From the start: 3 s + 56/256 s.
				{"1s", PriorityEvent(200), []string{"arm master-down +3.21875s"}, nil},
				// 3 s + 206/256 s.
				{"2s", PriorityEvent(50), []string{"arm master-down +3.8046875s"}, nil},
				{"2.5s", PriorityEvent(50), nil, nil},
				// Not allowed: 0 and 255.
				{"2.6s", PriorityEvent(0), nil, nil},
				{"2.7s", PriorityEvent(255), nil, nil},
				// A lower priority makes adverts of priority 100 acceptable.
				{"3s", adv(high4, 100, 100), []string{"arm master-down +6.8046875s"}, nil},
				{"6.8046875s", down, []string{"BACKUP->MASTER master-down", "send 50/100", "arm adver +7.8046875s", "announce"}, nil},
				// A MASTER's next advert carries the new priority.
				{"7s", PriorityEvent(60), nil, nil},
				{"7.8046875s", adver, []string{"send 60/100", "arm adver +8.8046875s"}, nil},
				// And it steps down for the priority it now has.
				{"8s", adv(low4, 61, 100), []string{"stop adver", "MASTER->BACKUP higher-priority", "arm master-down +11.765625s"}, nil},
			},
		},
		{
			name: "priority-change-timer-already-past-fires-now",
			steps: []step{
				{"0s", start, anything, nil},
				{"3.5s", PriorityEvent(254), []string{"arm master-down +3.5s"}, nil},
				{"3.5s", down, []string{"BACKUP->MASTER master-down", "send 254/100", "arm adver +4.5s", "announce"}, nil},
			},
		},
		{
			name: "priority-change-keeps-skew-time-after-leaving",
			steps: []step{
				{"0s", start, anything, nil},
				{"1s", adv(high4, 0, 100), []string{"arm master-down +1.609375s"}, nil},
				// Skew_Time only, for the new priority: 56/256 s.
				{"1.1s", PriorityEvent(200), []string{"arm master-down +1.21875s"}, nil},
				{"1.21875s", down, []string{"BACKUP->MASTER master-left", "send 200/100", "arm adver +2.21875s", "announce"}, nil},
			},
		},
		{
			name: "owner-priority-does-not-change",
			cfg:  Config{Priority: 255},
			steps: []step{
				{"0s", start, anything, nil},
				{"1s", PriorityEvent(10), nil, nil},
				{"1s", adver, []string{"send 255/100", "arm adver +2s"}, nil},
			},
		},
		{
			name: "priority-change-before-startup",
			steps: []step{
				{"0s", PriorityEvent(200), nil, in(Initialize)},
				{"1s", start, []string{"INIT->BACKUP startup", "arm master-down +4.21875s"}, nil},
			},
		},
		{
			name: "ipv6-tie-break",
			cfg:  Config{Src: self6},
			steps: []step{
				{"0s", start, anything, nil},
				{"3.609375s", down, anything, in(Master)},
				{"4s", adv(low6, 100, 100), nil, in(Master)},
				{"4s", adv(high4, 200, 100), nil, in(Master)}, // other family
				{"4.1s", adv(high6, 100, 100), []string{"stop adver", "MASTER->BACKUP higher-address", "arm master-down +7.709375s"}, in(Backup)},
			},
		},
		{
			name: "ignored-adverts",
			steps: []step{
				{"0s", adv(high4, 200, 100), nil, in(Initialize)},
				{"0s", start, anything, nil},
				{"1s", adv(high4, 200, 0), nil, nil},
				{"1s", adv(netip.Addr{}, 200, 100), nil, nil},
				{"1s", adv(high6, 200, 100), nil, nil},
				{"1s", adv(netip.AddrFrom16(high4.As16()), 200, 100), nil, nil},
				{"1s", Event{Kind: EventKind(99)}, nil, nil},
				{"1s", Event{}, nil, nil},
				{"1s", TimerEvent(NumTimers), nil, nil},
				{"3.609375s", down, []string{"BACKUP->MASTER master-down", "send 100/100", "arm adver +4.609375s", "announce"}, nil},
			},
		},
		{
			name: "slowest-and-fastest-intervals",
			cfg:  Config{Priority: 1, Interval: 4095},
			steps: []step{
				// 3 * 40.95 s + 255 * 40.95 s / 256, which ends in half a
				// nanosecond: truncated.
				{"0s", start, []string{"INIT->BACKUP startup", "arm master-down +2m43.640039062s"}, nil},
				// 3 * 10 ms + 255 * 10 ms / 256, truncated the same way.
				{"1s", adv(high4, 2, 1), []string{"arm master-down +1.039960937s"}, nil},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.VRID = 1
			if !cfg.Src.IsValid() {
				cfg.Src = self4
			}
			m, err := NewMachine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var out []Action
			for i, s := range tt.steps {
				out = m.Handle(at(s.at), s.ev, out[:0])
				var got []string
				for _, a := range out {
					got = append(got, render(a))
				}
				if !slices.Equal(s.want, anything) && !slices.Equal(got, s.want) {
					t.Errorf("step %d (%s %v):\n got %s\nwant %s", i, s.at, s.ev.Kind,
						strings.Join(got, ", "), strings.Join(s.want, ", "))
				}
				if s.state != nil && m.State() != *s.state {
					t.Errorf("step %d: state %v, want %v", i, m.State(), *s.state)
				}
			}
		})
	}
}

func TestTimingFormulas(t *testing.T) {
	tests := []struct {
		prio       uint8
		interval   uint16
		skew, down time.Duration
	}{
		{100, 100, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{255, 100, 3906250 * time.Nanosecond, 3003906250 * time.Nanosecond},
		{254, 100, 7812500 * time.Nanosecond, 3007812500 * time.Nanosecond},
		{1, 100, 996093750 * time.Nanosecond, 3996093750 * time.Nanosecond},
		{200, 1, 2187500 * time.Nanosecond, 32187500 * time.Nanosecond},
		{1, 4095, 40790039062 * time.Nanosecond, 163640039062 * time.Nanosecond},
		{0, 100, time.Second, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("priority-%d-interval-%d", tt.prio, tt.interval), func(t *testing.T) {
			if got := SkewTime(tt.prio, tt.interval); got != tt.skew {
				t.Errorf("SkewTime = %v, want %v", got, tt.skew)
			}
			if got := MasterDownInterval(tt.prio, tt.interval); got != tt.down {
				t.Errorf("MasterDownInterval = %v, want %v", got, tt.down)
			}
		})
	}
}

func TestNewMachine(t *testing.T) {
	m, err := NewMachine(Config{VRID: 1, Src: self4})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); c.Priority != DefaultPriority || c.Interval != DefaultInterval || c.NoPreempt {
		t.Errorf("defaults: %+v", c)
	}
	if m.State() != Initialize || m.Priority() != DefaultPriority || m.MasterAdverInterval() != DefaultInterval {
		t.Errorf("new machine: %v, priority %d, interval %d", m.State(), m.Priority(), m.MasterAdverInterval())
	}
	for _, tt := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"vrid-0", Config{Src: self4}, errVRID},
		{"interval-4096", Config{VRID: 1, Interval: 4096, Src: self4}, errConfInt},
		{"mapped-address", Config{VRID: 1, Src: netip.AddrFrom16(self4.As16())}, errConfAddr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewMachine(tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestMachineLearnsInterval: MasterAdverInterval follows the master.
func TestMachineLearnsInterval(t *testing.T) {
	m, _ := NewMachine(Config{VRID: 1, Src: self4, Interval: 50})
	m.Handle(at("0s"), start, nil)
	if got := m.MasterAdverInterval(); got != 50 {
		t.Errorf("before any advert: %d", got)
	}
	m.Handle(at("0.1s"), adv(high4, 200, 300), nil)
	if got := m.MasterAdverInterval(); got != 300 {
		t.Errorf("after an advert of 300: %d", got)
	}
	m.Handle(at("0.2s"), adv(high4, 0, 7), nil)
	if got := m.MasterAdverInterval(); got != 300 {
		t.Errorf("a leaving advert changed it to %d", got)
	}
}

// TestHandleDoesNotAllocate: with room in out, Handle allocates nothing.
func TestHandleDoesNotAllocate(t *testing.T) {
	m, _ := NewMachine(Config{VRID: 1, Src: self4})
	out := make([]Action, 0, 8)
	now := t0
	allocs := testing.AllocsPerRun(100, func() {
		out = m.Handle(now, start, out[:0])
		now = now.Add(4 * time.Second)
		out = m.Handle(now, down, out[:0])
		out = m.Handle(now, adv(high4, 200, 100), out[:0])
		out = m.Handle(now, shutdown, out[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

// TestMachineReconfigure: a reload changes priority, interval and
// preemption in place, never the state; a MASTER's next advert moves
// sooner for a shorter interval; a BACKUP that heard no master counts its
// timer with the new interval; VRID and address are its identity.
func TestMachineReconfigure(t *testing.T) {
	m, _ := NewMachine(Config{VRID: 1, Src: self4})
	m.Handle(at("0s"), start, nil)
	out, err := m.Reconfigure(at("1s"), Config{VRID: 1, Src: self4, Priority: 200, Interval: 50}, nil)
	var got []string
	for _, a := range out {
		got = append(got, render(a))
	}
	// Skew 56/256 × 0.5 s, 3 × 0.5 s: from the start, 1.609375 s.
	if err != nil || m.State() != Backup || m.Priority() != 200 || strings.Join(got, ", ") != "arm master-down +1.609375s" {
		t.Fatalf("backup: %v %v %d %q", err, m.State(), m.Priority(), got)
	}
	m.Handle(at("1.609375s"), down, nil)
	out, _ = m.Reconfigure(at("1.7s"), Config{VRID: 1, Src: self4, Priority: 200, Interval: 20}, nil)
	if len(out) != 1 || render(out[0]) != "arm adver +1.809375s" || m.State() != Master {
		t.Fatalf("master: %v %v", out, m.State())
	}
	if _, err := m.Reconfigure(at("2s"), Config{VRID: 2, Src: self4}, nil); !errors.Is(err, ErrIdentity) {
		t.Errorf("another VRID: %v", err)
	}
	if _, err := m.Reconfigure(at("2s"), Config{VRID: 1, Src: self4, Interval: 4096}, nil); err == nil {
		t.Error("interval 4096 accepted")
	}
	if _, err := m.Reconfigure(at("2s"), Config{VRID: 1, Src: netip.MustParseAddr("fe80::1")}, nil); !errors.Is(err, ErrIdentity) {
		t.Errorf("another family: %v", err)
	}
	if _, err := m.Reconfigure(at("2s"), Config{VRID: 1}, nil); err == nil {
		t.Error("no primary address accepted")
	}
}

// TestMachineNewPrimary: a new primary address of the same family (an
// IPv6 router's new link-local address) changes in place: the state and
// the timers stay, and the tie between equal priorities uses the new one.
func TestMachineNewPrimary(t *testing.T) {
	old, next := netip.MustParseAddr("fe80::9"), netip.MustParseAddr("fe80::1")
	m, _ := NewMachine(Config{VRID: 1, Src: old})
	m.Handle(at("0s"), start, nil)
	m.Handle(at("3.61s"), down, nil)
	if m.State() != Master {
		t.Fatalf("state %v", m.State())
	}
	out, err := m.Reconfigure(at("3.7s"), Config{VRID: 1, Src: next}, nil)
	if err != nil || len(out) != 0 || m.State() != Master || m.Config().Src != next {
		t.Fatalf("new primary: %v %v %v %v", err, out, m.State(), m.Config().Src)
	}
	// fe80::5 of equal priority: above the new address, below the old.
	out = m.Handle(at("3.8s"), Event{Kind: EventAdvert, Src: netip.MustParseAddr("fe80::5"), Priority: DefaultPriority, Interval: 100}, nil)
	if m.State() != Backup {
		t.Fatalf("master of fe80::1 kept its place against fe80::5 of equal priority: %v %v", m.State(), out)
	}
}

// TestMachineNoPrimaryYet: a machine without a primary address stays in
// INIT, Startup and all, until Reconfigure gives it one; it then starts
// at the next Startup. An address once given is not taken away.
func TestMachineNoPrimaryYet(t *testing.T) {
	m, err := NewMachine(Config{VRID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out := m.Handle(at("0s"), start, nil); len(out) != 0 || m.State() != Initialize {
		t.Fatalf("startup without a primary address: %v %v", out, m.State())
	}
	if _, err := m.Reconfigure(at("1s"), Config{VRID: 1, Priority: 50}, nil); err != nil || m.Priority() != 50 {
		t.Fatalf("reload without a primary address: %v %d", err, m.Priority())
	}
	if _, err := m.Reconfigure(at("2s"), Config{VRID: 1, Src: self6}, nil); err != nil {
		t.Fatal(err)
	}
	if m.Handle(at("2s"), start, nil); m.State() != Backup {
		t.Fatalf("startup with a primary address: %v", m.State())
	}
	if _, err := m.Reconfigure(at("3s"), Config{VRID: 1}, nil); err == nil {
		t.Error("primary address taken away")
	}
}
