package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs check with a timeout, as the Runner does.
func run(t *testing.T, check Check, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return check(ctx)
}

func wantErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: error %v, want one with %q", what, err, want)
	}
}

func mustCheck(t *testing.T, flag string) Check {
	t.Helper()
	s, err := ParseFlag(flag)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCheck(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An http probe goes straight to its target, whatever proxy the
// environment names. Go never proxies a loopback target, so the target
// listens on another address of the host. net/http reads the proxy
// settings once per process: this test comes before any other that makes
// an http request.
func TestHTTPIgnoresProxy(t *testing.T) {
	var host netip.Addr
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			host = p.Addr()
			break
		}
	}
	if !host.IsValid() {
		t.Skip("skipped: no IPv4 address but loopback")
	}
	proxied := make(chan string, 10)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied <- r.URL.String()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	ln, err := net.Listen("tcp", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	wantErr(t, "with HTTP_PROXY", run(t, mustCheck(t, "http:"+srv.URL), time.Second), "")
	select {
	case u := <-proxied:
		t.Errorf("the proxy was asked for %s", u)
	default:
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	wantErr(t, "a listener", run(t, mustCheck(t, "tcp:"+addr), time.Second), "")
	ln.Close()
	wantErr(t, "a closed port", run(t, mustCheck(t, "tcp:"+addr), time.Second), "connection refused")
}

func TestHTTPCheck(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "ucarp-go-health" {
			w.WriteHeader(http.StatusTeapot)
		}
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	mux.Handle("/moved", http.RedirectHandler("/ok", http.StatusMovedPermanently))
	mux.HandleFunc("/slow", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-block:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tls := httptest.NewUnstartedServer(mux)
	tls.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake that fails on purpose
	tls.StartTLS()
	defer tls.Close()

	tests := []struct{ flag, want string }{
		{"http:" + srv.URL + "/ok", ""},
		{"http:" + strings.TrimPrefix(srv.URL, "http://") + "/ok", ""},
		{"http:" + srv.URL + "/down", "status 503, expected 200"},
		{"http:" + srv.URL + "/empty,expect=204", ""},
		{"http:" + srv.URL + "/moved", "status 301, expected 200"}, // not followed
		{"http:" + srv.URL + "/slow", "context deadline exceeded"},
		{"https:" + tls.URL + "/ok", "certificate"},
		{"https:" + tls.URL + "/ok,insecure=true", ""},
		{"https:" + tls.URL + "/down,insecure=true", "status 503"},
	}
	for _, tt := range tests {
		// A generous timeout (a TLS handshake under -race on a loaded
		// machine took over 300 ms in CI), except where the timeout is
		// what is tested: /slow answers only when it ends.
		timeout := 5 * time.Second
		if strings.HasSuffix(tt.flag, "/slow") {
			timeout = 300 * time.Millisecond
		}
		wantErr(t, tt.flag, run(t, mustCheck(t, tt.flag), timeout), tt.want)
	}
}

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// gone reports whether process pid has ended: no such process, or a
// zombie that its new parent has not reaped (killed all the same).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(after, "Z")
}

// waitGone waits a few seconds for the processes whose pids are in the
// files to end.
func waitGone(t *testing.T, files ...string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !gone(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("process %d (%s) is still there", pid, filepath.Base(f))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestExecCheck(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SECRET", "s3cret")
	tests := []struct{ name, target, want string }{
		{"true", "/bin/true", ""},
		{"false", "/bin/false", "exit status 1"},
		{"arguments", script(t, dir, "args", `[ "$1" = a ] && [ "$2" = b ]`) + " a  b", ""},
		{"no such command", "/nonexistent/check", "no such file or directory"},
		{"scrubbed environment", script(t, dir, "env", `[ -z "$SECRET" ] && [ "$LC_ALL" = C ] && [ "$(pwd)" = / ] && [ -n "$PATH" ]`), ""},
		{"its message", script(t, dir, "msg", "echo\necho '  CRITICAL: nginx\tdown  '\necho more\nexit 2"), "exit status 2: CRITICAL: nginx down"},
		{"stderr too", script(t, dir, "stderr", "echo oops >&2; exit 3"), "exit status 3: oops"},
		{"much output", script(t, dir, "chatty", "i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; i=$((i+1)); done"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCheck(Spec{Name: tt.name, Type: TypeExec, Target: tt.target})
			if err != nil {
				t.Fatal(err)
			}
			wantErr(t, tt.target, run(t, c, 5*time.Second), tt.want)
		})
	}
	if s := firstLine([]byte(strings.Repeat("é", 150))); len(s) > maxOutputLine+len("…") || !strings.HasSuffix(s, "é…") {
		t.Errorf("a long line is cut as %q", s)
	}
}

// A command that outlives its timeout is killed, with its process group;
// one that exits leaves nothing of its group behind.
func TestExecCheckKills(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		timeout    time.Duration
		want       string
	}{
		{"timeout", "echo $$ > " + dir + "/leader\nsleep 30 &\necho $! > " + dir + "/child\nwait\n", 300 * time.Millisecond, "signal: killed"},
		// A timeout far above a shell's start on a loaded machine: the
		// command exits by itself, and what it left behind is killed.
		{"left behind", "sleep 30 &\necho $! > " + dir + "/child\nexit 0\n", 10 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(dir + "/leader")
			c := execCheck([]string{script(t, dir, tt.name, tt.body)})
			err := run(t, c, tt.timeout)
			wantErr(t, tt.name, err, tt.want)
			files := []string{dir + "/child"}
			if _, err := os.Stat(dir + "/leader"); err == nil {
				files = append(files, dir+"/leader")
			}
			waitGone(t, files...)
		})
	}
}

// A process that leaves the group (setsid) and keeps the output open is
// not waited for beyond a short grace.
func TestExecCheckEscapee(t *testing.T) {
	setsid, err := exec.LookPath("setsid")
	if err != nil {
		t.Skip("no setsid:", err)
	}
	dir := t.TempDir()
	c := execCheck([]string{script(t, dir, "escape", setsid+" sh -c 'echo $$ > "+dir+"/escapee; exec sleep 30' &\nsleep 0.2\nexit 0\n")})
	start := time.Now()
	err = run(t, c, 2*time.Second)
	took := time.Since(start)
	defer func() {
		if b, err := os.ReadFile(dir + "/escapee"); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	wantErr(t, "an escapee", err, "")
	if took > time.Second {
		t.Errorf("the check took %v", took)
	}
}

func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ path, want string }{
		{filepath.Join(dir, "missing"), "no such file or directory"},
		{write("empty", ""), ""},
		{write("blank", " \n"), ""},
		{write("zero", "0\n"), ""},
		{write("spaced", "  0  "), ""},
		{write("one", "1\n"), "holds 1"},
		{write("negative", "-3"), "holds -3"},
		{write("word", "ok\n"), `holds "ok", not an integer`},
		{write("long", strings.Repeat(" ", 64)+"0"), "holds more than 64 bytes, not a number"},
		{write("just fits", strings.Repeat(" ", 63)+"0"), ""},
		{dir, "is not a regular file"},
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err == nil {
		tests = append(tests, struct{ path, want string }{filepath.Join(dir, "fifo"), "is not a regular file"})
	}
	for _, tt := range tests {
		c := mustCheck(t, "file:"+tt.path)
		wantErr(t, filepath.Base(tt.path), run(t, c, time.Second), tt.want)
	}
}

func TestInterfaceCheck(t *testing.T) {
	lo := "lo"
	if ifi, err := net.InterfaceByIndex(1); err == nil && ifi.Flags&net.FlagLoopback != 0 {
		lo = ifi.Name // lo0 on FreeBSD
	}
	wantErr(t, lo, run(t, mustCheck(t, "interface:"+lo), time.Second), "")
	wantErr(t, "flags of "+lo, run(t, flagsCheck(lo), time.Second), "")
	wantErr(t, "a missing interface", run(t, mustCheck(t, "interface:nosuch0"), time.Second), "no interface nosuch0")
	wantErr(t, "flags of a missing interface", run(t, flagsCheck("nosuch0"), time.Second), "no interface nosuch0")
}

func TestICMPCheck(t *testing.T) {
	for _, target := range []string{"127.0.0.1", "::1"} {
		t.Run(target, func(t *testing.T) {
			addr := netip.MustParseAddr(target)
			c, raw, err := listenICMP(addr.Is4())
			if err != nil {
				if os.Geteuid() == 0 {
					t.Fatalf("root cannot open an ICMP socket: %v", err)
				}
				t.Skipf("skipped: no ICMP socket without root or a group in net.ipv4.ping_group_range (%v); CI runs as root", err)
			}
			c.Close()
			if !addr.Is4() && !hasAddr(addr) {
				t.Skip("skipped: no ::1 on this host")
			}
			t.Logf("raw socket: %v", raw)
			wantErr(t, target, run(t, mustCheck(t, "icmp:"+target), time.Second), "")
		})
	}
}

// hasAddr reports whether a is an address of this host.
func hasAddr(a netip.Addr) bool {
	addrs, _ := net.InterfaceAddrs()
	for _, x := range addrs {
		if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr() == a {
			return true
		}
	}
	return false
}

// The Runner with real probes: a TCP port that closes demotes its
// consumer, and Stop kills an exec probe's command in progress.
func TestRunnerRealProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	sleeper := script(t, dir, "sleeper", "echo $$ > "+dir+"/leader\nsleep 30 &\necho $! > "+dir+"/child\nwait\n")
	web, err := ParseFlag("tcp:" + ln.Addr().String() + ",interval=100ms,rise=1,fall=1,weight=100,name=web")
	if err != nil {
		t.Fatal(err)
	}
	slow, err := ParseFlag("exec:" + sleeper + ",interval=1h,timeout=1h,weight=1,name=slow")
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan Change, 10)
	r, err := Start(Config{
		Probes:    []Probe{{Spec: web}, {Spec: slow}},
		Consumers: map[string][]string{"g": {"web"}},
		OnChange:  func(ch Change) { changes <- ch },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	next := func(want int) {
		t.Helper()
		select {
		case ch := <-changes:
			if d, ok := ch.Demotions["g"]; !ok || d != want {
				t.Fatalf("change %+v, want the demotion %d", ch, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no change to the demotion %d; status %+v", want, r.Status())
		}
	}
	next(0)
	ln.Close()
	next(100)
	if st := r.Status()[0]; !strings.Contains(st.Last.Err, "connection refused") {
		t.Errorf("status %+v", st)
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dir + "/child"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the exec probe's command did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop()
	waitGone(t, dir+"/leader", dir+"/child")
}
