//go:build linux

package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// sshRoot is a Debian bookworm root with openssh-server, iproute2 and
// procps, made once and kept beside the debootstrap root that the
// packaging tests cache (UCARP_DEBOOTSTRAP_CACHE, default
// /var/cache/ucarp-go-test/bookworm): a copy of that root when it is
// complete (debootstrap removes its /debootstrap when it is done), else a
// debootstrap of its own, so that the two tests never write one
// directory. Nothing is installed on the machine itself, and no service
// starts while it is made (policy-rc.d), so no sshd runs here.
func sshRoot(t *testing.T) string {
	t.Helper()
	base := os.Getenv("UCARP_DEBOOTSTRAP_CACHE")
	if base == "" {
		base = "/var/cache/ucarp-go-test/bookworm"
	}
	dir := base + "-sshd"
	if _, err := os.Stat(filepath.Join(dir, "usr/sbin/sshd")); err == nil {
		return dir
	}
	sh := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	_, errApt := os.Stat(filepath.Join(base, "usr/bin/apt-get"))
	_, errBusy := os.Stat(filepath.Join(base, "debootstrap"))
	if errApt == nil && errBusy != nil {
		t.Logf("making %s from %s (once)", dir, base)
		sh("cp", "-a", base, tmp)
	} else {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			t.Skip("skipped: no debootstrap (make test installs it)")
		}
		os.MkdirAll(filepath.Dir(tmp), 0o755)
		t.Logf("debootstrap into %s (once)", tmp)
		sh("debootstrap", "--variant=minbase", "bookworm", tmp, "http://deb.debian.org/debian")
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	os.WriteFile(filepath.Join(tmp, "etc/resolv.conf"), resolv, 0o644)
	policy := filepath.Join(tmp, "usr/sbin/policy-rc.d")
	os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755)
	env := "PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C"
	sh("sh", "-c", "env -i "+env+" chroot "+tmp+" apt-get update -q && env -i "+env+" chroot "+tmp+
		" apt-get install -y -q --no-install-recommends openssh-server iproute2 procps")
	os.Remove(policy)
	// The cache holds no package files.
	sh("chroot", tmp, "apt-get", "clean")
	sh("mv", tmp, dir)
	return dir
}

// sshHost is a lab host running Debian's sshd in a Debian root: an
// overlay of the cached root, in the host's network namespace and a
// mount namespace of its own, which the kernel unmounts when its last
// process (sshd, or a daemon started over SSH) is killed.
type sshHost struct {
	*lab.Host
	sshd *lab.Proc
	root string // the root's path in the sshd's mount namespace
}

func startSSHHost(t *testing.T, h *lab.Host, base, dir string, authorized []byte) *sshHost {
	t.Helper()
	upper, work, root := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	for _, d := range []string{upper, work, root, filepath.Join(upper, "root/.ssh")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(upper, "root/.ssh/authorized_keys"), authorized, 0o600); err != nil {
		t.Fatal(err)
	}
	// A throw-away root: dpkg need not fsync every file it unpacks, which
	// on an overlay of a busy machine takes most of an install's time.
	os.MkdirAll(filepath.Join(upper, "etc/dpkg/dpkg.cfg.d"), 0o755)
	if err := os.WriteFile(filepath.Join(upper, "etc/dpkg/dpkg.cfg.d/lab-unsafe-io"), []byte("force-unsafe-io\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	setup := fmt.Sprintf(`set -e
mount -t overlay overlay -o lowerdir=%[1]s,upperdir=%[2]s,workdir=%[3]s %[4]s
mount -t proc proc %[4]s/proc
mount -t sysfs sysfs %[4]s/sys
mount --bind /dev %[4]s/dev
mount -t tmpfs -o mode=755 tmpfs %[4]s/run
mkdir -p %[4]s/run/sshd
exec chroot %[4]s /usr/sbin/sshd -D -e -o UsePAM=no -o ListenAddress=%[5]s`, base, upper, work, root, h.Addr)
	p, err := h.Start("sshd", "unshare", "--mount", "--propagation", "private", "sh", "-c", setup)
	if err != nil {
		t.Fatal(err)
	}
	if !p.WaitLog("Server listening", 1, 10*time.Second) {
		t.Fatalf("%s: sshd did not start:\n%s", h.Name, p.Log())
	}
	return &sshHost{Host: h, sshd: p, root: root}
}

// in runs argv chrooted in the host's root, in its namespaces.
func (s *sshHost) in(argv ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{"-t", fmt.Sprint(s.sshd.Pid()), "-m", "-n", "--", "chroot", s.root}, argv...)...).CombinedOutput()
	return string(out), err
}

// listing is every file of the root but logs, caches and the package
// databases, with its mode and size (a file's): what pair may add and
// unpair must take away. /run is a tmpfs of its own, left out (-xdev):
// runtime state, such as the empty /run/ucarp the init script made.
func (s *sshHost) listing(t *testing.T) string {
	t.Helper()
	out, err := s.in("sh", "-c", `find / -xdev \( -path /var/log -o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /tmp -o -path /root/.ssh \) -prune -o -type d -printf '%p %M\n' -o -printf '%p %M %s\n' | sort`)
	if err != nil {
		t.Fatalf("%s: listing: %v\n%s", s.Name, err, out)
	}
	return out
}

// TestPairDebianSysV runs "ucarpctl pair" from the observer against two
// Debian roots with sshd and no systemd, as a user would on two fresh
// servers: it installs the .deb of make deb, configures the SysV
// instance, and the VIP answers; a failover moves it; a second run
// changes nothing; unpair leaves both roots as they were.
func TestPairDebianSysV(t *testing.T) {
	if err := lab.Check(); err != nil {
		t.Skipf("skipped: %v; CI runs these tests as root", err)
	}
	start := time.Now()
	dir := t.TempDir() // removed after the lab, which kills every sshd
	if out, err := exec.Command("make", "-C", lab.ModuleRoot(), "--no-print-directory", "deb").CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(lab.ModuleRoot(), "dist", "*.deb"))
	var deb string
	var at time.Time
	for _, f := range debs {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(at) {
			deb, at = f, st.ModTime()
		}
	}
	if deb == "" {
		t.Fatal("make deb built no .deb")
	}
	base := sshRoot(t)
	t.Logf("deb and roots ready in %.1f s", time.Since(start).Seconds())

	// A key made here, and known_hosts from the roots' host key.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	signer, _ := ssh.NewSignerFromKey(priv)
	authorized := ssh.MarshalAuthorizedKey(signer.PublicKey())
	hostKey, err := os.ReadFile(filepath.Join(base, "etc/ssh/ssh_host_ed25519_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	l := newLab(t, 2)
	if err := l.EnableIPv6(); err != nil {
		t.Fatal(err)
	}
	var known strings.Builder
	var hosts []*sshHost
	for i, h := range l.Hosts {
		hosts = append(hosts, startSSHHost(t, h, base, filepath.Join(dir, fmt.Sprint("h", i)), authorized))
		fmt.Fprintf(&known, "%s %s", h.Addr, hostKey)
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	os.WriteFile(knownHosts, []byte(known.String()), 0o600)
	passfile := filepath.Join(dir, "pass")
	os.WriteFile(passfile, []byte("carplab\n"), 0o600)

	const vip = "198.51.100.100"
	ctl := func(args ...string) (string, error) {
		argv := append([]string{ctlBin}, args...)
		// Three addresses in the one group: the first is UCARP_ADDR, the
		// others --vip in UCARP_OPTIONS.
		argv = append(argv, "--vip="+vip+"/24", "--vip=198.51.100.101/24", "--vip="+lab.VIP6.String()+"/64", "--vhid=7", "--identity="+key, "--known-hosts="+knownHosts,
			hosts[0].Addr.String(), hosts[1].Addr.String())
		return l.Observer.Exec(argv...)
	}
	before := []string{hosts[0].listing(t), hosts[1].listing(t)}

	// A dry run changes nothing.
	out, err := ctl("pair", "--dry-run", "--passfile="+passfile, "--package="+deb)
	if err != nil || !strings.Contains(out, "would run: /etc/init.d/ucarp start vhid7") {
		t.Fatalf("pair --dry-run: %v\n%s", err, out)
	}
	t.Logf("pair --dry-run:\n%s", out)
	for i, h := range hosts {
		if after := h.listing(t); after != before[i] {
			t.Fatalf("%s: the dry run changed the root", h.Name)
		}
	}

	// A third host advertises vhid 7: pair refuses it, and removes the
	// package it installed to listen.
	foreign, err := l.Observer.Start("foreign", oursBin, "--interface=eth0", "--srcip="+lab.ObserverAddr.String(),
		"--vhid=7", "--pass=other", "--addr=198.51.100.200")
	if err != nil {
		t.Fatal(err)
	}
	if !lab.Eventually(10*time.Second, func() bool { return l.Observer.HasAddr(netip.MustParseAddr("198.51.100.200")) }) {
		t.Fatalf("the foreign group did not become MASTER:\n%s", foreign.Log())
	}
	t0 := time.Now()
	out, err = ctl("pair", "--passfile="+passfile, "--package="+deb)
	if err == nil || !strings.Contains(out, "vhid 7 is in use on eth0's segment (adverts from 198.51.100.2)") ||
		!strings.Contains(out, "rolled back: both hosts are as they were") {
		t.Fatalf("pair with vhid 7 in use: %v\n%s", err, out)
	}
	t.Logf("pair refused a vhid in use (%.1f s):\n%s", time.Since(t0).Seconds(), out)
	foreign.Kill()
	for i, h := range hosts {
		if after := h.listing(t); after != before[i] {
			t.Fatalf("%s: the refused pair left the root changed:\n%s", h.Name, diffLines(before[i], after))
		}
	}

	t0 = time.Now()
	out, err = ctl("pair", "--passfile="+passfile, "--package="+deb, "--preempt", "--verify-failover")
	if err != nil {
		t.Fatalf("pair: %v\n%s", err, out)
	}
	t.Logf("pair (%.1f s):\n%s", time.Since(t0).Seconds(), out)
	if !strings.Contains(out, "took the address") {
		t.Errorf("pair --verify-failover did not say the failover worked:\n%s", out)
	}
	for _, h := range hosts {
		if got, _ := h.in("stat", "-c", "%a", "/etc/ucarp/vhid7.pass"); strings.TrimSpace(got) != "600" {
			t.Errorf("%s: the passfile's mode is %q", h.Name, got)
		}
	}
	vipAddr := netip.MustParseAddr(vip)
	pinger, err := l.Observer.Ping(vipAddr, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pinger.Stop()
	// answers: a reply to a ping sent in the last half second.
	answers := func() bool { return pinger.Replied(time.Now().Add(-500 * time.Millisecond)) }
	vips := []netip.Addr{vipAddr, netip.MustParseAddr("198.51.100.101"), lab.VIP6}
	has := func(h *sshHost, a netip.Addr) bool {
		if a.Is6() {
			return h.HasAddr6(a)
		}
		return h.HasAddr(a)
	}
	// holder: the one host that holds every VIP, while the other holds none.
	holder := func() int {
		n, who := 0, -1
		for i, h := range hosts {
			held := 0
			for _, a := range vips {
				if has(h, a) {
					held++
				}
			}
			switch held {
			case len(vips):
				n, who = n+1, i
			case 0:
			default:
				return -1
			}
		}
		if n != 1 {
			return -1
		}
		return who
	}
	if !strings.Contains(out, "198.51.100.11 is MASTER") {
		t.Errorf("pair did not wait for the preferred, preempting host:\n%s", out)
	}
	if !lab.Eventually(15*time.Second, func() bool { return holder() == 0 && answers() }) {
		t.Fatalf("the VIP is not on h1 (the preferred, preempting host) or does not answer: holder %d", holder())
	}

	// A failover: the holder's instance stops, the other takes the VIP.
	if out, err := hosts[0].in("/etc/init.d/ucarp", "stop", "vhid7"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if !lab.Eventually(15*time.Second, func() bool { return holder() == 1 && answers() }) {
		t.Fatalf("the VIP did not move to h2: holder %d", holder())
	}
	if out, err := hosts[0].in("/etc/init.d/ucarp", "start", "vhid7"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	if !lab.Eventually(15*time.Second, func() bool { return holder() == 0 && answers() }) {
		t.Fatalf("h1 did not take the VIP back: holder %d", holder())
	}

	// Again: nothing changes, and the daemons keep running.
	pids := func() string {
		a, _ := hosts[0].in("cat", "/run/ucarp/vhid7.pid")
		b, _ := hosts[1].in("cat", "/run/ucarp/vhid7.pid")
		return a + b
	}
	was := pids()
	out, err = ctl("pair", "--passfile="+passfile, "--package="+deb, "--preempt")
	if err != nil || !strings.Contains(out, "nothing to change") || strings.Contains(out, "wrote") {
		t.Fatalf("pair again: %v\n%s", err, out)
	}
	if now := pids(); now != was {
		t.Errorf("pair again restarted a daemon: pids %q, then %q", was, now)
	}

	out, err = ctl("unpair")
	if err != nil {
		t.Fatalf("unpair: %v\n%s", err, out)
	}
	t.Logf("unpair:\n%s", out)
	for i, h := range hosts {
		if after := h.listing(t); after != before[i] {
			t.Errorf("%s: unpair left the root changed:\n%s", h.Name, diffLines(before[i], after))
		}
		for _, a := range vips {
			if has(h, a) {
				t.Errorf("%s still holds the VIP %s", h.Name, a)
			}
		}
	}
	gone := time.Now()
	lab.Eventually(3*time.Second, func() bool { return pinger.Sent(gone, time.Now()) >= 10 })
	if pinger.Replied(gone) {
		t.Error("the VIP still answers after unpair")
	}
	out, err = ctl("unpair")
	if err != nil || !strings.Contains(out, "nothing to remove") {
		t.Errorf("unpair again: %v\n%s", err, out)
	}
	t.Logf("the whole test: %.1f s", time.Since(start).Seconds())
}

// diffLines lists the lines only in a (-) and only in b (+).
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var d strings.Builder
	for _, l := range strings.Split(a, "\n") {
		if !mb[l] {
			fmt.Fprintf(&d, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ma[l] {
			fmt.Fprintf(&d, "+ %s\n", l)
		}
	}
	return d.String()
}
