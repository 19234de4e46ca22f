package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

func TestServeControl(t *testing.T) {
	b := controltest.New(controltest.Group("web", "eth0", 1, control.StateMaster))
	status := func(t *testing.T, path string) {
		t.Helper()
		c, err := control.Dial(path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r, err := c.Do(control.Request{Verb: control.VerbStatus})
		if err != nil || !r.OK || len(r.Groups) != 1 || r.Groups[0].Name != "web" {
			t.Fatalf("status: %+v, %v", r, err)
		}
	}

	t.Run("the default socket of the command line: served without a word", func(t *testing.T) {
		var out bytes.Buffer
		path := filepath.Join(t.TempDir(), "run", "eth0-1.sock")
		stop := serveControl(newLogger(&out, &out, nil), realListenControl, b, controlSettings{}, path, true)
		status(t, path)
		stop()
		stop()
		if out.Len() != 0 {
			t.Fatalf("lines: %q", out.String())
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("the socket stays after stop: %v", err)
		}
	})
	t.Run("a socket in use: the default is silent, an explicit one warns, and both run on", func(t *testing.T) {
		var out bytes.Buffer
		path := filepath.Join(t.TempDir(), "u.sock")
		stop := serveControl(newLogger(io.Discard, io.Discard, nil), realListenControl, b, controlSettings{}, path, true)
		defer stop()
		stop2 := serveControl(newLogger(&out, &out, nil), realListenControl, b, controlSettings{}, path, true)
		stop2()
		if out.Len() != 0 {
			t.Fatalf("lines: %q", out.String())
		}
		stop3 := serveControl(newLogger(&out, &out, nil), realListenControl, b, controlSettings{socket: path}, "/nowhere", true)
		stop3()
		if !strings.Contains(out.String(), "[WARNING] Control socket "+path+": control: "+path+" is in use") ||
			!strings.Contains(out.String(), "running without it") {
			t.Fatalf("lines: %q", out.String())
		}
		status(t, path)
	})
	t.Run("none, and metrics", func(t *testing.T) {
		var out bytes.Buffer
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		dir := t.TempDir()
		stop := serveControl(newLogger(&out, &out, nil), realListenControl, b,
			controlSettings{socket: "none", metrics: addr}, filepath.Join(dir, "u.sock"), false)
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `ucarp_state{`) {
			t.Fatalf("metrics:\n%s", body)
		}
		stop()
		if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
			t.Fatal("metrics still served after stop")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("control none made %v", entries)
		}
		// Taken: a warning, and the daemon runs on.
		busy, _ := net.Listen("tcp", "127.0.0.1:0")
		defer busy.Close()
		out.Reset()
		serveControl(newLogger(&out, &out, nil), nil, b, controlSettings{metrics: busy.Addr().String()}, "", false)()
		if !strings.Contains(out.String(), "[WARNING] Metrics on "+busy.Addr().String()) {
			t.Fatalf("lines: %q", out.String())
		}
	})
}

// freeAddr is a loopback address with a port that nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serves reports whether addr answers /metrics with the backend's state.
func serves(addr string) bool {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), "ucarp_state{")
}

// TestReconfigureControl: a reload's metrics-listen starts, moves and
// stops the listener; an address that cannot be listened on keeps the
// old one, with an ERROR naming the key; a changed control or
// control-group is refused with a WARNING naming the key, and the socket
// stays where it was, still answering.
func TestReconfigureControl(t *testing.T) {
	b := controltest.New(controltest.Group("web", "eth0", 1, control.StateMaster))
	var out syncBuffer
	dir := t.TempDir()
	sock := filepath.Join(dir, "u.sock")
	a, c := freeAddr(t), freeAddr(t)
	cs := controlSettings{socket: sock}
	p := newControlPlane(newLogger(&out, &out, nil), realListenControl, b, cs, "/nowhere", false)
	defer p.Stop()
	if serves(a) {
		t.Fatal("metrics served before they were asked for")
	}
	step := func(name string, metrics string, want map[string]bool, line string) {
		t.Helper()
		before := len(out.String())
		cs.metrics = metrics
		p.Reconfigure(cs)
		for addr, on := range want {
			if serves(addr) != on {
				t.Errorf("%s: %s serves metrics: %v, want %v", name, addr, !on, on)
			}
		}
		if got := out.String()[before:]; !strings.Contains(got, line) {
			t.Errorf("%s: lines %q lack %q", name, got, line)
		}
	}
	step("start", a, map[string]bool{a: true}, "[INFO] Metrics and status page on http://"+a+"/")
	step("move", c, map[string]bool{a: false, c: true}, "[INFO] Metrics and status page on http://"+c+"/")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	step("taken", busy.Addr().String(), map[string]bool{c: true},
		"[ERROR] Reload: metrics-listen "+busy.Addr().String()+": ")
	step("same port, every address", ":"+strings.Split(c, ":")[1], map[string]bool{c: true}, "[INFO] Metrics and status page on http://[::]:")
	step("stop", "", map[string]bool{c: false, a: false}, "[INFO] Metrics on :")

	before := len(out.String())
	p.Reconfigure(controlSettings{socket: filepath.Join(dir, "v.sock"), group: "nogroup"})
	got := out.String()[before:]
	for _, w := range []string{"[WARNING] Reload: control changed from " + sock + " to " + filepath.Join(dir, "v.sock"),
		"[WARNING] Reload: control-group changed from none to nogroup"} {
		if !strings.Contains(got, w) {
			t.Errorf("lines %q lack %q", got, w)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "v.sock")); err == nil {
		t.Error("a reload made the new socket")
	}
	cl, err := control.Dial(sock)
	if err != nil {
		t.Fatalf("the socket went with the reload: %v", err)
	}
	cl.Close()
	p.Stop()
	p.Reconfigure(controlSettings{socket: sock, metrics: a})
	if serves(a) {
		t.Fatal("a reload after Stop started metrics")
	}
}
