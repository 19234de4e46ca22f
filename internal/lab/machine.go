//go:build linux

package lab

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPUTicks is the CPU time (user and system, in clock ticks of 1/100 s)
// that process pid has used; 0 when it cannot be read.
func CPUTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return u + s
}

// CPUSched is the CPU time (nanoseconds) that the threads of process pid
// have run, the sum of the first field of /proc/PID/task/*/schedstat: the
// scheduler's own account, exact where CPUTicks samples in 10 ms ticks (a
// process that runs for 100 µs a second shows 0 ticks most minutes). Only
// the live threads count: a thread that has exited takes its time with it.
// 0 when it cannot be read.
func CPUSched(pid int) float64 {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var t float64
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseFloat(f[0], 64)
			t += ns
		}
	}
	return t
}

// CPUModel names this machine's processor, for benchmark reports.
func CPUModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// Kernel is the running kernel's release.
func Kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// Holders says which hosts hold each address, as "NAME:h1 NAME:h2+h3 NAME:"
// with names[i] for addrs[i], in order.
func (l *Lab) Holders(names []string, addrs []netip.Addr) string {
	out := make([]string, 0, len(addrs))
	for i, a := range addrs {
		var hs []string
		for _, h := range l.Hosts {
			if h.HasAddr(a) {
				hs = append(hs, h.Name)
			}
		}
		out = append(out, names[i]+":"+strings.Join(hs, "+"))
	}
	return strings.Join(out, " ")
}
