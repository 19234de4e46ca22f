package carp

import (
	"net/netip"
	"testing"
)

func demoted(e Event, demote uint8) Event { e.Demote = demote; return e }

// TestDemoteByte checks OpenBSD's use of byte 4 (bsd-carp-spec §6.1): it
// is sent as configured, a lower value wins whatever the timing, a higher
// one loses whatever the timing, and equal values leave ucarp's rules.
func TestDemoteByte(t *testing.T) {
	t.Run("sent as configured", func(t *testing.T) {
		m := newTestMachine(t, func(c *Config) { c.Demote = 128 })
		m.Handle(at("0s"), start, nil)
		for _, a := range m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil) {
			if a.Kind == ActionSendAdvert && a.Advert.Demote != 128 {
				t.Fatalf("advert with demote %d", a.Advert.Demote)
			}
		}
	})
	backup := func(t *testing.T, edit func(c *Config)) *Machine {
		m := newTestMachine(t, edit)
		m.Handle(at("0s"), start, nil)
		return m
	}
	takeOver := []string{"stop master-down", "WARNING Switching to state: MASTER (preempt)", "script up BACKUP->MASTER preempt",
		"announce", "send 1/100 #6", "arm advert @2.390625s", "WARNING Putting MASTER down - preemption"}
	t.Run("backup, master more demoted: take over without -P", func(t *testing.T) {
		run(t, backup(t, nil), []step{{"1s", demoted(advert("198.51.100.12", 1, 0, 5), 1), takeOver, Master}})
	})
	t.Run("backup, master less demoted and slower, -P: wait", func(t *testing.T) {
		m := backup(t, func(c *Config) { c.Preempt = true; c.Demote = 2 })
		run(t, m, []step{{"1s", demoted(advert("198.51.100.12", 1, 200, 5), 1), []string{"arm master-down @4.390625s"}, Backup}})
	})
	t.Run("backup, equal demotion, slower, -P: preempt", func(t *testing.T) {
		m := backup(t, func(c *Config) { c.Preempt = true; c.Demote = 2 })
		run(t, m, []step{{"1s", demoted(advert("198.51.100.12", 1, 200, 5), 2), takeOver, Master}})
	})
	master := func(t *testing.T, demote uint8) *Machine {
		m := newTestMachine(t, func(c *Config) { c.Demote = demote })
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil)
		return m
	}
	stepDown := []string{"send 1/100 #51", "WARNING Switching to state: BACKUP (preferred-master)", "script down MASTER->BACKUP preferred-master",
		"stop advert", "arm master-down @7.390625s", "WARNING Preferred master advertised: going back to BACKUP state"}
	reassert := []string{"announce", "send 1/100 #51", "WARNING Non-preferred master advertising: reasserting control of VIP with another gratuitous arp"}
	t.Run("master hears a slower, less demoted master: step down", func(t *testing.T) {
		run(t, master(t, 1), []step{{"4s", demoted(advert("198.51.100.12", 1, 200, 50), 0), stepDown, Backup}})
	})
	t.Run("master hears a faster, more demoted master: reassert", func(t *testing.T) {
		run(t, master(t, 0), []step{{"4s", demoted(advert("198.51.100.12", 1, 0, 50), 1), reassert, Master}})
	})
	t.Run("master, equal demotion: timing", func(t *testing.T) {
		run(t, master(t, 3), []step{{"4s", demoted(advert("198.51.100.12", 1, 0, 50), 3), stepDown, Backup}})
	})
}

// TestDualStackDeadTimers checks the kernels' two master-down timers
// (bsd-carp-spec §3.4): each family's adverts re-arm only its own timer,
// and either expiring makes the node MASTER.
func TestDualStackDeadTimers(t *testing.T) {
	m := newTestMachine(t, func(c *Config) {
		c.Families = FamilyBoth
		c.Src6 = netip.MustParseAddr("fe80::11")
	})
	run(t, m, []step{
		{"0s", start, []string{"WARNING Switching to state: BACKUP (start)", "script down INIT->BACKUP start",
			"arm master-down @3.390625s", "arm master-down-ipv6 @3.390625s"}, Backup},
		{"1s", advert("198.51.100.12", 1, 0, 5), []string{"arm master-down @4.390625s"}, Backup},
		{"2s", advert("fe80::12", 1, 0, 6), []string{"arm master-down-ipv6 @5.390625s"}, Backup},
		{"3s", advert("198.51.100.12", 1, 0, 7), []string{"arm master-down @6.390625s"}, Backup},
		// IPv6 adverts stop: the IPv6 timer expires although IPv4 adverts come.
		{"5.390625s", TimerEvent(TimerMasterDown6), []string{"stop master-down", "WARNING Switching to state: MASTER (master-down)",
			"script up BACKUP->MASTER master-down", "announce", "send 1/100 #8", "arm advert @6.78125s"}, Master},
	})
	// An IPv6-only group has one timer, TimerMasterDown, and ignores IPv4.
	m6 := newTestMachine(t, func(c *Config) { c.Families = FamilyIPv6; c.Src = netip.MustParseAddr("fe80::11") })
	run(t, m6, []step{
		{"0s", start, []string{"WARNING Switching to state: BACKUP (start)", "script down INIT->BACKUP start",
			"arm master-down @3.390625s"}, Backup},
		{"1s", advert("198.51.100.12", 1, 0, 5), nil, Backup},
		{"2s", advert("fe80::12", 1, 0, 6), []string{"arm master-down @5.390625s"}, Backup},
	})
	if _, err := m.Reconfigure(at("7s"), func() Config { c := m.Config(); c.Families = FamilyIPv4; return c }(), nil); err == nil {
		t.Fatal("a change of families is accepted in place")
	}
}

// TestIPv6TieBreak: on equal timing the lower IPv6 source wins; without
// Src6 the node gives way, as the BSD kernels do.
func TestIPv6TieBreak(t *testing.T) {
	master := func(t *testing.T, src6 string) *Machine {
		m := newTestMachine(t, func(c *Config) {
			c.Families = FamilyIPv6
			if src6 != "" {
				c.Src6 = netip.MustParseAddr(src6)
			}
		})
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil)
		return m
	}
	stepDown := []string{"send 1/100 #51", "WARNING Switching to state: BACKUP (preferred-master)", "script down MASTER->BACKUP preferred-master",
		"stop advert", "arm master-down @7.390625s", "WARNING Preferred master advertised: going back to BACKUP state"}
	reassert := []string{"announce", "send 1/100 #51", "WARNING Non-preferred master advertising: reasserting control of VIP with another gratuitous arp"}
	run(t, master(t, "fe80::12"), []step{{"4s", advert("fe80::11", 1, 100, 50), stepDown, Backup}})
	run(t, master(t, "fe80::11"), []step{{"4s", advert("fe80::12", 1, 100, 50), reassert, Master}})
	run(t, master(t, "fe80::11"), []step{{"4s", advert("fe80::11", 1, 100, 50), nil, Master}})
	run(t, master(t, ""), []step{{"4s", advert("fe80::13", 1, 100, 50), stepDown, Backup}})
}

// TestIPv6TieBreakGlobalPeers: two masters that send unicast adverts to
// each other from global addresses (--peer 2001:db8::...) compare the
// peer's global source with their own global source toward it (Own), not
// with their link-local Src6: exactly one steps down on equal timing.
func TestIPv6TieBreakGlobalPeers(t *testing.T) {
	master := func(t *testing.T) *Machine {
		m := newTestMachine(t, func(c *Config) {
			c.Families = FamilyIPv6
			c.Src6 = netip.MustParseAddr("fe80::11")
		})
		m.Handle(at("0s"), start, nil)
		m.Handle(at("3.390625s"), TimerEvent(TimerMasterDown), nil)
		return m
	}
	from := func(src, own string) Event {
		e := advert(src, 1, 100, 50)
		e.Own = netip.MustParseAddr(own)
		return e
	}
	stepDown := []string{"send 1/100 #51", "WARNING Switching to state: BACKUP (preferred-master)", "script down MASTER->BACKUP preferred-master",
		"stop advert", "arm master-down @7.390625s", "WARNING Preferred master advertised: going back to BACKUP state"}
	reassert := []string{"announce", "send 1/100 #51", "WARNING Non-preferred master advertising: reasserting control of VIP with another gratuitous arp"}
	// The node at 2001:db8::1 hears 2001:db8::2: it wins and reasserts.
	run(t, master(t), []step{{"4s", from("2001:db8::2", "2001:db8::1"), reassert, Master}})
	// The node at 2001:db8::2 hears 2001:db8::1: it steps down.
	run(t, master(t), []step{{"4s", from("2001:db8::1", "2001:db8::2"), stepDown, Backup}})
	// Its own global address: neither.
	run(t, master(t), []step{{"4s", from("2001:db8::1", "2001:db8::1"), nil, Master}})
}
