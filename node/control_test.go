package node

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// masters names each node's groups that are MASTER, as Status says.
func masters(nodes ...*testNode) string {
	var out []string
	for _, tn := range nodes {
		var ms []string
		for _, g := range tn.Status() {
			if g.State == control.StateMaster {
				ms = append(ms, g.Name)
			}
		}
		out = append(out, strings.Join(ms, ","))
	}
	return strings.Join(out, " | ")
}

// TestBackend: two nodes, with -P; Status names the MASTER, a demotion
// moves it to the peer, a promotion brings it back; watchers see the
// transitions.
func TestBackend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a, b := newTestNode(&lan, 11), newTestNode(&lan, 12)
		sa, sb := a.spec(1, 0), b.spec(1, 100)
		sa.Config.Preempt, sb.Config.Preempt = true, true
		sa.Name = "web"
		events, cancel := a.Subscribe()
		t.Cleanup(cancel) // after the nodes stop
		a.run(t, sa, a.spec(2, 100))
		b.run(t, sb)
		settle(10 * time.Second)
		if got := masters(a, b); got != "web,eth0-2 | " {
			t.Fatalf("masters %q", got)
		}
		gs := a.Status()
		if g := gs[0]; g.Name != "web" || g.Interface != "eth0" || g.VHID != 1 || g.Reason != "master-down" ||
			len(g.Addresses) != 1 || !g.Addresses[0].Configured || g.Timing.AdvSkew != 0 || len(g.Transitions) != 2 {
			t.Fatalf("status of A's group 1: %+v", g)
		}
		if g := b.Status()[0]; g.Name != "eth0-1" || g.State != control.StateBackup || len(g.Peers) != 1 ||
			g.Peers[0].Source != a.src || g.Addresses[0].Configured || g.Counters.ValidReceived == 0 {
			t.Fatalf("status of B: %+v", g)
		}
		text, err := b.Explain("eth0-1")
		if err != nil || !strings.Contains(text, "is BACKUP") || !strings.Contains(text, a.src.String()) ||
			!strings.Contains(text, "faster than this host") {
			t.Fatalf("explain: %q, %v", text, err)
		}

		if err := a.Demote("web", 200); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		wantHolders(t, "2 | 1", a, b)
		if got := masters(a, b); got != "eth0-2 | eth0-1" {
			t.Fatalf("after demote: masters %q", got)
		}
		if g := a.Status()[0]; g.Timing.Demotion != 200 || g.Reason != "preferred-master" {
			t.Fatalf("demoted: %+v", g)
		}
		if err := a.Promote("web"); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		wantHolders(t, "1,2 | ", a, b)
		if g := a.Status()[0]; g.Timing.Demotion != 0 || g.Reason != "preempt" || g.State != control.StateMaster {
			t.Fatalf("promoted: %+v", g)
		}

		var got []string
		starts := 0
		for len(events) > 0 {
			ev := <-events
			if ev.From == control.StateInit {
				starts++ // the groups start in any order
				continue
			}
			got = append(got, ev.Kind+" "+ev.Group+" "+ev.From+">"+ev.To+" "+ev.Reason)
		}
		want := "transition web BACKUP>MASTER master-down,transition eth0-2 BACKUP>MASTER master-down," +
			"demotion web > ,transition web MASTER>BACKUP preferred-master,demotion web > ," +
			"transition web BACKUP>MASTER preempt"
		if strings.Join(got, ",") != want || starts != 2 {
			t.Fatalf("events (and %d starts)\n%s\nwant\n%s", starts, strings.Join(got, ","), want)
		}

		if err := a.Demote("nope", 1); !errors.Is(err, control.ErrNotFound) {
			t.Fatalf("demote of an unknown group: %v", err)
		}
		if err := a.Reload(); !errors.Is(err, control.ErrNotSupported) {
			t.Fatalf("reload without Deps.Reload: %v", err)
		}
	})
}

// TestExplainDrops: with no peer heard, the largest drop reason is named
// with what it usually means.
func TestExplainDrops(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := group.Status{Interface: "eth0", VHID: 7, State: carp.Master, Since: now.Add(-time.Minute),
		Reason: carp.ReasonMasterDown, AdvBase: 1, AdvSkew: 100, DeadTime: 3390625 * time.Microsecond,
		Counters: group.Counters{Dropped: map[string]uint64{"bad-digest": 40, "other-vhid": 3}}}
	got := explain("db", s, now)
	for _, want := range []string{"db (eth0 vhid 7) is MASTER", "reason master-down", "advbase 1, advskew 100",
		"No other MASTER is heard", "40 packets were dropped as bad-digest: a different password"} {
		if !strings.Contains(got, want) {
			t.Errorf("explain lacks %q:\n%s", want, got)
		}
	}
	// A peer silent for longer than the dead time (a bow-out, a stop)
	// decides nothing: the drops are still named.
	s.Peers = []group.Peer{{Source: netip.MustParseAddr("198.51.100.11"), AdvBase: 255, AdvSkew: 255, LastSeen: now.Add(-10 * time.Second)}}
	got = explain("db", s, now)
	for _, want := range []string{"No other MASTER is heard", "The last peer heard, 198.51.100.11, fell silent 10s ago",
		"dropped as bad-digest: a different password"} {
		if !strings.Contains(got, want) {
			t.Errorf("with a silent peer, explain lacks %q:\n%s", want, got)
		}
	}
	s.Demotion = 200
	if got := explain("db", s, now); !strings.Contains(got, "advskew 255") || !strings.Contains(got, "demotion of 200") {
		t.Errorf("demoted: %s", got)
	}
}

// TestExplainSources: explain names the source that decides a demotion
// (the largest; the first of the API's order on a tie), then the others.
func TestExplainSources(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := group.Status{Interface: "eth0", VHID: 7, State: carp.Backup, AdvBase: 1, AdvSkew: 0, DeadTime: 3 * time.Second}
	for _, tc := range []struct {
		levels map[string]int
		why    whyDemoted
		want   string
	}{
		{map[string]int{"admin": 20, "health": 100}, whyDemoted{},
			"demotion of 120 decided by health 100 (the weights of its probes that are not up), beside admin 20 (ucarpctl demote; promote takes it back);"},
		{map[string]int{"sync": 50, "admin": 50}, whyDemoted{syncGroup: "router", remoteSync: 50},
			`demotion of 100 decided by admin 50 (ucarpctl demote; promote takes it back), beside sync 50 (another member of sync group "router" failed; another process reports level 50);`},
		{map[string]int{"hold-down": 255, "health": 255, "sync": 10}, whyDemoted{held: true, holdUntil: now.Add(90 * time.Second), untilHealthy: true},
			"demotion of 255 decided by health 255 (the weights of its probes that are not up), beside hold-down 255 (the boot hold-down, 1m30s more or until its probes are up) and sync 10"},
	} {
		s.Demotions, s.Demotion = tc.levels, 0
		for _, l := range tc.levels {
			s.Demotion = min(255, s.Demotion+l)
		}
		if got := explainWhy("db", s, now, tc.why); !strings.Contains(got, tc.want) {
			t.Errorf("%v: explain lacks %q:\n%s", tc.levels, tc.want, got)
		}
	}
}

// TestDualStackAddresses: the API and explain give every address of a
// dual-stack group (two IPv4, two IPv6) with its own state, not only the
// first.
func TestDualStackAddresses(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := netip.MustParsePrefix
	s := group.Status{Interface: "eth0", VHID: 7, State: carp.Master, AdvBase: 1, AdvSkew: 0, DeadTime: 3 * time.Second,
		Addr: p("198.51.100.7/24"), AddrState: group.AddrAbsent,
		Addrs: []group.AddrStatus{{Prefix: p("198.51.100.7/24"), State: group.AddrConfigured}, {Prefix: p("203.0.113.7/32"), State: group.AddrConfigured},
			{Prefix: p("2001:db8::7/64"), State: group.AddrConfigured}, {Prefix: p("2001:db8:1::7/128"), State: group.AddrAbsent}}}
	g := wireGroup(Spec{Name: "dual"}, s)
	want := []control.Address{{Prefix: p("198.51.100.7/24"), Configured: true}, {Prefix: p("203.0.113.7/32"), Configured: true},
		{Prefix: p("2001:db8::7/64"), Configured: true}, {Prefix: p("2001:db8:1::7/128"), Configured: false}}
	if !slices.Equal(g.Addresses, want) {
		t.Errorf("API addresses %+v, want %+v", g.Addresses, want)
	}
	const wantText = "Its 4 addresses: 198.51.100.7/24 configured, 203.0.113.7/32 configured, 2001:db8::7/64 configured, 2001:db8:1::7/128 not configured."
	if got := explain("dual", s, now); !strings.Contains(got, wantText) {
		t.Errorf("explain lacks %q:\n%s", wantText, got)
	}
	// A group whose scripts manage the address: its state is unknown.
	s.Addrs = []group.AddrStatus{{Prefix: p("198.51.100.7/32"), State: group.AddrUnknown}}
	if got := explain("dual", s, now); !strings.Contains(got, "Its address: 198.51.100.7/32 unknown") {
		t.Errorf("scripts: %s", got)
	}
}
