package control_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

// twoGroups is a MASTER and a BACKUP, on two interfaces, vhid 10 on both.
func twoGroups() *controltest.Backend {
	return controltest.New(
		controltest.Group("web", "eth0", 10, control.StateMaster),
		controltest.Group("db", "eth1", 10, control.StateBackup),
		controltest.Group("eth1-20", "eth1", 20, control.StateBackup),
	)
}

// serve starts a server on a socket in a temp dir and returns its path;
// the server is stopped, and must have returned, when the test ends.
// serveFn is control.Serve or a control.ServeAs.
func serve(t *testing.T, b control.Backend, opts control.Options, serveFn ...func(context.Context, net.Listener, control.Backend, control.Options) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.sock")
	fn := control.Serve
	if len(serveFn) > 0 {
		fn = serveFn[0]
	}
	controltest.ServeWith(t, path, fn, b, opts)
	return path
}

// as serves as a peer of the given credentials.
func as(uid, gid uint32, groups ...uint32) func(context.Context, net.Listener, control.Backend, control.Options) error {
	return func(ctx context.Context, ln net.Listener, b control.Backend, o control.Options) error {
		return control.ServeAs(ctx, ln, b, o, true, uid, gid, groups...)
	}
}

func dial(t *testing.T, path string) *control.Client {
	t.Helper()
	c, err := control.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestStatus(t *testing.T) {
	b := twoGroups()
	c := dial(t, serve(t, b, control.Options{}))
	got, err := c.Status()
	if err != nil {
		t.Fatal(err)
	}
	if want := b.Status(); !reflect.DeepEqual(got, want) {
		t.Errorf("status:\n got %+v\nwant %+v", got, want)
	}
	// Several requests on one connection.
	if _, err := c.Status(); err != nil {
		t.Fatal(err)
	}
}

// TestStatusWire pins the JSON names that scripts rely on.
func TestStatusWire(t *testing.T) {
	b := controltest.New(controltest.Group("web", "eth0", 10, control.StateMaster))
	rw := rawConn(t, serve(t, b, control.Options{}))
	line := rw.roundTrip(`{"v":1,"verb":"status"}`)
	for _, want := range []string{
		`"v":1`, `"ok":true`, `"name":"web"`, `"interface":"eth0"`, `"vhid":10`, `"protocol":"carp"`,
		`"state":"MASTER"`, `"since":"2025-03-01T12:00:03Z"`, `"reason":"master-down"`,
		`"addresses":[{"address":"203.0.113.10/24","configured":true}]`,
		`"timing":{"advbase":1,"advskew":100,"demotion":0,"demotions":{"admin":0,"health":0,"hold-down":0,"sync":0},"dead_time_ms":3000}`,
		`"peers":[{"source":"203.0.113.250","advbase":1,"advskew":50,"demote":0,"last_seen":"2025-03-01T12:00:10Z","counter":7}]`,
		`"dropped":{"bad-digest":3,"other-vhid":1}`, `"scripts_timed_out":0`,
		`{"time":"2025-03-01T12:00:03Z","from":"BACKUP","to":"MASTER","reason":"master-down"}`,
		`"probes":[]`,
	} {
		if !strings.Contains(line, want) {
			t.Errorf("status lacks %s:\n%s", want, line)
		}
	}
}

// TestStatusEmptyLists: what a backend leaves nil is [] or {} on the
// wire, never null.
func TestStatusEmptyLists(t *testing.T) {
	rw := rawConn(t, serve(t, controltest.New(control.Group{Name: "bare", Interface: "eth0", VHID: 1}), control.Options{}))
	line := rw.roundTrip(`{"verb":"status"}`)
	for _, want := range []string{`"addresses":[]`, `"peers":[]`, `"transitions":[]`, `"probes":[]`, `"dropped":{}`} {
		if !strings.Contains(line, want) {
			t.Errorf("status lacks %s:\n%s", want, line)
		}
	}
	if strings.Contains(line, "null") {
		t.Errorf("status has a null:\n%s", line)
	}
	rw = rawConn(t, serve(t, controltest.New(), control.Options{}))
	if line := rw.roundTrip(`{"verb":"status"}`); line != `{"v":1,"ok":true,"groups":[]}`+"\n" {
		t.Errorf("status of no group: %s", line)
	}
}

func TestExplain(t *testing.T) {
	c := dial(t, serve(t, twoGroups(), control.Options{}))
	for _, tt := range []struct {
		sel  string
		want []string // groups explained
	}{
		{"", []string{"web", "db", "eth1-20"}},
		{"db", []string{"db"}},
		{"10", []string{"web", "db"}},
		{"eth1:10", []string{"db"}},
		{"eth1-20", []string{"eth1-20"}},
	} {
		ex, err := c.Explain(tt.sel)
		if err != nil {
			t.Fatalf("explain %q: %v", tt.sel, err)
		}
		var names []string
		for _, e := range ex {
			names = append(names, e.Group)
			if !strings.HasPrefix(e.Text, e.Group+" is ") {
				t.Errorf("explain %q: %s: text %q", tt.sel, e.Group, e.Text)
			}
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("explain %q explained %v, want %v", tt.sel, names, tt.want)
		}
	}
	if _, err := c.Explain("eth2:10"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("explain of no group: %v, want not-found", err)
	}
}

func TestChangingVerbsAsRoot(t *testing.T) {
	b := twoGroups()
	c := dial(t, serve(t, b, control.Options{}, as(0, 0)))
	if err := c.Demote("eth0:10", 50); err != nil {
		t.Fatal(err)
	}
	if err := c.Promote("db"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	want := []string{"demote web 50", "promote db", "reload"}
	if got := b.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}

	if err := c.Demote("10", 1); !errors.Is(err, control.ErrAmbiguous) || !strings.Contains(err.Error(), "web (eth0:10), db (eth1:10)") {
		t.Errorf("demote of two groups: %v, want ambiguous naming both", err)
	}
	if err := c.Demote("", 1); !errors.Is(err, control.ErrAmbiguous) {
		t.Errorf("demote of every group: %v, want ambiguous", err)
	}
	if err := c.Promote("nope"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("promote of no group: %v, want not-found", err)
	}
	for _, level := range []int{-1, control.MaxDemotion + 1} {
		if err := c.Demote("web", level); err == nil || !strings.Contains(err.Error(), "out of 0 to 255") {
			t.Errorf("demote %d: %v, want out of range", level, err)
		}
	}
	b.FailReload(control.ErrNotSupported)
	if err := c.Reload(); !errors.Is(err, control.ErrNotSupported) || !strings.HasPrefix(err.Error(), "control: ") {
		t.Errorf("reload: %v, want not-supported with a message", err)
	}
	b.FailReload(errors.New("node: config: line 3: bad key"))
	if err := c.Reload(); err == nil || err.Error() != "node: config: line 3: bad key" {
		t.Errorf("reload: %v, want the backend's error", err)
	}
	if got := b.Calls(); len(got) != 5 {
		t.Errorf("calls %q: refused requests reached the backend", got)
	}
}

func TestAuthorization(t *testing.T) {
	for _, tt := range []struct {
		name    string
		admin   string
		known   bool
		uid     uint32
		gid     uint32
		groups  []uint32
		changes bool
	}{
		{"root", "", true, 0, 0, nil, true},
		{"root with a group", "4242", true, 0, 0, nil, true},
		{"user", "", true, 1000, 1000, nil, false},
		{"user, another group", "4242", true, 1000, 1000, []uint32{27, 100}, false},
		{"user, group by gid", "4242", true, 1000, 4242, nil, true},
		{"user, supplementary group", "4242", true, 1000, 1000, []uint32{27, 4242}, true},
		{"gid 0 alone is not root", "", true, 1000, 0, nil, false},
		{"unknown peer", "4242", false, 0, 4242, []uint32{4242}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := twoGroups()
			serveFn := func(ctx context.Context, ln net.Listener, b control.Backend, o control.Options) error {
				return control.ServeAs(ctx, ln, b, o, tt.known, tt.uid, tt.gid, tt.groups...)
			}
			c := dial(t, serve(t, b, control.Options{AdminGroup: tt.admin}, serveFn))
			if _, err := c.Status(); err != nil {
				t.Errorf("status: %v", err)
			}
			if _, err := c.Explain("web"); err != nil {
				t.Errorf("explain: %v", err)
			}
			for _, do := range []func() error{
				func() error { return c.Demote("web", 10) },
				func() error { return c.Promote("web") },
				c.Reload,
			} {
				err := do()
				switch {
				case tt.changes && err != nil:
					t.Errorf("refused: %v", err)
				case !tt.changes && !errors.Is(err, control.ErrPermission):
					t.Errorf("got %v, want a permission error", err)
				case !tt.changes && !strings.Contains(err.Error(), "root"):
					t.Errorf("the refusal %q does not say who may", err)
				}
			}
			if n := len(b.Calls()); !tt.changes && n != 0 {
				t.Errorf("refused calls reached the backend: %q", b.Calls())
			}
		})
	}
}

// raw is a connection that speaks the protocol by hand.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func rawConn(t *testing.T, path string) *raw {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t, c, bufio.NewReader(c)}
}

func (rw *raw) send(line string) {
	rw.t.Helper()
	if _, err := rw.c.Write([]byte(line + "\n")); err != nil {
		rw.t.Fatal(err)
	}
}

func (rw *raw) read() string {
	rw.t.Helper()
	line, err := rw.r.ReadString('\n')
	if err != nil {
		rw.t.Fatalf("read: %v (got %q)", err, line)
	}
	return line
}

func (rw *raw) roundTrip(line string) string {
	rw.t.Helper()
	rw.send(line)
	return rw.read()
}

// eof says whether the server hung up.
func (rw *raw) eof() bool {
	_, err := rw.r.ReadString('\n')
	return err != nil
}

func decode(t *testing.T, line string) control.Response {
	t.Helper()
	var r control.Response
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("response %q: %v", line, err)
	}
	if r.V != control.Version {
		t.Errorf("response %q: version %d", line, r.V)
	}
	return r
}

func TestBadRequests(t *testing.T) {
	rw := rawConn(t, serve(t, twoGroups(), control.Options{}))
	for _, tt := range []struct{ req, code string }{
		{`{not json`, control.CodeBadRequest},
		{`[1,2]`, control.CodeBadRequest},
		{`{"verb":7}`, control.CodeBadRequest},
		{`"status"`, control.CodeBadRequest},
		{`{"verb":"reboot"}`, control.CodeUnknownVerb},
		{`null`, control.CodeUnknownVerb},
		{`{"v":2,"verb":"status"}`, control.CodeVersion},
		{`{"v":-1,"verb":"watch"}`, control.CodeVersion},
		{"\x00\xff\xfe", control.CodeBadRequest},
	} {
		r := decode(t, rw.roundTrip(tt.req))
		if r.OK || r.Code != tt.code || !strings.HasPrefix(r.Error, "control: ") {
			t.Errorf("%q: %+v, want code %s", tt.req, r, tt.code)
		}
	}
	// The connection is still good; empty lines are skipped; a request
	// without a version is version 1, and unknown fields are ignored.
	rw.send("")
	if r := decode(t, rw.roundTrip(`{"verb":"status","future":true}`)); !r.OK || len(r.Groups) != 3 {
		t.Errorf("status after bad requests: %+v", r)
	}
}

func TestRequestTooLong(t *testing.T) {
	rw := rawConn(t, serve(t, twoGroups(), control.Options{MaxRequest: 100}))
	// At the limit: served.
	req := `{"verb":"status","pad":"` + strings.Repeat("x", 100-len(`{"verb":"status","pad":""}`)) + `"}`
	if r := decode(t, rw.roundTrip(req)); !r.OK {
		t.Fatalf("request of %d bytes: %+v", len(req), r)
	}
	// One byte over, and far over: answered, then the server hangs up.
	for _, n := range []int{101, 1 << 20} {
		rw := rawConn(t, serve(t, twoGroups(), control.Options{MaxRequest: 100}))
		go rw.c.Write([]byte(strings.Repeat("x", n) + "\n"))
		if r := decode(t, rw.read()); r.Code != control.CodeTooLong {
			t.Errorf("request of %d bytes: %+v", n, r)
		}
		if !rw.eof() {
			t.Errorf("request of %d bytes: the connection goes on", n)
		}
	}
}

func TestTooManyConnections(t *testing.T) {
	path := serve(t, twoGroups(), control.Options{MaxConns: 2})
	first, second := rawConn(t, path), rawConn(t, path)
	// Both are served (which also proves the server has counted them).
	decode(t, first.roundTrip(`{"verb":"status"}`))
	decode(t, second.roundTrip(`{"verb":"status"}`))
	third := rawConn(t, path)
	if r := decode(t, third.read()); r.Code != control.CodeBusy {
		t.Errorf("third connection: %+v, want busy", r)
	}
	if !third.eof() {
		t.Error("third connection left open")
	}
	// A slot frees when a client hangs up.
	first.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Until the server has seen the hang-up, it refuses and closes:
		// the write may then fail, and the line read be busy.
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte(`{"verb":"status"}` + "\n"))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		var r control.Response
		if json.Unmarshal([]byte(line), &r) == nil && r.OK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a client hung up: %q", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIdleTimeout(t *testing.T) {
	rw := rawConn(t, serve(t, twoGroups(), control.Options{IdleTimeout: 50 * time.Millisecond}))
	start := time.Now()
	if !rw.eof() {
		t.Fatal("an idle connection is kept")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle connection closed after %v", d)
	}
}

func TestWatch(t *testing.T) {
	b := twoGroups()
	path := serve(t, b, control.Options{}, as(0, 0))
	c := dial(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan control.Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, func(ev control.Event) error { got <- ev; return nil })
	}()
	waitFor(t, "the watch to subscribe", func() bool { return b.Watchers() == 1 })

	want := control.Event{Time: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Kind: control.EventTransition,
		Group: "db", Interface: "eth1", VHID: 10, From: control.StateBackup, To: control.StateMaster, Reason: "master-down"}
	b.Publish(want)
	// A demote from another client shows in the watch.
	if err := dial(t, path).Demote("web", 7); err != nil {
		t.Fatal(err)
	}
	for i, check := range []func(control.Event) bool{
		func(ev control.Event) bool { return reflect.DeepEqual(ev, want) },
		func(ev control.Event) bool {
			return ev.Kind == control.EventDemotion && ev.Group == "web" && ev.Demotion != nil && *ev.Demotion == 7
		},
	} {
		select {
		case ev := <-got:
			if !check(ev) {
				t.Errorf("event %d: %+v", i, ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not received", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch after its context was done: %v", err)
	}
	waitFor(t, "the subscription to end when the client hung up", func() bool { return b.Watchers() == 0 })
}

// TestSlowWatcherDropped: a watch client that reads nothing never blocks
// the publisher; it is dropped and its subscription ends.
func TestSlowWatcherDropped(t *testing.T) {
	b := twoGroups()
	b.Buffer = 8
	rw := rawConn(t, serve(t, b, control.Options{WriteTimeout: 100 * time.Millisecond}))
	if r := decode(t, rw.roundTrip(`{"verb":"watch"}`)); !r.OK {
		t.Fatalf("watch: %+v", r)
	}
	ev := control.Event{Kind: control.EventReload, Message: strings.Repeat("m", 4096)}
	start := time.Now()
	for range 5000 { // 20 MB: more than any socket buffer
		b.Publish(ev)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("publishing to a client that reads nothing took %v", d)
	}
	waitFor(t, "the slow watcher to be dropped", func() bool { return b.Watchers() == 0 })
	// What the server wrote before it gave up, then the end.
	rw.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := rw.r.ReadString('\n')
		if err != nil {
			break
		}
		if r := decode(t, line); !r.OK && r.Code != control.CodeDropped {
			t.Errorf("unexpected line %q", line)
		}
	}
}

// TestWatchEndsWithBackend: the backend closing its channel (the daemon
// stopping) ends the watch with a last line.
func TestWatchEndsWithBackend(t *testing.T) {
	b := twoGroups()
	rw := rawConn(t, serve(t, b, control.Options{}))
	decode(t, rw.roundTrip(`{"verb":"watch"}`))
	waitFor(t, "the watch to subscribe", func() bool { return b.Watchers() == 1 })
	b.Close()
	if r := decode(t, rw.read()); r.Code != control.CodeDropped {
		t.Errorf("last line %+v, want dropped", r)
	}
	if !rw.eof() {
		t.Error("the watch goes on")
	}
}

// TestServeStops: Serve returns when its context is done, whatever its
// clients are doing (serve's cleanup checks that it returned).
func TestServeStops(t *testing.T) {
	b := twoGroups()
	path := serve(t, b, control.Options{})
	idle, watching := rawConn(t, path), rawConn(t, path)
	decode(t, idle.roundTrip(`{"verb":"status"}`))
	decode(t, watching.roundTrip(`{"verb":"watch"}`))
	idle.send(`{"verb":`) // half a request
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
