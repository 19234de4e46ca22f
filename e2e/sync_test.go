//go:build linux

package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// eth1VIP is the address of the sync groups' member on eth1.
var eth1VIP = netip.MustParseAddr("203.0.113.102")

// newLab2 is a lab of two hosts with two interfaces each (eth0 on
// 198.51.100.0/24, eth1 on 203.0.113.0/24); the daemons' logs are
// printed on failure.
func newLab2(t *testing.T) *lab.Lab {
	t.Helper()
	return lab.NewForTest(t, lab.Options{Hosts: 2, Interfaces: 2}, false)
}

// hostDir is a directory of h's own for its control sockets: the lab's
// hosts share one file system, and a daemon finds its sync peers by the
// sockets beside its own (as in /run/ucarp on a real host).
func hostDir(t *testing.T, l *lab.Lab, h *lab.Host) string {
	t.Helper()
	dir := filepath.Join(l.Dir, h.Name+"-run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hasAddrOn reports whether a is on h's interface ifname (lab.Host's
// HasAddr looks at eth0 only).
func hasAddrOn(h *lab.Host, ifname string, a netip.Addr) bool {
	var found bool
	h.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		for _, x := range addrs {
			if p, ok := x.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(p.IP.To4()); ok && ip == a {
					found = true
				}
			}
		}
		return err
	})
	return found
}

// syncHolders says who holds the address of each member: "1:h1 2:h1".
func syncHolders(l *lab.Lab) string {
	out := l.Holders([]string{"1"}, []netip.Addr{groupVIP(1)}) + " 2:"
	sep := ""
	for _, h := range l.Hosts {
		if hasAddrOn(h, "eth1", eth1VIP) {
			out += sep + h.Name
			sep = "+"
		}
	}
	return out
}

// syncPair cuts h1's eth0 carrier and restores it, and checks that both
// members move to h2 and come back together; status is the sync
// demotion of h1's eth1 member, as ucarpctl reports it.
func syncPair(t *testing.T, l *lab.Lab, syncDemotion func() int) {
	t.Helper()
	h1 := l.Hosts[0]
	waitFor := func(want string, timeout time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		if !lab.Eventually(timeout, func() bool { return syncHolders(l) == want }) {
			t.Fatalf("holders %s after %v, want %s", syncHolders(l), timeout, want)
		}
		return time.Since(start)
	}
	hold := func(want string, d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if got := syncHolders(l); got != want {
				t.Fatalf("holders %s, want %s", got, want)
			}
		}
	}
	waitFor("1:h1 2:h1", 10*time.Second)
	hold("1:h1 2:h1", 2*time.Second)

	if err := h1.CutLink(); err != nil { // h1's eth0 loses its carrier
		t.Fatal(err)
	}
	took := waitFor("1:h2 2:h2", 8*time.Second)
	t.Logf("both members on h2 %v after h1's eth0 lost its carrier", took.Round(time.Millisecond))
	hold("1:h2 2:h2", 2*time.Second)
	if d := syncDemotion(); d != 255 {
		t.Fatalf("h1's eth1 member: sync demotion %d, want 255", d)
	}

	if err := h1.RestoreLink(); err != nil {
		t.Fatal(err)
	}
	took = waitFor("1:h1 2:h1", 8*time.Second)
	t.Logf("both members back on h1 %v after its carrier came back", took.Round(time.Millisecond))
	hold("1:h1 2:h1", 3*time.Second)
	if d := syncDemotion(); d != 0 {
		t.Fatalf("h1's eth1 member: sync demotion %d after the return, want 0", d)
	}
}

// TestSyncGroupConfigMode: one config-mode daemon per host runs two
// groups, one on eth0 and one on eth1, in sync group "pair", with
// preempt; h1 is preferred. Pulling h1's eth0 carrier moves the eth0
// group by the election and the eth1 group by its sync demotion; the
// carrier's return brings both back.
func TestSyncGroupConfigMode(t *testing.T) {
	l := newLab2(t)
	socks := map[*lab.Host]string{}
	for i, h := range l.Hosts {
		sock := filepath.Join(hostDir(t, l, h), "ucarp.sock")
		socks[h] = sock
		conf := fmt.Sprintf("pass = \"carplab\"\npreempt = true\nsync-group = \"pair\"\nadvskew = %d\ncontrol = %q\n"+
			"\n[[group]]\nname = \"outside\"\ninterface = \"eth0\"\nsrcip = %q\nvhid = 1\naddr = %q\n"+
			"\n[[group]]\nname = \"inside\"\ninterface = \"eth1\"\nsrcip = %q\nvhid = 2\naddr = \"%s/24\"\n",
			100*i, sock, h.Ifs[0].Addr, groupVIP(1), h.Ifs[1].Addr, eth1VIP)
		path := filepath.Join(l.Dir, h.Name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(oursBin, "--config="+path, "--check").CombinedOutput(); err != nil {
			t.Fatalf("--check %s: %v: %s", path, err, out)
		}
		p, err := h.Start("ucarp", oursBin, "--config="+path)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Signal(syscall.SIGTERM)
	}
	h1 := l.Hosts[0]
	syncPair(t, l, func() int {
		for _, g := range statusOf(t, h1, ctlBin, socks[h1]) {
			if g.Name == "inside" {
				if g.SyncGroup != "pair" {
					t.Fatalf("inside's sync group %q", g.SyncGroup)
				}
				return g.Timing.Demotions["sync"]
			}
		}
		t.Fatal("no group inside on h1")
		return 0
	})
}

// TestSyncGroupProcesses: the same with two ucarp processes per host in
// command-line mode, one per group, each with --sync-group=pair and its
// control socket in the host's directory: the eth1 process follows the
// eth0 process's carrier through the sockets.
func TestSyncGroupProcesses(t *testing.T) {
	l := newLab2(t)
	var h1eth1 string
	for i, h := range l.Hosts {
		dir := hostDir(t, l, h)
		for k, addr := range []netip.Addr{groupVIP(1), eth1VIP} {
			ifc := h.Ifs[k]
			sock := filepath.Join(dir, fmt.Sprintf("%s-%d.sock", ifc.Name, k+1))
			if i == 0 && k == 1 {
				h1eth1 = sock
			}
			p, err := h.Start(fmt.Sprintf("ucarp-%s", ifc.Name), oursBin, "--interface="+ifc.Name,
				"--srcip="+ifc.Addr.String(), "--vhid="+strconv.Itoa(k+1), "--pass=carplab",
				"--addr="+addr.String()+"/24", "--advskew="+strconv.Itoa(100*i), "--preempt",
				"--sync-group=pair", "--control="+sock)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Signal(syscall.SIGTERM)
		}
	}
	h1 := l.Hosts[0]
	syncPair(t, l, func() int {
		gs := statusOf(t, h1, ctlBin, h1eth1)
		if len(gs) != 1 || gs[0].SyncGroup != "pair" {
			t.Fatalf("h1's eth1 process: %+v", gs)
		}
		return gs[0].Timing.Demotions["sync"]
	})
}

// TestHoldDown: a host started with --hold-down next to a running peer
// does not take the address from it, though it has -P and the better
// advskew, until the hold-down ends; then it does. A lone host started
// with a hold-down takes the address after the dead interval as at any
// start (a demotion never leaves the address unheld), and advertises the
// hold-down's demotion until it ends.
func TestHoldDown(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	const holdDown = 5 * time.Second
	p2 := start(t, h2, "ucarp", ours(lab.CARP{Preempt: true, AdvSkew: 100}))
	defer p2.Signal(syscall.SIGTERM)
	waitMasters(t, l, 10*time.Second, h2)

	sock := filepath.Join(hostDir(t, l, h1), "eth0-1.sock")
	started := time.Now()
	p1 := start(t, h1, "ucarp", ours(lab.CARP{Preempt: true}).WithExtra(
		"--hold-down="+strconv.Itoa(int(holdDown/time.Second)), "--control="+sock))
	holdMasters(t, l, holdDown-time.Since(started)-500*time.Millisecond, h2)
	waitMasters(t, l, 5*time.Second, h1)
	t.Logf("h1 took the address %v after its start (hold-down %v)", time.Since(started).Round(time.Millisecond), holdDown)
	if !p1.WaitLog("Hold-down over: its time is up", 1, time.Second) {
		t.Fatalf("the end of the hold-down is not logged:\n%s", p1.Log())
	}
	if g := statusOf(t, h1, ctlBin, sock)[0]; g.Timing.Demotion != 0 || g.HoldDown != nil {
		t.Fatalf("after the hold-down: demotion %d, hold-down %+v", g.Timing.Demotion, g.HoldDown)
	}
	p1.Signal(syscall.SIGTERM)
	p2.Signal(syscall.SIGTERM)
	if !lab.Eventually(10*time.Second, func() bool { return len(l.Masters()) == 0 }) {
		t.Fatalf("VIP still held by %v", names(l.Masters()))
	}
	p1.Wait(5 * time.Second)

	// A lone host.
	const long = 60 * time.Second
	started = time.Now()
	p1 = start(t, h1, "ucarp-lone", ours(lab.CARP{Preempt: true}).WithExtra(
		"--hold-down="+strconv.Itoa(int(long/time.Second)), "--control="+sock))
	defer p1.Signal(syscall.SIGTERM)
	waitMasters(t, l, 6*time.Second, h1)
	t.Logf("the lone h1 took the address %v after its start, within its hold-down of %v", time.Since(started).Round(time.Millisecond), long)
	g := statusOf(t, h1, ctlBin, sock)[0]
	if g.Timing.Demotions["hold-down"] != 255 || g.HoldDown == nil {
		t.Fatalf("the lone h1 during its hold-down: %+v %+v", g.Timing, g.HoldDown)
	}
}
