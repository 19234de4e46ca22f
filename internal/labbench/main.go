//go:build linux

package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// role is a node's part in a scenario.
type role struct {
	preferred bool // advskew 0 / priority 200; else advskew 100 / priority 100
	preempt   bool
	subsecond bool // -b 0 -k 64 (preferred) or -k 128; keepalived: VRRPv3, advert_int 0.25
}

// impl is one implementation under test.
type impl struct {
	name string
	// deadTime is the backup's protocol bound: how long after the last
	// advert it hears it must take over.
	deadTime time.Duration
	start    func(l *lab.Lab, h *lab.Host, r role) (*lab.Proc, error)
	// logged: the daemon logs its MASTER transition with microseconds.
	logged bool
}

var (
	runs    = flag.Int("runs", 10, "repetitions of each timed scenario")
	oursBin = flag.String("ucarp", "bin/ucarp", "our daemon")
	out     = flag.String("out", "docs/BENCHMARKS.md", "where to write the table")
	only    = flag.String("impls", "ours,ucarp,keepalived", "implementations to measure")
	idleFor = flag.Duration("idle", 60*time.Second, "duration of the idle and sub-second runs (0: skip them)")
	onlySc  = flag.String("scenarios", "", "only these scenarios (comma-separated): hard,graceful,startup,return,cable,flood,maintenance")
	ctlBin  = flag.String("ucarpctl", "bin/ucarpctl", "our control client, for the maintenance handoff")
)

func main() {
	flag.Parse()
	if err := lab.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	var impls []impl
	for _, name := range strings.Split(*only, ",") {
		switch name {
		case "ours":
			impls = append(impls, ours())
		case "ucarp":
			impls = append(impls, ucarp())
		case "keepalived":
			impls = append(impls, keepalived())
		}
	}
	res := map[string]map[string][]float64{} // metric -> impl -> values
	fails := map[string]map[string]int{}
	record := func(im impl, m map[string]float64, err error, metrics ...string) {
		for _, name := range metrics {
			if res[name] == nil {
				res[name], fails[name] = map[string][]float64{}, map[string]int{}
			}
			if v, ok := m[name]; ok && err == nil && !math.IsNaN(v) {
				res[name][im.name] = append(res[name][im.name], v)
			} else {
				fails[name][im.name]++
			}
		}
		if err != nil {
			fmt.Printf("    %s: %v\n", im.name, err)
		}
	}
	l, err := lab.New(lab.Options{Hosts: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	scenarios := allScenarios
	if *onlySc != "" {
		scenarios = slices.DeleteFunc(slices.Clone(allScenarios), func(sc scenario) bool { return !strings.Contains(","+*onlySc+",", ","+sc.name+",") })
	}
	for _, sc := range scenarios {
		for _, im := range impls {
			if skipScenario(sc, im) { // ipv6.go: ours only
				continue
			}
			for i := 0; i < *runs; i++ {
				fmt.Printf("%-10s %-10s run %d/%d\n", sc.name, im.name, i+1, *runs)
				m, err := sc.run(l, im, rng)
				record(im, m, err, sc.metrics...)
			}
		}
	}
	l.Reset()
	if *idleFor > 0 {
		fmt.Println("idle and sub-second runs")
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, im := range impls { // concurrently: CPU time and RSS are per process
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := idle(im)
				mu.Lock()
				record(im, m, err, "idle.rss", "idle.cpu", "idle.sched")
				mu.Unlock()
			}()
		}
		wg.Wait()
		for _, im := range impls { // one after the other: each has the machine to itself
			m, err := subsecond(l, im)
			record(im, m, err, "sub.flaps")
		}
	}
	fast := ""
	if *fastOn && (*onlySc == "" || strings.Contains(","+*onlySc+",", ",fast,")) {
		fast = fastBench(l, rng)
	}
	vrrp3 := ""
	if *vrrp3On && (*onlySc == "" || strings.Contains(","+*onlySc+",", ",vrrp3,")) {
		vrrp3 = vrrp3Bench(l, rng)
	}
	table := render(impls, res, fails) + hardPictures() + fast + vrrp3 + goBenchmarks()
	fmt.Print(table)
	if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// The parameters of the issue: advbase 1, advskew 0 and 100, deadratio 3;
// keepalived VRRPv2, advert_int 1, priorities 200 and 100.
func ours() impl {
	return impl{name: "ours", deadTime: 3390625 * time.Microsecond, logged: true, start: func(l *lab.Lab, h *lab.Host, r role) (*lab.Proc, error) {
		return h.StartCARP("ours", carpRole(lab.CARP{Bin: *oursBin}, r))
	}}
}

func ucarp() impl {
	return impl{name: "ucarp", deadTime: 3390625 * time.Microsecond, logged: true, start: func(l *lab.Lab, h *lab.Host, r role) (*lab.Proc, error) {
		return h.StartCARP("ucarp", carpRole(lab.CARP{Bin: lab.DebianUcarp, Scripts: true}, r))
	}}
}

func carpRole(c lab.CARP, r role) lab.CARP {
	c.Shutdown, c.Preempt = true, r.preempt
	if !r.preferred {
		c.AdvSkew = 100
	}
	if r.subsecond {
		c.AdvBase, c.AdvSkew = -1, 64
		if !r.preferred {
			c.AdvSkew = 128
		}
	}
	return c
}

// keepalived's backup (priority 100) declares the master down after
// 3*advert_int + (256-100)/256 s.
func keepalived() impl {
	return impl{name: "keepalived", deadTime: 3609375 * time.Microsecond, start: startKeepalived}
}

func startKeepalived(l *lab.Lab, h *lab.Host, r role) (*lab.Proc, error) {
	prio, advert, version := 100, "1", ""
	if r.preferred {
		prio = 200
	}
	if r.subsecond {
		advert, version = "0.25", "  vrrp_version 3\n"
	}
	preempt := "  nopreempt\n"
	if r.preempt || !r.preferred {
		preempt = ""
	}
	notify := filepath.Join(l.Dir, "ka-notify.sh")
	os.WriteFile(notify, []byte("#!/bin/sh\necho \"$@ $(date +%s.%N)\" >> "+filepath.Join(l.Dir, "ka-notify.log")+"\n"), 0o755)
	conf := filepath.Join(l.Dir, "keepalived-"+h.Name+".conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global_defs {
  router_id %s
  enable_script_security
  script_user root
%s}
vrrp_instance VI_1 {
  state BACKUP
  interface %s
  virtual_router_id 1
  priority %d
  advert_int %s
%s  virtual_ipaddress {
    %s/32 dev %s
  }
  notify_master "%s %s master"
  notify_backup "%s %s backup"
}
`, h.Name, version, h.IfName, prio, advert, preempt, lab.VIP, h.IfName, notify, h.Name, notify, h.Name)), 0o644)
	// Fresh pid files each time: a killed VRRP child whose parent died is
	// reparented to init, and an init that does not reap leaves a zombie
	// behind the old pid, which keepalived takes for a running daemon.
	pid, vrrpPid := filepath.Join(l.Dir, h.Name+".pid"), filepath.Join(l.Dir, h.Name+"-vrrp.pid")
	os.Remove(pid)
	os.Remove(vrrpPid)
	return h.Start("keepalived", "keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
		"--use-file="+conf, "--pid="+pid, "--vrrp_pid="+vrrpPid)
}

type scenario struct {
	name    string
	metrics []string
	run     func(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error)
}

var allScenarios = []scenario{
	{"hard", []string{"hard.vip", "hard.excess", "hard.reply", "hard.lost", "garp"}, hardFailover},
	{"graceful", []string{"graceful.vip", "graceful.lost"}, graceful},
	{"startup", []string{"startup"}, startup},
	{"return", []string{"return.vip", "return.both"}, preferredReturn},
	{"cable", []string{"cable.handover", "cable.takeback"}, cable},
	{"flood", []string{"flood.cpu", "flood.moves"}, flood},
	{"maintenance", []string{"maint.lost", "maint.vip", "maint.both"}, maintenance},
	// ipv6.go's init appends hard6 and graceful6, and their rows to metrics.
}

const wait = 30 * time.Second

var errTimeout = errors.New("timed out")

// pair starts the preferred node on h1 and the other on h2 and waits until
// h1 alone holds the VIP for one advert interval.
func pair(l *lab.Lab, im impl, preferred role) (*lab.Proc, *lab.Proc, error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	preferred.preferred = true
	p1, err := im.start(l, h1, preferred)
	if err != nil {
		return nil, nil, err
	}
	p2, err := im.start(l, h2, role{})
	if err != nil {
		return nil, nil, err
	}
	if !lab.Eventually(wait, func() bool { return h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
		return nil, nil, fmt.Errorf("no convergence to h1: %w", errTimeout)
	}
	time.Sleep(1200 * time.Millisecond) // one more advert interval, so that the backup is settled
	return p1, p2, nil
}

// fresh resets the lab for a run and records the VIP's arrivals and
// departures on both hosts; stop ends the recording.
func fresh(l *lab.Lab) (w1, w2 *lab.AddrWatch, stop func(), err error) {
	l.Reset()
	if w1, err = l.Hosts[0].WatchAddr(lab.VIP); err != nil {
		return nil, nil, nil, err
	}
	if w2, err = l.Hosts[1].WatchAddr(lab.VIP); err != nil {
		w1.Stop()
		return nil, nil, nil, err
	}
	return w1, w2, func() { w1.Stop(); w2.Stop() }, nil
}

// randomPoint waits a random part of the 1 s advert cycle.
func randomPoint(rng *rand.Rand) { time.Sleep(time.Duration(rng.Int64N(int64(time.Second)))) }

func seconds(d time.Duration) float64 { return d.Seconds() }

// family is what the hard failover and the graceful handoff need of the
// address family they run over (ipv4 here, ipv6 in ipv6.go): one code
// path measures both.
type family struct {
	suffix   string // of the metrics' and the errors' names: "" or "6"
	vip      netip.Addr
	announce string // the metric of the first announcement: garp or na6
	// setup readies the lab for a run (l, or one of its own) and watches
	// the VIP on the hosts (w1 may be nil); done undoes it.
	setup func(l *lab.Lab) (fl *lab.Lab, w1, w2 *lab.AddrWatch, done func(), err error)
	// pair starts the pair, h1 preferred, and waits until it settles.
	pair func(l *lab.Lab, im impl) (p1, p2 *lab.Proc, err error)
	// advertOf tells h1's adverts in the capture; announcementOf h2's
	// announcements of the VIP.
	advertOf       func(h1 *lab.Host) (func(lab.Frame) bool, error)
	announcementOf func(h2 *lab.Host) func(lab.Frame) bool
	// replyFirst: the VIP must answer the observer's ping before the
	// fault (ping is the command, for the error).
	replyFirst bool
	ping       string
	draw       bool // draw the hard failover (drawHard)
}

var ipv4 = family{
	vip: lab.VIP, announce: "garp",
	setup: func(l *lab.Lab) (*lab.Lab, *lab.AddrWatch, *lab.AddrWatch, func(), error) {
		w1, w2, stop, err := fresh(l)
		return l, w1, w2, stop, err
	},
	pair: func(l *lab.Lab, im impl) (*lab.Proc, *lab.Proc, error) { return pair(l, im, role{}) },
	advertOf: func(h1 *lab.Host) (func(lab.Frame) bool, error) {
		return func(f lab.Frame) bool { return f.IsCARP() && f.IPv4Source() == h1.Addr }, nil // CARP or VRRP
	},
	announcementOf: func(h2 *lab.Host) func(lab.Frame) bool {
		return func(f lab.Frame) bool { return f.IsGARPFor(lab.VIP) && f.Source().String() == h2.MAC.String() }
	},
	ping: "ping", draw: true,
}

func hardFailover(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	return hard(l, im, rng, ipv4)
}

func graceful(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	return handoff(l, im, rng, ipv4)
}

// hard measures a hard failover over fam: h1, the MASTER, loses its link
// and dies; how long until h2 holds the VIP and the observer's pings are
// answered, how far beyond the protocol's bound, and when h2's first
// announcement left after its MASTER transition.
func hard(l *lab.Lab, im impl, rng *rand.Rand, fam family) (map[string]float64, error) {
	l, w1, w2, done, err := fam.setup(l)
	if err != nil {
		return nil, err
	}
	defer done()
	h1, h2 := l.Hosts[0], l.Hosts[1]
	isAdvert, err := fam.advertOf(h1)
	if err != nil {
		return nil, err
	}
	capture, err := l.Capture()
	if err != nil {
		return nil, err
	}
	p1, p2, err := fam.pair(l, im)
	if err != nil {
		capture.Stop()
		return nil, err
	}
	ping, err := l.Observer.Ping(fam.vip, 20*time.Millisecond)
	if err != nil {
		capture.Stop()
		return nil, err
	}
	defer ping.Stop()
	if before := time.Now(); fam.replyFirst && !lab.Eventually(5*time.Second, func() bool { return ping.Replied(before) }) {
		capture.Stop()
		return nil, fmt.Errorf("hard%s: the VIP does not answer %s before the fault", fam.suffix, fam.ping)
	}
	randomPoint(rng)
	h1.CutLink()
	fault := time.Now()
	p1.Kill()
	h1.KillAll() // the host dies: keepalived's VRRP child too
	var vipAt, reply time.Time
	if !lab.Eventually(wait, func() bool {
		var ok1, ok2 bool
		vipAt, ok1 = w2.First(true, fault)
		reply, ok2 = ping.FirstReplyAfter(fault)
		return ok1 && ok2
	}) {
		capture.Stop()
		return nil, fmt.Errorf("hard%s failover: %w", fam.suffix, errTimeout)
	}
	time.Sleep(300 * time.Millisecond) // let the announcements and late replies arrive
	frames := capture.Stop()
	name := "hard" + fam.suffix
	m := map[string]float64{
		name + ".vip":   seconds(vipAt.Sub(fault)),
		name + ".reply": seconds(reply.Sub(fault)),
		name + ".lost":  float64(ping.Lost(fault, reply)),
	}
	isAnnouncement := fam.announcementOf(h2)
	var lastAdvert, announced time.Time
	for _, f := range frames {
		if f.At.Before(fault) && isAdvert(f) {
			lastAdvert = f.At
		}
		if announced.IsZero() && f.At.After(fault) && isAnnouncement(f) {
			announced = f.At
		}
	}
	if !lastAdvert.IsZero() {
		m[name+".excess"] = 1000 * seconds(vipAt.Sub(lastAdvert.Add(im.deadTime)))
	}
	// The MASTER transition: the daemon's own log line where it has one
	// with microseconds; keepalived logs whole seconds, so for it the VIP's
	// arrival stands in (it sets the VIP, then sends its ARPs).
	transition := vipAt
	if im.logged {
		for _, t := range p2.LogTimes("Switching to state: MASTER") {
			if t.After(fault) {
				transition = t
				break
			}
		}
	}
	if !announced.IsZero() {
		m[fam.announce] = 1000 * seconds(announced.Sub(transition))
	}
	if fam.draw {
		drawHard(l, im, frames, w1, w2, ping, fault, vipAt)
	}
	return m, nil
}

// handoff measures a graceful handoff over fam: h1, the MASTER, is
// stopped with SIGTERM; how long until h2 holds the VIP, and how many
// pings are lost.
func handoff(l *lab.Lab, im impl, rng *rand.Rand, fam family) (map[string]float64, error) {
	l, _, w2, done, err := fam.setup(l)
	if err != nil {
		return nil, err
	}
	defer done()
	p1, _, err := fam.pair(l, im)
	if err != nil {
		return nil, err
	}
	ping, err := l.Observer.Ping(fam.vip, 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer ping.Stop()
	if before := time.Now(); fam.replyFirst && !lab.Eventually(5*time.Second, func() bool { return ping.Replied(before) }) {
		return nil, fmt.Errorf("graceful%s: the VIP does not answer %s before the handoff", fam.suffix, fam.ping)
	}
	randomPoint(rng)
	term := time.Now()
	p1.Signal(syscall.SIGTERM)
	var vipAt time.Time
	if !lab.Eventually(wait, func() bool { var ok bool; vipAt, ok = w2.First(true, term); return ok }) {
		return nil, fmt.Errorf("graceful%s handoff: %w", fam.suffix, errTimeout)
	}
	reply := vipAt
	lab.Eventually(5*time.Second, func() bool { var ok bool; reply, ok = ping.FirstReplyAfter(vipAt); return ok })
	time.Sleep(200 * time.Millisecond)
	name := "graceful" + fam.suffix
	return map[string]float64{
		name + ".vip":  1000 * seconds(vipAt.Sub(term)),
		name + ".lost": float64(ping.Lost(term, reply)),
	}, nil
}

func startup(l *lab.Lab, im impl, _ *rand.Rand) (map[string]float64, error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	w1, w2, stop, err := fresh(l)
	if err != nil {
		return nil, err
	}
	defer stop()
	t0 := time.Now()
	if _, err := im.start(l, h1, role{preferred: true}); err != nil {
		return nil, err
	}
	if _, err := im.start(l, h2, role{}); err != nil {
		return nil, err
	}
	defer func() {
		if os.Getenv("BENCH_DEBUG") != "" {
			fmt.Println("t0", t0.Format("05.000000"))
			for _, e := range w1.Changes() {
				fmt.Println(" h1", e.At.Format("05.000000"), e.Added, w1.Err())
			}
			for _, e := range w2.Changes() {
				fmt.Println(" h2", e.At.Format("05.000000"), e.Added, w2.Err())
			}
		}
	}()
	// Converged: exactly one holder, and no change for 3 s.
	last := t0
	if !lab.Eventually(wait, func() bool {
		for _, e := range append(w1.Changes(), w2.Changes()...) {
			if e.At.After(last) {
				last = e.At
			}
		}
		// last.After(t0): the watcher has recorded the change that a direct
		// query may show a few microseconds earlier.
		return h1.HasAddr(lab.VIP) != h2.HasAddr(lab.VIP) && last.After(t0) && time.Since(last) > 3*time.Second
	}) {
		return nil, fmt.Errorf("start-up: %w", errTimeout)
	}
	if last.Equal(t0) || w1.Err() != nil || w2.Err() != nil {
		return nil, fmt.Errorf("start-up: address events missing (%v, %v)", w1.Err(), w2.Err())
	}
	return map[string]float64{"startup": seconds(last.Sub(t0))}, nil
}

func preferredReturn(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	w1, w2, stop, err := fresh(l)
	if err != nil {
		return nil, err
	}
	defer stop()
	if _, err := im.start(l, h2, role{}); err != nil {
		return nil, err
	}
	if !lab.Eventually(wait, func() bool { return h2.HasAddr(lab.VIP) }) {
		return nil, fmt.Errorf("return: backup alone: %w", errTimeout)
	}
	time.Sleep(time.Second)
	randomPoint(rng)
	begin := time.Now()
	if _, err := im.start(l, h1, role{preferred: true, preempt: true}); err != nil {
		return nil, err
	}
	if !lab.Eventually(wait, func() bool { return h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
		return nil, fmt.Errorf("return: %w", errTimeout)
	}
	var added, removed time.Time
	var ok1, ok2 bool
	lab.Eventually(2*time.Second, func() bool { // the events follow the direct queries by microseconds
		added, ok1 = w1.First(true, begin)
		removed, ok2 = w2.First(false, begin)
		return ok1 && ok2
	})
	if !ok1 || !ok2 || w1.Err() != nil || w2.Err() != nil {
		return nil, fmt.Errorf("return: address events missing (%v, %v)", w1.Err(), w2.Err())
	}
	return map[string]float64{
		"return.vip":  seconds(added.Sub(begin)),
		"return.both": 1000 * math.Max(0, seconds(removed.Sub(added))),
	}, nil
}

func cable(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	h1 := l.Hosts[0]
	w1, w2, stop, err := fresh(l)
	if err != nil {
		return nil, err
	}
	defer stop()
	if _, _, err := pair(l, im, role{preempt: true}); err != nil {
		return nil, err
	}
	randomPoint(rng)
	pull := time.Now()
	h1.CutLink()
	var handover time.Time
	if !lab.Eventually(wait, func() bool { var ok bool; handover, ok = w2.First(true, pull); return ok }) {
		return nil, fmt.Errorf("cable handover: %w", errTimeout)
	}
	time.Sleep(time.Second)
	plug := time.Now()
	h1.RestoreLink()
	m := map[string]float64{"cable.handover": seconds(handover.Sub(pull))}
	var back time.Time
	if !lab.Eventually(wait, func() bool { var ok bool; back, ok = w1.First(true, plug); return ok }) {
		m["cable.takeback"] = math.NaN()
		return m, fmt.Errorf("cable take-back: %w", errTimeout)
	}
	m["cable.takeback"] = seconds(back.Sub(plug))
	return m, nil
}

// maintenance is a planned handoff from a converged pair while the
// observer pings the VIP every 20 ms: ours with ucarpctl maintenance on
// (make-before-break), ucarp with SIGUSR2 (its demotion: the down script
// drops the VIP, the peer takes over after its dead time), keepalived by
// lowering the MASTER's priority below the backup's and reloading it.
func maintenance(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	w1, w2, stop, err := fresh(l)
	if err != nil {
		return nil, err
	}
	defer stop()
	sock := filepath.Join(l.Dir, "h1-maint.sock")
	os.Remove(sock)
	var p1 *lab.Proc
	switch im.name {
	case "ours":
		c := carpRole(lab.CARP{Bin: *oursBin}, role{preferred: true}).WithExtra("--control=" + sock)
		if p1, err = h1.StartEnv("ours", []string{"STATE_DIRECTORY=" + filepath.Join(l.Dir, "state")}, c.Args(h1)...); err != nil {
			return nil, err
		}
		if _, err := im.start(l, h2, role{}); err != nil {
			return nil, err
		}
		if !lab.Eventually(wait, func() bool { return h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
			return nil, fmt.Errorf("maintenance: no convergence to h1: %w", errTimeout)
		}
		time.Sleep(1200 * time.Millisecond)
	default:
		if p1, _, err = pair(l, im, role{}); err != nil {
			return nil, err
		}
	}
	ping, err := l.Observer.Ping(lab.VIP, 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer ping.Stop()
	before := time.Now()
	if !lab.Eventually(5*time.Second, func() bool { return ping.Replied(before) }) {
		return nil, errors.New("maintenance: the VIP does not answer before the handoff")
	}
	randomPoint(rng)
	begin := time.Now()
	switch im.name {
	case "ours":
		if out, err := h1.Exec(*ctlBin, "--socket="+sock, "maintenance", "on"); err != nil {
			return nil, fmt.Errorf("maintenance: ucarpctl: %v: %s", err, out)
		}
	case "ucarp":
		p1.Signal(syscall.SIGUSR2)
	case "keepalived":
		conf := filepath.Join(l.Dir, "keepalived-"+h1.Name+".conf")
		b, err := os.ReadFile(conf)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(conf, []byte(strings.Replace(string(b), "priority 200", "priority 50", 1)), 0o644); err != nil {
			return nil, err
		}
		p1.Signal(syscall.SIGHUP)
	}
	var added, removed time.Time
	if !lab.Eventually(wait, func() bool {
		var ok1, ok2 bool
		added, ok1 = w2.First(true, begin)
		removed, ok2 = w1.First(false, begin)
		return ok1 && ok2 && ping.Replied(added)
	}) {
		return nil, fmt.Errorf("maintenance: %w", errTimeout)
	}
	time.Sleep(1500 * time.Millisecond) // late replies
	return map[string]float64{
		"maint.lost": float64(ping.Lost(begin, time.Now().Add(-time.Second))),
		"maint.vip":  1000 * seconds(added.Sub(begin)),
		"maint.both": 1000 * math.Max(0, seconds(removed.Sub(added))),
	}, nil
}

// flood sends 11,000 forged and malformed protocol-112 packets a second
// for 10 s at a converged pair (the chaos suite's flood) and measures the
// MASTER's CPU (its whole process group) and how often the VIP moved.
func flood(l *lab.Lab, im impl, _ *rand.Rand) (map[string]float64, error) {
	w1, w2, stop, err := fresh(l)
	if err != nil {
		return nil, err
	}
	defer stop()
	p1, _, err := pair(l, im, role{})
	if err != nil {
		return nil, err
	}
	ticks := func() (t float64) {
		for _, pid := range group(p1.Pid()) {
			t += lab.CPUTicks(pid)
		}
		return t
	}
	cpu0, t0 := ticks(), time.Now()
	if _, err := l.Observer.Flood(11000, 10*time.Second); err != nil {
		return nil, err
	}
	cpu := (ticks() - cpu0) / 100 / time.Since(t0).Seconds()
	moves := 0
	for _, e := range append(w1.Changes(), w2.Changes()...) {
		if e.At.After(t0) {
			moves++
		}
	}
	return map[string]float64{"flood.cpu": 100 * cpu, "flood.moves": float64(moves)}, nil
}

// group lists the processes of pid's process group (keepalived forks).
func group(pid int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pgid, err := syscall.Getpgid(n); err == nil && pgid == pid {
			pids = append(pids, n)
		}
	}
	return pids
}

func rssKiB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
			return n
		}
	}
	return 0
}

// idle runs a converged pair for the idle duration in a lab of its own and
// reports the MASTER's RSS (MiB, its whole process group) and CPU (ms).
func idle(im impl) (map[string]float64, error) {
	l, err := lab.New(lab.Options{Hosts: 2})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	p1, _, err := pair(l, im, role{})
	if err != nil {
		return nil, err
	}
	var cpu0, sched0 float64
	for _, pid := range group(p1.Pid()) {
		cpu0 += lab.CPUTicks(pid)
		sched0 += lab.CPUSched(pid)
	}
	time.Sleep(*idleFor)
	var rss, cpu, sched float64
	for _, pid := range group(p1.Pid()) {
		rss += rssKiB(pid)
		cpu += lab.CPUTicks(pid)
		sched += lab.CPUSched(pid)
	}
	return map[string]float64{"idle.rss": rss / 1024, "idle.cpu": (cpu - cpu0) * 10, "idle.sched": (sched - sched0) / 1e6}, nil
}

// subsecond runs -b 0 -k 64 against -k 128 for the idle duration with a
// busy loop on the other core, and counts the VIP's moves after the first
// convergence: each is a false failover.
func subsecond(l *lab.Lab, im impl) (map[string]float64, error) {
	l.Reset()
	h1, h2 := l.Hosts[0], l.Hosts[1]
	if _, err := im.start(l, h1, role{preferred: true, subsecond: true}); err != nil {
		return nil, err
	}
	if _, err := im.start(l, h2, role{subsecond: true}); err != nil {
		return nil, err
	}
	if !lab.Eventually(wait, func() bool { return h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
		return nil, fmt.Errorf("sub-second: no convergence: %w", errTimeout)
	}
	w2, err := h2.WatchAddr(lab.VIP)
	if err != nil {
		return nil, err
	}
	defer w2.Stop()
	burn := exec.Command("taskset", "-c", strconv.Itoa(runtime.NumCPU()-1), "sh", "-c", "while :; do :; done")
	if err := burn.Start(); err != nil {
		return nil, err
	}
	defer func() { burn.Process.Kill(); burn.Wait() }()
	time.Sleep(*idleFor)
	flaps := 0
	for _, e := range w2.Changes() {
		if e.Added {
			flaps++
		}
	}
	return map[string]float64{"sub.flaps": float64(flaps)}, nil
}

type metric struct {
	key, label, unit string
	digits           int
}

var metrics = []metric{
	{"hard.vip", "hard failover: backup holds the VIP", "s after the fault", 3},
	{"hard.excess", "hard failover: beyond the protocol bound", "ms after last advert + dead time", 1},
	{"hard.reply", "hard failover: observer's first reply", "s after the fault", 3},
	{"hard.lost", "hard failover: pings lost", "at 20 ms", 0},
	{"graceful.vip", "graceful handoff (TERM): peer holds the VIP", "ms", 1},
	{"graceful.lost", "graceful handoff: pings lost", "at 20 ms", 0},
	{"startup", "start-up: converged to one MASTER", "s", 3},
	{"return.vip", "preferred master's return (-P): holds the VIP", "s after its start", 3},
	{"return.both", "preferred master's return: both hold the VIP", "ms", 1},
	{"cable.handover", "cable pulled on the master: backup holds the VIP", "s", 3},
	{"cable.takeback", "cable plugged back: preferred takes back (-P)", "s", 3},
	{"garp", "first gratuitous ARP after the MASTER transition", "ms", 2},
	{"maint.lost", "planned handoff (ours: ucarpctl maintenance on; ucarp: SIGUSR2; keepalived: priority 200 to 50, reload): pings lost", "at 20 ms", 0},
	{"maint.vip", "planned handoff: peer holds the VIP", "ms after the command", 1},
	{"maint.both", "planned handoff: both hold the VIP", "ms", 1},
	{"flood.cpu", "11,000 forged packets/s for 10 s: MASTER's CPU", "% of a core", 1},
	{"flood.moves", "11,000 forged packets/s for 10 s: VIP moves", "per run", 0},
	{"idle.rss", "idle RSS of the MASTER", "MiB", 1},
	{"idle.cpu", "idle CPU of the MASTER (utime+stime, 10 ms ticks)", "ms per run", 0},
	{"idle.sched", "idle CPU of the MASTER (the sum of its threads' schedstat)", "ms per run", 1},
	{"sub.flaps", "sub-second (-b 0 -k 64), other core busy: false failovers", "per run", 0},
}

func stats(v []float64) (med, lo, hi float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func render(impls []impl, res map[string]map[string][]float64, fails map[string]map[string]int) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured by `make bench` (`go run ./internal/labbench -runs %d`) on %s, in the namespace lab\n", *runs, time.Now().Format("2006-01-02"))
	fmt.Fprintf(&b, "(two hosts and an observer on one bridge). Machine: %s, %d CPUs, %s, %s, kernel %s (host %s).\n",
		lab.CPUModel(), runtime.NumCPU(), runtime.Version(), pkgVersions(), lab.Kernel(), host)
	fmt.Fprintf(&b, "Parameters: advbase 1, advskew 0 and 100, deadratio 3 (keepalived: VRRPv2, advert_int 1, priorities 200 and 100,\n")
	fmt.Fprintf(&b, "nopreempt where ucarp has no -P, notify scripts; VRRPv3 and advert_int 0.25 for the sub-second run). Ours manages the\n")
	fmt.Fprintf(&b, "VIP itself; ucarp adds it with its up script. Each timed scenario ran %d times, the fault at a random point of the\n", *runs)
	fmt.Fprintf(&b, "advert cycle; times come from rtnetlink address events in each host, the bridge capture and the observer's pings.\n")
	fmt.Fprintf(&b, "Each cell: median [min-max] (failed runs).\n\n")
	fmt.Fprintf(&b, "| measure | unit |")
	for _, im := range impls {
		fmt.Fprintf(&b, " %s |", im.name)
	}
	fmt.Fprintf(&b, " ours/ucarp | ours/keepalived |\n|---|---|")
	for range impls {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	for _, m := range metrics {
		fmt.Fprintf(&b, "| %s | %s |", m.label, m.unit)
		meds := map[string]float64{}
		for _, im := range impls {
			v := res[m.key][im.name]
			cell := "n/a"
			if len(v) > 0 {
				med, lo, hi := stats(v)
				meds[im.name] = med
				cell = fmt.Sprintf("%.*f [%.*f-%.*f]", m.digits, med, m.digits, lo, m.digits, hi)
			}
			if f := fails[m.key][im.name]; f > 0 {
				cell += fmt.Sprintf(" (%d failed)", f)
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		for _, other := range []string{"ucarp", "keepalived"} {
			o, ok1 := meds["ours"]
			t, ok2 := meds[other]
			if ok1 && ok2 && o >= 0 && t > 0 { // no ratio of a negative proxy figure
				fmt.Fprintf(&b, " %.2f |", o/t)
			} else {
				b.WriteString(" - |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(notes)
	return b.String()
}

// notes explains the figures that a reader would otherwise misread.
const notes = `
Reading the table:
- *beyond the protocol bound* is the time the backup took past the last advert it heard plus its dead time: the
  daemon's own reaction delay.
- keepalived logs whole seconds, so its MASTER transition is taken as the moment its VIP appears; it sends its
  ARPs as it adds the VIP, and the capture can stamp them before the address event reaches the watcher, hence
  values near zero or below, and no ratio. Ours and ucarp are measured from their "Switching to state: MASTER"
  line.
- *idle CPU*: ours renews the VIP's lifetime once per advert interval (one netlink request), so that a MASTER
  killed with SIGKILL loses the address by itself by the time a peer takes over. ucarp and keepalived leave a
  killed master's VIP on its interface. The idle cost of 1, 16 and 256 groups in one process (CPU, RSS, advert
  jitter, keepalived with the same 256 groups beside it) is in docs/SCALE.md, which make bench writes after this
  file; one group's beside the floor of the machine (what waking once a second costs a C and a Go program) in
  docs/PERF.md (make bench-floor).
- *planned handoff*: ours keeps the VIP, answering, until the peer is MASTER and has sent its gratuitous ARP,
  then lets it go (ucarpctl maintenance on); its time includes starting ucarpctl. ucarp's SIGUSR2 drops the
  VIP at once (its down script) and the peer takes over only after its dead time; keepalived hands over once
  the backup, which preempts, has declared the reloaded MASTER down.
- *forged packets*: ours checks every packet (HMAC included) and counts each drop; keepalived, configured here
  as VRRPv2 without authentication, has no digest to check, and its VIP moved under the flood.
`

// goBenchmarks runs the protocol package's benchmarks for the report.
func goBenchmarks() string {
	cmd := exec.Command("go", "test", "-run", "XXX", "-bench", ".", "-benchmem", "-count", "1", "./carp")
	cmd.Dir = lab.ModuleRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("\n(go test -bench failed: %v)\n", err)
	}
	var rows []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			rows = append(rows, l)
		}
	}
	return "\n## The protocol package\n\n`go test -run XXX -bench . -benchmem ./carp` (part of `make bench`): the send path\n" +
		"(next header, HMAC, 56-byte packet), the receive path (every check of ucarp's, HMAC included), and one state-machine step.\n\n" +
		"```\n" + strings.Join(rows, "\n") + "\n```\n"
}

func pkgVersions() string {
	var vs []string
	for _, p := range []string{"ucarp", "keepalived"} {
		out, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", p).Output()
		vs = append(vs, p+" "+string(out))
	}
	return strings.Join(vs, ", ")
}
