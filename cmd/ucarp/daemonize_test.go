package main

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
)

// TestStatusPipe: the background daemon of a -B start writes one line to
// its parent, READY or FAIL with the code and a one-line message; a
// daemon not started by -B (nil) writes nothing.
func TestStatusPipe(t *testing.T) {
	tests := []struct {
		name   string
		report func(*statusPipe)
		want   string
	}{
		{"ready", func(p *statusPipe) { p.ready(); p.failed(2, "late") }, "READY\n"},
		{"failed", func(p *statusPipe) { p.failed(2, "Can't do\nthat"); p.ready() }, "FAIL 2 Can't do that\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			tt.report(&statusPipe{f: w})
			got, err := io.ReadAll(r) // EOF: the pipe was closed after one line
			if err != nil || string(got) != tt.want {
				t.Fatalf("%q, %v; want %q", got, err, tt.want)
			}
		})
	}
	var none *statusPipe
	none.ready()
	none.failed(2, "nobody listens")
}

// TestDaemonChild: the descriptor named in the environment becomes the
// status pipe, and the variable is gone for the scripts.
func TestDaemonChild(t *testing.T) {
	t.Setenv(daemonEnv, "")
	os.Unsetenv(daemonEnv)
	if p := daemonChild(); p != nil {
		t.Fatalf("no variable: %v", p)
	}
	t.Setenv(daemonEnv, "1")
	if p := daemonChild(); p != nil {
		t.Fatal("stdout is no status pipe")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The status pipe owns its descriptor: give it one of its own.
	fd, err := syscall.Dup(int(w.Fd()))
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(daemonEnv, strconv.Itoa(fd))
	p := daemonChild()
	if _, set := os.LookupEnv(daemonEnv); p == nil || set {
		t.Fatalf("%v, variable still set: %v", p, set)
	}
	p.ready()
	if got, _ := io.ReadAll(r); string(got) != "READY\n" {
		t.Fatalf("%q", got)
	}
}
