//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// echoServer accepts on 0.0.0.0:port in h's namespace and echoes each
// connection's bytes back, until the test ends: on whichever host holds
// the VIP, a new connection to VIP:port is answered.
func echoServer(t *testing.T, h *lab.Host, port int) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.Copy(c, c)
			})
		}
	})
}

// tcpProbe opens a new connection to VIP:port from the observer every
// interval, sends a line and reads it back; it counts the attempts, and
// the failures by kind (a reset or a refusal is the holder's kernel
// answering for an address without a socket behind it).
type tcpProbe struct {
	mu       sync.Mutex
	attempts int
	failures map[string]int
	stop     chan struct{}
	done     chan struct{}
}

func startTCPProbe(t *testing.T, obs *lab.Host, port int, interval time.Duration) *tcpProbe {
	p := &tcpProbe{failures: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	target := net.JoinHostPort(lab.VIP.String(), strconv.Itoa(port))
	go func() {
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			err := obs.Do(func() error {
				c, err := net.DialTimeout("tcp4", target, time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Second))
				if _, err := c.Write([]byte("carplab\n")); err != nil {
					return err
				}
				buf := make([]byte, 8)
				_, err = io.ReadFull(c, buf)
				return err
			})
			p.mu.Lock()
			p.attempts++
			if err != nil {
				kind := "other: " + err.Error()
				switch {
				case errors.Is(err, syscall.ECONNRESET):
					kind = "reset"
				case errors.Is(err, syscall.ECONNREFUSED):
					kind = "refused"
				case errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "timeout"):
					kind = "timeout"
				}
				p.failures[kind]++
			}
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

func (p *tcpProbe) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func (p *tcpProbe) counts() (int, map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := map[string]int{}
	for k, v := range p.failures {
		f[k] = v
	}
	return p.attempts, f
}

// TestMaintenanceHandoff: a pair of ours in command-line mode with
// control sockets; the observer pings the VIP every 20 ms and opens a new
// TCP connection to it every 50 ms (an echo server listens on every
// address of both hosts). ucarpctl maintenance on, on the MASTER: the
// peer takes over, no ping is lost and no connection attempt fails or is
// reset. Then maintenance off: with --preempt the host takes the address
// back (a plain takeover, whose losses are not this test's business).
//
// What cannot be promised is a connection that lives across the move: it
// is established with the old holder's socket, and the new holder's
// kernel, which has none, answers its next segment with a reset. A
// handoff moves where new connections land, as a load balancer's drain
// does; what this test asserts is that none of them fails.
func TestMaintenanceHandoff(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	state := t.TempDir()
	sock := map[*lab.Host]string{h1: filepath.Join(l.Dir, "h1.sock"), h2: filepath.Join(l.Dir, "h2.sock")}
	startOurs := func(h *lab.Host, skew int) *lab.Proc {
		c := ours(lab.CARP{AdvSkew: skew, Preempt: true}).WithExtra("--control=" + sock[h])
		p, err := h.StartEnv("ucarp", []string{"STATE_DIRECTORY=" + filepath.Join(state, h.Name)}, c.Args(h)...)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1, p2 := startOurs(h1, 0), startOurs(h2, 100)
	defer p1.Signal(syscall.SIGTERM)
	defer p2.Signal(syscall.SIGTERM)
	waitMasters(t, l, 10*time.Second, h1)
	for _, h := range []*lab.Host{h1, h2} {
		if !lab.Eventually(5*time.Second, func() bool { _, err := os.Stat(sock[h]); return err == nil }) {
			t.Fatalf("no control socket %s", sock[h])
		}
		echoServer(t, h, 7007)
	}
	// The backup is settled once it has heard the master after both
	// daemons were up (an advert every second).
	settled := time.Now()
	if !lab.Eventually(5*time.Second, func() bool {
		for _, g := range statusOf(t, h2, ctlBin, sock[h2]) {
			for _, p := range g.Peers {
				if g.State == "BACKUP" && p.Source == h1.Addr && p.LastSeen.After(settled) {
					return true
				}
			}
		}
		return false
	}) {
		t.Fatalf("%s heard no advert of %s as BACKUP: %+v", h2.Name, h1.Name, statusOf(t, h2, ctlBin, sock[h2]))
	}

	ping := pingVIP(t, l, 20*time.Millisecond, "the VIP does not answer before the handoff")
	probe := startTCPProbe(t, l.Observer, 7007, 50*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	if n, f := probe.counts(); n == 0 || len(f) > 0 {
		t.Fatalf("TCP before the handoff: %d attempts, failures %v", n, f)
	}

	begin := time.Now()
	out, err := ctl(h1, ctlBin, sock[h1], false, "maintenance", "on")
	answered := time.Now()
	if err != nil {
		t.Fatalf("ucarpctl maintenance on: %v\n%s", err, out)
	}
	wantAnswer := "BACKUP in maintenance since "
	if !strings.Contains(out, wantAnswer) || !strings.Contains(out, "handed off to "+h2.Addr.String()+" (announced from "+h2.MAC.String()+")") {
		t.Fatalf("ucarpctl maintenance on answered:\n%s", out)
	}
	waitMasters(t, l, 5*time.Second, h2)
	time.Sleep(time.Second) // late replies
	end := time.Now()
	probe.Stop()
	lost, sent := ping.Lost(begin, end.Add(-500*time.Millisecond)), ping.Sent(begin, end.Add(-500*time.Millisecond))
	attempts, failures := probe.counts()
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	released := p1.MustLastLogTime(t, "Removed "+lab.VIP.String())
	t.Logf("maintenance on: h2 MASTER %v after the command, h1 let the VIP go %v later; ucarpctl answered after %v; "+
		"%d pings lost of %d; %d TCP connections, failures %v",
		took.Sub(begin).Round(time.Millisecond), released.Sub(took).Round(time.Millisecond),
		answered.Sub(begin).Round(time.Millisecond), lost, sent, attempts, failures)
	if lost != 0 {
		t.Errorf("%d pings lost of %d during the handoff", lost, sent)
	}
	if len(failures) > 0 {
		t.Errorf("TCP connections that failed during the handoff: %v of %d", failures, attempts)
	}
	if !p1.WaitLog("Maintenance: "+h2.Addr.String()+" is MASTER and announced it", 1, time.Second) {
		t.Errorf("h1 does not say that it saw the announcement")
	}
	st := statusOf(t, h1, ctlBin, sock[h1])
	if len(st) != 1 || st[0].Maintenance == nil || st[0].Maintenance.Phase != "handed-off" {
		t.Fatalf("status of h1: %+v", st)
	}
	out, _ = ctl(h1, ctlBin, sock[h1], false, "explain")
	if !strings.Contains(out, "In maintenance since") || !strings.Contains(out, "handed off to "+h2.Addr.String()) {
		t.Errorf("explain:\n%s", out)
	}
	// It stays handed off: the demotion keeps h1 out despite --preempt.
	holdMasters(t, l, 3*time.Second, h2)

	out, err = ctl(h1, ctlBin, sock[h1], false, "maintenance", "off")
	if err != nil || !strings.Contains(out, "maintenance off") {
		t.Fatalf("ucarpctl maintenance off: %v\n%s", err, out)
	}
	waitMasters(t, l, 10*time.Second, h1)
}

// TestMaintenanceNoPeer: alone, the MASTER keeps the VIP through
// maintenance on, and ucarpctl says that no peer took over (exit 1).
func TestMaintenanceNoPeer(t *testing.T) {
	l := newLab(t, 1)
	h1 := l.Hosts[0]
	sockPath := filepath.Join(l.Dir, "h1.sock")
	c := ours(lab.CARP{}).WithExtra("--control=" + sockPath)
	p1, err := h1.StartEnv("ucarp", []string{"STATE_DIRECTORY=" + t.TempDir()}, c.Args(h1)...)
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Signal(syscall.SIGTERM)
	waitMasters(t, l, 10*time.Second, h1)
	ping := pingVIP(t, l, 20*time.Millisecond, "the VIP does not answer")
	begin := time.Now()
	out, err := ctl(h1, ctlBin, sockPath, false, "maintenance", "on")
	if err == nil || !strings.Contains(out, "no peer took over: staying MASTER") || !strings.Contains(out, "no peer took over h1-") &&
		!strings.Contains(out, "ucarpctl: no peer took over") {
		t.Fatalf("ucarpctl maintenance on, alone: %v\n%s", err, out)
	}
	time.Sleep(time.Second)
	if lost := ping.Lost(begin, time.Now().Add(-500*time.Millisecond)); lost != 0 {
		t.Errorf("%d pings lost with no peer", lost)
	}
	holdMasters(t, l, 2*time.Second, h1)
}

// TestMaintenancePersistent: --persistent survives a restart of the
// daemon: it comes back in maintenance and leaves the VIP to the peer.
func TestMaintenancePersistent(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	state := t.TempDir()
	sockPath := filepath.Join(l.Dir, "h1.sock")
	c1 := ours(lab.CARP{Preempt: true}).WithExtra("--control=" + sockPath)
	env := []string{"STATE_DIRECTORY=" + state}
	p1, err := h1.StartEnv("ucarp", env, c1.Args(h1)...)
	if err != nil {
		t.Fatal(err)
	}
	p2 := start(t, h2, "ucarp", ours(lab.CARP{AdvSkew: 100}))
	defer p2.Signal(syscall.SIGTERM)
	waitMasters(t, l, 10*time.Second, h1)
	if !lab.Eventually(5*time.Second, func() bool { _, err := os.Stat(sockPath); return err == nil }) {
		t.Fatal("no control socket")
	}
	if out, err := ctl(h1, ctlBin, sockPath, false, "maintenance", "on", "--persistent"); err != nil || !strings.Contains(out, "(persistent)") {
		t.Fatalf("ucarpctl maintenance on --persistent: %v\n%s", err, out)
	}
	waitMasters(t, l, 5*time.Second, h2)
	p1.Signal(syscall.SIGTERM)
	if _, ok := p1.Wait(5 * time.Second); !ok {
		t.Fatal("h1 does not stop")
	}
	p1, err = h1.StartEnv("ucarp", env, c1.Args(h1)...)
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Signal(syscall.SIGTERM)
	if !p1.WaitLog("starts in maintenance", 1, 5*time.Second) {
		t.Fatalf("h1 does not start in maintenance:\n%s", p1.Log())
	}
	holdMasters(t, l, 5*time.Second, h2)
	if out, err := ctl(h1, ctlBin, sockPath, false, "maintenance", "off"); err != nil {
		t.Fatalf("ucarpctl maintenance off: %v\n%s", err, out)
	}
	waitMasters(t, l, 10*time.Second, h1)
}

// TestMaintenanceKilledDuringWait: the peer sends no gratuitous ARP
// (--garp-count=0), so the host in maintenance keeps the VIP beside the
// MASTER peer while it waits; killed then (SIGKILL), it leaves the VIP with
// its lifetime, which the kernel ends on its own within the dead interval
// and a second: the peer alone holds it.
func TestMaintenanceKilledDuringWait(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	sockPath := filepath.Join(l.Dir, "h1.sock")
	c1 := ours(lab.CARP{}).WithExtra("--control=" + sockPath)
	p1, err := h1.StartEnv("ucarp", []string{"STATE_DIRECTORY=" + t.TempDir()}, c1.Args(h1)...)
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Kill()
	p2 := start(t, h2, "ucarp", ours(lab.CARP{AdvSkew: 100}).WithExtra("--garp-count=0"))
	defer p2.Signal(syscall.SIGTERM)
	waitMasters(t, l, 10*time.Second, h1)
	if !lab.Eventually(5*time.Second, func() bool { _, err := os.Stat(sockPath); return err == nil }) {
		t.Fatal("no control socket")
	}
	if out, err := ctl(h1, ctlBin, sockPath, false, "maintenance", "on", "--no-wait"); err != nil {
		t.Fatalf("ucarpctl maintenance on --no-wait: %v\n%s", err, out)
	}
	// Both hold it while h1 waits for an announcement that does not come.
	waitMasters(t, l, 2*time.Second, h1, h2)
	if !p1.WaitLog("waiting for its announcement", 1, time.Second) {
		t.Fatalf("h1 does not wait for the announcement:\n%s", p1.Log())
	}
	killed := time.Now()
	p1.Kill()
	waitMasters(t, l, 5*time.Second, h2)
	t.Logf("h1's copy of the VIP expired %v after the kill", time.Since(killed).Round(100*time.Millisecond))
}
