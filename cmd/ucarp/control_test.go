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
