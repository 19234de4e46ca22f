//go:build linux

package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needLab(t *testing.T) {
	t.Helper()
	if err := Check(); err != nil {
		t.Skipf("skipped: %v (CI runs as root)", err)
	}
}

func nsExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// TestLabLifecycle checks that a lab builds its LAN, reaches across it,
// and leaves nothing behind: processes killed by PID, namespaces deleted.
func TestLabLifecycle(t *testing.T) {
	needLab(t)
	l, err := New(Options{Hosts: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if len(l.Namespaces()) != 4 {
		t.Fatalf("namespaces %v", l.Namespaces())
	}
	// The observer reaches h1 across the bridge.
	p, err := l.Observer.Ping(l.Hosts[0].Addr, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !Eventually(5*time.Second, func() bool { return p.Replied(start) }) {
		t.Fatal("no ping reply from h1")
	}
	p.Stop()
	macs, err := l.Observer.WhoHas(l.Hosts[1].Addr, 500*time.Millisecond)
	if err != nil || len(macs) != 1 || macs[0].String() != MACOf(HostAddr(2)).String() {
		t.Fatalf("ARP for h2: %v %v", macs, err)
	}
	// Nothing leaves the lab: the hosts have no route out of 198.51.100.0/24.
	if out, _ := l.Hosts[0].Exec("ip", "route"); strings.Contains(out, "default") {
		t.Fatalf("a default route in the lab: %s", out)
	}
	proc, err := l.Hosts[0].Start("sleeper", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	// A process the lab did not start, left in a namespace.
	stray := exec.Command("ip", "netns", "exec", l.Hosts[1].NS, "sleep", "600")
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	go stray.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := proc.Wait(time.Second); !ok {
		t.Fatal("the lab's process survived Close")
	}
	if syscall.Kill(stray.Process.Pid, 0) == nil && !strings.Contains(procState(stray.Process.Pid), "Z") {
		t.Fatal("a stray process survived Close")
	}
	for _, ns := range l.Namespaces() {
		if nsExists(ns) {
			t.Fatalf("namespace %s survived Close", ns)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func procState(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) {
		return string(b[i+2 : i+3])
	}
	return ""
}

// TestSweep checks that the namespaces of a dead lab are removed by the
// next New.
func TestSweep(t *testing.T) {
	needLab(t)
	// A pid that cannot be alive: beyond pid_max.
	dead := Prefix + "4194305x1-sw"
	if out, err := exec.Command("ip", "netns", "add", dead).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	l, err := New(Options{Hosts: 1})
	if err != nil {
		exec.Command("ip", "netns", "del", dead).Run()
		t.Fatal(err)
	}
	defer l.Close()
	if nsExists(dead) {
		exec.Command("ip", "netns", "del", dead).Run()
		t.Fatal("a dead lab's namespace was not swept")
	}
	if !nsExists(l.Namespaces()[0]) {
		t.Fatal("the live lab was swept")
	}
}

func TestEventuallyIsBounded(t *testing.T) {
	start := time.Now()
	if Eventually(50*time.Millisecond, func() bool { return false }) {
		t.Fatal("false condition held")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestUnwrapSeq checks that echo replies map to the request they answer,
// also once the 16-bit sequence field has wrapped.
func TestUnwrapSeq(t *testing.T) {
	for _, c := range []struct{ last, low, want int }{
		{0, 0, 0},
		{5, 3, 3},
		{65535, 65535, 65535},
		{65536, 0, 65536},
		{65540, 65535, 65535}, // late reply to the request before the wrap
		{70000, 70000 & 0xffff, 70000},
		{200000, 3, 196611},
	} {
		if got := unwrapSeq(c.last, c.low); got != c.want {
			t.Errorf("unwrapSeq(%d, %d) = %d, want %d", c.last, c.low, got, c.want)
		}
	}
	for _, c := range []struct{ last, low int }{{-1, 0}, {5, 7}} {
		if got := unwrapSeq(c.last, c.low); got >= 0 {
			t.Errorf("unwrapSeq(%d, %d) = %d, want negative: no such request", c.last, c.low, got)
		}
	}
}

// fatalRecorder is a Fataler that records instead of ending the test.
type fatalRecorder struct{ msg string }

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprintf(format, args...)
	}
}

// TestMustLastLogTime: the time of the last matching line, and a fatal
// error, never a zero time, when no line matches.
func TestMustLastLogTime(t *testing.T) {
	log := filepath.Join(t.TempDir(), "h1-ucarp.log")
	os.WriteFile(log, []byte("2026-01-02T03:04:05.000001: [WARNING] Switching to state: MASTER\n"+
		"2026-01-02T03:04:06.500000: [WARNING] Switching to state: BACKUP\n"+
		"2026-01-02T03:04:07.250000: [WARNING] Switching to state: MASTER\n"), 0o600)
	p := &Proc{Host: &Host{Name: "h1"}, Name: "ucarp", LogPath: log}

	var f fatalRecorder
	got := p.MustLastLogTime(&f, "Switching to state: MASTER")
	if want := time.Date(2026, 1, 2, 3, 4, 7, 250000000, time.Local); f.msg != "" || !got.Equal(want) {
		t.Fatalf("got %v (fatal %q), want %v", got, f.msg, want)
	}
	p.MustLastLogTime(&f, "Switching to state: INIT")
	if !strings.Contains(f.msg, `no line with "Switching to state: INIT"`) || !strings.Contains(f.msg, "state: BACKUP") {
		t.Fatalf("a missing line gave %q", f.msg)
	}
}

// TestTwoInterfaces: with Options.Interfaces 2 each host has eth1 on a
// LAN of its own (br1), which h1 reaches h2 across, and Close leaves
// nothing behind.
func TestTwoInterfaces(t *testing.T) {
	needLab(t)
	l, err := New(Options{Hosts: 2, Interfaces: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	h1, h2 := l.Hosts[0], l.Hosts[1]
	if len(h1.Ifs) != 2 || h1.Ifs[1].Name != "eth1" || h2.Ifs[1].Addr != HostAddrOn(1, 2) || len(l.Observer.Ifs) != 1 {
		t.Fatalf("interfaces %+v %+v %+v", h1.Ifs, h2.Ifs, l.Observer.Ifs)
	}
	p, err := h1.Ping(h2.Ifs[1].Addr, 20*time.Millisecond) // out of h1's eth1, by its route
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !Eventually(5*time.Second, func() bool { return p.Replied(start) }) {
		t.Fatal("no ping reply from h2's eth1")
	}
	p.Stop()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ns := range l.Namespaces() {
		if nsExists(ns) {
			t.Fatalf("namespace %s survived Close", ns)
		}
	}
}

// TestAddrLookups: HasAddr and Labels (IPv4), HasAddr6 and LinkLocal
// (IPv6) see what "ip addr" put on the host's eth0, and nothing else.
func TestAddrLookups(t *testing.T) {
	needLab(t)
	l, err := New(Options{Hosts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.EnableIPv6(); err != nil {
		t.Fatal(err)
	}
	h := l.Hosts[0]
	if out, err := h.Exec("ip", "addr", "add", VIP.String()+"/32", "dev", h.IfName, "label", h.IfName+":t"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := h.Exec("ip", "-6", "addr", "add", VIP6.String()+"/64", "dev", h.IfName, "nodad"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !h.HasAddr(VIP) || fmt.Sprint(h.Labels(VIP)) != "["+h.IfName+":t]" || h.HasAddr(HostAddr(9)) {
		t.Fatalf("IPv4: HasAddr %v, Labels %v, another %v", h.HasAddr(VIP), h.Labels(VIP), h.HasAddr(HostAddr(9)))
	}
	if !h.HasAddr6(VIP6) || h.HasAddr6(VIP6.Next()) {
		t.Fatalf("IPv6: HasAddr6 %v, another %v", h.HasAddr6(VIP6), h.HasAddr6(VIP6.Next()))
	}
	if ll, err := h.LinkLocal(); err != nil || !ll.IsLinkLocalUnicast() {
		t.Fatalf("LinkLocal: %v %v", ll, err)
	}
}
