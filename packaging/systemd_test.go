//go:build linux

package packaging

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// unitKeys reads a unit file: section.Key to its values, in order.
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

func one(t *testing.T, keys map[string][]string, key string) string {
	t.Helper()
	v := keys[key]
	if len(v) != 1 {
		t.Fatalf("%s: %q, want one value", key, v)
	}
	return v[0]
}

// TestInstanceUnitRestarts: the daemon exits 0 when its interface is set
// down administratively (as ucarp, for Debian's ifdown), so an instance
// must be restarted whatever its exit status, or "ip link set eth0 down;
// ip link set eth0 up" leaves it dead; but not after a bad command line
// (exit 1) or a missing configuration (ucarp-instance's 6), and never so
// fast that the start limit is reached while the link stays down, nor so
// fast that it loops hot.
func TestInstanceUnitRestarts(t *testing.T) {
	keys := unitKeys(t, filepath.Join("systemd", "ucarp@.service"))
	if r := one(t, keys, "Service.Restart"); r != "always" {
		t.Errorf("Restart=%s: an instance whose interface went down and up stays dead", r)
	}
	prevent := strings.Fields(strings.Join(keys["Service.RestartPreventExitStatus"], " "))
	for _, code := range []string{"1", "6"} {
		if !slices.Contains(prevent, code) {
			t.Errorf("RestartPreventExitStatus %q lacks %s: a bad configuration is retried for ever", prevent, code)
		}
	}
	if slices.Contains(prevent, "0") || slices.Contains(prevent, "2") {
		t.Errorf("RestartPreventExitStatus %q: exit 0 (link set down) and 2 (start failed) must be retried", prevent)
	}
	sec, err := time.ParseDuration(one(t, keys, "Service.RestartSec"))
	if err != nil || sec < time.Second {
		t.Fatalf("RestartSec=%v (%v): at least 1s, not a hot loop", sec, err)
	}
	interval, err := time.ParseDuration(one(t, keys, "Unit.StartLimitIntervalSec"))
	if err != nil {
		t.Fatal(err)
	}
	var burst int
	if _, err := fmt.Sscan(one(t, keys, "Unit.StartLimitBurst"), &burst); err != nil {
		t.Fatal(err)
	}
	// Restarts RestartSec apart (the daemon exiting at once, the link
	// down) must stay under the limit, or the unit fails for good.
	if starts := int(interval/sec) + 1; starts >= burst {
		t.Errorf("%d restarts in StartLimitIntervalSec=%v reach StartLimitBurst=%d: a link down that long kills the instance", starts, interval, burst)
	}
}

// TestUnitsVerify: systemd-analyze verify accepts the units (an unknown or
// misspelt key is reported there), with ExecStart pointed at a binary that
// exists here.
func TestUnitsVerify(t *testing.T) {
	need(t, "systemd-analyze")
	dir := t.TempDir()
	for _, u := range []string{"ucarp@.service", "ucarp.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/usr/libexec/ucarp-go/ucarp-instance", "/bin/true")
		os.WriteFile(filepath.Join(dir, u), []byte(s), 0o644)
	}
	cmd := exec.Command("systemd-analyze", "verify", "./ucarp@lan.service", "./ucarp.service")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
