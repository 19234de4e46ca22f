//go:build linux

package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KeepalivedBin is Debian's keepalived, a VRRPv3 interop peer.
const KeepalivedBin = "/usr/sbin/keepalived"

// ErrNoChecksumAsV2 says that the installed keepalived does not know
// v3_checksum_as_v2 (it came in keepalived 2.2.8; Debian bookworm has 2.2.7).
var ErrNoChecksumAsV2 = errors.New("lab: this keepalived has no v3_checksum_as_v2 (keepalived 2.2.8 and later)")

// Keepalived is a keepalived VRRPv3 instance running on a host.
type Keepalived struct {
	*Proc
	Host    *Host
	VRRP    VRRP
	Conf    string
	PidFile string // the parent's
	VRRPPid string // the VRRP child's
}

// KeepalivedConf is keepalived.conf for v on h: vrrp_version 3, one
// instance "VI" in state BACKUP (so that nopreempt works), its addresses
// on h's eth0.
func KeepalivedConf(h *Host, v VRRP) string {
	v = v.withDefaults()
	lines := []string{
		"global_defs {",
		"  router_id " + h.Name,
		"  vrrp_version 3",
		"  enable_script_security",
		"}",
		"vrrp_instance VI {",
		"  state BACKUP",
		"  interface " + h.IfName,
		"  virtual_router_id " + strconv.Itoa(v.VRID),
		"  priority " + strconv.Itoa(v.Priority),
		fmt.Sprintf("  advert_int %d.%02d", v.Interval/100, v.Interval%100),
	}
	if v.NoPreempt {
		lines = append(lines, "  nopreempt")
	}
	if v.ChecksumAsV2 {
		lines = append(lines, "  v3_checksum_as_v2")
	}
	dev := " dev " + h.IfName
	if v.UseVMAC {
		lines = append(lines, "  use_vmac")
		dev = "" // on the vmac
	}
	if len(v.UnicastPeers) > 0 {
		lines = append(lines, "  unicast_peer {")
		for _, p := range v.UnicastPeers {
			lines = append(lines, "    "+p.String())
		}
		lines = append(lines, "  }")
	}
	lines = append(lines, "  virtual_ipaddress {")
	for _, a := range v.Addrs {
		bits := 32
		if a.Is6() {
			bits = 128
		}
		lines = append(lines, fmt.Sprintf("    %s/%d%s", a, bits, dev))
	}
	lines = append(lines, "  }", "}")
	return joinLines(lines...)
}

// StartKeepalived starts keepalived (VRRP only, in the foreground, logging
// to its console) on h with router v, its configuration and pid files in
// the lab's directory. With v.ChecksumAsV2 it first checks the
// configuration and returns ErrNoChecksumAsV2 when keepalived refuses the
// keyword.
func (h *Host) StartKeepalived(name string, v VRRP) (*Keepalived, error) {
	v = v.withDefaults()
	if err := v.check(); err != nil {
		return nil, err
	}
	if err := HaveBinary(KeepalivedBin); err != nil {
		return nil, err
	}
	base := filepath.Join(h.lab.Dir, h.Name+"-"+name)
	k := &Keepalived{Host: h, VRRP: v, Conf: base + ".conf", PidFile: base + ".pid", VRRPPid: base + "-vrrp.pid"}
	if err := os.WriteFile(k.Conf, []byte(KeepalivedConf(h, v)), 0o644); err != nil {
		return nil, err
	}
	if v.ChecksumAsV2 {
		// keepalived -t reports an unknown keyword and still exits 0.
		out, _ := exec.Command(KeepalivedBin, "-t", "-l", "-f", k.Conf).CombinedOutput()
		if strings.Contains(string(out), "Unknown keyword 'v3_checksum_as_v2'") {
			return nil, ErrNoChecksumAsV2
		}
	}
	os.Remove(k.PidFile)
	os.Remove(k.VRRPPid)
	p, err := h.Start(name, KeepalivedBin, "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp",
		"--use-file="+k.Conf, "--pid="+k.PidFile, "--vrrp_pid="+k.VRRPPid)
	if err != nil {
		return nil, err
	}
	k.Proc = p
	return k, nil
}

// childPid is the VRRP child's pid (0 when unknown).
func (k *Keepalived) childPid() int {
	b, err := os.ReadFile(k.VRRPPid)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Stop stops keepalived gracefully (SIGTERM: the master sends its
// priority-0 adverts) and waits at most timeout; then whatever is left of
// it is killed by PID. It reports whether it ended in time.
func (k *Keepalived) Stop(timeout time.Duration) bool {
	child := k.childPid()
	k.Signal(syscall.SIGTERM)
	_, ok := k.Wait(timeout)
	if child > 0 && syscall.Kill(child, 0) == nil {
		// Its parent is gone; the child is not ours to wait for, so
		// this only asks it to go.
		ok = false
		syscall.Kill(child, syscall.SIGKILL)
	}
	k.Kill()
	return ok
}

// Crash kills keepalived, parent and VRRP child, with SIGKILL: no
// priority-0 advert.
func (k *Keepalived) Crash() {
	if child := k.childPid(); child > 0 {
		syscall.Kill(child, syscall.SIGKILL)
	}
	k.Kill()
}

// State is the instance's state as keepalived last logged it: "MASTER",
// "BACKUP", "FAULT", or "" before any.
func (k *Keepalived) State() string {
	state := ""
	for _, l := range strings.Split(k.Log(), "\n") {
		if _, s, ok := strings.Cut(l, "(VI) Entering "); ok {
			state, _, _ = strings.Cut(s, " ")
		}
	}
	return state
}
