//go:build linux

package main

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

var (
	oursBin  = flag.String("ucarp", "bin/ucarp", "our daemon")
	refBin   = flag.String("ref", "", "another build of ours to run beside it, labelled ref (empty: none)")
	window   = flag.Duration("window", 120*time.Second, "length of one measurement window")
	windows  = flag.Int("windows", 3, "number of windows, one after the other")
	rowsFlag = flag.String("rows", strings.Join(defaultRows, ","), "the setups to run side by side (ref* only with -ref)")
	out      = flag.String("out", "", "also write the report (markdown) to this file")
	cc       = flag.String("cc", "cc", "the C compiler for testdata/floor.c (none found: the C rows are left out)")
)

//go:embed testdata/floor.c
var floorC []byte

var defaultRows = []string{
	"c", "c-pair", "go-sleep", "go", "go+rearm", "go+hop", "go+edge", "go+rearm+hop+edge", "go-pair",
	"ucarp", "ucarp-pair", "ours", "ours-addr", "ours-pair", "ref", "ref-addr", "ref-pair",
}

// settle is the wait after every setup has converged, before the first
// window: a BACKUP has heard its MASTER, and ours has released its
// executable's pages (a one-shot timer 5 s after its start).
const settle = 8 * time.Second

// measured is one process whose CPU is reported.
type measured struct {
	label string
	proc  *lab.Proc
}

// setup is one row's lab: it starts its processes and says when they are
// in their steady state.
type setup struct {
	name  string
	hosts int
	start func(l *lab.Lab) ([]measured, func() bool, error)
}

var (
	labsMu sync.Mutex
	labs   []*lab.Lab
)

func closeLabs() {
	labsMu.Lock()
	defer labsMu.Unlock()
	for _, l := range labs {
		l.Close()
	}
	labs = nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		floorMain(os.Args[2:])
		return
	}
	flag.Parse()
	if err := run(); err != nil {
		closeLabs()
		fmt.Fprintf(os.Stderr, "idlefloor: %v\n", err)
		os.Exit(1)
	}
	closeLabs()
}

func run() error {
	if err := lab.Check(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		closeLabs()
		os.Exit(2)
	}()
	tmp, err := os.MkdirTemp("", "idlefloor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cBin, cNote := buildC(tmp)
	var notes []string
	if cNote != "" {
		notes = append(notes, cNote)
	}
	var setups []setup
	for _, name := range strings.Split(*rowsFlag, ",") {
		name = strings.TrimSpace(name)
		s, ok, err := makeSetup(name, self, cBin)
		if err != nil {
			return err
		}
		if ok {
			setups = append(setups, s)
		}
	}
	if len(setups) == 0 {
		return errors.New("no rows to run")
	}
	var ms []measured
	var ready []func() bool
	for _, s := range setups {
		l, err := lab.New(lab.Options{Hosts: s.hosts})
		if err != nil {
			return err
		}
		labsMu.Lock()
		labs = append(labs, l)
		labsMu.Unlock()
		m, ok, err := s.start(l)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		ms = append(ms, m...)
		ready = append(ready, ok)
	}
	fmt.Printf("%d processes started; waiting for their steady state\n", len(ms))
	for i, ok := range ready {
		if !lab.Eventually(60*time.Second, ok) {
			return fmt.Errorf("%s: no steady state in 60 s", setups[i].name)
		}
	}
	time.Sleep(settle)

	res := make([]result, len(ms))
	var loads []string
	for w := 0; w < *windows; w++ {
		before := make([]map[int]threadStat, len(ms))
		for i, m := range ms {
			before[i] = threads(m.proc.Pid())
		}
		load0 := loadavg()
		t0 := time.Now()
		time.Sleep(*window)
		el := time.Since(t0)
		loads = append(loads, load0+" to "+loadavg())
		for i, m := range ms {
			if m.proc.Exited() {
				return fmt.Errorf("%s exited:\n%s", m.label, m.proc.Log())
			}
			res[i].add(before[i], threads(m.proc.Pid()), el)
		}
		fmt.Printf("window %d/%d (%v, load %s) done\n", w+1, *windows, el.Round(time.Millisecond), loads[w])
	}
	report := render(ms, res, loads, notes)
	fmt.Print(report)
	if *out != "" {
		return os.WriteFile(*out, []byte(report), 0o644)
	}
	return nil
}

// buildC compiles testdata/floor.c with -cc into dir; "" and why when it
// cannot.
func buildC(dir string) (bin, note string) {
	path, err := exec.LookPath(*cc)
	if err != nil {
		return "", fmt.Sprintf("no C compiler (%s): the C floor is left out", *cc)
	}
	src := filepath.Join(dir, "floor.c")
	if err := os.WriteFile(src, floorC, 0o644); err != nil {
		return "", err.Error()
	}
	bin = filepath.Join(dir, "floor")
	if out, err := exec.Command(path, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		return "", fmt.Sprintf("%s failed: %v: %s", *cc, err, out)
	}
	return bin, ""
}

// makeSetup is the setup of a row's name; false when it is to be left
// out (no C compiler, no -ref).
func makeSetup(name, self, cBin string) (setup, bool, error) {
	floor := func(h *lab.Host, mode string) (*lab.Proc, error) {
		return h.Start("floor", self, "floor", "-mode", mode, "-src", h.Addr.String())
	}
	cfloor := func(h *lab.Host, mode string) (*lab.Proc, error) {
		return h.Start("cfloor", cBin, mode, h.Addr.String())
	}
	lone := func(label string, start func(h *lab.Host) (*lab.Proc, error), ready func(h *lab.Host) bool) setup {
		return setup{name: name, hosts: 1, start: func(l *lab.Lab) ([]measured, func() bool, error) {
			h := l.Hosts[0]
			p, err := start(h)
			if err != nil {
				return nil, nil, err
			}
			return []measured{{label, p}}, func() bool { return ready(h) }, nil
		}}
	}
	// pair: the sender on h1, the receiver on h2, measured.
	pair := func(label string, master, backup func(h *lab.Host) (*lab.Proc, error), ready func(l *lab.Lab) bool) setup {
		return setup{name: name, hosts: 2, start: func(l *lab.Lab) ([]measured, func() bool, error) {
			if _, err := master(l.Hosts[0]); err != nil {
				return nil, nil, err
			}
			// The MASTER first: the BACKUP hears it from the start.
			if !lab.Eventually(30*time.Second, func() bool { return ready(l) }) {
				return nil, nil, errors.New("the first host is not MASTER after 30 s")
			}
			p, err := backup(l.Hosts[1])
			if err != nil {
				return nil, nil, err
			}
			return []measured{{label, p}}, func() bool { return ready(l) }, nil
		}}
	}
	holds := func(h *lab.Host) bool { return h.HasAddr(lab.VIP) }
	firstHolds := func(l *lab.Lab) bool { return holds(l.Hosts[0]) && !holds(l.Hosts[1]) }
	carp := func(bin string, scripts bool, skew int) func(h *lab.Host) (*lab.Proc, error) {
		return func(h *lab.Host) (*lab.Proc, error) {
			return h.StartCARP(filepath.Base(bin), lab.CARP{Bin: bin, Scripts: scripts, AdvSkew: skew})
		}
	}
	switch {
	case name == "c" || name == "c-pair":
		if cBin == "" {
			return setup{}, false, nil
		}
		if name == "c" {
			return lone("floor C: timerfd, send", func(h *lab.Host) (*lab.Proc, error) { return cfloor(h, "send") }, func(*lab.Host) bool { return true }), true, nil
		}
		return pair("floor C: receive (its sender the C floor)",
			func(h *lab.Host) (*lab.Proc, error) { return cfloor(h, "send") },
			func(h *lab.Host) (*lab.Proc, error) { return cfloor(h, "recv") }, func(*lab.Lab) bool { return true }), true, nil
	case name == "go-sleep" || name == "go" || strings.HasPrefix(name, "go+"):
		mode := "timerfd" + strings.TrimPrefix(name, "go")
		if name == "go-sleep" {
			mode = "sleep"
		}
		return lone("floor Go: "+mode+", send", func(h *lab.Host) (*lab.Proc, error) { return floor(h, mode) }, func(*lab.Host) bool { return true }), true, nil
	case name == "go-pair":
		return pair("floor Go: receive (its sender the Go floor)",
			func(h *lab.Host) (*lab.Proc, error) { return floor(h, "timerfd") },
			func(h *lab.Host) (*lab.Proc, error) { return floor(h, "recv") }, func(*lab.Lab) bool { return true }), true, nil
	}
	impl, kind, _ := strings.Cut(name, "-")
	var bin, who string
	switch impl {
	case "ucarp":
		bin, who = lab.DebianUcarp, "ucarp "+debianVersion()
	case "ours":
		bin, who = *oursBin, "ours ("+*oursBin+")"
	case "ref":
		if *refBin == "" {
			return setup{}, false, nil
		}
		bin, who = *refBin, "ref ("+*refBin+")"
	default:
		return setup{}, false, fmt.Errorf("unknown row %q", name)
	}
	if _, err := os.Stat(bin); err != nil {
		return setup{}, false, err
	}
	switch kind {
	case "":
		return lone(who+": lone MASTER, scripts", carp(bin, true, 0), holds), true, nil
	case "addr":
		if impl == "ucarp" {
			return setup{}, false, fmt.Errorf("row %q: ucarp needs scripts", name)
		}
		return lone(who+": lone MASTER, address managed", carp(bin, false, 0), holds), true, nil
	case "pair":
		return pair(who+": BACKUP, scripts", carp(bin, true, 0), carp(bin, true, 100), firstHolds), true, nil
	}
	return setup{}, false, fmt.Errorf("unknown row %q", name)
}

func debianVersion() string {
	out, _ := exec.Command("dpkg-query", "-W", "-f", "${Version}", "ucarp").Output()
	return strings.TrimSpace(string(out))
}

// threadStat is one thread's schedstat: ns on the CPU, timeslices run.
type threadStat struct{ ns, slices float64 }

// threads reads /proc/PID/task/*/schedstat.
func threads(pid int) map[int]threadStat {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, _ := os.ReadDir(dir)
	m := map[int]threadStat{}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) < 3 {
			continue
		}
		ns, _ := strconv.ParseFloat(f[0], 64)
		sl, _ := strconv.ParseFloat(f[2], 64)
		m[tid] = threadStat{ns, sl}
	}
	return m
}

// result is one process's measure over the windows.
type result struct {
	perWindow []float64          // ms of CPU per minute
	slices    []float64          // timeslices per second
	byThread  map[int]threadStat // summed over the windows
	elapsed   time.Duration      // all windows
}

func (r *result) add(before, after map[int]threadStat, el time.Duration) {
	if r.byThread == nil {
		r.byThread = map[int]threadStat{}
	}
	var ns, sl float64
	for tid, a := range after {
		b := before[tid] // zero for a thread made during the window
		d := threadStat{a.ns - b.ns, a.slices - b.slices}
		ns += d.ns
		sl += d.slices
		t := r.byThread[tid]
		r.byThread[tid] = threadStat{t.ns + d.ns, t.slices + d.slices}
	}
	r.perWindow = append(r.perWindow, ns/1e6/el.Minutes())
	r.slices = append(r.slices, sl/el.Seconds())
	r.elapsed += el
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func render(ms []measured, res []result, loads, notes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Idle floor, %s: %d windows of %v side by side (kernel %s, %s; load %s)\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), len(loads), *window, lab.Kernel(), lab.CPUModel(), strings.Join(loads, ", "))
	for _, n := range notes {
		fmt.Fprintf(&b, "Note: %s.\n\n", n)
	}
	b.WriteString("| process |")
	for i := range loads {
		fmt.Fprintf(&b, " w%d |", i+1)
	}
	b.WriteString(" median ms/min | timeslices/s | µs per timeslice |\n|---|")
	for range loads {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|\n")
	for i, m := range ms {
		r := res[i]
		fmt.Fprintf(&b, "| %s |", m.label)
		for _, v := range r.perWindow {
			fmt.Fprintf(&b, " %.1f |", v)
		}
		var ns, sl float64
		for _, t := range r.byThread {
			ns += t.ns
			sl += t.slices
		}
		us := 0.0
		if sl > 0 {
			us = ns / sl / 1e3
		}
		fmt.Fprintf(&b, " %.1f | %.2f | %.0f |\n", median(r.perWindow), median(r.slices), us)
	}
	b.WriteString("\nPer thread, over all the windows, in the order the threads were made (ms/min, timeslices/s):\n\n| process | threads |\n|---|---|\n")
	for i, m := range ms {
		r := res[i]
		tids := make([]int, 0, len(r.byThread))
		for tid := range r.byThread {
			tids = append(tids, tid)
		}
		slices.Sort(tids)
		var parts []string
		for _, tid := range tids {
			t := r.byThread[tid]
			parts = append(parts, fmt.Sprintf("%.1f (%.2f)", t.ns/1e6/r.elapsed.Minutes(), t.slices/r.elapsed.Seconds()))
		}
		fmt.Fprintf(&b, "| %s | %s |\n", m.label, strings.Join(parts, ", "))
	}
	return b.String()
}
