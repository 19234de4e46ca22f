//go:build linux

package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// TestAddressMovesWithoutScripts: no script at all; the daemons add and
// remove the labelled address themselves and the observer's ARP follows.
func TestAddressMovesWithoutScripts(t *testing.T) {
	l := newLab(t, 2)
	p1, _ := pair(t, l, ours(lab.CARP{}), ours(lab.CARP{AdvSkew: 100}))
	if labels := l.Hosts[0].Labels(vip); !slices.Equal(labels, []string{"eth0:ucarp"}) {
		t.Fatalf("labels %v", labels)
	}
	answersARP(t, l, l.Hosts[0])
	p1.Signal(syscall.SIGINT) // no -z: the managed address still goes
	waitMasters(t, l, 5*time.Second, l.Hosts[1])
	answersARP(t, l, l.Hosts[1])
}

// TestCarrierLossHandsOver: the master's cable is pulled (its veth peer
// down). It gives the address up at once, and the backup takes over
// within its dead time.
func TestCarrierLossHandsOver(t *testing.T) {
	l := newLab(t, 2)
	p1, p2 := pair(t, l, ours(lab.CARP{}), ours(lab.CARP{AdvSkew: 100}))
	cut := time.Now()
	l.Hosts[0].CutLink()
	if !lab.Eventually(time.Second, func() bool { return !l.Hosts[0].HasAddr(vip) }) {
		t.Fatal("the master kept the address without a carrier")
	}
	waitMasters(t, l, 5*time.Second, l.Hosts[1])
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	if d := took.Sub(cut); d > 3390625*time.Microsecond+200*time.Millisecond {
		t.Fatalf("takeover %v after the cut: longer than the dead time", d)
	}
	if p1.Count("[WARNING] [eth0] Carrier lost") != 1 {
		t.Fatalf("log:\n%s", p1.Log())
	}
	// The cable back: a new election, and h1 (advskew 0, no -P) stays BACKUP.
	l.Hosts[0].RestoreLink()
	if !p1.WaitLog("Carrier back: starting a new election", 1, 5*time.Second) {
		t.Fatalf("log:\n%s", p1.Log())
	}
	holdMasters(t, l, 5*time.Second, l.Hosts[1])
}

// TestExternalRemovalIsRepaired: someone removes the VIP from the master
// (ip addr del, or a flush by label): it is back within one advert
// interval and announced again.
func TestExternalRemovalIsRepaired(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	p := start(t, h, "ucarp", ours(lab.CARP{}))
	waitMasters(t, l, 10*time.Second, h)
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	for i, cmd := range [][]string{
		{"ip", "addr", "del", vip.String() + "/32", "dev", "eth0"},
		{"ip", "addr", "flush", "dev", "eth0", "label", "eth0:ucarp"},
	} {
		if out, err := h.Exec(cmd...); err != nil {
			t.Fatalf("%v: %v %s", cmd, err, out)
		}
		removed := time.Now()
		if !lab.Eventually(time.Second, func() bool { return h.HasAddr(vip) }) {
			t.Fatalf("%v: not back within one advert interval", cmd)
		}
		t.Logf("%s: back after %v", strings.Join(cmd[:3], " "), time.Since(removed).Round(time.Millisecond))
		if !p.WaitLog("was removed from eth0 by someone else: adding it back", i+1, time.Second) {
			t.Fatalf("log:\n%s", p.Log())
		}
	}
	// The daemon logs a repair before it sends the gratuitous ARP: wait
	// for the frames themselves.
	garps := func() int {
		n := 0
		for _, f := range capture.Frames() {
			if f.IsGARPFor(vip) {
				n++
			}
		}
		return n
	}
	if !lab.Eventually(2*time.Second, func() bool { return garps() >= 2 }) {
		t.Fatalf("%d gratuitous ARPs after the repairs", garps())
	}
	capture.Stop()
}

// TestKillAndRestartNeverTwoAnswers: SIGKILL of the master, then its
// restart: once converged, one host answers ARP for the VIP, never two.
// The killed daemon's address expires by itself (its kernel lifetime), and
// the restarted daemon removes any copy left before its first election.
func TestKillAndRestartNeverTwoAnswers(t *testing.T) {
	l := newLab(t, 2)
	p1, _ := pair(t, l, ours(lab.CARP{}), ours(lab.CARP{AdvSkew: 100}))
	p1.Kill()
	waitMasters(t, l, 10*time.Second, l.Hosts[1])
	answersARP(t, l, l.Hosts[1])
	p1 = start(t, l.Hosts[0], "again", ours(lab.CARP{}))
	if !p1.WaitLog("Switching to state: BACKUP", 1, 5*time.Second) {
		t.Fatal("no restart")
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		answersARP(t, l, l.Hosts[1])
	}
}

// TestStaleAndForeignCopies: our copy left by a killed predecessor is
// removed before the first election; a copy someone else configured (RHEL's
// vip-up: "ip addr add VIP/32 dev eth0", no label) is removed from a BACKUP,
// which would otherwise answer ARP for the MASTER's address, and a MASTER
// that steps down removes every copy it holds, so only one host answers.
func TestStaleAndForeignCopies(t *testing.T) {
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	add := func(h *lab.Host, prefix string, extra ...string) {
		t.Helper()
		argv := append([]string{"ip", "addr", "add", vip.String() + prefix, "dev", "eth0"}, extra...)
		if out, err := h.Exec(argv...); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	// A killed ucarp-go's copy carries our protocol; iproute2 6.1 cannot
	// set one, so make it with the daemon itself: start, kill, restart.
	p1 := start(t, h1, "first", ours(lab.CARP{AdvSkew: 100}))
	waitMasters(t, l, 10*time.Second, h1)
	p1.Kill()
	p1 = start(t, h1, "ucarp", ours(lab.CARP{AdvSkew: 100}))
	if !p1.WaitLog("left on eth0 by a previous run", 1, 5*time.Second) {
		t.Fatalf("stale copy not removed:\n%s", p1.Log())
	}
	waitMasters(t, l, 10*time.Second, h1)
	p2 := start(t, h2, "ucarp", ours(lab.CARP{AdvSkew: 200}))
	if !p2.WaitLog("Switching to state: BACKUP", 1, 5*time.Second) {
		t.Fatal("h2 did not start")
	}
	for _, label := range []string{"eth0", "eth0:ucarp"} { // vip-up's copy, an ifup eth0:ucarp copy
		add(h2, "/32", "label", label)
		if !lab.Eventually(2*time.Second, func() bool { return !h2.HasAddr(vip) }) {
			t.Fatalf("a BACKUP kept a copy labelled %s: two hosts answer ARP", label)
		}
	}
	if n := p2.Count("[WARNING] Removed " + vip.String() + "/32 label eth0 from eth0, configured by someone else"); n != 1 {
		t.Fatalf("%d warnings:\n%s", n, p2.Log())
	}
	answersARP(t, l, h1)
	// The MASTER holds a foreign copy beside its own; stepping down removes both.
	add(h1, "/24")
	p1.Signal(syscall.SIGUSR2)
	waitMasters(t, l, 5*time.Second, h2)
	if !p1.WaitLog("Removed "+vip.String()+"/24 label eth0 from eth0, configured by someone else", 1, time.Second) {
		t.Fatalf("log:\n%s", p1.Log())
	}
	answersARP(t, l, h2)
}

// TestSecondDaemonSameVHID: a second daemon for the same interface and
// vhid in the same network namespace (ucarp@010 beside ucarp@10, or one
// started by hand) exits 2 at start, and never touches the first's address.
func TestSecondDaemonSameVHID(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	p1 := start(t, h, "first", ours(lab.CARP{}))
	waitMasters(t, l, 10*time.Second, h)
	p2 := start(t, h, "second", ours(lab.CARP{AdvSkew: 100}))
	st, ok := p2.Wait(5 * time.Second)
	if !ok || st.ExitCode() != 2 || !strings.Contains(p2.Log(), "Another ucarp-go already manages vhid 1 on eth0") {
		t.Fatalf("second daemon: exit %v (ended %v):\n%s", st, ok, p2.Log())
	}
	// The first's address never went: not even for the repair interval.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !h.HasAddr(vip) {
			t.Fatal("the first daemon's address went")
		}
	}
	if p1.Count("by someone else") != 0 {
		t.Fatalf("log:\n%s", p1.Log())
	}
}

// TestAdminDownExitsAsUcarp: "ip link set eth0 down" (what ifdown does)
// makes ucarp exit 0, running the down script with -z; ours does the same.
func TestAdminDownExitsAsUcarp(t *testing.T) {
	impls := map[string]func(lab.CARP) lab.CARP{"ours": func(c lab.CARP) lab.CARP {
		c = ours(c)
		c.Scripts = true
		return c
	}}
	if _, err := exec.LookPath(lab.DebianUcarp); err == nil {
		impls["ucarp"] = theirs
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, 1)
			h := l.Hosts[0]
			capture, err := l.Capture()
			if err != nil {
				t.Fatal(err)
			}
			defer capture.Stop()
			p := start(t, h, "ucarp", impl(lab.CARP{Shutdown: true}))
			waitMasters(t, l, 10*time.Second, h)
			// The takeover ends with the gratuitous ARP: a link cut before it
			// makes ucarp's write fail and step down instead of exiting (seen
			// on a loaded machine), a race of the test, not of the daemon.
			if !lab.Eventually(5*time.Second, func() bool {
				return slices.ContainsFunc(capture.Frames(), func(f lab.Frame) bool { return f.IsGARPFor(vip) })
			}) {
				t.Fatalf("%s: no gratuitous ARP for the VIP:\n%s", name, p.Log())
			}
			h.SetLink(false)
			st, ok := p.Wait(5 * time.Second)
			if !ok || st.ExitCode() != 0 {
				t.Fatalf("%s: exit %v (ended %v)", name, st, ok)
			}
			if !strings.Contains(p.Log(), "[ERROR] exiting: pfds[0].revents = 8") {
				t.Fatalf("%s: log:\n%s", name, p.Log())
			}
			if calls := readFile(l.Dir + "/scripts.log"); strings.Count(calls, "down ") != 2 {
				t.Fatalf("%s: script calls:\n%s", name, calls)
			}
		})
	}
}

// TestLeastPrivilege runs the daemon as nobody with only CAP_NET_RAW and
// CAP_NET_ADMIN: it works; without CAP_NET_ADMIN it says so and exits 2.
func TestLeastPrivilege(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("skipped: setpriv (util-linux) is missing")
	}
	l := newLab(t, 1)
	h := l.Hosts[0]
	setpriv := func(caps string) []string {
		return []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			"--inh-caps=-all," + caps, "--ambient-caps=-all," + caps, "--bounding-set=-all," + caps, "--"}
	}
	p, err := h.Start("nobody", append(setpriv("+net_raw,+net_admin"), ours(lab.CARP{}).Args(h)...)...)
	if err != nil {
		t.Fatal(err)
	}
	waitMasters(t, l, 10*time.Second, h)
	if status, _ := readProcStatus(p.Pid()); !strings.Contains(status, "Uid:\t65534") {
		t.Fatalf("not running as nobody:\n%s", status)
	}
	p.Kill()

	p, err = h.Start("no-admin", append(setpriv("+net_raw"), ours(lab.CARP{}).Args(h)...)...)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := p.Wait(5 * time.Second)
	if !ok || st.ExitCode() != 2 || !strings.Contains(p.Log(), "missing capability CAP_NET_ADMIN (to add and remove the virtual address)") {
		t.Fatalf("exit %v:\n%s", st, p.Log())
	}
}

func readProcStatus(pid int) (string, error) { return readProc(pid, "status") }
