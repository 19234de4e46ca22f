//go:build linux

package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

func main() {
	bin := flag.String("ucarp", "bin/ucarp", "the daemon to run")
	flag.StringVar(&ctlBin, "ucarpctl", "bin/ucarpctl", "the control client")
	flag.Parse()
	if err := lab.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\nRun it as root: sudo make demo\n", err)
		os.Exit(1)
	}
	if err := run(*bin); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

var t0 = time.Now()

// ctlBin is ucarpctl, which the second act runs against each daemon's
// control socket.
var ctlBin string

func say(format string, args ...any) {
	fmt.Printf("[%6.2fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
}

func run(bin string) (err error) {
	l, err := lab.New(lab.Options{Hosts: 2})
	if err != nil {
		return err
	}
	// Clean up on return and on Ctrl-C.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		say("interrupted: cleaning up")
		l.Close()
		os.Exit(130)
	}()
	defer func() {
		say("cleaning up: processes stopped, namespaces deleted")
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	// IPv6 for the second act's dual-stack group.
	if err := l.EnableIPv6(); err != nil {
		return err
	}
	h1, h2, obs := l.Hosts[0], l.Hosts[1], l.Observer
	say("lab: h1 %s, h2 %s and an observer %s on one bridge; the VIP is %s", h1.Addr, h2.Addr, obs.Addr, lab.VIP)
	preferred := lab.CARP{Bin: bin, Preempt: true, Shutdown: true}
	backup := lab.CARP{Bin: bin, AdvSkew: 100, Shutdown: true}
	say("h1: %s", strings.Join(preferred.Args(h1), " "))
	say("h2: %s", strings.Join(backup.Args(h2), " "))
	p1, err := h1.StartCARP("ucarp", preferred)
	if err != nil {
		return err
	}
	if _, err := h2.StartCARP("ucarp", backup); err != nil {
		return err
	}
	if !lab.Eventually(10*time.Second, func() bool { return h1.HasAddr(lab.VIP) }) {
		return fmt.Errorf("h1 did not become MASTER:\n%s", p1.Log())
	}
	say("h1 is MASTER after its dead time (3 s): it added %s to eth0 and announced it", lab.VIP)
	if err := showOwner(l); err != nil {
		return err
	}

	ping, err := obs.Ping(lab.VIP, 20*time.Millisecond)
	if err != nil {
		return err
	}
	defer ping.Stop()
	begin := time.Now()
	if !lab.Eventually(5*time.Second, func() bool { return ping.Replied(begin) }) {
		return fmt.Errorf("the VIP does not answer pings")
	}
	say("the observer pings %s every 20 ms", lab.VIP)

	say("pulling h1's cable and killing its daemon (SIGKILL)...")
	h1.CutLink()
	fault := time.Now()
	p1.Kill()
	if !lab.Eventually(10*time.Second, func() bool { return ping.Replied(fault) }) {
		return fmt.Errorf("the VIP did not come back on h2")
	}
	first, _ := ping.FirstReplyAfter(fault)
	say("h2 took over: the VIP answers again %.2f s after the fault (h2's dead time: 3.39 s), %d pings lost",
		first.Sub(fault).Seconds(), ping.Lost(fault, first))
	if err := showOwner(l); err != nil {
		return err
	}

	say("plugging h1 back and restarting its daemon (--preempt)...")
	h1.RestoreLink()
	back := time.Now()
	if p1, err = h1.StartCARP("ucarp-again", preferred); err != nil {
		return err
	}
	if !lab.Eventually(10*time.Second, func() bool { return h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
		return fmt.Errorf("h1 did not take the VIP back:\n%s", p1.Log())
	}
	say("h1 preempted h2 %.2f s after its restart (it waits for one advert from h2)", time.Since(back).Seconds())
	if err := showOwner(l); err != nil {
		return err
	}

	say("stopping h1 gracefully (SIGTERM with -z)...")
	stopAt := time.Now()
	p1.Signal(syscall.SIGTERM)
	if !lab.Eventually(5*time.Second, func() bool { return h2.HasAddr(lab.VIP) && !h1.HasAddr(lab.VIP) }) {
		return fmt.Errorf("h2 did not take over after the graceful stop")
	}
	say("h2 took over %.0f ms later: h1's bow-out advert told it to, instead of a 3.39 s dead time",
		float64(time.Since(stopAt).Microseconds())/1000)
	if err := showOwner(l); err != nil {
		return err
	}
	ping.Stop()
	end := time.Now()
	say("pings lost in the whole demo: %d of %d", ping.Lost(begin, end), ping.Sent(begin, end))
	return groups(l, bin)
}

// groups is the second act: config mode, one process per host running
// three CARP groups and a VRRPv3 one from a file, each group electing on
// its own.
func groups(l *lab.Lab, bin string) error {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	h1.KillAll()
	h2.KillAll()
	if !lab.Eventually(5*time.Second, func() bool { return !h1.HasAddr(lab.VIP) && !h2.HasAddr(lab.VIP) }) {
		return fmt.Errorf("the first act's daemons left the VIP behind")
	}
	say("second act: config mode, one process per host running three CARP groups and a VRRPv3 one from a file; g3 is dual-stack (%s and %s), v51 is VRRPv3 router 51 (%s), g1 signs its adverts (hmac-sha256)", groupVIP(3), groupVIP6, groupVIP(51))
	// g1's key, shared by both hosts: a key file must be mode 0600.
	keyfile := filepath.Join(l.Dir, "g1.keys")
	if err := os.WriteFile(keyfile, []byte("1 "+strings.Repeat("5a", 32)+"\n"), 0o600); err != nil {
		return err
	}
	write := func(h *lab.Host, skews [3]int, priority int) (string, error) {
		var b strings.Builder
		// The lab's hosts share /run: each daemon gets a socket of its own.
		fmt.Fprintf(&b, "interface = %q\nsrcip = %q\npass = \"carplab\"\npreempt = true\ncontrol = %q\n", h.IfName, h.Addr, sockOf(l, h))
		for i, skew := range skews {
			addr := fmt.Sprintf("%q", groupVIP(i+1))
			if i == 2 {
				addr = fmt.Sprintf("[%q, %q]", groupVIP(i+1), groupVIP6)
			}
			fmt.Fprintf(&b, "\n[[group]]\nname = \"g%d\"\nvhid = %d\naddr = %s\nadvskew = %d\n", i+1, i+1, addr, skew)
			if i == 0 {
				fmt.Fprintf(&b, "auth = \"hmac-sha256\"\nkeyfile = %q\n", keyfile)
			}
		}
		// The VRRPv3 group has no password: it warns about the top's and
		// ignores it.
		fmt.Fprintf(&b, "\n[[group]]\nname = \"v51\"\nprotocol = \"vrrp3\"\nvrid = 51\naddr = %q\npriority = %d\nadvert-interval = %d\n",
			groupVIP(51), priority, vrrpInterval)
		path := filepath.Join(l.Dir, h.Name+".conf")
		return path, os.WriteFile(path, []byte(b.String()), 0o600)
	}
	conf1, err := write(h1, [3]int{0, 0, 100}, 200)
	if err != nil {
		return err
	}
	conf2, err := write(h2, [3]int{100, 100, 0}, 100)
	if err != nil {
		return err
	}
	say("h1: %s --config=%s   (h1 preferred for groups 1 and 2, and v51 with priority 200)", bin, conf1)
	say("h2: %s --config=%s   (h2 preferred for group 3; priority 100 for v51)", bin, conf2)
	p1, err := h1.Start("ucarp-config", bin, "--config="+conf1)
	if err != nil {
		return err
	}
	if _, err := h2.Start("ucarp-config", bin, "--config="+conf2); err != nil {
		return err
	}
	if err := waitGroups(l, "g1:h1 g2:h1 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	if err := ctl(l, h1, "status"); err != nil {
		return err
	}
	say("the operator demotes group 1 on h1 by 200 through the control socket (advskew 0+200, above h2's 100): it moves to h2...")
	if err := ctl(l, h1, "demote", "g1", "200"); err != nil {
		return err
	}
	if err := waitGroups(l, "g1:h2 g2:h1 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	if err := ctl(l, h1, "explain", "g1"); err != nil {
		return err
	}
	say("...and promotes it again: h1, preferred and preempting, takes it back")
	if err := ctl(l, h1, "promote", "g1"); err != nil {
		return err
	}
	if err := waitGroups(l, "g1:h1 g2:h1 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	say("h1 puts group 2 in maintenance: h2 takes it, and h1 lets the address go only once h2 has announced it")
	if err := ctl(l, h1, "maintenance", "on", "g2"); err != nil {
		return err
	}
	if err := waitGroups(l, "g1:h1 g2:h2 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	say("...and takes it out of maintenance: h1, preferred and preempting, takes it back")
	if err := ctl(l, h1, "maintenance", "off", "g2"); err != nil {
		return err
	}
	if err := waitGroups(l, "g1:h1 g2:h1 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	if err := vrrpStep(l); err != nil {
		return err
	}
	say("pulling h1's cable: only h1's groups move...")
	h1.CutLink()
	if err := waitGroups(l, "g1:h2 g2:h2 g3:h2 v51:h2", 10*time.Second); err != nil {
		return err
	}
	h1.RestoreLink()
	if err := waitGroups(l, "g1:h1 g2:h1 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	say("h1 gives group 2 up in its file (advskew 200) and reloads (SIGHUP): only group 2 moves...")
	if _, err := write(h1, [3]int{0, 200, 100}, 200); err != nil {
		return err
	}
	p1.Signal(syscall.SIGHUP)
	if err := waitGroups(l, "g1:h1 g2:h2 g3:h2 v51:h1", 10*time.Second); err != nil {
		return err
	}
	say("stopping h1 (SIGTERM): its CARP groups bow out, and v51 sends priority 0, after which h2 waits only its Skew_Time, %s...", skewTime(100))
	p1.Signal(syscall.SIGTERM)
	return waitGroups(l, "g1:h2 g2:h2 g3:h2 v51:h2", 5*time.Second)
}

// vrrpInterval is v51's advert interval in centiseconds.
const vrrpInterval = 50

// skewTime and masterDown say RFC 9568's Skew_Time and
// Master_Down_Interval of a v51 backup of the given priority, with the
// sum written out.
func skewTime(priority int) string {
	iv := float64(vrrpInterval) / 100
	return fmt.Sprintf("(256-%d)/256 × %.1f s = %.2f s", priority, iv, float64(256-priority)/256*iv)
}

func masterDown(priority int) string {
	iv := float64(vrrpInterval) / 100
	return fmt.Sprintf("3 × %.1f s + (256-%d)/256 × %.1f s = %.2f s", iv, priority, iv, 3*iv+float64(256-priority)/256*iv)
}

// vrrpStep moves the VRRPv3 group v51 from h1 to h2 by demoting it, and
// back by promoting it: each time the backup takes over when its
// Master_Down_Interval runs out, as it ignores the adverts of a MASTER of
// lower priority (Preempt_Mode).
func vrrpStep(l *lab.Lab) error {
	h1 := l.Hosts[0]
	say("the operator demotes v51 on h1 by 150 (priority 200-150 = 50, below h2's 100): h2 ignores adverts of lower priority and takes over when its Master_Down_Interval runs out, %s after h1's last advert at 200...", masterDown(100))
	if err := ctl(l, h1, "demote", "v51", "150"); err != nil {
		return err
	}
	if err := waitGroups(l, "g1:h1 g2:h1 g3:h2 v51:h2", 10*time.Second); err != nil {
		return err
	}
	if err := ctl(l, h1, "explain", "v51"); err != nil {
		return err
	}
	say("...and promotes it again: h1, at 200, ignores h2's adverts at 100 and takes it back after its own Master_Down_Interval, %s", masterDown(200))
	if err := ctl(l, h1, "promote", "v51"); err != nil {
		return err
	}
	return waitGroups(l, "g1:h1 g2:h1 g3:h2 v51:h1", 10*time.Second)
}

// sockOf is the control socket of h's daemon in the second act.
func sockOf(l *lab.Lab, h *lab.Host) string { return filepath.Join(l.Dir, h.Name+".sock") }

// ctl runs ucarpctl with args on h against its daemon's socket, and shows
// the command and what it printed.
func ctl(l *lab.Lab, h *lab.Host, args ...string) error {
	say("%s: ucarpctl %s", h.Name, strings.Join(args, " "))
	var out string
	var err error
	// The socket appears once the daemon listens.
	lab.Eventually(5*time.Second, func() bool {
		out, err = h.Exec(append([]string{ctlBin, "--socket=" + sockOf(l, h)}, args...)...)
		return err == nil
	})
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		fmt.Printf("           %s\n", line)
	}
	if err != nil {
		return fmt.Errorf("ucarpctl %s on %s: %v", strings.Join(args, " "), h.Name, err)
	}
	return nil
}

// groupVIP6 is group 3's second address in the second act.
var groupVIP6 = netip.MustParseAddr("2001:db8::103")

// groupVIP is the address of group vhid in the second act.
func groupVIP(vhid int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + vhid)}) }

// waitGroups waits until each group's address is on the host named in
// want, and says so.
func waitGroups(l *lab.Lab, want string, timeout time.Duration) error {
	names := []string{"g1", "g2", "g3", "v51"}
	addrs := []netip.Addr{groupVIP(1), groupVIP(2), groupVIP(3), groupVIP(51)}
	holders := func() string {
		// g3 counts as held by a host only with both of its addresses.
		got := l.Holders(names, addrs)
		if hs := l.Holders6(groupVIP6); len(hs) != 1 || !strings.Contains(got, "g3:"+hs[0].Name) {
			got = strings.Replace(got, "g3:", "g3(IPv6 split):", 1)
		}
		return got
	}
	begin := time.Now()
	if !lab.Eventually(timeout, func() bool { return holders() == want }) {
		return fmt.Errorf("groups held as %s, want %s", holders(), want)
	}
	say("  groups held: %s (after %.2f s)", want, time.Since(begin).Seconds())
	return nil
}

func showOwner(l *lab.Lab) error {
	macs, err := l.Observer.WhoHas(lab.VIP, 300*time.Millisecond)
	if err != nil {
		return err
	}
	for _, m := range macs {
		for _, h := range l.Hosts {
			if h.MAC.String() == m.String() {
				say("  the observer's ARP for %s is answered by %s (%s)", lab.VIP, h.Name, m)
			}
		}
	}
	if len(macs) != 1 {
		return fmt.Errorf("%d hosts answer ARP for the VIP", len(macs))
	}
	return nil
}
