package control

import (
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// groupLabels label every series of a group.
var groupLabels = []string{"interface", "vhid", "name"}

// descs are the descriptions desc made, every series': Describe sends
// them, so that a series added is described without a second list.
var descs []*prometheus.Desc

func desc(name, help string, extra ...string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, append(slices.Clone(groupLabels), extra...), nil)
	descs = append(descs, d)
	return d
}

// Collector makes the ucarp_* series from a Backend's Status at each
// scrape: nothing is kept between scrapes, so the series are exactly the
// node's groups, and the counters are the groups' own.
type Collector struct {
	b Backend
}

// NewCollector returns the collector of b's groups.
func NewCollector(b Backend) *Collector { return &Collector{b: b} }

var (
	descState = desc("ucarp_state",
		"Whether the group is in this state: 1 for the current one, 0 for the others.", "state")
	descTransitions = desc("ucarp_transitions_total",
		"Changes of state since the group started.")
	descSent = desc("ucarp_adverts_sent_total",
		"Adverts sent.")
	descSendErrors = desc("ucarp_advert_send_errors_total",
		"Adverts that could not be sent.")
	descReceived = desc("ucarp_adverts_received_total",
		"Valid adverts received for the group.")
	descDropped = desc("ucarp_packets_dropped_total",
		"Received packets that were not valid adverts for the group, by reason.", "reason")
	descGARPs = desc("ucarp_gratuitous_arps_total",
		"Gratuitous ARPs sent to announce the group's addresses.")
	descDemotion = desc("ucarp_demotion",
		"The group's demotion: the sum of its persistent demotions (ucarpctl demote, health probes, hold-down, sync group), capped at 255.")
	descScripts = desc("ucarp_scripts_total",
		"Up and down scripts run, by result: ok, failed or timed-out.", "result")
	descProbeUp = desc("ucarp_probe_up",
		"Whether the health probe is up: 1 up, 0 down or not yet known (then its weight demotes the group).", "probe")
	descProbeLatency = desc("ucarp_probe_latency_seconds",
		"How long the health probe's last check took; only once it has checked.", "probe")
	descDemotionSource = desc("ucarp_demotion_source",
		"The group's demotion by source: admin, health, hold-down, sync.", "source")
	descMaintenance = desc("ucarp_maintenance",
		"Whether the group is in maintenance (ucarpctl maintenance on): 1 in the current phase, 0 in the others.", "phase")
	descAddress = desc("ucarp_address_configured",
		"Whether the group's address is on its interface: 1 configured, 0 not; a series per address of the group.", "address")
	descMasterSince = desc("ucarp_master_since_seconds",
		"Unix time at which the group became MASTER; only while it is MASTER.")
	descConflicts = desc("ucarp_address_conflicts_total",
		"Claims of the group's address by another MAC (ARP, Neighbour Discovery) heard while MASTER; a series per address of the group.", "address")
	// --auth=hmac-sha256 (docs/AUTH.md); only for groups that run it.
	descAuthAdverts = desc("ucarp_auth_adverts_total",
		"Adverts that passed the plain CARP checks, by the result of --auth=hmac-sha256 (verified, absent, replay, bad-mac, ...) and action (accepted, dropped).",
		"result", "action")
	descAuthMode = desc("ucarp_auth_mode",
		"The group's --auth-mode: 1 for the current one, 0 for the others.", "mode")

	// VRRPv3 (issue 18): a series per VRRPv3 group only, so that a CARP
	// group's series stay as they were.
	descProtocol = desc("ucarp_group_protocol",
		"The protocol of a VRRPv3 group: 1 with its protocol label (vrrp3).", "protocol")
	descPriority = desc("ucarp_vrrp_priority",
		"The priority a VRRPv3 group advertises now: its configured priority lowered by its demotion.")

	// A group with a virtual MAC only.
	descVMACLost = desc("ucarp_vmac_lost",
		"Whether someone else set the group's virtual MAC interface down or removed it, which stopped the group until a reload or restart: 1 lost, 0 not; only for a group with a virtual MAC.")
)

// authModes are the values of ucarp_auth_mode's label.
var authModes = []string{"receive-only", "permissive", "enforce"}

// maintPhases are the values of ucarp_maintenance's label.
var maintPhases = []string{MaintHandingOff, MaintWaitingAnnouncement, MaintHandedOff, MaintNoPeer, MaintBackup, MaintOff}

// Describe sends the descriptions of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// Collect sends the series of every group.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.b.Status() {
		labels := []string{g.Interface, strconv.Itoa(int(g.VHID)), g.Name}
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(labels, extra...)...)
		}
		counter := func(d *prometheus.Desc, v uint64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append(labels, extra...)...)
		}
		// oneHot is a series a value of d's label: 1 for current, 0 for
		// the others.
		oneHot := func(d *prometheus.Desc, values []string, current string) {
			for _, v := range values {
				gauge(d, one(v == current), v)
			}
		}
		states := States
		if !slices.Contains(states, g.State) {
			states = append(slices.Clone(States), g.State) // a state this package does not know yet
		}
		oneHot(descState, states, g.State)
		k := &g.Counters
		counter(descTransitions, k.Transitions)
		counter(descSent, k.AdvertsSent)
		counter(descSendErrors, k.AdvertErrors)
		counter(descReceived, k.ValidReceived)
		for _, reason := range sortedKeys(k.Dropped) {
			counter(descDropped, k.Dropped[reason], reason)
		}
		counter(descGARPs, k.GratuitousARPs)
		for _, a := range g.Addresses {
			gauge(descAddress, one(a.Configured), a.Prefix.String())
			counter(descConflicts, a.Conflicts, a.Prefix.String())
		}
		gauge(descDemotion, float64(g.Timing.Demotion))
		counter(descScripts, k.ScriptsOK, "ok")
		counter(descScripts, k.ScriptsFailed, "failed")
		counter(descScripts, k.ScriptsTimedOut, "timed-out")
		for _, p := range g.Probes {
			gauge(descProbeUp, one(p.State == "up"), p.Name)
			if p.LastResult != "" {
				gauge(descProbeLatency, p.LatencyMS/1000, p.Name)
			}
		}
		for _, src := range sortedKeys(g.Timing.Demotions) {
			gauge(descDemotionSource, float64(g.Timing.Demotions[src]), src)
		}
		if a := g.Auth; a != nil {
			oneHot(descAuthMode, authModes, a.Mode)
			for _, r := range sortedKeys(a.Accepted) {
				counter(descAuthAdverts, a.Accepted[r], r, "accepted")
			}
			for _, r := range sortedKeys(a.Dropped) {
				counter(descAuthAdverts, a.Dropped[r], r, "dropped")
			}
		}
		if m := g.Maintenance; m != nil {
			oneHot(descMaintenance, maintPhases, m.Phase)
		}
		if g.State == StateMaster && !g.Since.IsZero() {
			gauge(descMasterSince, float64(g.Since.UnixNano())/1e9)
		}
		if g.Protocol != "" && g.Protocol != ProtocolCARP {
			gauge(descProtocol, 1, g.Protocol)
			gauge(descPriority, float64(g.Timing.Priority))
		}
		if g.VMAC != "" {
			gauge(descVMACLost, one(g.VMACLost))
		}
	}
}

// one is a gauge's value of b: 1 for true, 0 for false.
func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// NewRegistry returns a registry with the collector of b and the Go
// runtime's and the process's collectors.
func NewRegistry(b Backend) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(NewCollector(b),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}
