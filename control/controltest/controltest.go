// Package controltest holds a fake control.Backend, for the tests of the
// control server, of ucarpctl and of what serves a node's groups.
package controltest

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// Backend is a control.Backend over a list of groups, in memory. It
// records the changing calls; Demote and Promote change the group's
// Timing.Demotion and publish an event, as a node does.
type Backend struct {
	control.Broadcaster

	mu       sync.Mutex
	groups   []control.Group
	calls    []string
	reloadE  error
	watchers int
	// noPeer makes a MASTER's handoff end in no-peer; settle counts the
	// Status calls until a handoff settles.
	noPeer bool
	settle map[string]int
}

// Subscribe is the Broadcaster's, counted in Watchers.
func (b *Backend) Subscribe() (<-chan control.Event, func()) {
	ch, cancel := b.Broadcaster.Subscribe()
	b.mu.Lock()
	b.watchers++
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			b.watchers--
			b.mu.Unlock()
		})
		cancel()
	}
}

// Watchers is the number of subscriptions not yet cancelled.
func (b *Backend) Watchers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.watchers
}

// New returns a Backend that serves groups.
func New(groups ...control.Group) *Backend {
	return &Backend{groups: groups}
}

// SetGroups replaces the groups.
func (b *Backend) SetGroups(groups ...control.Group) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.groups = groups
}

// FailReload makes Reload return err.
func (b *Backend) FailReload(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reloadE = err
}

// Calls returns the changing calls so far, as "demote NAME LEVEL",
// "promote NAME" and "reload".
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.calls)
}

func (b *Backend) Status() []control.Group {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.groups {
		g := &b.groups[i]
		if m := g.Maintenance; m != nil && !m.Settled() {
			if b.settle[g.Name]--; b.settle[g.Name] > 0 {
				continue
			}
			if b.noPeer {
				m.Phase, m.Note = control.MaintNoPeer, "no peer took over"
				continue
			}
			m.Phase, m.Peer, m.Adverts, m.Announced, m.PeerMAC = control.MaintHandedOff,
				netip.MustParseAddr("203.0.113.250"), 2, true, "02:00:00:00:00:fa"
			g.State, g.Addresses[0].Configured = control.StateBackup, false
		}
	}
	out := slices.Clone(b.groups)
	for i := range out {
		if m := out[i].Maintenance; m != nil {
			c := *m
			out[i].Maintenance = &c
		}
	}
	return out
}

// NoPeer makes the handoffs of maintenance end with no peer taking over.
func (b *Backend) NoPeer(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noPeer = on
}

// Maintenance implements control.Maintainer, recorded as "maintenance
// NAME on|off [persistent]": a MASTER hands off (the address goes to
// 203.0.113.250, announced) or, with NoPeer, stays, after three calls of
// Status; a BACKUP is only demoted.
func (b *Backend) Maintenance(name string, on, persistent bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	call := "maintenance " + name + " off"
	if on {
		call = "maintenance " + name + " on"
		if persistent {
			call += " persistent"
		}
	}
	b.calls = append(b.calls, call)
	g, err := b.find(name)
	if err != nil {
		return err
	}
	if !on {
		g.Maintenance = nil
		return nil
	}
	t0 := time.Date(2025, 3, 1, 12, 1, 0, 0, time.UTC)
	phase := control.MaintBackup
	if g.State == control.StateMaster {
		phase = control.MaintHandingOff
		if b.settle == nil {
			b.settle = map[string]int{}
		}
		b.settle[name] = 3
	}
	g.Maintenance = &control.Maintenance{On: true, Persistent: persistent, Since: t0, Phase: phase, PhaseSince: t0}
	return nil
}

func (b *Backend) find(name string) (*control.Group, error) {
	for i := range b.groups {
		if b.groups[i].Name == name {
			return &b.groups[i], nil
		}
	}
	return nil, fmt.Errorf("controltest: no group %q: %w", name, control.ErrNotFound)
}

func (b *Backend) Explain(name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g, err := b.find(name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s is %s because %s.", g.Name, g.State, g.Reason), nil
}

func (b *Backend) Demote(name string, level int) error {
	return b.setDemotion(fmt.Sprintf("demote %s %d", name, level), name, level)
}

func (b *Backend) Promote(name string) error {
	return b.setDemotion("promote "+name, name, 0)
}

func (b *Backend) setDemotion(call, name string, level int) error {
	b.mu.Lock()
	b.calls = append(b.calls, call)
	g, err := b.find(name)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	g.Timing.Demotion = level
	ev := control.Event{Time: time.Now(), Kind: control.EventDemotion, Group: g.Name, Interface: g.Interface, VHID: g.VHID, Demotion: &level}
	b.mu.Unlock()
	b.Publish(ev)
	return nil
}

func (b *Backend) Reload() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, "reload")
	return b.reloadE
}

// Group returns a plausible group: MASTER or BACKUP of 203.0.113.VHID/24 on
// ifname, with a peer, counters and its transitions, at a fixed time.
func Group(name, ifname string, vhid uint8, state string) control.Group {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	g := control.Group{
		Name:      name,
		Interface: ifname,
		VHID:      vhid,
		Protocol:  control.ProtocolCARP,
		State:     state,
		Since:     t0,
		Reason:    "start",
		Addresses: []control.Address{{
			Prefix:     netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, vhid}), 24),
			Configured: state == control.StateMaster,
		}},
		Timing: control.Timing{AdvBase: 1, AdvSkew: 100, DeadTimeMS: 3000,
			Demotions: map[string]int{"admin": 0, "health": 0, "hold-down": 0, "sync": 0}},
		Peers: []control.Peer{{
			Source: netip.MustParseAddr("203.0.113.250"), AdvBase: 1, AdvSkew: 50,
			LastSeen: t0.Add(10 * time.Second), Counter: 7,
		}},
		Counters: control.Counters{
			AdvertsSent: 10, ValidReceived: 4, Transitions: 1, ScriptsOK: 1,
			Dropped: map[string]uint64{"bad-digest": 3, "other-vhid": 1},
		},
		Transitions: []control.Transition{
			{Time: t0, From: control.StateInit, To: control.StateBackup, Reason: "start"},
		},
		Probes: []control.Probe{},
	}
	if state == control.StateMaster {
		g.Since, g.Reason = t0.Add(3*time.Second), "master-down"
		g.Transitions = append(g.Transitions, control.Transition{Time: g.Since, From: control.StateBackup, To: state, Reason: g.Reason})
		g.Counters.Transitions, g.Counters.ScriptsOK = 2, 2
	}
	return g
}

// DualGroup is Group with a dual-stack address set: two IPv4 and two IPv6
// addresses. As MASTER, every address but the last is configured (someone
// removed that one), so that each address's own state shows.
func DualGroup(name, ifname string, vhid uint8, state string) control.Group {
	g := Group(name, ifname, vhid, state)
	on := state == control.StateMaster
	g.Addresses = []control.Address{
		{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, vhid}), 24), Configured: on},
		{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, vhid}), 32), Configured: on},
		{Prefix: netip.MustParsePrefix(fmt.Sprintf("2001:db8::%x/64", vhid)), Configured: on},
		{Prefix: netip.MustParsePrefix(fmt.Sprintf("2001:db8:1::%x/128", vhid)), Configured: false},
	}
	return g
}
