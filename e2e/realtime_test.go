//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// schedPolicies maps each thread of pid to its scheduling policy (0
// SCHED_OTHER, 2 SCHED_RR), from /proc/PID/task/*/sched.
func schedPolicies(pid int) map[string]string {
	pols := map[string]string{}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, e := range ents {
		pols[e.Name()] = schedField(fmt.Sprintf("/proc/%d/task/%s/sched", pid, e.Name()), "policy")
	}
	return pols
}

// schedField reads "name : value" from a /proc sched file.
func schedField(path, name string) string {
	for _, line := range strings.Split(readFile(path), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// statusKiB reads a "Name: N kB" line of /proc/PID/status.
func statusKiB(pid int, name string) string {
	for _, line := range strings.Split(readFile(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		}
	}
	return ""
}

// policyScript writes an up script that records its own scheduling
// policy.
func policyScript(t *testing.T, l *lab.Lab) (up, record string) {
	record = filepath.Join(l.Dir, "policy")
	up = filepath.Join(l.Dir, "policy-up.sh")
	if err := os.WriteFile(up, []byte(fmt.Sprintf("#!/bin/sh\ngrep '^policy ' /proc/$$/sched >> %s\n", record)), 0o755); err != nil {
		t.Fatal(err)
	}
	return up, record
}

// TestRealtime: with --realtime every thread of the daemon runs under
// SCHED_RR at the priority given, threads included that the runtime
// starts later (the sweep), while its scripts keep SCHED_OTHER;
// --lock-memory locks its pages. Without the options nothing changes.
func TestRealtime(t *testing.T) {
	l := newLab(t, 2)
	rt := l.Hosts[0]
	up, record := policyScript(t, l)
	p := start(t, rt, "rt", ours(lab.CARP{AdvBase: -1, AdvSkew: 5,
		Extra: []string{"--realtime=12", "--lock-memory", "--manage-vip", "--upscript=" + up}}))
	plain := start(t, l.Hosts[1], "plain", ours(lab.CARP{AdvBase: -1, AdvSkew: 20}))
	if !p.WaitLog("Switching to state: MASTER", 1, 10*time.Second) {
		t.Fatalf("no MASTER:\n%s", p.Log())
	}
	var pols map[string]string
	if !lab.Eventually(5*time.Second, func() bool {
		pols = schedPolicies(p.Pid())
		for _, pol := range pols {
			if pol != "2" {
				return false
			}
		}
		return len(pols) > 0
	}) {
		t.Fatalf("threads' policies %v, want 2 (SCHED_RR) for all", pols)
	}
	for tid := range pols {
		if prio := schedField(fmt.Sprintf("/proc/%d/task/%s/sched", p.Pid(), tid), "prio"); prio != "87" { // 99 - 12
			t.Errorf("thread %s: kernel prio %s, want 87 (SCHED_RR priority 12)", tid, prio)
		}
	}
	if lck := statusKiB(p.Pid(), "VmLck"); lck == "" || lck == "0" {
		t.Errorf("VmLck %q: the memory is not locked", lck)
	}
	if !lab.Eventually(10*time.Second, func() bool { return strings.Contains(readFile(record), "policy") }) {
		t.Fatal("the up script did not run")
	}
	if got := strings.Fields(readFile(record)); len(got) != 3 || got[2] != "0" {
		t.Errorf("the up script ran with %q, want policy 0 (SCHED_OTHER)", got)
	}
	if n := p.Count("Warning: --"); n != 0 {
		t.Errorf("%d warnings about --realtime or --lock-memory:\n%s", n, p.Log())
	}
	// Without the options: the ordinary scheduler, nothing locked.
	for tid, pol := range schedPolicies(plain.Pid()) {
		if pol != "0" {
			t.Errorf("without --realtime, thread %s has policy %s", tid, pol)
		}
	}
	if lck := statusKiB(plain.Pid(), "VmLck"); lck != "0" {
		t.Errorf("without --lock-memory, VmLck %q", lck)
	}
}

// TestRealtimeRefused: without CAP_SYS_NICE and CAP_IPC_LOCK the daemon
// warns once for each and runs on with the ordinary scheduler.
func TestRealtimeRefused(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	args := ours(lab.CARP{AdvBase: -1, AdvSkew: 5, Extra: []string{"--realtime", "--lock-memory"}}).Args(h)
	p, err := h.Start("rt", append([]string{"setpriv", "--bounding-set=-sys_nice,-ipc_lock", "--inh-caps=-sys_nice,-ipc_lock", "--"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !p.WaitLog("Switching to state: MASTER", 1, 10*time.Second) {
		t.Fatalf("no MASTER:\n%s", p.Log())
	}
	if !p.WaitLog("--realtime: the daemon runs with the ordinary scheduler", 1, 5*time.Second) ||
		!p.WaitLog("--lock-memory: the memory stays pageable", 1, 5*time.Second) {
		t.Fatalf("no warnings:\n%s", p.Log())
	}
	if !lab.Eventually(3*time.Second, func() bool { return h.HasAddr(lab.VIP) }) {
		t.Fatal("no VIP")
	}
	time.Sleep(1500 * time.Millisecond) // past a sweep: still one warning
	if n := p.Count("--realtime"); n != 1 {
		t.Errorf("%d realtime warnings, want 1:\n%s", n, p.Log())
	}
	for tid, pol := range schedPolicies(p.Pid()) {
		if pol != "0" {
			t.Errorf("refused, thread %s has policy %s", tid, pol)
		}
	}
}

// TestRealtimeConfigMode: the top-level keys realtime and lock-memory of
// a config file do what the options do.
func TestRealtimeConfigMode(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	conf := filepath.Join(l.Dir, "rt.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("realtime = 15\nlock-memory = true\ninterface = %q\nsrcip = %q\npass = \"carplab\"\n\n[[group]]\nvhid = 1\naddr = %q\nadvbase = 0\nadvskew = 5\n",
		h.IfName, h.Addr, lab.VIP)), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := h.Start("ucarp", oursBin, "--config="+conf)
	if err != nil {
		t.Fatal(err)
	}
	if !lab.Eventually(10*time.Second, func() bool { return h.HasAddr(lab.VIP) }) {
		t.Fatalf("no VIP:\n%s", p.Log())
	}
	var pols map[string]string
	if !lab.Eventually(5*time.Second, func() bool {
		pols = schedPolicies(p.Pid())
		for tid, pol := range pols {
			if pol != "2" || schedField(fmt.Sprintf("/proc/%d/task/%s/sched", p.Pid(), tid), "prio") != "84" { // 99 - 15
				return false
			}
		}
		return len(pols) > 0
	}) {
		t.Fatalf("threads' policies %v, want 2 (SCHED_RR) at priority 15 for all", pols)
	}
	if lck := statusKiB(p.Pid(), "VmLck"); lck == "" || lck == "0" {
		t.Errorf("VmLck %q: the memory is not locked", lck)
	}
	// A reload does not change them, and says so rather than pretend.
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("realtime = 20\ninterface = %q\nsrcip = %q\npass = \"carplab\"\n\n[[group]]\nvhid = 1\naddr = %q\nadvbase = 0\nadvskew = 5\n",
		h.IfName, h.Addr, lab.VIP)), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGHUP)
	if !p.WaitLog("realtime and lock-memory changed in "+conf+": they take effect at the next start", 1, 5*time.Second) {
		t.Fatalf("no warning about the changed tuning on reload:\n%s", p.Log())
	}
}
