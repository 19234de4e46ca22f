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
	soaks    = flag.Int("soaks", 1, "fast failover: soaks of each contender (one is a sample, not a rate)")
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
	var last time.Time
	for _, f := range frames {
		if f.IsCARP() && f.IPv4Source() == h1.Addr && f.At.Before(vipAt) {
			excess = vipAt.Sub(f.At.Add(fi.deadTime))
			last = f.At
		}
	}
	if draw {
		tl = drawFailover(fi.label, l, frames, w1, w2, pinger, fault, vipAt, fi.deadTime, 150*time.Millisecond, 250*time.Millisecond)
	}
	// The cut took effect after the master's last advert on the wire: on
	// a loaded machine ip(8) takes up to 150 ms to cut the link, and the
	// master advertises all the while. The failover counts from the later
	// of the cut's start and that advert (an upper bound: the cut took
	// effect at most one interval after it).
	if last.After(fault) {
		fault = last
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

// soakResult is what a soak measured: the false failovers, and for each,
// from a kernel-filtered capture of the pair's adverts on the bridge,
// whether the master's adverts had stopped reaching the wire for the
// backup's dead time (sender side) or kept coming on time (receive side).
type soakResult struct {
	moves, senderLate int
	unclassified      int // takeovers the capture cannot tell (no advert of h2's found, or frames lost)
	pps               float64
	maxGap            time.Duration // the longest gap between the master's adverts on the wire
	gaps2             int           // gaps of two intervals or more (an advert missing or late)
	rawDrops          [2]uint64     // /proc/net/raw drops on h1, h2 after the soak
	capDrops          uint64        // frames the capture itself lost
	load              string        // /proc/loadavg at the end
	detail            []string
}

// fastSoak runs a converged pair for d with stress-ng on every core and a
// flood of forged adverts, and counts the VIP's moves: each is a false
// failover.
func fastSoak(l *lab.Lab, fi fastImpl, d time.Duration) (r soakResult, err error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	_, w2, stop, err := fresh(l)
	if err != nil {
		return r, err
	}
	defer stop()
	if _, err := fastPair(l, fi); err != nil {
		return r, err
	}
	capture, err := l.CaptureIPv4From(h1, h2)
	if err != nil {
		return r, err
	}
	defer func() {
		if capture != nil {
			capture.Stop()
		}
	}()
	stress := exec.Command("stress-ng", "--cpu", "0", "--timeout", fmt.Sprintf("%ds", int(d.Seconds())+5), "--quiet")
	stress.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stress.Start(); err != nil {
		return r, fmt.Errorf("stress-ng: %w", err)
	}
	defer func() { syscall.Kill(-stress.Process.Pid, syscall.SIGKILL); stress.Wait() }()
	t0 := time.Now()
	sent, err := l.Observer.Flood(*floodPPS, d)
	if err != nil {
		return r, err
	}
	end := time.Now()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	time.Sleep(100 * time.Millisecond)
	r.capDrops = capture.Drops()
	frames := capture.Stop()
	capture = nil
	for i, h := range []*lab.Host{h1, h2} {
		r.rawDrops[i] = rawDrops(h)
	}
	total := 0
	for _, n := range sent {
		total += n
	}
	r.pps = float64(total) / end.Sub(t0).Seconds()
	// Every advert of the capture classifies the takeovers (a takeover
	// early in the soak needs the master's adverts from before t0); the
	// gap statistics count the soak's alone.
	var ads1, ads2 []time.Time
	for _, f := range frames {
		if f.IsCARP() && f.IPv4Source() == h1.Addr {
			ads1 = append(ads1, f.At)
		}
		if f.IsCARP() && f.IPv4Source() == h2.Addr {
			ads2 = append(ads2, f.At)
		}
	}
	interval := 5 * time.Second / 256
	for i := 1; i < len(ads1); i++ {
		if ads1[i-1].Before(t0) {
			continue
		}
		g := ads1[i].Sub(ads1[i-1])
		r.maxGap = max(r.maxGap, g)
		if g >= 2*interval {
			r.gaps2++
		}
	}
	prev := t0                       // the previous takeover's address event
	for _, e := range w2.Changes() { // the backup took over; its return to h1 is the same failover
		if !e.At.After(t0) || e.At.After(end) || !e.Added { // the soak's, while the capture ran
			continue
		}
		r.moves++
		// The backup took over when it sent its first advert, before
		// the address was added (which can wait, as the master's adverts
		// can, for the kernel's rtnl lock). The master's last advert on
		// the wire before: if it is less than the dead time before, the
		// backup should have heard it.
		// The first advert of the run of h2's adverts that its address
		// (which can trail it by 300 ms and more) ends, within the second
		// before it: walking back from h2's last advert before the
		// address while they are less than 150 ms apart (h2's interval
		// as MASTER is 78 ms, keepalived's 20), no further back than its
		// previous takeover's address.
		took, from := e.At, e.At.Add(-time.Second)
		if prev.After(from) {
			from = prev
		}
		prev = e.At
		found := false
		for i := len(ads2) - 1; i >= 0; i-- {
			a := ads2[i]
			if !a.Before(e.At) {
				continue
			}
			if !a.After(from) || (found && took.Sub(a) >= 150*time.Millisecond) {
				break
			}
			took, found = a, true
		}
		var last time.Time
		for _, a := range ads1 {
			if a.Before(took) {
				last = a
			}
		}
		silent := took.Sub(last)
		side := "receive side: the master's advert was on the wire in time"
		switch {
		case !found || r.capDrops > 0 || last.IsZero():
			r.unclassified++
			side = "unclassified: no advert of h2's found before its address, or the capture lost frames"
		case silent >= fi.deadTime:
			r.senderLate++
			side = "sender side: the master was silent on the wire for the dead time"
		}
		r.detail = append(r.detail, fmt.Sprintf("at +%.3f s: h2 took over %.1f ms after h1's last advert on the wire, VIP %.1f ms later (%s)",
			took.Sub(t0).Seconds(), float64(silent)/1e6, float64(e.At.Sub(took))/1e6, side))
	}
	return r, nil
}

// rawDrops sums the drops column of h's /proc/net/raw: packets the kernel
// dropped because a raw socket's receive buffer was full.
func rawDrops(h *lab.Host) uint64 {
	out, err := h.Exec("cat", "/proc/net/raw")
	if err != nil {
		return 0
	}
	var n uint64
	for _, line := range strings.Split(out, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 {
			var v uint64
			fmt.Sscan(f[len(f)-1], &v)
			n += v
		}
	}
	return n
}

// fastBench runs the section and returns its part of the report.
func fastBench(l *lab.Lab, rng *rand.Rand) string {
	var fis []fastImpl
	for _, name := range strings.Split(*only, ",") {
		switch name {
		case "ours":
			fis = append(fis, fastOurs(false), fastOurs(true))
		case "ours-rt": // the fast section alone: ours with --realtime
			fis = append(fis, fastOurs(true))
		case "keepalived":
			fis = append(fis, fastKeepalived(false), fastKeepalived(true))
		}
	}
	type result struct {
		times  []float64 // ms
		excess []float64 // ms
		fails  int
		soak   soakResult // the sums
		each   []int      // false failovers per soak
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
		for i := 0; *soakFor > 0 && i < *soaks && r.err == nil; i++ {
			fmt.Printf("%-10s %-13s soak %d/%d %v\n", "fast", fi.name, i+1, *soaks, *soakFor)
			sk, err := fastSoak(l, fi, *soakFor)
			if err != nil {
				r.err = err
				fmt.Printf("    %s: %v\n", fi.name, err)
				break
			}
			fmt.Printf("    %s: %d false failovers (%d sender side, %d unclassified), master's adverts: max gap %.1f ms, %d gaps >= 2 intervals; raw drops h1 %d h2 %d; capture drops %d; load %s\n",
				fi.name, sk.moves, sk.senderLate, sk.unclassified, float64(sk.maxGap)/1e6, sk.gaps2, sk.rawDrops[0], sk.rawDrops[1], sk.capDrops, sk.load)
			for _, d := range sk.detail {
				fmt.Printf("      %s\n", d)
			}
			r.each = append(r.each, sk.moves)
			r.soak.moves += sk.moves
			r.soak.senderLate += sk.senderLate
			r.soak.unclassified += sk.unclassified
			r.soak.pps += sk.pps / float64(*soaks)
			r.soak.maxGap = max(r.soak.maxGap, sk.maxGap)
			r.soak.load += sk.load + "; "
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
	fmt.Fprintf(&b, "killed, %d runs, time until the backup holds the VIP from the moment the cut took effect: the later of the cut's\n", *runs)
	fmt.Fprintf(&b, "start and the master's last advert on the wire (an ip(8) run, which takes 10 to 150 ms on a loaded machine while\n")
	fmt.Fprintf(&b, "the master keeps advertising); *past the bound*: after that last advert plus the backup's dead time.\n")
	fmt.Fprintf(&b, "Soak: %d × a converged pair for %v with `stress-ng --cpu 0` (every core busy) and %d forged adverts/s from the\n", *soaks, *soakFor, *floodPPS)
	fmt.Fprintf(&b, "observer; every arrival of the VIP on the backup counts as a false failover, and the bridge capture tells whether\n")
	fmt.Fprintf(&b, "the master's adverts had stopped for the dead time (*sender side*) or kept reaching the wire (the backup's side).\n\n")
	b.WriteString("| contender | hard failover median | max | past the bound: median | max | failed runs | soaks: false failovers | of which sender side | flood as sent |\n|---|---|---|---|---|---|---|---|---|\n")
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
		soak, sender := "not run", "-"
		flood := "-"
		switch {
		case r.err != nil:
			soak = "error: " + r.err.Error()
		case *soakFor > 0:
			soak, flood = fmt.Sprint(r.soak.moves), fmt.Sprintf("%.0f/s", r.soak.pps)
			sender = fmt.Sprint(r.soak.senderLate)
			if r.soak.unclassified > 0 {
				sender += fmt.Sprintf(" (%d unclassified)", r.soak.unclassified)
			}
			if len(r.each) > 1 {
				soak += " (" + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(r.each)), ", "), "[]") + ")"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", fi.label, med, hi, exMed, exHi, r.fails, soak, sender, flood)
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
