//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

func repoFile(parts ...string) string {
	return filepath.Join(append([]string{lab.ModuleRoot()}, parts...)...)
}

// TestSysVTwoInstances runs packaging/sysv/ucarp in a lab host with two
// instances, one in this package's format and one in RHEL's: it starts
// both, reports both, and stops both, which release their addresses.
func TestSysVTwoInstances(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	conf, run := filepath.Join(l.Dir, "etc-ucarp"), filepath.Join(l.Dir, "run-ucarp")
	os.MkdirAll(conf, 0o755)
	pass := filepath.Join(conf, "lan.pass")
	os.WriteFile(pass, []byte("carplab\n"), 0o600)
	os.WriteFile(filepath.Join(conf, "lan.conf"), []byte(fmt.Sprintf(
		"UCARP_INTERFACE=eth0\nUCARP_SRCIP=%s\nUCARP_VHID=1\nUCARP_PASSFILE=%s\nUCARP_ADDR=198.51.100.100\n", h.Addr, pass)), 0o644)
	os.WriteFile(filepath.Join(conf, "vip-common.conf"), []byte("PASSWORD=\"other pass\"\nBIND_INTERFACE=eth0\nOPTIONS=\"--shutdown\"\n"), 0o644)
	os.WriteFile(filepath.Join(conf, "vip-002.conf"), []byte(fmt.Sprintf("SOURCE_ADDRESS=%s\nVIP_ADDRESS=198.51.100.101\n", h.Addr)), 0o644)
	sysv := func(args ...string) (string, error) {
		return h.Exec(append([]string{"env", "UCARP_CONFDIR=" + conf, "UCARP_RUNDIR=" + run,
			"UCARP_INSTANCE=" + repoFile("packaging", "libexec", "ucarp-instance"), "UCARP_DAEMON=" + oursBin,
			"sh", repoFile("packaging", "sysv", "ucarp")}, args...)...)
	}
	if out, err := sysv("start"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	second := lab.VIP.Next()
	if !lab.Eventually(10*time.Second, func() bool { return h.HasAddr(lab.VIP) && h.HasAddr(second) }) {
		t.Fatal("the two instances did not take their addresses")
	}
	out, err := sysv("status")
	if err != nil || !strings.Contains(out, "ucarp lan is running") || !strings.Contains(out, "ucarp 002 is running") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	// The RHEL password went to a private file, not to the command line.
	for _, f := range []string{"lan.pid", "002.pid"} {
		b, _ := os.ReadFile(filepath.Join(run, f))
		cmdline, _ := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/cmdline")
		if len(cmdline) == 0 || strings.Contains(string(cmdline), "carplab") || strings.Contains(string(cmdline), "other pass") {
			t.Fatalf("%s: command line %q", f, cmdline)
		}
	}
	if st, err := os.Stat(filepath.Join(run, "vip-002.pass")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", st, err)
	}
	if out, err := sysv("stop"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if h.HasAddr(lab.VIP) || h.HasAddr(second) {
		t.Fatal("addresses kept after stop")
	}
	if out, err := sysv("status"); err == nil || !strings.Contains(out, "ucarp lan is not running") {
		t.Fatalf("status after stop: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(run, "lan.pid")); err == nil {
		t.Fatal("pid file left")
	}
}

// TestIfupdownHooks brings hosts up with the real ifup and a Debian-style
// /etc/network/interfaces holding ucarp-* stanzas. The package's hooks
// start the daemon with Debian's command line and its vip-up and vip-down
// scripts (ifup and ifdown of eth0:ucarp). Then ifdown on the master stops
// its daemon, which releases the address; the other host takes it at once.
//
// Each host runs in a sandbox: a private mount namespace with a tmpfs over
// /run and the test's own /etc/network, holding only this package's hooks,
// in which the daemon's path is the test binary's (ifup clears the
// environment; /usr/sbin/ucarp, the interop peer, is never touched).
func TestIfupdownHooks(t *testing.T) {
	for _, bin := range []string{"/sbin/ifup", "/usr/share/ucarp/vip-up"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("skipped: %s missing (make test installs Debian's ucarp, which brings ifupdown)", bin)
		}
	}
	l := newLab(t, 2)
	var boxes []*lab.Sandbox
	for i, h := range l.Hosts {
		etc := filepath.Join(l.Dir, h.Name+"-etc-network")
		for _, d := range []string{"if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"} {
			os.MkdirAll(filepath.Join(etc, d), 0o755)
		}
		for _, hook := range []string{"if-up.d", "if-down.d"} {
			b, err := os.ReadFile(repoFile("packaging", "debian", hook, "ucarp"))
			if err != nil {
				t.Fatal(err)
			}
			s := strings.Replace(string(b), "UCARP=/usr/sbin/ucarp", "UCARP="+oursBin, 1)
			os.WriteFile(filepath.Join(etc, hook, "ucarp"), []byte(s), 0o755)
		}
		master := map[int]string{0: "yes", 1: "no"}[i]
		os.WriteFile(filepath.Join(etc, "interfaces"), []byte(fmt.Sprintf(`iface eth0 inet static
	address %s
	netmask 255.255.255.0
	ucarp-vid 1
	ucarp-vip %s
	ucarp-password carplab
	ucarp-advskew %d
	ucarp-advbase 1
	ucarp-master %s

iface eth0:ucarp inet static
	address %s
	netmask 255.255.255.255
`, h.Addr, lab.VIP, 100*i, master, lab.VIP)), 0o644)
		box, err := h.Sandbox(fmt.Sprintf("set -e\nmount -t tmpfs tmpfs /run\nmkdir -p /run/network /run/ucarp\nmount --bind %s /etc/network", etc))
		if err != nil {
			t.Fatal(err)
		}
		// ifup configures eth0 itself: start from an unconfigured interface.
		box.Exec("ip", "addr", "flush", "dev", "eth0")
		box.Exec("ip", "link", "set", "eth0", "down")
		boxes = append(boxes, box)
	}
	for _, box := range boxes {
		if out, err := box.Exec("ifup", "eth0"); err != nil {
			t.Fatalf("ifup in %s: %v\n%s", box.Host.Name, err, out)
		}
	}
	waitMasters(t, l, 12*time.Second, l.Hosts[0])
	if labels := l.Hosts[0].Labels(lab.VIP); len(labels) != 1 || labels[0] != "eth0:ucarp" {
		t.Fatalf("the address was not added by ifup eth0:ucarp: labels %v", labels)
	}
	answersARP(t, l, l.Hosts[0])
	// The daemon runs with Debian's command line, but for the password,
	// which is in a private file: neither on the command line nor in the
	// environment (which its scripts inherit).
	out, _ := boxes[0].Exec("sh", "-c", "tr '\\0' ' ' < /proc/$(cat /run/ucarp/ifup-eth0.pid)/cmdline")
	want := fmt.Sprintf("%s -i eth0 -s %s -B -z -v 1 -o /run/ucarp/ifup-eth0.pass -a %s -u /usr/share/ucarp/vip-up -d /usr/share/ucarp/vip-down -P -k 0 -b 1 --pidfile=/run/ucarp/ifup-eth0.pid",
		oursBin, l.Hosts[0].Addr, lab.VIP)
	if strings.TrimSpace(out) != want {
		t.Fatalf("command line\n %q\nwant\n %q", strings.TrimSpace(out), want)
	}
	if env, _ := boxes[0].Exec("sh", "-c", "tr '\\0' '\\n' < /proc/$(cat /run/ucarp/ifup-eth0.pid)/environ"); env == "" || strings.Contains(env, "carplab") {
		t.Fatalf("the daemon's environment holds the password:\n%s", env)
	}
	if out, _ := boxes[0].Exec("stat", "-c", "%a", "/run/ucarp", "/run/ucarp/ifup-eth0.pass"); out != "700\n600\n" {
		t.Fatalf("modes of the run directory and the password file: %q, want 700 and 600", out)
	}

	pidText, _ := boxes[0].Exec("cat", "/run/ucarp/ifup-eth0.pid")
	pid := strings.TrimSpace(pidText)
	stop := time.Now()
	if out, err := boxes[0].Exec("ifdown", "eth0"); err != nil {
		t.Fatalf("ifdown: %v\n%s", err, out)
	}
	waitMasters(t, l, 3*time.Second, l.Hosts[1])
	t.Logf("h2 holds the address %v after ifdown on h1", time.Since(stop).Round(time.Millisecond))
	if pid == "" || alive(pid) {
		t.Fatalf("h1's daemon (pid %q) still runs after ifdown", pid)
	}
	if out, _ := boxes[0].Exec("ls", "/run/ucarp"); strings.TrimSpace(out) != "" {
		t.Fatalf("pid file left: %q", out)
	}
	answersARP(t, l, l.Hosts[1])
}

// alive reports whether the process runs: it exists and is not a zombie
// (a -B daemon's parent is gone, and not every init reaps orphans).
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// TestRHELInstanceAgainstUcarp is a rolling replacement on RHEL: h1 still
// runs ucarp 1.5.2 as RHEL's script starts it for /etc/ucarp/vip-010.conf
// (--vhid=010, which ucarp reads as octal 8), h2 already runs ucarp@010 of
// this package from the same files. They must see each other's adverts:
// one MASTER, not two.
func TestRHELInstanceAgainstUcarp(t *testing.T) {
	needUcarp(t)
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	argv := theirs(lab.CARP{Preempt: true, Shutdown: true}).Args(h1)
	for i, a := range argv {
		if a == "--vhid=1" {
			argv[i] = "--vhid=010"
		}
	}
	if _, err := h1.Start("rhel-ucarp", argv...); err != nil {
		t.Fatal(err)
	}
	waitMasters(t, l, 10*time.Second, h1)

	conf := filepath.Join(l.Dir, "etc-ucarp")
	os.MkdirAll(conf, 0o700)
	os.WriteFile(filepath.Join(conf, "vip-common.conf"), []byte("PASSWORD=\"carplab\"\nBIND_INTERFACE=\"eth0\"\nOPTIONS=\"--shutdown --advskew=100\"\n"), 0o600)
	os.WriteFile(filepath.Join(conf, "vip-010.conf"), []byte(fmt.Sprintf("SOURCE_ADDRESS=%s\nVIP_ADDRESS=%s\n", h2.Addr, lab.VIP)), 0o600)
	if _, err := h2.StartEnv("ucarp@010", []string{"UCARP_CONFDIR=" + conf, "UCARP_RUNDIR=" + filepath.Join(l.Dir, "run-ucarp"),
		"UCARP_DAEMON=" + oursBin}, "sh", repoFile("packaging", "libexec", "ucarp-instance"), "010"); err != nil {
		t.Fatal(err)
	}
	// h2's dead time is 3.4 s: with another vhid it would take the address.
	holdMasters(t, l, 6*time.Second, h1)
}
