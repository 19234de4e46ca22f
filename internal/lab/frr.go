//go:build linux

package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FRR's binaries (Debian's frr), VRRPv3 interop peers.
const (
	FRRZebra = "/usr/lib/frr/zebra"
	FRRVrrpd = "/usr/lib/frr/vrrpd"
	FRRVtysh = "/usr/bin/vtysh"
)

// FRR is zebra and vrrpd running on a host, with one VRRPv3 router.
//
// FRR's vrrpd does not add or remove addresses: it needs, for each
// router and family, a macvlan on the parent interface in bridge mode
// carrying the virtual MAC (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID)
// with the virtual addresses already on it, and with a random link-local
// address for IPv6 (the advert's source must differ between routers). In
// its Backup state it sets that macvlan protodown (no carrier) and in
// Master state lifts it (FRR's user guide, "VRRP", "System
// Configuration"). StartFRR builds that macvlan; HoldsVRRP reads
// protodown as not serving.
type FRR struct {
	Host    *Host
	VRRP    VRRP
	Dir     string // sockets, pid files and configuration
	Macvlan string
	Zebra   *Proc
	Vrrpd   *Proc
}

// FRRConf is vrrpd's configuration for v on h's eth0. vrrpd's interval
// is in milliseconds.
func FRRConf(h *Host, v VRRP) string {
	v = v.withDefaults()
	id := strconv.Itoa(v.VRID)
	lines := []string{
		"interface " + h.IfName,
		" vrrp " + id + " version 3",
		" vrrp " + id + " priority " + strconv.Itoa(v.Priority),
		" vrrp " + id + " advertisement-interval " + strconv.Itoa(v.Interval*10),
	}
	if v.NoPreempt {
		lines = append(lines, " no vrrp "+id+" preempt")
	}
	for _, a := range v.Addrs {
		kw := "ip"
		if a.Is6() {
			kw = "ipv6"
		}
		lines = append(lines, " vrrp "+id+" "+kw+" "+a.String())
	}
	return joinLines(lines...)
}

// StartFRR builds the macvlan that vrrpd needs for v on h and starts zebra
// and vrrpd there, in the foreground, with their own sockets, pid files
// and configuration under the lab's directory (never the system's
// /etc/frr or /run/frr), logging to their output. It waits until vrrpd
// answers on its vty socket. For IPv6, the lab must have IPv6 on
// (EnableIPv6).
func (h *Host) StartFRR(name string, v VRRP) (_ *FRR, err error) {
	v = v.withDefaults()
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.ChecksumAsV2 {
		return nil, fmt.Errorf("lab: FRR 8.4's vrrpd has no checksum option")
	}
	for _, b := range []string{FRRZebra, FRRVrrpd, FRRVtysh} {
		if err := HaveBinary(b); err != nil {
			return nil, err
		}
	}
	f := &FRR{Host: h, VRRP: v, Dir: filepath.Join(h.lab.Dir, h.Name+"-"+name)}
	defer func() {
		if err != nil {
			f.Stop(time.Second)
		}
	}()
	// The daemons drop to Debian's frr user (root is not in the frrvty
	// group they insist on): it owns their directory and may cross the
	// lab's.
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(h.lab.Dir, 0o711); err != nil {
		return nil, err
	}
	if u, err := user.Lookup("frr"); err != nil {
		return nil, fmt.Errorf("lab: FRR's user: %w", err)
	} else {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(f.Dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if err := f.addMacvlan(); err != nil {
		return nil, err
	}
	zconf, vconf := filepath.Join(f.Dir, "zebra.conf"), filepath.Join(f.Dir, "vrrpd.conf")
	if err := os.WriteFile(zconf, []byte("hostname "+h.Name+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(vconf, []byte(FRRConf(h, v)), 0o644); err != nil {
		return nil, err
	}
	zserv := filepath.Join(f.Dir, "zserv.api")
	common := func(daemon, conf string) []string {
		return []string{"-f", conf, "-i", filepath.Join(f.Dir, daemon+".pid"), "-z", zserv, "--vty_socket", f.Dir,
			"-A", "127.0.0.1", "-P", "0", "--log", "stdout", "--log-level", "debug"}
	}
	if f.Zebra, err = h.Start(name+"-zebra", append([]string{FRRZebra}, common("zebra", zconf)...)...); err != nil {
		return nil, err
	}
	if !Eventually(10*time.Second, func() bool { return fileExists(zserv) }) {
		return nil, fmt.Errorf("lab: zebra in %s made no %s:\n%s", h.Name, zserv, f.Zebra.Log())
	}
	if f.Vrrpd, err = h.Start(name+"-vrrpd", append([]string{FRRVrrpd}, common("vrrpd", vconf)...)...); err != nil {
		return nil, err
	}
	if !Eventually(10*time.Second, func() bool { _, err := f.Status(); return err == nil }) {
		_, err := f.Status()
		return nil, fmt.Errorf("lab: vrrpd in %s does not answer: %v\n%s", h.Name, err, f.Vrrpd.Log())
	}
	return f, nil
}

// MacvlanName is the name FRR's documentation uses: vrrp4-IFINDEX-VRID
// (vrrp6- for IPv6).
func (f *FRR) macvlanName() (string, error) {
	out, err := f.Host.Exec("cat", "/sys/class/net/"+f.Host.IfName+"/ifindex")
	if err != nil {
		return "", fmt.Errorf("lab: ifindex of %s in %s: %v: %s", f.Host.IfName, f.Host.Name, err, out)
	}
	fam := "4"
	if f.VRRP.IPv6() {
		fam = "6"
	}
	return "vrrp" + fam + "-" + strings.TrimSpace(out) + "-" + strconv.Itoa(f.VRRP.VRID), nil
}

func (f *FRR) addMacvlan() error {
	name, err := f.macvlanName()
	if err != nil {
		return err
	}
	l, ns := f.Host.lab, f.Host.NS
	if err := l.ipn(ns, "link", "add", name, "link", f.Host.IfName, "type", "macvlan", "mode", "bridge"); err != nil {
		return err
	}
	f.Macvlan = name
	if f.VRRP.IPv6() {
		// A random link-local address, not one made from the virtual
		// MAC that every router shares; no DAD, so that it is usable
		// at once. (The lab turns IPv6 off unless EnableIPv6.)
		for _, kv := range []string{"net.ipv6.conf." + name + ".disable_ipv6=0", "net.ipv6.conf." + name + ".accept_dad=0"} {
			if out, err := f.Host.Exec("sysctl", "-qw", kv); err != nil {
				return fmt.Errorf("lab: sysctl %s in %s: %v: %s", kv, f.Host.Name, err, out)
			}
		}
		if err := l.ipn(ns, "link", "set", name, "addrgenmode", "random"); err != nil {
			return err
		}
	}
	if err := l.ipn(ns, "link", "set", name, "address", f.VRRP.VirtualMAC()); err != nil {
		return err
	}
	for _, a := range f.VRRP.Addrs {
		pfx, extra := a.String()+"/24", []string{}
		if a.Is6() {
			pfx, extra = a.String()+"/64", []string{"nodad"}
		}
		if err := l.ipn(ns, append([]string{"addr", "add", pfx, "dev", name}, extra...)...); err != nil {
			return err
		}
	}
	return l.ipn(ns, "link", "set", name, "up")
}

// FRRStatus is the part of vrrpd's "show vrrp json" the lab reads.
type FRRStatus struct {
	VRID     int    `json:"vrid"`
	Priority int    `json:"priority"`
	V4       frrFam `json:"v4"`
	V6       frrFam `json:"v6"`
}

type frrFam struct {
	Interface string `json:"interface"`
	Status    string `json:"status"` // "Initialize", "Backup", "Master"
	TxAdverts int    `json:"advertisements_tx"`
	RxAdverts int    `json:"advertisements_rx"`
}

// Status asks vrrpd (vtysh on its socket) for its router's state.
func (f *FRR) Status() (FRRStatus, error) {
	var st []FRRStatus
	out, err := exec.Command(FRRVtysh, "--vty_socket", f.Dir, "-d", "vrrpd", "-c", "show vrrp json").CombinedOutput()
	if err != nil {
		return FRRStatus{}, fmt.Errorf("lab: vtysh: %v: %s", err, out)
	}
	if err := json.Unmarshal(out, &st); err != nil || len(st) != 1 {
		return FRRStatus{}, fmt.Errorf("lab: show vrrp json: %v: %s", err, out)
	}
	return st[0], nil
}

// State is the router's state for its family ("Master", "Backup",
// "Initialize"), or "" when vrrpd does not answer.
func (f *FRR) State() string {
	st, err := f.Status()
	if err != nil {
		return ""
	}
	if f.VRRP.IPv6() {
		return st.V6.Status
	}
	return st.V4.Status
}

// Stop stops vrrpd gracefully (SIGTERM: as master it sends a priority-0
// advert) and then zebra, each waited for at most timeout and killed by
// PID after that, and deletes the macvlan. It reports whether vrrpd ended
// in time.
func (f *FRR) Stop(timeout time.Duration) bool {
	ok := true
	for _, p := range []*Proc{f.Vrrpd, f.Zebra} {
		if p == nil {
			continue
		}
		p.Signal(syscall.SIGTERM)
		if _, done := p.Wait(timeout); !done && p == f.Vrrpd {
			ok = false
		}
		p.Kill()
		removeCrashDir(p)
	}
	f.deleteMacvlan()
	return ok
}

// removeCrashDir deletes the directory that an FRR daemon keeps for its
// crash logs, /var/tmp/frr/DAEMON.PID, once the daemon has ended.
func removeCrashDir(p *Proc) {
	if p.Exited() && len(p.Argv) > 0 && strings.HasPrefix(p.Argv[0], "/usr/lib/frr/") {
		os.RemoveAll(filepath.Join("/var/tmp/frr", filepath.Base(p.Argv[0])+"."+strconv.Itoa(p.Pid())))
	}
}

// Crash kills vrrpd and zebra with SIGKILL: no priority-0 advert. The
// macvlan stays as vrrpd left it (a dead master's keeps serving); Stop
// deletes it.
func (f *FRR) Crash() {
	for _, p := range []*Proc{f.Vrrpd, f.Zebra} {
		if p != nil {
			p.Kill()
			removeCrashDir(p)
		}
	}
}

func (f *FRR) deleteMacvlan() {
	if f.Macvlan != "" {
		f.Host.lab.ipn(f.Host.NS, "link", "del", f.Macvlan)
		f.Macvlan = ""
	}
}

// Serves reports whether FRR's macvlan is out of protodown, i.e. FRR
// serves its addresses.
func (f *FRR) Serves() bool {
	if len(f.VRRP.Addrs) == 0 {
		return false
	}
	return f.Host.HoldsVRRP(f.VRRP.Addrs[0])
}

// MacvlanLinkLocal is the link-local address of FRR's macvlan: the source
// of its IPv6 adverts.
func (f *FRR) MacvlanLinkLocal() (netip.Addr, error) {
	out, err := f.Host.Exec("ip", "-6", "-o", "addr", "show", "dev", f.Macvlan, "scope", "link")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("lab: %v: %s", err, out)
	}
	for _, w := range strings.Fields(out) {
		if p, err := netip.ParsePrefix(w); err == nil && p.Addr().IsLinkLocalUnicast() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("lab: no link-local address on %s in %s", f.Macvlan, f.Host.Name)
}
