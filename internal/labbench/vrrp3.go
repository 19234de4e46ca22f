//go:build linux

package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	"github.com/ucarp-go/ucarp/vrrp"
)

// The VRRPv3 section (issue 18): hard failover of a VRRPv3 pair with an
// advert every 100 ms and every 20 ms, ours (--protocol=vrrp3) against
// keepalived (vrrp_version 3) at the same settings: priorities 200 and
// 100, so that the backup's Master_Down_Interval is 3 intervals plus
// (256-100)/256 of one. Each run is fastHard's: the master's link cut and
// its processes killed at a random point, the time until the backup holds
// the VIP.
var vrrp3On = flag.Bool("vrrp3", true, "run the VRRPv3 failover section (also selected by -scenarios=vrrp3)")

// vrrp3Intervals are the advertisement intervals measured, in centiseconds.
var vrrp3Intervals = []int{10, 2}

// vrrp3MasterDown is the backup's (priority 100) Master_Down_Interval.
func vrrp3MasterDown(cs int) time.Duration {
	i := vrrp.Centiseconds(uint16(cs))
	return 3*i + time.Duration(256-100)*i/256
}

func vrrp3Impl(name string, cs int) fastImpl {
	label := fmt.Sprintf("ours --protocol=vrrp3 --advert-interval=%d", cs)
	if name == "keepalived" {
		label = fmt.Sprintf("keepalived vrrp_version 3, advert_int %d.%02d", cs/100, cs%100)
	}
	return fastImpl{name: fmt.Sprintf("%s-%dms", name, cs*10), label: label, deadTime: vrrp3MasterDown(cs),
		start: func(l *lab.Lab, h *lab.Host, preferred bool) (*lab.Proc, error) {
			v := lab.VRRP{VRID: 1, Priority: 100, Interval: cs}
			if preferred {
				v.Priority = 200
			}
			if name == "keepalived" {
				k, err := h.StartKeepalived("keepalived-vrrp3", v)
				if err != nil {
					return nil, err
				}
				return k.Proc, nil
			}
			return h.StartOursVRRP("ours-vrrp3", *oursBin, v)
		}}
}

// vrrp3Bench runs the section and returns its part of the report.
func vrrp3Bench(l *lab.Lab, rng *rand.Rand) string {
	var fis []fastImpl
	for _, cs := range vrrp3Intervals {
		for _, name := range strings.Split(*only, ",") {
			if name == "ours" || name == "keepalived" {
				fis = append(fis, vrrp3Impl(name, cs))
			}
		}
	}
	type result struct {
		times, excess []float64 // ms
		fails         int
	}
	res := map[string]*result{}
	for _, fi := range fis {
		r := &result{}
		res[fi.name] = r
		for i := 0; i < *runs; i++ {
			fmt.Printf("%-10s %-16s run %d/%d\n", "vrrp3", fi.name, i+1, *runs)
			d, ex, _, err := fastHard(l, fi, rng, false)
			if err != nil {
				fmt.Printf("    %s: %v\n", fi.name, err)
				r.fails++
				continue
			}
			r.times = append(r.times, float64(d)/1e6)
			if ex != -1 {
				r.excess = append(r.excess, float64(ex)/1e6)
			}
		}
	}
	l.Reset()
	var b strings.Builder
	fmt.Fprintf(&b, "\n## VRRPv3 failover (issue 18)\n\n")
	fmt.Fprintf(&b, "A VRRPv3 pair, priorities 200 and 100 (the backup's Master_Down_Interval: %.1f ms at 100 ms adverts, %.1f ms at\n",
		float64(vrrp3MasterDown(10))/1e6, float64(vrrp3MasterDown(2))/1e6)
	fmt.Fprintf(&b, "20 ms), ours against keepalived at the same settings. Hard failover: the master's link cut and its processes killed,\n")
	fmt.Fprintf(&b, "%d runs, time from the start of the cut until the backup holds the VIP; *past the bound*: after the master's last\n", *runs)
	fmt.Fprintf(&b, "advert on the wire plus the backup's Master_Down_Interval.\n\n")
	b.WriteString("| contender | hard failover median | min | max | past the bound: median | max | failed runs |\n|---|---|---|---|---|---|---|\n")
	for _, fi := range fis {
		r := res[fi.name]
		med, lo, hi, exMed, exHi := "n/a", "n/a", "n/a", "n/a", "n/a"
		if len(r.times) > 0 {
			m, mn, h := stats(r.times)
			med, lo, hi = fmt.Sprintf("%.1f ms", m), fmt.Sprintf("%.1f ms", mn), fmt.Sprintf("%.1f ms", h)
		}
		if len(r.excess) > 0 {
			m, _, h := stats(r.excess)
			exMed, exHi = fmt.Sprintf("%.1f ms", m), fmt.Sprintf("%.1f ms", h)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d |\n", fi.label, med, lo, hi, exMed, exHi, r.fails)
	}
	return b.String()
}
