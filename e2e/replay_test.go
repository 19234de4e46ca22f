//go:build linux

package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/lab"
)

// forger is an attacker on the LAN who captured one valid advert: the
// HMAC covers neither advbase, advskew nor the IP source, so it can replay
// that advert from any source with any interval.
var forger = netip.MustParseAddr("198.51.100.200")

// replayed is what a replay that ran in the background returned.
type replayed struct {
	sent int
	err  error
}

// replayAsync runs replay(h, pkts, rate, d) in the background: what it
// returned comes on the channel when it ends.
func replayAsync(h *lab.Host, pkts [][]byte, rate int, d time.Duration) <-chan replayed {
	done := make(chan replayed, 1)
	go func() {
		sent, err := replay(h, pkts, rate, d)
		done <- replayed{sent, err}
	}()
	return done
}

// replay sends pkts (IPv4 packets, header included) from h in turn, at
// rate per second for d.
func replay(h *lab.Host, pkts [][]byte, rate int, d time.Duration) (int, error) {
	var c net.PacketConn
	if err := h.Do(func() (err error) {
		c, err = net.ListenPacket("ip4:112", h.Addr.String())
		return err
	}); err != nil {
		return 0, err
	}
	defer c.Close()
	rc, err := ipv4.NewRawConn(c)
	if err != nil {
		return 0, err
	}
	var ifi *net.Interface
	if err := h.Do(func() (err error) { ifi, err = net.InterfaceByName(h.IfName); return err }); err != nil {
		return 0, err
	}
	rc.SetMulticastInterface(ifi)
	type parsed struct {
		hdr  *ipv4.Header
		body []byte
	}
	var ps []parsed
	for _, p := range pkts {
		hdr, err := ipv4.ParseHeader(p)
		if err != nil {
			return 0, err
		}
		ps = append(ps, parsed{hdr, p[hdr.Len:]})
	}
	sent := 0
	begin := time.Now()
	for n := 0; time.Since(begin) < d; time.Sleep(time.Millisecond) {
		for target := int(time.Since(begin).Seconds() * float64(rate)); n < target; n++ {
			p := ps[n%len(ps)]
			if rc.WriteTo(p.hdr, p.body, nil) == nil {
				sent++
			}
		}
	}
	return sent, nil
}

// rewrite is a captured advert replayed from the forger, with another
// interval: the digest stays valid.
func rewrite(t *testing.T, adv carp.Packet, advbase, advskew uint8) []byte {
	t.Helper()
	adv.Src = forger
	adv.Header.AdvBase, adv.Header.AdvSkew = advbase, advskew
	b, err := adv.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rssKiB(t *testing.T, pid int) int {
	s, err := readProc(pid, "status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestChaosReplayedAdverts is the attack of issue 12: captured valid
// adverts, replayed and rewritten, at the master and at the backup while
// slow scripts run. What an attacker gets is bounded: the daemons' memory,
// their gratuitous ARPs and log lines (rate-limited), and the script runs
// (a later transition supersedes the queued ones); once the replay stops,
// the hosts converge to one holder within one dead interval of the slower
// host, plus the script that may be running and the one that converges.
func TestChaosReplayedAdverts(t *testing.T) {
	l := newLab(t, 2)
	scripts := func(h *lab.Host) (string, string, string) {
		rec := filepath.Join(l.Dir, h.Name+".calls")
		up := filepath.Join(l.Dir, h.Name+"-up.sh")
		down := filepath.Join(l.Dir, h.Name+"-down.sh")
		os.WriteFile(up, []byte(fmt.Sprintf("#!/bin/sh\necho up >> %s\nsleep 1\nip addr add \"$2\"/32 dev \"$1\"\n", rec)), 0o755)
		os.WriteFile(down, []byte(fmt.Sprintf("#!/bin/sh\necho down >> %s\nsleep 1\nip addr del \"$2\"/32 dev \"$1\" 2>/dev/null\nexit 0\n", rec)), 0o755)
		return up, down, rec
	}
	up0, down0, rec0 := scripts(l.Hosts[0])
	up1, down1, rec1 := scripts(l.Hosts[1])
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	// The master, and a backup with -P that any slower "master" draws
	// into MASTER: the adverts below flip it as fast as they come.
	p1 := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{Extra: []string{"--upscript=" + up0, "--downscript=" + down0}}))
	p2 := start(t, l.Hosts[1], "ucarp", ours(lab.CARP{AdvSkew: 100, Preempt: true, Extra: []string{"--upscript=" + up1, "--downscript=" + down1}}))
	waitMasters(t, l, 10*time.Second, l.Hosts[0])
	var adv carp.Packet
	if !lab.Eventually(5*time.Second, func() bool {
		for _, f := range capture.Frames() {
			if f.IsCARP() && f.IPv4Source() == l.Hosts[0].Addr {
				adv, err = f.Advert()
				return err == nil
			}
		}
		return false
	}) {
		t.Fatal("no advert of the master captured")
	}
	capture.Stop()
	rss0 := []int{rssKiB(t, p1.Pid()), rssKiB(t, p2.Pid())}

	// The replay: the captured advert with a slower interval (the master
	// answers a "non-preferred master"; the backup preempts it) and as it
	// was (the backup steps down again), 4,000 a second for 5 s.
	pkts := [][]byte{rewrite(t, adv, 2, 0), rewrite(t, adv, 1, 0)}
	const rate, length = 4000, 5 * time.Second
	capture, err = l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var sent int
	go func() {
		var err error
		sent, err = replay(l.Observer, pkts, rate, length)
		done <- err
	}()
	maxRSS := []int{0, 0}
	for waiting := true; waiting; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			waiting = false
		case <-time.After(100 * time.Millisecond):
		}
		for i, p := range []*lab.Proc{p1, p2} {
			maxRSS[i] = max(maxRSS[i], rssKiB(t, p.Pid()))
		}
	}
	end := time.Now()
	calls := func(rec string) int {
		b, _ := os.ReadFile(rec)
		return strings.Count(string(b), "\n")
	}
	callsAtEnd := []int{calls(rec0), calls(rec1)}
	t.Logf("replayed %d adverts; RSS before %v KiB, at most %v KiB during; script runs %v", sent, rss0, maxRSS, callsAtEnd)
	if sent < rate*int(length/time.Second)/2 {
		t.Fatalf("only %d adverts replayed", sent)
	}
	for i := range maxRSS {
		if maxRSS[i] > rss0[i]+16*1024 {
			t.Errorf("host %d: RSS grew from %d KiB to %d KiB under the replay", i, rss0[i], maxRSS[i])
		}
	}
	// The master answered the slower "master" at most at the drops' rate:
	// a burst of 10, then one a second, for its gratuitous ARPs and lines.
	budget := 10 + int(time.Since(end.Add(-length)).Seconds()) + 1
	if n := p1.Count("Non-preferred master advertising"); n > budget {
		t.Errorf("the master logged %d Non-preferred master lines, budget %d", n, budget)
	}
	garps := 0
	for _, f := range capture.Stop() {
		if f.IsGARPFor(vip) && f.Source().String() == l.Hosts[0].MAC.String() && f.At.Before(end) {
			garps++
		}
	}
	// One more for each takeover the master could have made back, and
	// one for each claim of the address by the other host (split-brain
	// detection answers it with an announcement; its line and answer are
	// rate-limited together, so the lines count them).
	if limit := budget + p1.Count("Switching to state: MASTER") + p1.Count("Address conflict"); garps > limit {
		t.Errorf("the master sent %d gratuitous ARPs under the replay, limit %d", garps, limit)
	}

	// Convergence: the script that runs and at most one more per host
	// finish, then one host holds the address for good; within the
	// backup's dead interval and those scripts.
	bound := carp.DeadInterval(1, 3, 100) + 2*time.Second + 500*time.Millisecond
	var holder *lab.Host
	var since time.Time
	deadline := end.Add(bound + 3*time.Second)
	for holder == nil || time.Since(since) < 3*time.Second {
		if time.Now().After(deadline) {
			t.Fatalf("VIP holders %v %v after the replay stopped: no single holder for 3 s", names(l.Masters()), time.Since(end))
		}
		switch m := l.Masters(); {
		case len(m) != 1:
			holder = nil
		case holder != m[0]:
			holder, since = m[0], time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := since.Sub(end); took > bound {
		t.Errorf("one holder (%s) %v after the replay stopped, bound %v", holder.Name, took, bound)
	}
	for i, rec := range []string{rec0, rec1} {
		if more := calls(rec) - callsAtEnd[i]; more > 2 {
			t.Errorf("host %d ran %d scripts after the replay stopped: a backlog", i, more)
		}
	}
	for i, p := range []*lab.Proc{p1, p2} {
		if p.Exited() {
			t.Errorf("host %d's daemon exited:\n%s", i, p.Log())
		}
	}
}
