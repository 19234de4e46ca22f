//go:build linux

package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// The fast-failover section (issue 19): ours at -b 0 -k 5 (an advert
// every 19.5 ms; the backup at -k 20 takes over 78 ms after the last one
// it heard) against keepalived's VRRPv3 at advert_int 0.02, with and
// without realtime scheduling: hard failover time, and false failovers
// while every core is busy and the LAN carries a flood.
var (
	fastOn   = flag.Bool("fast", true, "run the fast-failover section (also selected by -scenarios=fast)")
	soakFor  = flag.Duration("soak", 5*time.Minute, "fast failover: length of each soak under stress-ng and the flood (0: skip)")
	svgDir   = flag.String("svg", "docs", "where the fast-failover timelines are written (empty: nowhere)")
	floodPPS = flag.Int("soak-flood", 11000, "fast failover: forged packets per second during the soak")
)

// fastImpl is one contender of the fast-failover section.
type fastImpl struct {
	name     string
	label    string        // for the table and the pictures
	deadTime time.Duration // the backup's: after the last advert it heard
	start    func(l *lab.Lab, h *lab.Host, preferred bool) (*lab.Proc, error)
}

func fastOurs(rt bool) fastImpl {
	name, label := "ours", "ours -b 0 -k 5 / -k 20"
	if rt {
		name, label = "ours-rt", label+" --realtime --lock-memory"
	}
	return fastImpl{name: name, label: label, deadTime: 78125 * time.Microsecond, start: func(l *lab.Lab, h *lab.Host, preferred bool) (*lab.Proc, error) {
		c := lab.CARP{Bin: *oursBin, AdvBase: -1, AdvSkew: 20, Shutdown: true}
		if preferred {
			c.AdvSkew = 5
		}
		if rt {
			c.Extra = []string{"--realtime", "--lock-memory"}
		}
		return h.StartCARP(name, c)
	}}
}

// fastKeepalived: VRRPv3, advert_int 0.02, priorities 200 and 100; the
// backup's master down interval is 3*20 ms + (256-100)/256*20 ms.
func fastKeepalived(rt bool) fastImpl {
	name, label := "keepalived", "keepalived VRRPv3 advert_int 0.02"
	if rt {
		name, label = "keepalived-rt", label+" vrrp_rt_priority 10, vrrp_no_swap"
	}
	return fastImpl{name: name, label: label, deadTime: 72187500 * time.Nanosecond, start: func(l *lab.Lab, h *lab.Host, preferred bool) (*lab.Proc, error) {
		prio := 100
		if preferred {
			prio = 200
		}
		global := ""
		if rt {
			global = "  vrrp_rt_priority 10\n  vrrp_no_swap\n"
		}
		conf := filepath.Join(l.Dir, "keepalived-fast-"+h.Name+".conf")
		err := os.WriteFile(conf, []byte(fmt.Sprintf(`global_defs {
  router_id %s
  vrrp_version 3
%s}
vrrp_instance VI_1 {
  state BACKUP
  interface %s
  virtual_router_id 1
  priority %d
  advert_int 0.02
  virtual_ipaddress {
    %s/32 dev %s
  }
}
`, h.Name, global, h.IfName, prio, lab.VIP, h.IfName)), 0o644)
		if err != nil {
			return nil, err
		}
		pid, vrrpPid := filepath.Join(l.Dir, h.Name+"-fast.pid"), filepath.Join(l.Dir, h.Name+"-fast-vrrp.pid")
		os.Remove(pid)
		os.Remove(vrrpPid)
		return h.Start(name, "keepalived", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
			"--use-file="+conf, "--pid="+pid, "--vrrp_pid="+vrrpPid)
	}}
}

// fastPair starts the preferred node on h1 and the other on h2 and waits
// until h1 alone holds the VIP, then a few advert intervals more.
func fastPair(l *lab.Lab, fi fastImpl) (*lab.Proc, error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	p1, err := fi.start(l, h1, true)
	if err != nil {
		return nil, err
	}
	if _, err := fi.start(l, h2, false); err != nil {
		return nil, err
	}
	if !lab.Eventually(wait, func() bool { return h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
		return nil, fmt.Errorf("no convergence to h1: %w", errTimeout)
	}
	time.Sleep(500 * time.Millisecond)
	return p1, nil
}

// fastHard kills the MASTER's host (link cut, processes killed) at a
// random point and returns the time until the backup holds the VIP, and
// with draw, the run's timeline.
func fastHard(l *lab.Lab, fi fastImpl, rng *rand.Rand, draw bool) (failover, excess time.Duration, tl *timeline, err error) {
	h1 := l.Hosts[0]
	w1, w2, stop, err := fresh(l)
	if err != nil {
		return 0, 0, nil, err
	}
	defer stop()
	capture, err := l.Capture()
	if err != nil {
		return 0, 0, nil, err
	}
	p1, err := fastPair(l, fi)
	if err != nil {
		capture.Stop()
		return 0, 0, nil, err
	}
	pinger, err := l.Observer.Ping(lab.VIP, 5*time.Millisecond)
	if err != nil {
		capture.Stop()
		return 0, 0, nil, err
	}
	defer pinger.Stop()
	time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(50*time.Millisecond))))
	// The cut takes an ip(8) run, some 10 to 30 ms here: the fault is
	// stamped as it starts, so that no contender gains those.
	fault := time.Now()
	h1.CutLink()
	p1.Kill()
	h1.KillAll()
	var vipAt time.Time
	if !lab.Eventually(wait, func() bool {
		var ok1, ok2 bool
		vipAt, ok1 = w2.First(true, fault)
		_, ok2 = pinger.FirstReplyAfter(fault)
		return ok1 && ok2
	}) {
		capture.Stop()
		return 0, 0, nil, fmt.Errorf("fast hard failover: %w", errTimeout)
	}
	time.Sleep(250 * time.Millisecond)
	frames := capture.Stop()
	excess = -1 // unknown: no advert of h1's captured
	for _, f := range frames {
		if f.IsCARP() && f.IPv4Source() == h1.Addr && f.At.Before(vipAt) {
			excess = vipAt.Sub(f.At.Add(fi.deadTime))
		}
	}
	if draw {
		tl = drawFailover(fi.label, l, frames, w1, w2, pinger, fault, vipAt, fi.deadTime, 150*time.Millisecond, 250*time.Millisecond)
	}
	return vipAt.Sub(fault), excess, tl, nil
}

// drawFailover makes the timeline of a hard failover of h1 to h2 from
// before to after the fault: the adverts in frames, the VIP's spans from
// the watches (h1 held it, h2 did not, before the run), the pings, and the
// fault, the protocol's bound and the VIP's arrival as marks.
func drawFailover(title string, l *lab.Lab, frames []lab.Frame, w1, w2 *lab.AddrWatch, pinger *lab.Pinger,
	fault, vipAt time.Time, deadTime, before, after time.Duration) *timeline {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	tl := &timeline{Title: title, From: fault.Add(-before), To: fault.Add(after),
		Hosts: []string{h1.Name, h2.Name}, Adverts: map[string][]time.Time{}, Holds: map[string][]span{}}
	var last time.Time
	for _, f := range frames {
		for _, h := range []*lab.Host{h1, h2} {
			if f.IsCARP() && f.IPv4Source() == h.Addr {
				tl.Adverts[h.Name] = append(tl.Adverts[h.Name], f.At)
				if h == h1 && f.At.Before(vipAt) {
					last = f.At
				}
			}
		}
	}
	tl.Holds[h1.Name] = holds(w1.Changes(), true, tl.From.Add(-time.Hour), tl.To.Add(time.Hour))
	tl.Holds[h2.Name] = holds(w2.Changes(), false, tl.From.Add(-time.Hour), tl.To.Add(time.Hour))
	for t := tl.From; t.Before(tl.To); t = t.Add(time.Millisecond) {
		if pinger.Sent(t, t.Add(time.Millisecond)) > 0 {
			tl.Pings = append(tl.Pings, ping{At: t, Lost: pinger.Lost(t, t.Add(time.Millisecond)) > 0})
		}
	}
	tl.Marks = []mark{{fault, "h1 cut off and killed"}}
	if !last.IsZero() {
		tl.Marks = append(tl.Marks, mark{last.Add(deadTime), fmt.Sprintf("last advert + dead time (%.1f ms)", float64(deadTime)/1e6)})
	}
	tl.Marks = append(tl.Marks, mark{vipAt, fmt.Sprintf("VIP on h2: %.1f ms", float64(vipAt.Sub(fault))/1e6)})
	return tl
}

// writeSVG draws panels into name under -svg and reports whether it did.
func writeSVG(name, title string, panels []timeline) bool {
	if *svgDir == "" || len(panels) == 0 {
		return false
	}
	err := os.MkdirAll(*svgDir, 0o755)
	var f *os.File
	if err == nil {
		f, err = os.Create(filepath.Join(*svgDir, name))
	}
	if err == nil {
		err = renderSVG(f, title, panels)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return false
	}
	return true
}

// holds turns a watch's changes into the spans when the address was
// there, given whether it was there at the start.
func holds(changes []lab.AddrEvent, initially bool, from, to time.Time) []span {
	var out []span
	held, since := initially, from
	for _, e := range changes {
		switch {
		case e.Added && !held:
			held, since = true, e.At
		case !e.Added && held:
			out = append(out, span{since, e.At})
			held = false
		}
	}
	if held {
		out = append(out, span{since, to})
	}
	return out
}

// fastSoak runs a converged pair for d with stress-ng on every core and a
// flood of forged adverts, and counts the VIP's moves: each is a false
// failover. It returns the moves and the flood's rate as sent.
func fastSoak(l *lab.Lab, fi fastImpl, d time.Duration) (moves int, pps float64, err error) {
	_, w2, stop, err := fresh(l)
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	if _, err := fastPair(l, fi); err != nil {
		return 0, 0, err
	}
	stress := exec.Command("stress-ng", "--cpu", "0", "--timeout", fmt.Sprintf("%ds", int(d.Seconds())+5), "--quiet")
	stress.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stress.Start(); err != nil {
		return 0, 0, fmt.Errorf("stress-ng: %w", err)
	}
	defer func() { syscall.Kill(-stress.Process.Pid, syscall.SIGKILL); stress.Wait() }()
	t0 := time.Now()
	sent, err := l.Observer.Flood(*floodPPS, d)
	if err != nil {
		return 0, 0, err
	}
	total := 0
	for _, n := range sent {
		total += n
	}
	for _, e := range w2.Changes() { // the backup took over; its return to h1 is the same failover
		if e.At.After(t0) && e.Added {
			moves++
		}
	}
	return moves, float64(total) / time.Since(t0).Seconds(), nil
}

// fastBench runs the section and returns its part of the report.
func fastBench(l *lab.Lab, rng *rand.Rand) string {
	var fis []fastImpl
	for _, name := range strings.Split(*only, ",") {
		switch name {
		case "ours":
			fis = append(fis, fastOurs(false), fastOurs(true))
		case "keepalived":
			fis = append(fis, fastKeepalived(false), fastKeepalived(true))
		}
	}
	type result struct {
		times  []float64 // ms
		excess []float64 // ms
		fails  int
		moves  int
		pps    float64
		err    error
	}
	res := map[string]*result{}
	var panels []timeline
	for _, fi := range fis {
		r := &result{}
		res[fi.name] = r
		drawn := false
		for i := 0; i < *runs; i++ {
			fmt.Printf("%-10s %-13s run %d/%d\n", "fast", fi.name, i+1, *runs)
			d, ex, tl, err := fastHard(l, fi, rng, !drawn)
			if err != nil {
				fmt.Printf("    %s: %v\n", fi.name, err)
				r.fails++
				continue
			}
			r.times = append(r.times, float64(d)/1e6)
			if ex != -1 {
				r.excess = append(r.excess, float64(ex)/1e6)
			}
			if tl != nil {
				panels, drawn = append(panels, *tl), true
			}
		}
		if *soakFor > 0 {
			fmt.Printf("%-10s %-13s soak %v\n", "fast", fi.name, *soakFor)
			r.moves, r.pps, r.err = fastSoak(l, fi, *soakFor)
			if r.err != nil {
				fmt.Printf("    %s: %v\n", fi.name, r.err)
			}
		}
	}
	l.Reset()
	pics := ""
	if writeSVG("timeline-fast-failover.svg", "Hard failover at 20 ms adverts: one run of each", panels) {
		pics = "\n![hard failover at 20 ms adverts, one run of each](timeline-fast-failover.svg)\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Fast failover (issue 19)\n\n")
	fmt.Fprintf(&b, "Ours at `-b 0 -k 5` (an advert every 19.5 ms; the backup at `-k 20` takes over 78.1 ms after the last advert it\n")
	fmt.Fprintf(&b, "heard, as ucarp's `-b 0`) against keepalived VRRPv3 at `advert_int 0.02` (priorities 200 and 100: 72.2 ms), each\n")
	fmt.Fprintf(&b, "with and without realtime scheduling and locked memory. Hard failover: the master's link cut and its processes\n")
	fmt.Fprintf(&b, "killed, %d runs, time from the start of the cut (an ip(8) run, which itself takes 10 to 30 ms here) until the\n", *runs)
	fmt.Fprintf(&b, "backup holds the VIP; *past the bound*: after the master's last advert on the wire plus the backup's dead time.\n")
	fmt.Fprintf(&b, "Soak: a converged pair for %v with `stress-ng --cpu 0` (every core busy) and %d forged adverts/s from the\n", *soakFor, *floodPPS)
	fmt.Fprintf(&b, "observer; every arrival of the VIP on the backup counts as a false failover.\n\n")
	b.WriteString("| contender | hard failover median | max | past the bound: median | max | failed runs | soak: false failovers | flood as sent |\n|---|---|---|---|---|---|---|---|\n")
	for _, fi := range fis {
		r := res[fi.name]
		med, hi, exMed, exHi := "n/a", "n/a", "n/a", "n/a"
		if len(r.times) > 0 {
			m, _, h := stats(r.times)
			med, hi = fmt.Sprintf("%.1f ms", m), fmt.Sprintf("%.1f ms", h)
		}
		if len(r.excess) > 0 {
			m, _, h := stats(r.excess)
			exMed, exHi = fmt.Sprintf("%.1f ms", m), fmt.Sprintf("%.1f ms", h)
		}
		soak := "not run"
		flood := "-"
		switch {
		case r.err != nil:
			soak = "error: " + r.err.Error()
		case *soakFor > 0:
			soak, flood = fmt.Sprint(r.moves), fmt.Sprintf("%.0f/s", r.pps)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s |\n", fi.label, med, hi, exMed, exHi, r.fails, soak, flood)
	}
	b.WriteString(pics)
	return b.String()
}

// hardPanels are the timelines of the first hard failover (advbase 1) of
// each implementation, drawn by hardFailover.
var hardPanels []timeline

// drawHard keeps the timeline of im's first hard failover.
func drawHard(l *lab.Lab, im impl, frames []lab.Frame, w1, w2 *lab.AddrWatch, pinger *lab.Pinger, fault, vipAt time.Time) {
	for _, p := range hardPanels {
		if p.Title == im.name {
			return
		}
	}
	hardPanels = append(hardPanels, *drawFailover(im.name, l, frames, w1, w2, pinger, fault, vipAt, im.deadTime, 1500*time.Millisecond, 4500*time.Millisecond))
}

// hardPictures writes the hard failover's timelines and returns their
// part of the report.
func hardPictures() string {
	if !writeSVG("timeline-failover.svg", "Hard failover at advbase 1 (keepalived: advert_int 1): one run of each", hardPanels) {
		return ""
	}
	return "\n## Timelines\n\nOne hard failover of each (advbase 1, deadratio 3; keepalived advert_int 1): the adverts on the bridge,\n" +
		"the VIP on each host (address events), the observer's pings every 20 ms. Time from the fault.\n\n" +
		"![hard failover at advbase 1, one run of each](timeline-failover.svg)\n"
}
