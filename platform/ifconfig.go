package platform

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/ucarp-go/ucarp/vip"
)

// Runner runs an operating-system command. Tests replace it to check the
// exact argument lists.
type Runner interface {
	Run(name string, args ...string) error
}

// ExecRunner runs commands with LC_ALL=C, so that their messages are the
// same everywhere; a failure carries the command line and its output.
type ExecRunner struct{}

// Run implements Runner.
func (ExecRunner) Run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("platform: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ifconfigAddrs manages an interface's addresses with ifconfig(8), as the
// BSD examples of ucarp do: "ifconfig <if> alias <vip> netmask <mask>" and
// "ifconfig <if> -alias <vip>"; for IPv6 "ifconfig <if> inet6 <vip>
// prefixlen <n> alias" and "ifconfig <if> inet6 <vip> -alias". BSD addresses have neither labels nor
// lifetimes: the address itself marks the daemon's copy.
type ifconfigAddrs struct {
	ifname string
	run    Runner
	list   func() ([]vip.Address, error)
}

func (a ifconfigAddrs) Addresses() ([]vip.Address, error) { return a.list() }

// Mark: an alias carries neither label nor protocol, so any alias with
// the managed address and prefix length counts as the daemon's.
func (a ifconfigAddrs) Mark() vip.Mark { return vip.MarkNone }

func (a ifconfigAddrs) AddAddress(v vip.Address) error {
	as, err := a.list()
	if err != nil {
		return err
	}
	for _, x := range as {
		if x.Prefix == v.Prefix {
			return nil // there already; nothing to renew without lifetimes
		}
	}
	if v.Prefix.Addr().Is6() {
		return a.run.Run("ifconfig", a.ifname, "inet6", v.Prefix.Addr().String(), "prefixlen", strconv.Itoa(v.Prefix.Bits()), "alias")
	}
	mask := net.IP(net.CIDRMask(v.Prefix.Bits(), 32)).String()
	return a.run.Run("ifconfig", a.ifname, "alias", v.Prefix.Addr().String(), "netmask", mask)
}

func (a ifconfigAddrs) DeleteAddress(v vip.Address) error {
	if v.Prefix.Addr().Is6() {
		return a.run.Run("ifconfig", a.ifname, "inet6", v.Prefix.Addr().String(), "-alias")
	}
	return a.run.Run("ifconfig", a.ifname, "-alias", v.Prefix.Addr().String())
}
