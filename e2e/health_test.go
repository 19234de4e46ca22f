//go:build linux

package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// listen opens a TCP listener on addr in h's namespace, which accepts
// and closes every connection until it is closed.
func listen(t *testing.T, h *lab.Host, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, h.Name, err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// TestProbeMovesVIP: a config-mode pair, h1 preferred, with a tcp probe
// on a service of its own (127.0.0.1:8080 in its namespace). The service
// stops: the address goes to h2 within interval x fall + one advert
// interval of the demoted h1 + slack. It starts again: after rise checks
// h1 preempts the address back. ucarpctl status --json shows the probe.
func TestProbeMovesVIP(t *testing.T) {
	l := newLab(t, 2)
	const service = "127.0.0.1:8080"
	var ln net.Listener
	defer func() { ln.Close() }()
	probeMovesVIP(t, l, "tcp", service,
		func() { ln = listen(t, l.Hosts[0], service) },
		func() { ln.Close() })
}

// TestInterfaceProbeMovesVIP: the same with an interface probe on h1's
// second interface, eth1, set down and up again.
func TestInterfaceProbeMovesVIP(t *testing.T) {
	l := newLab2(t)
	h1 := l.Hosts[0]
	eth1 := h1.Ifs[1].Name
	set := func(state string) {
		if out, err := h1.Exec("ip", "link", "set", eth1, state); err != nil {
			t.Fatalf("ip link set %s %s: %v: %s", eth1, state, err, out)
		}
	}
	probeMovesVIP(t, l, "interface", eth1, func() { set("up") }, func() { set("down") })
}

// probeMovesVIP runs the pair of TestProbeMovesVIP with a probe of type
// on target; heal makes it healthy (it is called first), fail not.
func probeMovesVIP(t *testing.T, l *lab.Lab, typ, target string, heal, fail func()) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	const (
		interval = 200 * time.Millisecond
		fall     = 2
	)
	sock := filepath.Join(l.Dir, "h1.sock")
	write := func(h *lab.Host, skew int, probe bool) string {
		conf := fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\npreempt = true\ncontrol = %q\n"+
			"\n[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\n",
			h.IfName, h.Addr, filepath.Join(l.Dir, h.Name+".sock"), groupVIP(1), skew)
		if probe {
			conf += "probes = [\"web\"]\n"
			conf += fmt.Sprintf("\n[probe.web]\ntype = %q\ntarget = %q\ninterval = %q\ntimeout = \"100ms\"\nrise = 2\nfall = %d\nweight = 255\n",
				typ, target, interval, fall)
		}
		path := filepath.Join(l.Dir, h.Name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(oursBin, "--config="+path, "--check").CombinedOutput(); err != nil {
			t.Fatalf("--check %s: %v: %s", path, err, out)
		}
		return path
	}
	heal()
	p1, err := h1.Start("ucarp", oursBin, "--config="+write(h1, 0, true))
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Signal(syscall.SIGTERM)
	p2, err := h2.Start("ucarp", oursBin, "--config="+write(h2, 100, false))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Signal(syscall.SIGTERM)
	holder := func() string { return l.Holders([]string{"1"}, []netip.Addr{groupVIP(1)}) }
	waitFor := func(want string, timeout time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		if !lab.Eventually(timeout, func() bool { return holder() == want }) {
			t.Fatalf("holder %s after %v, want %s", holder(), timeout, want)
		}
		return time.Since(start)
	}
	probeState := func(want string) {
		t.Helper()
		var got string
		if !lab.Eventually(5*time.Second, func() bool {
			gs := statusOf(t, h1, ctlBin, sock)
			if len(gs) != 1 || len(gs[0].Probes) != 1 {
				got = fmt.Sprintf("%+v", gs)
				return false
			}
			pr := gs[0].Probes[0]
			got = pr.Name + " " + pr.Type + " " + pr.Target + " " + pr.State
			return got == "web "+typ+" "+target+" "+want
		}) {
			t.Fatalf("probe in ucarpctl status --json: %s, want web %s %s %s", got, typ, target, want)
		}
	}
	hold := func(want string, d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if got := holder(); got != want {
				t.Fatalf("holder %s, want %s", got, want)
			}
		}
	}
	waitFor("1:h1", 10*time.Second)
	hold("1:h1", 3*time.Second) // h2 has heard h1's adverts: h1 is not demoted
	probeState("up")

	// The service stops.
	fail()
	advert := time.Second + 255*time.Second/256 // the demoted h1's advert interval
	budget := interval*fall + advert + time.Second
	took := waitFor("1:h2", budget)
	t.Logf("the address moved to h2 %v after the service stopped (budget %v)", took.Round(time.Millisecond), budget)
	probeState("down")
	if line := fmt.Sprintf("Probe web (%s %s) is down", typ, target); !p1.WaitLog(line, 1, time.Second) {
		t.Fatalf("no line %q:\n%s", line, p1.Log())
	}
	if g := statusOf(t, h1, ctlBin, sock)[0]; g.Timing.Demotion != 255 || g.Probes[0].LastError == "" {
		t.Fatalf("h1 with its service down: demotion %d, probe %+v", g.Timing.Demotion, g.Probes[0])
	}

	// It starts again: h1 takes the address back (preempt).
	heal()
	took = waitFor("1:h1", 5*time.Second)
	t.Logf("h1 took the address back %v after the service started", took.Round(time.Millisecond))
	probeState("up")
	hold("1:h1", 2*time.Second)
	if g := statusOf(t, h1, ctlBin, sock)[0]; g.Timing.Demotion != 0 || g.State != "MASTER" {
		t.Fatalf("h1 with its service up: %s, demotion %d", g.State, g.Timing.Demotion)
	}
}

// TestProbeCommandLineAgainstUcarp: --probe in command-line mode, with
// Debian's ucarp as the peer: the demotion raises the advskew that ucarp
// reads, so it takes the address (its -P) while the file probe fails, and
// gives it back when it heals.
func TestProbeCommandLineAgainstUcarp(t *testing.T) {
	needUcarp(t)
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	healthy := filepath.Join(l.Dir, "h1-healthy")
	if err := os.WriteFile(healthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p1 := start(t, h1, "ucarp", ours(lab.CARP{Preempt: true}).WithExtra("--probe=file:"+healthy+",interval=200ms,timeout=100ms"))
	defer p1.Signal(syscall.SIGTERM)
	waitMasters(t, l, 10*time.Second, h1)
	p2 := start(t, h2, "ucarp", theirs(lab.CARP{Preempt: true, AdvSkew: 100}))
	defer p2.Signal(syscall.SIGTERM)
	holdMasters(t, l, 3*time.Second, h1)

	os.Remove(healthy)
	waitMasters(t, l, 4*time.Second, h2)
	holdMasters(t, l, 2*time.Second, h2)
	if err := os.WriteFile(healthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitMasters(t, l, 5*time.Second, h1)
	holdMasters(t, l, 2*time.Second, h1)
}
