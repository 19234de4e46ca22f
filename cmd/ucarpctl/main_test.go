package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
	"github.com/ucarp-go/ucarp/internal/syncbuf"
)

// The exit codes as documented, not as main.go names them.
const wantOK, wantError, wantUsage = 0, 1, 2

// host is a /run/ucarp of a temp dir with a node of two groups
// (ucarp.sock) and a ucarp in command-line mode (eth2-30.sock).
type host struct {
	dir        string
	node, proc *controltest.Backend
}

func newHost(t *testing.T) *host {
	t.Helper()
	web := controltest.Group("web", "eth0", 10, control.StateMaster)
	web.Probes = []control.Probe{{Name: "http", Type: "http", Target: "http://127.0.0.1/", State: "up", LastResult: "ok", LatencyMS: 1.234},
		{Name: "disk", Type: "file", Target: "/run/ok", State: "down"}}
	web.Timing.Demotion, web.Timing.Demotions["sync"], web.Timing.Demotions["hold-down"] = 255, 100, 255
	h := &host{
		dir: t.TempDir(),
		node: controltest.New(
			web,
			controltest.Group("db", "eth1", 10, control.StateBackup),
		),
		proc: controltest.New(controltest.Group("eth2-30", "eth2", 30, control.StateBackup)),
	}
	h.proc.FailReload(control.ErrNotSupported)
	serve(t, filepath.Join(h.dir, "ucarp.sock"), h.node)
	serve(t, filepath.Join(h.dir, "eth2-30.sock"), h.proc)
	return h
}

// serve runs a server on path until the test ends. The control group is
// this process's gid, so that the changing verbs are allowed without root.
func serve(t *testing.T, path string, b control.Backend) {
	t.Helper()
	controltest.Serve(t, path, b, control.Options{AdminGroup: strconv.Itoa(os.Getegid())})
}

// ctl runs ucarpctl with --dir set to the host's, and returns its exit
// status and output.
func (h *host) ctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"--dir=" + h.dir}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestStatusTable(t *testing.T) {
	h := newHost(t)
	code, out, errOut := h.ctl(t, "status")
	if code != wantOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		`GROUP\s+INTERFACE\s+VHID\s+STATE\s+SINCE\s+REASON\s+ADDRESSES\s+PEERS\s+DEMOTION\s+PROBES`,
		// Sockets in name order: eth2-30.sock, then ucarp.sock.
		`eth2-30\s+eth2\s+30\s+BACKUP\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+start\s+203\.0\.113\.30/24 off\s+203\.0\.113\.250\s+0\s+-`,
		`web\s+eth0\s+10\s+MASTER\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+master-down\s+203\.0\.113\.10/24 on\s+203\.0\.113\.250\s+255 \(hold-down 255, sync 100\)\s+http up \(ok 1\.2ms\), disk down`,
		`db\s+eth1\s+10\s+BACKUP\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+start\s+203\.0\.113\.10/24 off\s+203\.0\.113\.250\s+0\s+-`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, re := range want {
		if !regexp.MustCompile("^" + re + "$").MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	h := newHost(t)
	code, out, _ := h.ctl(t, "status", "--json")
	if code != wantOK {
		t.Fatalf("exit %d", code)
	}
	var got struct{ Groups []control.Group }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want := append(h.proc.Status(), h.node.Status()...)
	if !slices.EqualFunc(got.Groups, want, func(a, b control.Group) bool {
		return a.Name == b.Name && a.State == b.State && a.Since.Equal(b.Since) && a.Addresses[0] == b.Addresses[0]
	}) {
		t.Errorf("groups %+v, want %+v", got.Groups, want)
	}

	// --socket: that socket only.
	code, out, _ = h.ctl(t, "--socket="+filepath.Join(h.dir, "eth2-30.sock"), "status", "--json")
	if err := json.Unmarshal([]byte(out), &got); code != wantOK || err != nil || len(got.Groups) != 1 || got.Groups[0].Name != "eth2-30" {
		t.Errorf("--socket: exit %d, %v, %+v", code, err, got.Groups)
	}
}

func TestExplain(t *testing.T) {
	h := newHost(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"eth2-30 (eth2:30): eth2-30 is BACKUP", "web (eth0:10): web is MASTER", "db (eth1:10): db is BACKUP"}},
		{[]string{"db"}, []string{"db (eth1:10): db is BACKUP because start."}},
		{[]string{"eth2:30"}, []string{"eth2-30 (eth2:30)"}},
		{[]string{"10"}, []string{"web (eth0:10)", "db (eth1:10)"}},
	} {
		code, out, errOut := h.ctl(t, append([]string{"explain"}, tt.args...)...)
		if code != wantOK {
			t.Errorf("explain %v: exit %d: %s", tt.args, code, errOut)
			continue
		}
		paras := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
		if len(paras) != len(tt.want) {
			t.Errorf("explain %v: %d paragraphs, want %d:\n%s", tt.args, len(paras), len(tt.want), out)
			continue
		}
		for i, w := range tt.want {
			if !strings.HasPrefix(paras[i], w) {
				t.Errorf("explain %v: paragraph %d %q, want %q...", tt.args, i, paras[i], w)
			}
		}
	}
	if code, _, errOut := h.ctl(t, "explain", "nope"); code != wantError || errOut != "ucarpctl: no group \"nope\"\n" {
		t.Errorf("explain nope: exit %d, %q", code, errOut)
	}
}

func TestDemotePromote(t *testing.T) {
	h := newHost(t)
	for _, tt := range []struct {
		args []string
		out  string
	}{
		{[]string{"demote", "web", "50"}, "web (eth0:10): demoted by 50\n"},
		{[]string{"demote", "eth1:10", "0"}, "db (eth1:10): demoted by 0\n"},
		{[]string{"promote", "30"}, "eth2-30 (eth2:30): promoted\n"},
		{[]string{"promote", "web"}, "web (eth0:10): promoted\n"},
	} {
		code, out, errOut := h.ctl(t, tt.args...)
		if code != wantOK || out != tt.out {
			t.Errorf("%v: exit %d, %q %q; want %q", tt.args, code, out, errOut, tt.out)
		}
	}
	if got, want := h.node.Calls(), []string{"demote web 50", "demote db 0", "promote web"}; !slices.Equal(got, want) {
		t.Errorf("node calls %q, want %q", got, want)
	}
	if got, want := h.proc.Calls(), []string{"promote eth2-30"}; !slices.Equal(got, want) {
		t.Errorf("process calls %q, want %q", got, want)
	}

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"demote", "10", "5"}, `2 groups match "10": web (eth0:10), db (eth1:10)`},
		{[]string{"demote", "5"}, "3 groups, name one"},
		{[]string{"promote"}, "3 groups, name one"},
		{[]string{"promote", "nope"}, `no group "nope"`},
	} {
		code, _, errOut := h.ctl(t, tt.args...)
		if code != wantError || !strings.Contains(errOut, tt.msg) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", tt.args, code, errOut, tt.msg)
		}
	}
	if n := len(h.node.Calls()) + len(h.proc.Calls()); n != 4 {
		t.Errorf("failed commands reached a daemon: %q %q", h.node.Calls(), h.proc.Calls())
	}

	// The only group of one socket needs no name.
	code, out, _ := h.ctl(t, "--socket="+filepath.Join(h.dir, "eth2-30.sock"), "demote", "7")
	if code != wantOK || out != "eth2-30 (eth2:30): demoted by 7\n" {
		t.Errorf("demote N with one group: exit %d, %q", code, out)
	}
}

// TestRefused: the server's refusal reaches the user, exit 1.
func TestRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may do everything; TestPeerCredentials of package control covers the refusal as root")
	}
	dir := t.TempDir()
	ln, err := control.Listen(filepath.Join(dir, "ucarp.sock"), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go control.Serve(ctx, ln, controltest.New(controltest.Group("web", "eth0", 10, control.StateMaster)), control.Options{})
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--dir=" + dir, "demote", "1"}, &out, &errOut)
	if code != wantError || !strings.Contains(errOut.String(), "is refused to demote: it takes root") {
		t.Errorf("exit %d, %q", code, errOut.String())
	}
}

func TestUsage(t *testing.T) {
	h := newHost(t)
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"--nope", "status"},
		{"status", "extra"},
		{"status", "--yaml"},
		{"explain", "a", "b"},
		{"demote"},
		{"demote", "web"},
		{"demote", "web", "256"},
		{"demote", "web", "-1"},
		{"demote", "a", "b", "1"},
		{"promote", "a", "b"},
		{"watch", "x"},
		{"reload", "x"},
	} {
		code, out, errOut := h.ctl(t, args...)
		if code != wantUsage || out != "" || !strings.Contains(errOut, "usage: ucarpctl") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and the usage", args, code, out, errOut)
		}
	}
	if n := len(h.node.Calls()) + len(h.proc.Calls()); n != 0 {
		t.Errorf("usage errors reached a daemon")
	}
	for _, args := range [][]string{{"help"}, {"--help"}} {
		code, out, errOut := h.ctl(t, args...)
		if code != wantOK || !strings.Contains(out+errOut, "demote [GROUP] N") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errOut)
		}
	}
}

func TestNoSockets(t *testing.T) {
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	if code := run(context.Background(), []string{"--dir=" + dir, "status"}, &out, &errOut); code != wantError ||
		!strings.Contains(errOut.String(), "no socket in "+dir) {
		t.Errorf("exit %d, %q", code, errOut.String())
	}
}

// TestDeadSocket: a socket nobody serves is reported; the others are
// still shown, and the exit status says that not all was.
func TestDeadSocket(t *testing.T) {
	h := newHost(t)
	dead := filepath.Join(h.dir, "eth9-99.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: dead, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()

	code, out, errOut := h.ctl(t, "status")
	if code != wantError || !strings.Contains(errOut, "ucarpctl: "+dead+": ") || strings.Count(out, "\n") != 4 {
		t.Errorf("exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
	// A change is not risked when a socket did not answer.
	code, _, errOut = h.ctl(t, "demote", "web", "1")
	if code != wantError || !strings.Contains(errOut, "not every socket could be asked") || len(h.node.Calls()) != 0 {
		t.Errorf("demote: exit %d, %q, calls %q", code, errOut, h.node.Calls())
	}
	// The one socket asked, dead: exit 1.
	code, _, errOut = h.ctl(t, "--socket="+dead, "status")
	if code != wantError || !strings.HasPrefix(errOut, "ucarpctl: "+dead+": ") {
		t.Errorf("--socket dead: exit %d, %q", code, errOut)
	}
}

func TestReload(t *testing.T) {
	h := newHost(t)
	code, out, errOut := h.ctl(t, "reload")
	if code != wantOK || out != filepath.Join(h.dir, "ucarp.sock")+": reloaded\n" || errOut != "" {
		t.Errorf("reload: exit %d, %q, %q", code, out, errOut)
	}
	if !slices.Equal(h.node.Calls(), []string{"reload"}) {
		t.Errorf("node calls %q", h.node.Calls())
	}
	// Asked of a ucarp in command-line mode by name: it says it cannot.
	code, _, errOut = h.ctl(t, "--socket="+filepath.Join(h.dir, "eth2-30.sock"), "reload")
	if code != wantError || !strings.Contains(errOut, "not-supported") {
		t.Errorf("reload of a command-line ucarp: exit %d, %q", code, errOut)
	}
	// Nothing here reads a file.
	h.node.FailReload(control.ErrNotSupported)
	code, _, errOut = h.ctl(t, "reload")
	if code != wantError || !strings.Contains(errOut, "no daemon here reads a configuration file") {
		t.Errorf("reload with no config mode: exit %d, %q", code, errOut)
	}
}

// syncBuffer is a buffer that watch's goroutines may write while the test
// reads it.
type syncBuffer = syncbuf.Buffer

func TestWatch(t *testing.T) {
	h := newHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--dir=" + h.dir, "watch"}, &out, &errOut) }()
	waitFor(t, "both watches", func() bool { return h.node.Watchers() == 1 && h.proc.Watchers() == 1 })

	t0 := time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)
	h.node.Publish(control.Event{Time: t0, Kind: control.EventTransition, Group: "db", Interface: "eth1", VHID: 10,
		From: control.StateBackup, To: control.StateMaster, Reason: "master-down"})
	waitFor(t, "the first event", func() bool { return strings.Count(out.String(), "\n") == 1 })
	h.proc.Publish(control.Event{Time: t0, Kind: control.EventTransition, Group: "eth2-30", Interface: "eth2", VHID: 30,
		From: control.StateBackup, To: control.StateMaster, Reason: "preempt"})
	waitFor(t, "the second event", func() bool { return strings.Count(out.String(), "\n") == 2 })
	want := `{"time":"2025-03-01T12:00:05Z","kind":"transition","group":"db","interface":"eth1","vhid":10,"from":"BACKUP","to":"MASTER","reason":"master-down"}
{"time":"2025-03-01T12:00:05Z","kind":"transition","group":"eth2-30","interface":"eth2","vhid":30,"from":"BACKUP","to":"MASTER","reason":"preempt"}
`
	if got := out.String(); got != want {
		t.Errorf("watch printed\n%s\nwant\n%s", got, want)
	}
	cancel()
	select {
	case code := <-done:
		if code != wantOK || errOut.String() != "" {
			t.Errorf("interrupted watch: exit %d, %q", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not end when interrupted")
	}
	waitFor(t, "the subscriptions to end", func() bool { return h.node.Watchers() == 0 && h.proc.Watchers() == 0 })
}

// TestWatchDaemonEnds: the daemon stopping ends the watch, exit 1.
func TestWatchDaemonEnds(t *testing.T) {
	h := newHost(t)
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"--socket=" + filepath.Join(h.dir, "ucarp.sock"), "watch"}, &out, &errOut)
	}()
	waitFor(t, "the watch", func() bool { return h.node.Watchers() == 1 })
	h.node.Close()
	select {
	case code := <-done:
		if code != wantError || !strings.Contains(errOut.String(), "watch ended") {
			t.Errorf("exit %d, %q", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not end with the daemon")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMaintenance(t *testing.T) {
	h := newHost(t)
	code, out, errOut := h.ctl(t, "maintenance", "on", "web", "--persistent")
	if code != wantOK || !strings.Contains(out, "web (eth0:10): BACKUP in maintenance since") ||
		!strings.Contains(out, "(persistent), handed off to 203.0.113.250 (announced from 02:00:00:00:00:fa)") {
		t.Fatalf("maintenance on web: %d\n%s%s", code, out, errOut)
	}
	if got := h.node.Calls(); !slices.Equal(got, []string{"maintenance web on persistent"}) {
		t.Fatalf("calls %q", got)
	}
	code, out, _ = h.ctl(t, "status")
	if code != wantOK || !strings.Contains(out, "\nweb: in maintenance since ") || strings.Contains(out, "\ndb: ") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	code, out, errOut = h.ctl(t, "maintenance", "off", "web")
	if code != wantOK || !strings.Contains(out, "web (eth0:10): BACKUP maintenance off") {
		t.Fatalf("maintenance off web: %d\n%s%s", code, out, errOut)
	}

	// Without GROUP: every group of every socket; a BACKUP is only
	// demoted.
	code, out, _ = h.ctl(t, "maintenance", "on")
	if code != wantOK || !strings.Contains(out, "db (eth1:10): BACKUP in maintenance") ||
		!strings.Contains(out, "demoted: nothing to hand off") || !strings.Contains(out, "eth2-30 (eth2:30)") {
		t.Fatalf("maintenance on: %d\n%s", code, out)
	}
}

func TestMaintenanceNoPeer(t *testing.T) {
	h := newHost(t)
	h.node.NoPeer(true)
	code, out, errOut := h.ctl(t, "maintenance", "on", "web")
	if code != wantError || !strings.Contains(out, "web (eth0:10): MASTER in maintenance") ||
		!strings.Contains(out, "no peer took over: staying MASTER with the address") ||
		!strings.Contains(errOut, "ucarpctl: no peer took over web: this host stays MASTER and keeps the address") {
		t.Fatalf("maintenance on web without a peer: %d\n%s%s", code, out, errOut)
	}
}

func TestMaintenanceUsage(t *testing.T) {
	h := newHost(t)
	for _, args := range [][]string{
		{"maintenance"},
		{"maintenance", "start"},
		{"maintenance", "on", "web", "db"},
		{"maintenance", "off", "web", "--persistent"},
		{"maintenance", "on", "--bogus"},
	} {
		if code, _, errOut := h.ctl(t, args...); code != wantUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, code, wantUsage, errOut)
		}
	}
	if code, _, errOut := h.ctl(t, "maintenance", "on", "nosuch"); code != wantError || !strings.Contains(errOut, `no group "nosuch"`) {
		t.Errorf("maintenance on nosuch: %d %s", code, errOut)
	}
	if len(h.node.Calls())+len(h.proc.Calls()) != 0 {
		t.Fatalf("calls %q %q", h.node.Calls(), h.proc.Calls())
	}
}

// TestVersion: --version prints the version that the Makefile sets with
// -X main.version, in ucarp --version's scheme, and asks no daemon.
func TestVersion(t *testing.T) {
	h := newHost(t)
	old := version
	version = "1.2.3~git1a2b3c4"
	defer func() { version = old }()
	code, out, errOut := h.ctl(t, "--version")
	if code != wantOK || out != "ucarpctl (ucarp-go) 1.2.3~git1a2b3c4\n" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := len(h.node.Calls()) + len(h.proc.Calls()); n != 0 {
		t.Errorf("--version reached a daemon")
	}
}

// TestStatusDualStack: the table and --json show every address of a
// dual-stack group (two IPv4, two IPv6), in order, each with its state.
func TestStatusDualStack(t *testing.T) {
	dir := t.TempDir()
	g := controltest.DualGroup("dual", "eth0", 10, control.StateMaster)
	serve(t, filepath.Join(dir, "ucarp.sock"), controltest.New(g))
	h := &host{dir: dir}
	code, out, errOut := h.ctl(t, "status")
	if code != wantOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `198.51.100.10/24 on, 203.0.113.10/32 on, 2001:db8::a/64 on, 2001:db8:1::a/128 off`
	if lines := strings.Split(out, "\n"); len(lines) < 2 || !strings.Contains(lines[1], "  "+want+"  ") {
		t.Errorf("table lacks %q:\n%s", want, out)
	}
	code, out, _ = h.ctl(t, "status", "--json")
	var got struct{ Groups []control.Group }
	if err := json.Unmarshal([]byte(out), &got); code != wantOK || err != nil || len(got.Groups) != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if !slices.Equal(got.Groups[0].Addresses, g.Addresses) {
		t.Errorf("addresses %+v, want %+v", got.Groups[0].Addresses, g.Addresses)
	}
	for _, w := range []string{`"address": "2001:db8:1::a/128",` + "\n" + `          "configured": false`,
		`"address": "198.51.100.10/24",` + "\n" + `          "configured": true`} {
		if !strings.Contains(out, w) {
			t.Errorf("--json lacks %q:\n%s", w, out)
		}
	}
}

// TestStatusConflict: a group whose address another host claimed has a
// line under the table with the count and the last conflict.
func TestStatusConflict(t *testing.T) {
	web := controltest.Group("web", "eth0", 10, control.StateMaster)
	web.Addresses[0].Conflicts = 3
	web.LastConflict = &control.Conflict{Address: web.Addresses[0].Prefix.Addr(), MAC: "02:00:00:00:00:66",
		Time: time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)}
	h := &host{dir: t.TempDir(), node: controltest.New(web)}
	serve(t, filepath.Join(h.dir, "ucarp.sock"), h.node)
	code, out, errOut := h.ctl(t, "status")
	if code != wantOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := regexp.MustCompile(`(?m)^web: address conflicts 3, last 203\.0\.113\.10 claimed by 02:00:00:00:00:66 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	if !want.MatchString(out) {
		t.Fatalf("no conflict line:\n%s", out)
	}
}

// TestStatusVMACLost: a group whose macvlan someone else took away has
// a line under the table that says so; one that keeps it has none.
func TestStatusVMACLost(t *testing.T) {
	web := controltest.Group("web", "eth0", 10, control.StateInit)
	web.VMAC, web.VMACLost = "carp.10", true
	db := controltest.Group("db", "eth0", 20, control.StateMaster)
	db.VMAC = "carp.20"
	h := &host{dir: t.TempDir(), node: controltest.New(web, db)}
	serve(t, filepath.Join(h.dir, "ucarp.sock"), h.node)
	code, out, errOut := h.ctl(t, "status")
	if code != wantOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\nweb: virtual MAC interface carp.10 set down or removed by someone else: the group stopped (a reload or restart makes it again)\n") ||
		strings.Contains(out, "db: virtual MAC") {
		t.Fatalf("the lost macvlan's line:\n%s", out)
	}
}

// TestStatusUnicastPeers: a group with unicast peers gets a line that
// lists them after the table, and they are in the JSON; the table is
// unchanged, and a multicast group gets no line.
func TestStatusUnicastPeers(t *testing.T) {
	web := controltest.Group("web", "eth0", 10, control.StateMaster)
	web.UnicastPeers = []netip.Addr{netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("fe80::2%eth0")}
	dir := t.TempDir()
	serve(t, filepath.Join(dir, "ucarp.sock"), controltest.New(web, controltest.Group("db", "eth1", 10, control.StateBackup)))
	h := &host{dir: dir}
	code, out, errOut := h.ctl(t, "status")
	if code != wantOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || lines[3] != "web: unicast peers 203.0.113.2, fe80::2%eth0" {
		t.Fatalf("status:\n%s", out)
	}
	code, out, _ = h.ctl(t, "status", "--json")
	var got struct{ Groups []control.Group }
	if err := json.Unmarshal([]byte(out), &got); code != wantOK || err != nil || len(got.Groups) != 2 ||
		!slices.Equal(got.Groups[0].UnicastPeers, web.UnicastPeers) || got.Groups[1].UnicastPeers != nil ||
		strings.Count(out, `"unicast_peers"`) != 1 {
		t.Fatalf("status --json: %d %v\n%s", code, err, out)
	}
}

// TestVRRP3Columns: a VRRPv3 group's VHID column names its protocol and
// its DEMOTION column its priority; a CARP group's stay as they were.
func TestVRRP3Columns(t *testing.T) {
	carpG := control.Group{VHID: 10, Protocol: control.ProtocolCARP, Timing: control.Timing{Demotion: 5}}
	v := control.Group{VHID: 51, Protocol: control.ProtocolVRRP3, Timing: control.Timing{Demotion: 50, Priority: 150}}
	if a, b := vhidText(carpG), demotionText(carpG); a != "10" || b != "5" {
		t.Errorf("CARP: %q %q", a, b)
	}
	if a, b := vhidText(v), demotionText(v); a != "51 vrrp3" || b != "50 (priority 150)" {
		t.Errorf("VRRPv3: %q %q", a, b)
	}
}
