package control_test

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

func TestCollector(t *testing.T) {
	master := controltest.Group("web", "eth0", 10, control.StateMaster)
	master.Timing.Demotion = 20
	master.Counters.ScriptsFailed, master.Counters.ScriptsTimedOut = 1, 2
	master.Probes = []control.Probe{{Name: "http", Type: "http", State: "up", LastResult: "ok", LatencyMS: 12.5},
		{Name: "disk", Type: "file", State: "unknown"}}
	master.Timing.Demotions = map[string]int{"admin": 20, "health": 0, "hold-down": 0, "sync": 0}
	backup := controltest.Group("db", "eth1", 20, control.StateBackup)
	backup.Counters.Dropped = nil
	c := control.NewCollector(controltest.New(master, backup))

	const want = `
# HELP ucarp_adverts_received_total Valid adverts received for the group.
# TYPE ucarp_adverts_received_total counter
ucarp_adverts_received_total{interface="eth0",name="web",vhid="10"} 4
ucarp_adverts_received_total{interface="eth1",name="db",vhid="20"} 4
# HELP ucarp_adverts_sent_total Adverts sent.
# TYPE ucarp_adverts_sent_total counter
ucarp_adverts_sent_total{interface="eth0",name="web",vhid="10"} 10
ucarp_adverts_sent_total{interface="eth1",name="db",vhid="20"} 10
# HELP ucarp_demotion The group's demotion: the sum of its persistent demotions (ucarpctl demote, health probes, hold-down, sync group), capped at 255.
# TYPE ucarp_demotion gauge
ucarp_demotion{interface="eth0",name="web",vhid="10"} 20
ucarp_demotion{interface="eth1",name="db",vhid="20"} 0
# HELP ucarp_demotion_source The group's demotion by source: admin, health, hold-down, sync.
# TYPE ucarp_demotion_source gauge
ucarp_demotion_source{interface="eth0",name="web",source="admin",vhid="10"} 20
ucarp_demotion_source{interface="eth0",name="web",source="health",vhid="10"} 0
ucarp_demotion_source{interface="eth0",name="web",source="hold-down",vhid="10"} 0
ucarp_demotion_source{interface="eth0",name="web",source="sync",vhid="10"} 0
ucarp_demotion_source{interface="eth1",name="db",source="admin",vhid="20"} 0
ucarp_demotion_source{interface="eth1",name="db",source="health",vhid="20"} 0
ucarp_demotion_source{interface="eth1",name="db",source="hold-down",vhid="20"} 0
ucarp_demotion_source{interface="eth1",name="db",source="sync",vhid="20"} 0
# HELP ucarp_master_since_seconds Unix time at which the group became MASTER; only while it is MASTER.
# TYPE ucarp_master_since_seconds gauge
ucarp_master_since_seconds{interface="eth0",name="web",vhid="10"} 1.740830403e+09
# HELP ucarp_packets_dropped_total Received packets that were not valid adverts for the group, by reason.
# TYPE ucarp_packets_dropped_total counter
ucarp_packets_dropped_total{interface="eth0",name="web",reason="bad-digest",vhid="10"} 3
ucarp_packets_dropped_total{interface="eth0",name="web",reason="other-vhid",vhid="10"} 1
# HELP ucarp_probe_latency_seconds How long the health probe's last check took; only once it has checked.
# TYPE ucarp_probe_latency_seconds gauge
ucarp_probe_latency_seconds{interface="eth0",name="web",probe="http",vhid="10"} 0.0125
# HELP ucarp_probe_up Whether the health probe is up: 1 up, 0 down or not yet known (then its weight demotes the group).
# TYPE ucarp_probe_up gauge
ucarp_probe_up{interface="eth0",name="web",probe="disk",vhid="10"} 0
ucarp_probe_up{interface="eth0",name="web",probe="http",vhid="10"} 1
# HELP ucarp_scripts_total Up and down scripts run, by result: ok, failed or timed-out.
# TYPE ucarp_scripts_total counter
ucarp_scripts_total{interface="eth0",name="web",result="failed",vhid="10"} 1
ucarp_scripts_total{interface="eth0",name="web",result="ok",vhid="10"} 2
ucarp_scripts_total{interface="eth0",name="web",result="timed-out",vhid="10"} 2
ucarp_scripts_total{interface="eth1",name="db",result="failed",vhid="20"} 0
ucarp_scripts_total{interface="eth1",name="db",result="ok",vhid="20"} 1
ucarp_scripts_total{interface="eth1",name="db",result="timed-out",vhid="20"} 0
# HELP ucarp_state Whether the group is in this state: 1 for the current one, 0 for the others.
# TYPE ucarp_state gauge
ucarp_state{interface="eth0",name="web",state="BACKUP",vhid="10"} 0
ucarp_state{interface="eth0",name="web",state="INIT",vhid="10"} 0
ucarp_state{interface="eth0",name="web",state="MASTER",vhid="10"} 1
ucarp_state{interface="eth1",name="db",state="BACKUP",vhid="20"} 1
ucarp_state{interface="eth1",name="db",state="INIT",vhid="20"} 0
ucarp_state{interface="eth1",name="db",state="MASTER",vhid="20"} 0
# HELP ucarp_transitions_total Changes of state since the group started.
# TYPE ucarp_transitions_total counter
ucarp_transitions_total{interface="eth0",name="web",vhid="10"} 2
ucarp_transitions_total{interface="eth1",name="db",vhid="20"} 1
`
	names := []string{"ucarp_adverts_received_total", "ucarp_adverts_sent_total", "ucarp_demotion", "ucarp_demotion_source",
		"ucarp_master_since_seconds", "ucarp_packets_dropped_total", "ucarp_probe_latency_seconds", "ucarp_probe_up", "ucarp_scripts_total", "ucarp_state",
		"ucarp_transitions_total"}
	wantMetrics(t, c, want, names...)
}

// wantMetrics compares the series of the metrics names that c collects
// with want (the exposition format) and lints c's metrics.
func wantMetrics(t *testing.T, c prometheus.Collector, want string, names ...string) {
	t.Helper()
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n, err := testutil.CollectAndLint(c); err != nil || len(n) > 0 {
		t.Errorf("lint: %v %v", n, err)
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestMetricsEndpoint scrapes /metrics over HTTP and has promtool check
// what it got, as a Prometheus server would read it.
func TestMetricsEndpoint(t *testing.T) {
	srv := httptest.NewServer(control.NewHandler(twoGroups()))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	for _, want := range []string{
		`ucarp_state{interface="eth0",name="web",state="MASTER",vhid="10"} 1`,
		`ucarp_state{interface="eth1",name="db",state="BACKUP",vhid="10"} 1`,
		`ucarp_adverts_sent_total{interface="eth1",name="eth1-20",vhid="20"} 10`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: apt-get install prometheus (Debian) to check the exposition format")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

func TestHandlerRoutes(t *testing.T) {
	srv := httptest.NewServer(control.NewHandler(twoGroups()))
	defer srv.Close()
	if resp, _ := get(t, srv.URL+"/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %s", resp.Status)
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %s", resp.Status)
	}
}

func TestNewHTTPServer(t *testing.T) {
	s := control.NewHTTPServer("127.0.0.1:9779", http.NotFoundHandler())
	if s.Addr != "127.0.0.1:9779" || s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 ||
		s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("server without every timeout: %+v", s)
	}
}

// TestCollectorAddresses: ucarp_address_configured has a series per
// address of a dual-stack group, each with its own state.
func TestCollectorAddresses(t *testing.T) {
	c := control.NewCollector(controltest.New(controltest.DualGroup("dual", "eth0", 10, control.StateMaster),
		controltest.Group("db", "eth1", 20, control.StateBackup)))
	const want = `
# HELP ucarp_address_configured Whether the group's address is on its interface: 1 configured, 0 not; a series per address of the group.
# TYPE ucarp_address_configured gauge
ucarp_address_configured{address="198.51.100.10/24",interface="eth0",name="dual",vhid="10"} 1
ucarp_address_configured{address="2001:db8:1::a/128",interface="eth0",name="dual",vhid="10"} 0
ucarp_address_configured{address="2001:db8::a/64",interface="eth0",name="dual",vhid="10"} 1
ucarp_address_configured{address="203.0.113.10/32",interface="eth0",name="dual",vhid="10"} 1
ucarp_address_configured{address="203.0.113.20/24",interface="eth1",name="db",vhid="20"} 0
`
	wantMetrics(t, c, want, "ucarp_address_configured")
}

// TestCollectorConflicts: ucarp_address_conflicts_total has a series per
// address of a group, each with its own count.
func TestCollectorConflicts(t *testing.T) {
	g := controltest.DualGroup("dual", "eth0", 10, control.StateMaster)
	g.Addresses[0].Conflicts = 3
	g.Addresses[2].Conflicts = 1
	c := control.NewCollector(controltest.New(g))
	const want = `
# HELP ucarp_address_conflicts_total Claims of the group's address by another MAC (ARP, Neighbour Discovery) heard while MASTER; a series per address of the group.
# TYPE ucarp_address_conflicts_total counter
ucarp_address_conflicts_total{address="198.51.100.10/24",interface="eth0",name="dual",vhid="10"} 3
ucarp_address_conflicts_total{address="2001:db8:1::a/128",interface="eth0",name="dual",vhid="10"} 0
ucarp_address_conflicts_total{address="2001:db8::a/64",interface="eth0",name="dual",vhid="10"} 1
ucarp_address_conflicts_total{address="203.0.113.10/32",interface="eth0",name="dual",vhid="10"} 0
`
	wantMetrics(t, c, want, "ucarp_address_conflicts_total")
}

// TestCollectorVRRP3: a VRRPv3 group has its protocol and priority
// series; a CARP group has neither (its series are as before).
func TestCollectorVRRP3(t *testing.T) {
	v := controltest.Group("eth0-vrrp3-51", "eth0", 51, control.StateMaster)
	v.Protocol, v.Timing.Priority = control.ProtocolVRRP3, 150
	c := control.NewCollector(controltest.New(v, controltest.Group("db", "eth1", 20, control.StateBackup)))
	const want = `
# HELP ucarp_group_protocol The protocol of a VRRPv3 group: 1 with its protocol label (vrrp3).
# TYPE ucarp_group_protocol gauge
ucarp_group_protocol{interface="eth0",name="eth0-vrrp3-51",protocol="vrrp3",vhid="51"} 1
# HELP ucarp_vrrp_priority The priority a VRRPv3 group advertises now: its configured priority lowered by its demotion.
# TYPE ucarp_vrrp_priority gauge
ucarp_vrrp_priority{interface="eth0",name="eth0-vrrp3-51",vhid="51"} 150
`
	wantMetrics(t, c, want, "ucarp_group_protocol", "ucarp_vrrp_priority")
}

// TestCollectorDescribes: Describe sends a description of every series
// Collect sends for a group with every feature on. A registry checks a
// collected series against the descriptions only when there are some:
// without this test an empty or short Describe passes.
func TestCollectorDescribes(t *testing.T) {
	g := controltest.Group("web", "eth0", 10, control.StateMaster)
	g.Protocol, g.Timing.Priority = control.ProtocolVRRP3, 150
	g.Probes = []control.Probe{{Name: "http", Type: "http", State: "up", LastResult: "ok", LatencyMS: 12.5}}
	g.Auth = &control.Auth{Mode: "enforce", Accepted: map[string]uint64{"verified": 1}, Dropped: map[string]uint64{"replay": 1}}
	g.Maintenance = &control.Maintenance{On: true, Phase: control.MaintHandedOff}
	c := control.NewCollector(controltest.New(g))

	name := regexp.MustCompile(`fqName: "([^"]+)"`)
	described := map[string]bool{}
	dch := make(chan *prometheus.Desc, 100)
	c.Describe(dch)
	close(dch)
	for d := range dch {
		described[name.FindStringSubmatch(d.String())[1]] = true
	}
	collected := map[string]bool{}
	mch := make(chan prometheus.Metric, 1000)
	c.Collect(mch)
	close(mch)
	for m := range mch {
		collected[name.FindStringSubmatch(m.Desc().String())[1]] = true
	}
	if len(collected) < 20 {
		t.Errorf("only %d series collected: %v", len(collected), slices.Sorted(maps.Keys(collected)))
	}
	for name := range collected {
		if !described[name] {
			t.Errorf("%s is collected but not described (described: %v)", name, slices.Sorted(maps.Keys(described)))
		}
	}
}

// TestCollectorVMACLost: a series for a group with a virtual MAC only, 1
// once someone else took its macvlan away.
func TestCollectorVMACLost(t *testing.T) {
	lost := controltest.Group("web", "eth0", 10, control.StateInit)
	lost.VMAC, lost.VMACLost = "carp.10", true
	kept := controltest.Group("db", "eth0", 20, control.StateMaster)
	kept.VMAC = "carp.20"
	c := control.NewCollector(controltest.New(lost, kept, controltest.Group("plain", "eth1", 30, control.StateBackup)))
	const want = `
# HELP ucarp_vmac_lost Whether someone else set the group's virtual MAC interface down or removed it, which stopped the group until a reload or restart: 1 lost, 0 not; only for a group with a virtual MAC.
# TYPE ucarp_vmac_lost gauge
ucarp_vmac_lost{interface="eth0",name="db",vhid="20"} 0
ucarp_vmac_lost{interface="eth0",name="web",vhid="10"} 1
`
	wantMetrics(t, c, want, "ucarp_vmac_lost")
}
