//go:build linux

package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	"github.com/ucarp-go/ucarp/vrrp"
)

var (
	bin       = flag.String("ucarp", "bin/ucarp", "our daemon")
	out       = flag.String("out", "docs/SCALE.md", "where to write the report")
	sizesFlag = flag.String("groups", "1,16,256,256/novip,256/keepalived", "numbers of groups per process; N/novip: manage-vip = false; N/keepalived: keepalived instead")
	window    = flag.Duration("window", 30*time.Second, "measurement window per size")
	reloadN   = flag.Int("reload", 256, "the size whose file is reloaded with one group changed (0: none)")
)

const (
	ifaces   = 2 // 256 groups need two interfaces: a vhid is 1-255
	converge = 60 * time.Second
	settle   = 3 * time.Second // after convergence: every backup has heard its master
	pass     = "carplab"
	skewPref = 0   // the preferred host's advskew
	skewBack = 100 // the other's
)

// grp is one group: vhid on interface k (eth<k>).
type grp struct{ k, vhid int }

func (g grp) String() string { return fmt.Sprintf("eth%d/%d", g.k, g.vhid) }

// vip is the group's address, in the documentation range of its
// interface's LAN: 198.51.100.100+vhid on eth0, 203.0.113.100+vhid on eth1
// (vhid 1-128; the hosts are .10+i, the observer .2).
func (g grp) vip() netip.Addr {
	if g.k == 0 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + g.vhid)})
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + g.vhid)})
}

// preferred is the index of the host that g prefers: h1 for odd vhids.
func (g grp) preferred() int { return 1 - g.vhid%2 }

// layout spreads n groups over the interfaces: vhid 1..n/2 on each (n=1:
// eth0 alone).
func layout(n int) []grp {
	var gs []grp
	for i := 0; i < n; i++ {
		gs = append(gs, grp{k: i % ifaces, vhid: i/ifaces + 1})
	}
	return gs
}

// writeConfig writes host i's file (0-based): every group, advskew 0
// where the host is preferred, 100 elsewhere, and skew[g] where given.
func writeConfig(l *lab.Lab, h *lab.Host, i int, sz size, gs []grp, skew map[grp]int) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "facility = \"none\"\npass = %q\nadvbase = 1\ndeadratio = 3\npreempt = true\nshutdown = true\n", pass)
	if sz.novip {
		b.WriteString("manage-vip = false\n")
	}
	for _, g := range gs {
		s := skewBack
		if g.preferred() == i {
			s = skewPref
		}
		if v, ok := skew[g]; ok {
			s = v
		}
		fmt.Fprintf(&b, "\n[[group]]\ninterface = \"eth%d\"\nsrcip = %q\nvhid = %d\naddr = %q\nadvskew = %d\n",
			g.k, h.Ifs[g.k].Addr, g.vhid, g.vip(), s)
	}
	path := filepath.Join(l.Dir, h.Name+".conf")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// size is one run: n groups per process, the daemon managing their
// addresses unless novip.
type size struct {
	n          int
	novip      bool
	keepalived bool // the same groups as keepalived's VRRPv3 instances, for comparison
}

func (sz size) String() string {
	switch {
	case sz.novip:
		return fmt.Sprintf("%d, manage-vip = false", sz.n)
	case sz.keepalived:
		return fmt.Sprintf("%d, keepalived %s", sz.n, keepalivedVersion())
	}
	return strconv.Itoa(sz.n)
}

// point is the measure of one size.
type point struct {
	size
	convergence     time.Duration
	cpu, rss, hwm   [2]float64 // per process: CPU s per minute (utime+stime ticks), MiB
	sched           [2]float64 // per process: CPU s per minute (schedstat of its threads)
	threads         [2]int
	intervals       int
	p50, p99, max   float64 // jitter, ms
	worst           string  // the group of the max
	transitions     int     // "Switching to state" lines in the window, both processes
	load0, load1    string
	framesPerSecond float64
	reload          *reload
}

// reload is what a reload of the file that changes one group did.
type reload struct {
	changed                     grp
	took                        time.Duration // SIGHUP to the "Reloaded" line
	transOthers, transChanged   int           // "Switching to state" lines after SIGHUP
	missedOthers, missedChanged int           // gaps > 1.5 x the expected interval on the wire
	movesOthers, movesChanged   int           // changes of the advertising source on the wire
	othersSeen                  int           // groups with adverts in the reload capture
	windowBefore, windowAfter   time.Duration
	changedSeq                  []string // the changed group's adverts around SIGHUP
	changedSwitches             []string // and its transitions
}

var (
	curMu  sync.Mutex
	curLab *lab.Lab
)

func setLab(l *lab.Lab) { curMu.Lock(); curLab = l; curMu.Unlock() }

func main() {
	flag.Parse()
	if err := lab.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "scalebench: %v\n", err)
		os.Exit(1)
	}
	if _, err := os.Stat(*bin); err != nil {
		fmt.Fprintf(os.Stderr, "scalebench: %v (make build)\n", err)
		os.Exit(1)
	}
	// An interrupted run leaves nothing behind either.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		curMu.Lock()
		if curLab != nil {
			curLab.Close()
		}
		os.Exit(2)
	}()
	var sizes []size
	for _, s := range strings.Split(*sizesFlag, ",") {
		num, novip := strings.CutSuffix(strings.TrimSpace(s), "/novip")
		num, ka := strings.CutSuffix(num, "/keepalived")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 2*255 {
			fmt.Fprintf(os.Stderr, "scalebench: bad size %q\n", s)
			os.Exit(1)
		}
		sizes = append(sizes, size{n: n, novip: novip, keepalived: ka})
	}
	var points []point
	failed := false
	for _, sz := range sizes {
		fmt.Printf("%v groups per process\n", sz)
		p, err := measure(sz, sz.n == *reloadN && !sz.novip && !sz.keepalived)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  %v groups: %v\n", sz, err)
			failed = true
			continue
		}
		points = append(points, p)
	}
	report := render(points)
	fmt.Print(report)
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// measure runs n groups per host in a lab of its own.
func measure(sz size, doReload bool) (p point, err error) {
	p.size = sz
	l, err := lab.New(lab.Options{Hosts: 2, Interfaces: ifaces})
	if err != nil {
		return p, err
	}
	setLab(l)
	defer func() { setLab(nil); l.Close() }()
	gs := layout(sz.n)
	var procs [2]*lab.Proc
	var confs [2]string
	t0 := time.Now()
	for i, h := range l.Hosts {
		if sz.keepalived {
			if procs[i], err = startKeepalived(l, h, i, gs); err != nil {
				return p, err
			}
			continue
		}
		if confs[i], err = writeConfig(l, h, i, sz, gs, nil); err != nil {
			return p, err
		}
		if procs[i], err = h.Start("ucarp", *bin, "--config="+confs[i]); err != nil {
			return p, err
		}
	}
	conv := func() bool { return wrongHolders(l, gs) == "" }
	if sz.novip {
		conv = func() bool { return wrongSenders(l, gs) == "" }
	}
	if !waitFor(converge, conv) {
		return p, fmt.Errorf("no convergence in %v: %s%s\n%s", converge, wrongHolders(l, gs), wrongSenders(l, gs), tail(procs[0].Log(), 20))
	}
	p.convergence = time.Since(t0)
	time.Sleep(settle)
	fmt.Printf("  converged in %.1f s; measuring %v\n", p.convergence.Seconds(), *window)

	caps, err := captures(l)
	if err != nil {
		return p, err
	}
	p.load0 = loadavg()
	var cpu0, sched0 [2]float64
	for i, pr := range procs {
		cpu0[i] = treeTicks(pr.Pid())
		sched0[i] = treeSched(pr.Pid())
	}
	w0 := time.Now()
	time.Sleep(*window)
	elapsed := time.Since(w0)
	for i, pr := range procs {
		if pr.Exited() {
			stopAll(caps)
			return p, fmt.Errorf("%s's daemon exited:\n%s", pr.Host.Name, tail(pr.Log(), 20))
		}
		p.cpu[i] = (treeTicks(pr.Pid()) - cpu0[i]) / 100 / elapsed.Minutes()
		p.sched[i] = (treeSched(pr.Pid()) - sched0[i]) / 1e9 / elapsed.Minutes()
		for _, pid := range tree(pr.Pid()) { // keepalived: its VRRP child too
			st := status(pid)
			p.rss[i] += st["VmRSS"] / 1024
			p.hwm[i] = max(p.hwm[i], st["VmHWM"]/1024)
			p.threads[i] += int(st["Threads"])
		}
		p.transitions += len(switches(pr, w0, time.Now()))
	}
	p.load1 = loadavg()
	frames := stopAll(caps)
	ads := adverts(frames)
	if sz.keepalived {
		// Its log says nothing the way ours does: a transition is a
		// change of the advertising source on the wire.
		for _, as := range ads {
			for j := 1; j < len(as); j++ {
				if as[j].src != as[j-1].src {
					p.transitions++
				}
			}
		}
	}
	var js []float64
	worst := 0.0
	for key, as := range ads {
		for j := 1; j < len(as); j++ {
			if as[j].src != as[j-1].src {
				continue
			}
			d := as[j].at.Sub(as[j-1].at) - as[j-1].expect
			v := float64(d.Abs()) / 1e6
			js = append(js, v)
			if v > worst {
				worst, p.worst = v, fmt.Sprintf("%v from %v", key, as[j].src)
			}
		}
	}
	if len(js) == 0 {
		return p, errors.New("no advert intervals captured")
	}
	slices.Sort(js)
	p.intervals = len(js)
	p.p50, p.p99, p.max = quantile(js, 0.50), quantile(js, 0.99), js[len(js)-1]
	p.framesPerSecond = float64(countAdverts(ads)) / elapsed.Seconds()
	fmt.Printf("  CPU %.2f / %.2f s/min (ticks), %.3f / %.3f (schedstat), RSS %.1f / %.1f MiB, jitter p50 %.2f p99 %.2f max %.2f ms over %d intervals\n",
		p.cpu[0], p.cpu[1], p.sched[0], p.sched[1], p.rss[0], p.rss[1], p.p50, p.p99, p.max, p.intervals)
	if doReload {
		r, err := reloadOne(l, procs, confs, gs)
		if err != nil {
			return p, fmt.Errorf("reload: %w", err)
		}
		p.reload = r
	}
	return p, nil
}

// reloadOne rewrites h1's file with one group changed (the first, which
// h1 leads: advskew 0 to 200, so that h2 preempts it), sends SIGHUP, and
// watches the wire and the logs for 10 s.
func reloadOne(l *lab.Lab, procs [2]*lab.Proc, confs [2]string, gs []grp) (*reload, error) {
	r := &reload{changed: gs[0], windowBefore: 5 * time.Second, windowAfter: 10 * time.Second}
	caps, err := captures(l)
	if err != nil {
		return nil, err
	}
	time.Sleep(r.windowBefore)
	if _, err := writeConfig(l, l.Hosts[0], 0, size{n: len(gs)}, gs, map[grp]int{r.changed: 200}); err != nil {
		stopAll(caps)
		return nil, err
	}
	before := procs[0].Count("Reloaded ")
	hup := time.Now()
	procs[0].Signal(syscall.SIGHUP)
	if !procs[0].WaitLog("Reloaded ", before+1, 30*time.Second) {
		stopAll(caps)
		return nil, fmt.Errorf("no reload line in 30 s:\n%s", tail(procs[0].Log(), 20))
	}
	ts := procs[0].LogTimes("Reloaded ")
	r.took = ts[len(ts)-1].Sub(hup)
	time.Sleep(r.windowAfter)
	end := time.Now()
	frames := stopAll(caps)
	fmt.Printf("  reload took %v\n", r.took.Round(time.Microsecond))
	for _, pr := range procs {
		for _, sw := range switches(pr, hup, end) {
			if sw.g == r.changed {
				r.transChanged++
				r.changedSwitches = append(r.changedSwitches, fmt.Sprintf("%+.3f s %s %s", sw.at.Sub(hup).Seconds(), pr.Host.Name, sw.state))
			} else {
				r.transOthers++
			}
		}
	}
	for key, as := range adverts(frames) {
		var missed, moves int
		for j := 1; j < len(as); j++ {
			if as[j].at.Sub(as[j-1].at) > as[j-1].expect*3/2 {
				missed++
			}
			if as[j].src != as[j-1].src {
				moves++
			}
		}
		if key == r.changed {
			r.missedChanged, r.movesChanged = missed, moves
			for _, a := range as {
				if d := a.at.Sub(hup); d > -3*time.Second && d < 5*time.Second {
					r.changedSeq = append(r.changedSeq, fmt.Sprintf("%+.3f s %v skew %d", d.Seconds(), a.src, a.skew))
				}
			}
		} else {
			r.missedOthers += missed
			r.movesOthers += moves
			r.othersSeen++
		}
	}
	return r, nil
}

// advert is one advert seen on the wire.
type advert struct {
	at     time.Time
	src    netip.Addr
	expect time.Duration // advbase + advskew/256 of the packet
	skew   int
}

// adverts groups the captured CARP adverts by group, in order. The
// capture on br<k> is frames[k].
func adverts(frames [][]lab.Frame) map[grp][]advert {
	m := map[grp][]advert{}
	for k, fs := range frames {
		for _, f := range fs {
			if g, a, ok := vrrpAdvert(k, f); ok {
				m[g] = append(m[g], a)
				continue
			}
			pk, err := f.Advert()
			if err != nil {
				continue
			}
			a := pk.Header
			g := grp{k: k, vhid: int(a.VHID)}
			m[g] = append(m[g], advert{at: f.At, src: f.IPv4Source(),
				expect: time.Duration(a.AdvBase)*time.Second + time.Duration(a.AdvSkew)*time.Second/256, skew: int(a.AdvSkew)})
		}
	}
	for _, as := range m {
		slices.SortFunc(as, func(a, b advert) int { return a.at.Compare(b.at) })
	}
	return m
}

// vrrpAdvert decodes a VRRPv3 frame (keepalived's rows) as an advert of
// group g, expected every interval it announces.
func vrrpAdvert(k int, f lab.Frame) (grp, advert, bool) {
	var pk vrrp.Packet
	if !f.IsCARP() || len(f.Data) < 15 || f.Data[14+20]>>4 != vrrp.Version || pk.UnmarshalBinary(f.Data[14:]) != nil {
		return grp{}, advert{}, false
	}
	return grp{k: k, vhid: int(pk.Advert.VRID)}, advert{at: f.At, src: f.IPv4Source(), expect: pk.Advert.Interval()}, true
}

// tree is pid and its descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; it ends at the last ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				children[pp] = append(children[pp], c)
			}
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeTicks is the CPU time of pid and its descendants, in clock ticks.
func treeTicks(pid int) float64 {
	var t float64
	for _, p := range tree(pid) {
		t += lab.CPUTicks(p)
	}
	return t
}

// treeSched is the CPU time of pid and its descendants' live threads, in
// nanoseconds (schedstat).
func treeSched(pid int) float64 {
	var t float64
	for _, p := range tree(pid) {
		t += lab.CPUSched(p)
	}
	return t
}

// keepalivedVersion is the version keepalived -v prints, as "2.2.7".
func keepalivedVersion() string {
	out, _ := exec.Command("keepalived", "-v").CombinedOutput()
	if f := strings.Fields(string(out)); len(f) > 1 {
		return strings.TrimPrefix(f[1], "v")
	}
	return "?"
}

// startKeepalived runs host i's groups as keepalived's VRRPv3 instances,
// as alike as VRRP allows: advert_int 1, priority 200 where the host is
// preferred and 100 elsewhere (preempting, as VRRP does by default), each
// with its /32. No scripts, no syslog.
func startKeepalived(l *lab.Lab, h *lab.Host, i int, gs []grp) (*lab.Proc, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  vrrp_version 3\n}\n", h.Name)
	for _, g := range gs {
		prio := 100
		if g.preferred() == i {
			prio = 200
		}
		fmt.Fprintf(&b, "vrrp_instance VI_%d_%d {\n  state BACKUP\n  interface eth%d\n  virtual_router_id %d\n  priority %d\n  advert_int 1\n  virtual_ipaddress {\n    %s/32 dev eth%d\n  }\n}\n",
			g.k, g.vhid, g.k, g.vhid, prio, g.vip(), g.k)
	}
	conf := filepath.Join(l.Dir, "keepalived-"+h.Name+".conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	pid, vrrpPid := filepath.Join(l.Dir, h.Name+".pid"), filepath.Join(l.Dir, h.Name+"-vrrp.pid")
	return h.Start("keepalived", "keepalived", "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"--use-file="+conf, "--pid="+pid, "--vrrp_pid="+vrrpPid)
}

func countAdverts(m map[grp][]advert) int {
	n := 0
	for _, as := range m {
		n += len(as)
	}
	return n
}

func captures(l *lab.Lab) ([]*lab.Capture, error) {
	var cs []*lab.Capture
	for k := 0; k < ifaces; k++ {
		c, err := l.CaptureOn(k)
		if err != nil {
			stopAll(cs)
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func stopAll(cs []*lab.Capture) [][]lab.Frame {
	var fs [][]lab.Frame
	for _, c := range cs {
		fs = append(fs, c.Stop())
	}
	return fs
}

// quantile of sorted v (nearest rank).
func quantile(v []float64, q float64) float64 {
	i := int(q*float64(len(v))+0.999999) - 1
	return v[max(0, min(i, len(v)-1))]
}

// waitFor polls cond every 250 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(250 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// holders lists the addresses configured in h's namespace.
func holders(h *lab.Host) map[netip.Addr]bool {
	o, _ := h.Exec("ip", "-4", "-o", "addr", "show")
	m := map[netip.Addr]bool{}
	for _, line := range strings.Split(o, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == "inet" {
			if p, err := netip.ParsePrefix(f[3]); err == nil {
				m[p.Addr()] = true
			}
		}
	}
	return m
}

// wrongSenders captures both bridges for 2.5 s and names the groups
// whose adverts do not come from their preferred host alone.
func wrongSenders(l *lab.Lab, gs []grp) string {
	caps, err := captures(l)
	if err != nil {
		return err.Error()
	}
	time.Sleep(2500 * time.Millisecond)
	ads := adverts(stopAll(caps))
	var wrong []string
	for _, g := range gs {
		ok := len(ads[g]) > 0
		for _, a := range ads[g] {
			ok = ok && a.src == l.Hosts[g.preferred()].Ifs[g.k].Addr
		}
		if !ok {
			wrong = append(wrong, g.String())
		}
	}
	if len(wrong) == 0 {
		return ""
	}
	return fmt.Sprintf("%d groups not (yet) advertised by their preferred host alone: %s", len(wrong), strings.Join(wrong[:min(len(wrong), 10)], " "))
}

// wrongHolders names the groups whose address is not on their preferred
// host alone.
func wrongHolders(l *lab.Lab, gs []grp) string {
	hs := [2]map[netip.Addr]bool{holders(l.Hosts[0]), holders(l.Hosts[1])}
	var wrong []string
	for _, g := range gs {
		pref := g.preferred()
		if !hs[pref][g.vip()] || hs[1-pref][g.vip()] {
			wrong = append(wrong, g.String())
		}
	}
	if len(wrong) == 0 {
		return ""
	}
	return fmt.Sprintf("%d groups not (yet) on their preferred host: %s", len(wrong), strings.Join(wrong[:min(len(wrong), 10)], " "))
}

var groupOf = regexp.MustCompile(`interface=eth(\d+) vhid=(\d+)$`)

// consoleTime is the timestamp format of the daemon's console lines.
const consoleTime = "2006-01-02T15:04:05.000000"

// transition is one "Switching to state" line.
type transition struct {
	g     grp
	at    time.Time
	state string
}

var stateOf = regexp.MustCompile(`Switching to state: (\w+)`)

// switches lists the "Switching to state" lines that pr logged in [from, to).
func switches(pr *lab.Proc, from, to time.Time) []transition {
	f, err := os.Open(pr.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ss []transition
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "Switching to state") || len(line) < len(consoleTime) {
			continue
		}
		t, err := time.ParseInLocation(consoleTime, line[:len(consoleTime)], time.Local)
		m := groupOf.FindStringSubmatch(line)
		if err != nil || m == nil || t.Before(from) || !t.Before(to) {
			continue
		}
		k, _ := strconv.Atoi(m[1])
		v, _ := strconv.Atoi(m[2])
		st := ""
		if m := stateOf.FindStringSubmatch(line); m != nil {
			st = m[1]
		}
		ss = append(ss, transition{g: grp{k: k, vhid: v}, at: t, state: st})
	}
	return ss
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// status reads the numeric fields of /proc/PID/status (kB for sizes).
func status(pid int) map[string]float64 {
	m := map[string]float64{}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if f := strings.Fields(v); ok && len(f) > 0 {
			if n, err := strconv.ParseFloat(f[0], 64); err == nil {
				m[k] = n
			}
		}
	}
	return m
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func render(points []point) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Config mode at scale\n\n")
	fmt.Fprintf(&b, "Measured by `make bench-scale` (`go run ./internal/scalebench -ucarp bin/ucarp -out docs/SCALE.md`, window %v)\n", *window)
	fmt.Fprintf(&b, "on %s in the namespace lab. Machine: %s, %d CPUs, %s, kernel %s (host %s).\n\n",
		time.Now().Format("2006-01-02"), lab.CPUModel(), runtime.NumCPU(), runtime.Version(), lab.Kernel(), host)
	fmt.Fprintf(&b, "Two hosts, each one `ucarp --config` process running N groups; each host has two interfaces (eth0 on\n")
	fmt.Fprintf(&b, "bridge br0, eth1 on br1) and the groups are vhid 1..N/2 on each (N=1: eth0 alone). Odd vhids prefer h1\n")
	fmt.Fprintf(&b, "(advskew 0 there, 100 on h2), even vhids h2: each process is MASTER of half its groups. advbase 1, deadratio 3,\n")
	fmt.Fprintf(&b, "preempt, the daemon manages each group's /32 address, no scripts, no syslog. After convergence (every address on\n")
	fmt.Fprintf(&b, "its preferred host alone) and %v more, the window: CPU (utime+stime of /proc/PID/stat, in 10 ms ticks,\n", settle)
	fmt.Fprintf(&b, "and the sum of /proc/PID/task/*/schedstat, in ns) and VmRSS/VmHWM of\n")
	fmt.Fprintf(&b, "each process, and every CARP advert captured on both bridges. Jitter is |interval - (advbase + advskew/256)|\n")
	fmt.Fprintf(&b, "between successive adverts of one source for one group, over all groups. Targets (issue 13): p99 jitter under\n")
	fmt.Fprintf(&b, "5 ms, idle CPU under 1 %% of a core (0.6 CPU s per minute), RSS under 20 MiB. A row \"manage-vip = false\" runs\n")
	fmt.Fprintf(&b, "the same groups with no address management (convergence then judged on the wire): see the notes below.\n\n")
	b.WriteString("| groups per process | converged | CPU s/min h1 / h2 (ticks) | CPU s/min h1 / h2 (schedstat) | % of a core (max, ticks) | VmRSS h1 / h2 MiB | VmHWM max MiB | threads | adverts/s on the wire | intervals | jitter p50 / p99 / max ms | transitions in window | load avg before / after |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range points {
		fmt.Fprintf(&b, "| %v | %.1f s | %.3f / %.3f | %.3f / %.3f | %.2f | %.1f / %.1f | %.1f | %d / %d | %.0f | %d | %.2f / %.2f / %.2f | %d | %s / %s |\n",
			p.size, p.convergence.Seconds(), p.cpu[0], p.cpu[1], p.sched[0], p.sched[1], 100*max(p.cpu[0], p.cpu[1])/60, p.rss[0], p.rss[1],
			max(p.hwm[0], p.hwm[1]), p.threads[0], p.threads[1], p.framesPerSecond, p.intervals, p.p50, p.p99, p.max,
			p.transitions, p.load0, p.load1)
	}
	var managed []point
	for _, p := range points {
		if !p.novip {
			managed = append(managed, p)
		}
	}
	if len(managed) >= 2 {
		a, z := managed[0], managed[len(managed)-1]
		fmt.Fprintf(&b, "\nFrom %d to %d groups: CPU x%.1f, RSS +%.1f MiB, p99 jitter %+.2f ms.\n", a.n, z.n,
			max(z.cpu[0], z.cpu[1])/max(a.cpu[0], a.cpu[1], 1e-9), max(z.rss[0], z.rss[1])-max(a.rss[0], a.rss[1]), z.p99-a.p99)
	}
	b.WriteString("\nThe group of the largest jitter: ")
	var ws []string
	for _, p := range points {
		ws = append(ws, fmt.Sprintf("N=%v: %s (%.2f ms)", p.size, p.worst, p.max))
	}
	b.WriteString(strings.Join(ws, "; ") + ".\n")
	for _, p := range points {
		r := p.reload
		if r == nil {
			continue
		}
		fmt.Fprintf(&b, "\n## Reload of the %d-group file that changes one group\n\n", p.n)
		fmt.Fprintf(&b, "h1's file is rewritten with group %v (h1 its MASTER at advskew 0) at advskew 200, and h1 gets SIGHUP; h2,\n", r.changed)
		fmt.Fprintf(&b, "preempting at advskew 100, should take that group over. Both bridges are captured from %v before the\n", r.windowBefore)
		fmt.Fprintf(&b, "signal to %v after it. A missed advert is a gap over 1.5 x (advbase + advskew/256) between successive\n", r.windowAfter)
		fmt.Fprintf(&b, "adverts of a group, whoever sends them; a move is a change of the advertising source.\n\n")
		b.WriteString("| | the changed group | the other groups |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| \"Switching to state\" lines after SIGHUP (both processes) | %d | %d |\n", r.transChanged, r.transOthers)
		fmt.Fprintf(&b, "| moves on the wire | %d | %d |\n", r.movesChanged, r.movesOthers)
		fmt.Fprintf(&b, "| missed adverts on the wire | %d | %d (over %d groups seen) |\n", r.missedChanged, r.missedOthers, r.othersSeen)
		fmt.Fprintf(&b, "\nThe changed group's adverts from 3 s before SIGHUP to 5 s after: %s.\n", strings.Join(r.changedSeq, "; "))
		fmt.Fprintf(&b, "Its transitions: %s.\n", strings.Join(r.changedSwitches, "; "))
		fmt.Fprintf(&b, "\nThe reload took %.1f ms (SIGHUP to the daemon's \"Reloaded ...\" line, whose timestamp has microseconds).\n",
			float64(r.took.Microseconds())/1000)
	}
	b.WriteString(scaleNotes)
	return b.String()
}

const scaleNotes = `
Reading the figures:
- The capture stamps each frame with the kernel's receive timestamp (SO_TIMESTAMPNS on the bridge's packet
  socket), so the benchmark's own scheduling delays are not counted. The daemon's are: a busy machine delays
  its timers, and the load average of each window is given for that reason.
- In config mode a MASTER's adverts are on a grid shared by its groups (carp.Config.Align): multiples of
  the interval from the Unix epoch, in 16 slots by vhid. The process then wakes up about 16 times per interval
  for all its MASTERs instead of once per group; a late timer does not drift the grid, which is why the
  jitter's p50 is near zero.
- Where the daemon manages the addresses, each MASTER renews its address's lifetime when less than half of it
  would be left by its next advert: at advbase 1 (lifetime 3 s) with each advert, one netlink request on a
  socket kept open (its own RTM_NEWADDR event is dropped by a socket filter). The node keeps each interface's address
  table from the kernel's events (node/addrcache.go) and wakes only the group whose address an event names.
  History: with a listing per group per event, 256 groups took 78 % of a core (reloads of 431 ms and missed
  adverts); with one listing per change, 10.8 %, most of it garbage from a socket and a 64 KiB buffer per
  netlink request; the manage-vip = false row measures the same groups without address management.
- The expected interval is the sender's: advbase + advskew/256 as the packet says, so a MASTER at advskew 0
  should advertise every 1.000 s.
- VmRSS counts the pages of the binary that the process maps (clean, shared by every process that runs it):
  start-up maps most of the file, and the daemon unmaps them 5.5 s after its start, and its read-only data
  again after a garbage collection, at most once a minute (the pages that run again come back). The split (RssAnon and RssFile), the socket filter under a flood, and one group's idle cost are
  in docs/PERF.md.
`
