package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/health"
)

const probeGroups = `
probes = ["web"]
interface = "eth0"
srcip = "192.0.2.11"
pass = "s3cret"

[probe.web]
type = "tcp"             # icmp, tcp, http, https, exec, file, interface
target = "127.0.0.1:8080"
interval = "200ms"
timeout = "100ms"
rise = 2
fall = 2
weight = 100

[probe.db]
type = "file"
target = "/run/db/healthy"

[[group]]
vhid = 4
addr = "192.0.2.4"

[[group]]
vhid = 5
addr = "192.0.2.5"
probes = ["web", "db"]

[[group]]
vhid = 6
addr = "192.0.2.6"
probes = []
`

// TestProbes: [probe.NAME] tables become specs, and groups name them, with
// the top level's probes as their default.
func TestProbes(t *testing.T) {
	f, err := Parse("p.toml", []byte(probeGroups), files.read)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(f.Probes) != 2 || f.Probes[0].Name != "db" || f.Probes[1].Name != "web" {
		t.Fatalf("probes %+v", f.Probes)
	}
	web := f.Probes[1]
	want := health.Spec{Name: "web", Type: health.TypeTCP, Target: "127.0.0.1:8080", Interval: 200 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Rise: 2, Fall: 2, Weight: 100}
	if web != want {
		t.Errorf("web = %+v, want %+v", web, want)
	}
	if db := f.Probes[0]; db.Weight != health.DefaultWeight || db.Interval != health.DefaultInterval {
		t.Errorf("db = %+v: defaults not applied", db)
	}
	got := [][]string{f.Groups[0].Probes, f.Groups[1].Probes, f.Groups[2].Probes}
	if strings.Join(got[0], ",") != "web" || strings.Join(got[1], ",") != "web,db" || len(got[2]) != 0 {
		t.Errorf("groups' probes %q", got)
	}
}

// TestProbeErrors: each problem names the file, the line and the key.
func TestProbeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unknown key", probeGroups + "\n[probe.x]\ntype = \"tcp\"\ntarget = \"127.0.0.1:1\"\nfoo = 1\n",
			`p.toml:37: probe "x": foo: unknown key`},
		{"wrong type", probeGroups + "\n[probe.x]\ntype = \"tcp\"\ntarget = \"127.0.0.1:1\"\nrise = \"2\"\n",
			`p.toml:37: probe "x": rise: must be an integer, not a string`},
		{"bad interval", probeGroups + "\n[probe.x]\ntype = \"tcp\"\n\ntarget = \"127.0.0.1:1\"\ninterval = \"1ms\"\n",
			`p.toml:38: probe "x": interval: `},
		{"bad type", probeGroups + "\n[probe.x]\ntype = \"smtp\"\ntarget = \"127.0.0.1:1\"\n",
			`p.toml:35: probe "x": type: `},
		{"missing target", probeGroups + "\n[probe.x]\ntype = \"tcp\"\n",
			`p.toml:34: probe "x": target: `},
		{"unknown probe", strings.Replace(probeGroups, `probes = ["web", "db"]`, `probes = ["web", "dns"]`, 1),
			`p.toml:27: group #2 (eth0 vhid 5): probes: no [probe.dns] in the file`},
		{"unknown default", strings.Replace(probeGroups, `probes = ["web"]`, `probes = ["www"]`, 1),
			`p.toml:2: group #1 (eth0 vhid 4): probes: no [probe.www] in the file`},
		{"not an array", strings.Replace(probeGroups, `probes = []`, `probes = "web"`, 1),
			`p.toml:32: group #3 (eth0 vhid 6): probes: must be an array of probe names`},
		{"twice", strings.Replace(probeGroups, `probes = []`, `probes = ["db", "db"]`, 1),
			`p.toml:32: group #3 (eth0 vhid 6): probes: "db" is named twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(tc.file), files.read)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
