//go:build linux

package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
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
	for _, u := range []string{"ucarp@.service", "ucarp.service", "ucarp-go.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/usr/libexec/ucarp-go/ucarp-instance", "/bin/true")
		s = strings.ReplaceAll(s, "/usr/sbin/ucarp", "/bin/true")
		os.WriteFile(filepath.Join(dir, u), []byte(s), 0o644)
	}
	// Documentation= is checked with man: our pages, not the host's.
	for _, m := range []string{"man8/ucarp.8", "man5/ucarp.conf.5", "man1/ucarpctl.1"} {
		os.MkdirAll(filepath.Join(dir, "man", filepath.Dir(m)), 0o755)
		run(t, "cp", filepath.Base(m), filepath.Join(dir, "man", m))
	}
	cmd := exec.Command("systemd-analyze", "verify", "./ucarp@lan.service", "./ucarp.service", "./ucarp-go.service")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(dir, "man"))
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// execLines are the command lines of a unit's key, each split into words
// (the unit files quote nothing).
func execLines(keys map[string][]string, key string) [][]string {
	var out [][]string
	for _, v := range keys[key] {
		out = append(out, strings.Fields(v))
	}
	return out
}

// perUnitKeys are the [Service] keys that say what a unit runs and how it
// restarts; every other key is its sandbox, which ucarp-go.service and
// ucarp@.service share.
var perUnitKeys = []string{"Type", "ExecStart", "ExecStartPre", "ExecReload", "Restart", "RestartSec",
	"RestartPreventExitStatus", "KillMode", "TimeoutStopSec", "RuntimeDirectory"}

// TestConfigUnit: ucarp-go.service runs config mode as Type=notify;
// a reload checks the file before the HUP, so that "systemctl reload"
// fails on a bad file (which the daemon would only log); a bad file at
// start (exit 1) is not retried, which RestartPreventExitStatus sees only
// for the main process, so the check is not an ExecStartPre; and its
// sandbox is ucarp@.service's, key for key, so that they cannot drift.
func TestConfigUnit(t *testing.T) {
	keys := unitKeys(t, filepath.Join("systemd", "ucarp-go.service"))
	inst := unitKeys(t, filepath.Join("systemd", "ucarp@.service"))
	if typ := one(t, keys, "Service.Type"); typ != "notify" {
		t.Errorf("Type=%s, want notify: ready once every group listens", typ)
	}
	start := strings.Fields(one(t, keys, "Service.ExecStart"))
	if want := []string{"/usr/sbin/ucarp", "--config=/etc/ucarp-go.conf"}; !slices.Equal(start, want) {
		t.Errorf("ExecStart=%q, want %q", start, want)
	}
	if pre := keys["Service.ExecStartPre"]; len(pre) > 0 {
		t.Errorf("ExecStartPre=%q: its exit 1 escapes RestartPreventExitStatus, and a bad file is retried every RestartSec for ever", pre)
	}
	reload := execLines(keys, "Service.ExecReload")
	if len(reload) != 2 || !slices.Equal(reload[0], append(slices.Clone(start), "--check")) ||
		!slices.Equal(reload[1], []string{"/bin/kill", "-HUP", "$MAINPID"}) {
		t.Errorf("ExecReload=%q, want ExecStart --check, then /bin/kill -HUP $MAINPID", reload)
	}
	if prevent := strings.Fields(strings.Join(keys["Service.RestartPreventExitStatus"], " ")); !slices.Contains(prevent, "1") {
		t.Errorf("RestartPreventExitStatus=%q lacks 1: a bad file is retried for ever", prevent)
	}
	if r := one(t, keys, "Service.Restart"); r != "on-failure" && r != "always" {
		t.Errorf("Restart=%s", r)
	}
	if c := one(t, keys, "Unit.ConditionPathExists"); c != "/etc/ucarp-go.conf" {
		t.Errorf("ConditionPathExists=%s", c)
	}
	n := 0
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(keys, inst))) {
		section, name, _ := strings.Cut(k, ".")
		if section != "Service" || slices.Contains(perUnitKeys, name) {
			continue
		}
		n++
		if !slices.Equal(keys[k], inst[k]) {
			t.Errorf("%s: %q in ucarp-go.service, %q in ucarp@.service: the sandboxes differ", name, keys[k], inst[k])
		}
	}
	if n < 20 {
		t.Errorf("only %d sandbox keys compared", n)
	}
}

func mergeKeys(a, b map[string][]string) map[string][]string {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

// TestConfigUnitCommands runs the command lines of ucarp-go.service with
// the built daemon: ExecStart exits 1 on a bad file (the status that
// RestartPreventExitStatus stops on); ExecReload's check exits 0 on a good
// file and 1 on a bad one, and its kill sends HUP to MAINPID. The example
// configuration that the packages install passes the check.
func TestConfigUnitCommands(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ucarp")
	run(t, "go", "build", "-o", bin, "../cmd/ucarp")
	pass := filepath.Join(dir, "cluster.pass")
	os.WriteFile(pass, []byte("secret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "db.pass"), []byte("other\n"), 0o600)
	example, err := os.ReadFile(filepath.Join("examples", "ucarp-go.conf"))
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, bytes.ReplaceAll(example, []byte("/etc/ucarp/"), []byte(dir+"/")), 0o644)
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("interface = \"eth0\"\n[[group]]\nvhid = 300\n"), 0o644)

	keys := unitKeys(t, filepath.Join("systemd", "ucarp-go.service"))
	// cmdline is a unit's command line with our binary and file.
	cmdline := func(words []string, conf string, mainpid int) *exec.Cmd {
		args := slices.Clone(words)
		for i, w := range args {
			w = strings.Replace(w, "/usr/sbin/ucarp", bin, 1)
			w = strings.Replace(w, "/etc/ucarp-go.conf", conf, 1)
			args[i] = strings.Replace(w, "$MAINPID", strconv.Itoa(mainpid), 1)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
		return cmd
	}
	status := func(cmd *exec.Cmd) (int, string) {
		out, err := cmd.CombinedOutput()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), string(out)
			}
			t.Fatalf("%s: %v", cmd, err)
		}
		return 0, string(out)
	}

	if code, out := status(cmdline(strings.Fields(one(t, keys, "Service.ExecStart")), bad, 0)); code != 1 || !strings.Contains(out, "vhid") {
		t.Errorf("ExecStart on a bad file: exit %d, want 1 (not retried)\n%s", code, out)
	}
	reload := execLines(keys, "Service.ExecReload")
	if len(reload) != 2 {
		t.Fatalf("ExecReload=%q", reload)
	}
	if code, out := status(cmdline(reload[0], good, 0)); code != 0 {
		t.Errorf("ExecReload %q on the example: exit %d\n%s", reload[0], code, out)
	}
	if code, out := status(cmdline(reload[0], bad, 0)); code == 0 || !strings.Contains(out, bad+":3") {
		t.Errorf("ExecReload %q on a bad file: exit %d, want a failure that names the line\n%s", reload[0], code, out)
	}
	// The main process: a shell that says when HUP reaches it. A shell
	// cannot trap a signal that was ignored when it started (a test run
	// under nohup): caught here, HUP starts out at its default in the
	// child. The shell ends by itself after 30 s.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	main := exec.Command("sh", "-c", `trap 'echo HUP; exit 0' HUP; echo up; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo timeout`)
	stdout, _ := main.StdoutPipe()
	if err := main.Start(); err != nil {
		t.Fatal(err)
	}
	defer main.Process.Kill()
	r := bufio.NewReader(stdout)
	if line, _ := r.ReadString('\n'); line != "up\n" {
		t.Fatalf("main process: %q", line)
	}
	if code, out := status(cmdline(reload[1], good, main.Process.Pid)); code != 0 {
		t.Fatalf("ExecReload %q: exit %d\n%s", reload[1], code, out)
	}
	if line, _ := r.ReadString('\n'); line != "HUP\n" {
		t.Errorf("the main process got %q, not HUP", line)
	}
	main.Wait()
}

// TestRemovalStopsUnits: removing the package stops every unit it ships
// (prerm, rpm's preun), or a daemon runs on from a deleted binary.
func TestRemovalStopsUnits(t *testing.T) {
	units, _ := filepath.Glob(filepath.Join("systemd", "*.service"))
	for _, script := range []string{"prerm", "rpm-preun"} {
		b, err := os.ReadFile(filepath.Join("scripts", script))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range units {
			u = strings.Replace(filepath.Base(u), "@.", "@*.", 1)
			if !strings.Contains(string(b), "systemctl stop") || !regexp.MustCompile(`systemctl stop .*'?`+regexp.QuoteMeta(u)+`'?`).Match(b) {
				t.Errorf("%s does not stop %s", script, u)
			}
		}
	}
}
