package node

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// probing is the node's health: one health.Runner over the probes of
// every group, each probe run once however many groups name it; its
// consumers are the groups, by ID string. OnChange reads targets under
// mu, never the node's lock, so that Apply may stop a Runner whose
// OnChange is running.
type probing struct {
	runner    *health.Runner
	specs     []health.Spec       // what runner runs, by name
	consumers map[string][]string // and for whom

	// mu guards targets, and runner against Interrupt; Apply changes
	// runner, specs and consumers with the node's lock held as well.
	mu      sync.Mutex
	targets map[string]*group.Group // the group of each consumer
}

func (p *probing) lock()   { p.mu.Lock() }
func (p *probing) unlock() { p.mu.Unlock() }

func (p *probing) current() *health.Runner {
	p.lock()
	defer p.unlock()
	return p.runner
}

// checkProbes refuses two groups that give one probe name two settings.
func checkProbes(specs []Spec) error {
	seen := map[string]health.Spec{}
	for _, s := range specs {
		for _, p := range s.Probes {
			if prev, ok := seen[p.Name]; ok && prev != p {
				return fmt.Errorf("node: %s: probe %q has other settings in another group", s.ID(), p.Name)
			}
			seen[p.Name] = p
		}
	}
	return nil
}

// applyHealth runs the probes of the groups the node now runs, with n.mu
// held. An unchanged set of probes and consumers keeps its Runner; else
// the Runner is replaced, and a probe whose settings did not change starts
// in the state it had (Probe.Initial), so that a reload does not demote a
// healthy MASTER. Then every group gets its health demotion: a new group
// with probes starts demoted by their weights, since a probe starts
// unknown, which counts as failing: the boot hold-down of a group with
// probes, until they have succeeded rise times.
func (n *Node) applyHealth() error {
	byName := map[string]health.Spec{}
	consumers := map[string][]string{}
	targets := map[string]*group.Group{}
	all := map[string]*group.Group{}
	for id, m := range n.groups {
		all[id.String()] = m.g
		if len(m.spec.Probes) == 0 {
			continue
		}
		names := make([]string, 0, len(m.spec.Probes))
		for _, p := range m.spec.Probes {
			byName[p.Name] = p
			names = append(names, p.Name)
		}
		consumers[id.String()] = names
		targets[id.String()] = m.g
	}
	specs := slices.SortedFunc(maps.Values(byName), func(a, b health.Spec) int { return cmpString(a.Name, b.Name) })
	h := &n.health
	h.lock()
	prevTargets := h.targets
	h.targets = targets
	h.unlock()
	var err error
	cur := h.current()
	if cur == nil || !reflect.DeepEqual(specs, h.specs) || !reflect.DeepEqual(consumers, h.consumers) {
		old := map[string]health.State{}
		if cur != nil {
			prev := map[string]health.Spec{}
			for _, s := range h.specs {
				prev[s.Name] = s
			}
			for _, st := range cur.Status() {
				if p, ok := prev[st.Name]; ok && p == byName[st.Name] {
					old[st.Name] = st.State
				}
			}
			cur.Stop()
			cur = nil
		}
		h.specs, h.consumers = specs, consumers
		if len(specs) > 0 {
			probes := make([]health.Probe, len(specs))
			for i, s := range specs {
				probes[i] = health.Probe{Spec: s, Initial: old[s.Name]}
				if n.deps.Check != nil {
					probes[i].Check = n.deps.Check(s)
				}
			}
			cur, err = health.Start(health.Config{Probes: probes, Consumers: consumers, OnChange: n.healthChanged})
			if err != nil {
				cur, err = nil, fmt.Errorf("node: %w", err)
			}
		}
		h.lock()
		h.runner = cur
		h.unlock()
	}
	// Only the groups with probes, and those that had some, are told:
	// the others have no health demotion to change.
	for id, g := range all {
		if targets[id] == nil && prevTargets[id] != g {
			continue
		}
		d := 0
		switch {
		case cur != nil:
			d = cur.Demotion(id)
		case err != nil:
			// Probes that cannot run are not up: their weights demote,
			// as if they were unknown.
			for _, name := range consumers[id] {
				d += byName[name].Weight
			}
		}
		g.SetDemotion(group.DemotionHealth, min(d, carp.MaxDemotion))
	}
	return err
}

// healthChanged is the Runner's OnChange: each group whose demotion moved
// gets the Runner's demotion of now.
func (n *Node) healthChanged(ch health.Change) {
	h := &n.health
	if log := n.deps.Log; log != nil {
		p := ch.Probe
		msg := fmt.Sprintf("Probe %s (%s %s) is %s", p.Name, p.Type, p.Target, p.State)
		attrs := []any{logfield.Probe.Attr(), logfield.State(p.State.String())}
		if p.State == health.StateUp {
			log.Info(msg, attrs...)
		} else {
			if p.Last.Err != "" {
				msg += ": " + p.Last.Err
				attrs = append(attrs, logfield.Reason(p.Last.Err))
			}
			log.Warn(msg, attrs...)
		}
	}
	for id, d := range ch.Demotions {
		h.lock()
		g := h.targets[id]
		h.unlock()
		if g != nil {
			g.SetDemotion(group.DemotionHealth, min(d, carp.MaxDemotion))
		}
	}
}

// stopHealth stops the probes, for Stop and Interrupt.
func (n *Node) stopHealth() {
	h := &n.health
	h.lock()
	r := h.runner
	h.runner, h.specs, h.consumers, h.targets = nil, nil, nil, nil
	h.unlock()
	if r != nil {
		r.Stop()
	}
}

// probeStatus is the status of every probe that runs, by name.
func (n *Node) probeStatus() map[string]health.Status {
	r := n.health.current()
	out := map[string]health.Status{}
	if r != nil {
		for _, st := range r.Status() {
			out[st.Name] = st
		}
	}
	return out
}

// wireProbes is a group's probes as the control plane says them.
func wireProbes(spec Spec, status map[string]health.Status) []control.Probe {
	out := []control.Probe{}
	for _, p := range spec.Probes {
		st, ok := status[p.Name]
		cp := control.Probe{Name: p.Name, Type: p.Type.String(), Target: p.Target, State: health.StateUnknown.String()}
		if ok {
			cp.State = st.State.String()
			cp.LastError = st.Last.Err
			cp.LatencyMS = float64(st.Last.Latency.Microseconds()) / 1000
		}
		out = append(out, cp)
	}
	return out
}
