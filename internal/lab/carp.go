//go:build linux

package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

// DebianUcarp is the reference daemon. Never overwrite it with ours: it is
// the peer of the interop tests.
const DebianUcarp = "/usr/sbin/ucarp"

// CARP describes a CARP daemon to start on a host.
type CARP struct {
	Bin      string // the binary: ours, or DebianUcarp
	VHID     int    // default 1
	Pass     string // default "carplab"
	AdvBase  int    // default 1; -1 for 0 (sub-second)
	AdvSkew  int
	Preempt  bool
	Shutdown bool // -z
	Nomcast  bool
	// Scripts adds the lab's up and down scripts, which add and remove the
	// VIP with ip(8); real ucarp needs them, ours manages the VIP itself
	// without them.
	Scripts bool
	Extra   []string
}

// Args is the command line for h.
func (c CARP) Args(h *Host) []string {
	if c.VHID == 0 {
		c.VHID = 1
	}
	if c.Pass == "" {
		c.Pass = "carplab"
	}
	switch c.AdvBase {
	case 0:
		c.AdvBase = 1
	case -1:
		c.AdvBase = 0
	}
	args := []string{c.Bin, "--interface=" + h.IfName, "--srcip=" + h.Addr.String(), "--vhid=" + strconv.Itoa(c.VHID),
		"--pass=" + c.Pass, "--addr=" + VIP.String(), "--advbase=" + strconv.Itoa(c.AdvBase),
		"--advskew=" + strconv.Itoa(c.AdvSkew)}
	if c.Preempt {
		args = append(args, "--preempt")
	}
	if c.Shutdown {
		args = append(args, "--shutdown")
	}
	if c.Nomcast {
		args = append(args, "--nomcast")
	}
	if c.Scripts {
		up, down := h.lab.Scripts()
		args = append(args, "--upscript="+up, "--downscript="+down)
	}
	return append(args, c.Extra...)
}

// StartCARP starts the daemon c on h.
func (h *Host) StartCARP(name string, c CARP) (*Proc, error) {
	return h.Start(name, c.Args(h)...)
}

// Scripts writes (once) and returns the lab's up and down scripts: they
// add and remove "$2"/32 on "$1", as ucarp's shipped examples do, and
// record each call in <dir>/scripts.log.
func (l *Lab) Scripts() (up, down string) {
	up, down = filepath.Join(l.Dir, "vip-up.sh"), filepath.Join(l.Dir, "vip-down.sh")
	if fileExists(up) {
		return up, down
	}
	logf := filepath.Join(l.Dir, "scripts.log")
	os.WriteFile(up, []byte(fmt.Sprintf("#!/bin/sh\necho \"up $*\" >> %s\nexec ip addr add \"$2\"/32 dev \"$1\"\n", logf)), 0o755)
	os.WriteFile(down, []byte(fmt.Sprintf("#!/bin/sh\necho \"down $*\" >> %s\nip addr del \"$2\"/32 dev \"$1\" 2>/dev/null\nexit 0\n", logf)), 0o755)
	return up, down
}

// ModuleRoot is the directory of this module's go.mod.
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildOurs builds the daemon into dir and returns its path: without cgo,
// as the Makefile and the packages build it.
func BuildOurs(dir string) (string, error) {
	bin := filepath.Join(dir, "ucarp")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ucarp")
	cmd.Dir = ModuleRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lab: building ucarp: %v\n%s", err, out)
	}
	return bin, nil
}

// Masters lists the hosts that hold the VIP.
func (l *Lab) Masters() []*Host {
	var hs []*Host
	for _, h := range l.Hosts {
		if h.HasAddr(VIP) {
			hs = append(hs, h)
		}
	}
	return hs
}

// WithExtra returns c with more arguments.
func (c CARP) WithExtra(args ...string) CARP {
	c.Extra = append(append([]string{}, c.Extra...), args...)
	return c
}

// BuildCtl builds cmd/ucarpctl into dir and returns the binary's path.
func BuildCtl(dir string) (string, error) {
	bin := filepath.Join(dir, "ucarpctl")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ucarpctl")
	cmd.Dir = ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lab: building ucarpctl: %v\n%s", err, out)
	}
	return bin, nil
}
