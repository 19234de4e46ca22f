//go:build linux

package lab

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Prefix starts the name of every namespace a lab creates; the creating
// process's pid follows, so that leftovers of dead runs can be recognised.
const Prefix = "ucl"

// Addresses of the lab.
var (
	// VIP is the virtual address the tests share.
	VIP = netip.MustParseAddr("198.51.100.100")
	// ObserverAddr is the observer's address.
	ObserverAddr = netip.MustParseAddr("198.51.100.2")
)

// HostAddr is the address of host i (1-based): 198.51.100.10+i.
func HostAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}) }

// HostAddrOn is the address of host i (1-based) on its interface k
// (0-based, see Options.Interfaces): HostAddr(i) on eth0, and
// 203.0.113.10+i (TEST-NET-3) on eth1.
func HostAddrOn(k, i int) netip.Addr {
	if k == 0 {
		return HostAddr(i)
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)})
}

// MACOf is the MAC the lab gives the host with address a: 02:00:00:00:00:<last octet>.
func MACOf(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{2, 0, 0, 0, 0, b[3]}
}

var serial atomic.Int32

// Lab is one LAN.
type Lab struct {
	Name     string
	Hosts    []*Host
	Observer *Host
	Dir      string // logs and scripts

	sw    string
	mu    sync.Mutex
	procs []*Proc
	log   func(format string, args ...any)
}

// Host is one namespace on the LAN.
type Host struct {
	Name   string
	NS     string
	Addr   netip.Addr
	MAC    net.HardwareAddr
	IfName string // the host's interface: eth0
	// Ifs are the host's interfaces, eth0 first (Options.Interfaces).
	Ifs  []Iface
	lab  *Lab
	port string // the bridge port, in the switch namespace
}

// Iface is one interface of a host: eth<k> on the switch's br<k>.
type Iface struct {
	Name string // eth0, eth1
	Addr netip.Addr
	MAC  net.HardwareAddr
}

// Options configure New.
type Options struct {
	Hosts int // number of hosts besides the observer (default 2)
	// Interfaces per host (default 1, at most 2): interface k is eth<k>,
	// joined to its own bridge br<k> and LAN (HostAddrOn). The observer
	// has eth0 alone.
	Interfaces int
	// Log receives progress lines (nil: silent).
	Log func(format string, args ...any)
	// DropMulticast makes the switch drop multicast as many clouds and
	// hypervisors do (multicast.go): IPv4 multicast, and IPv6 multicast
	// but neighbour discovery and MLD; broadcast (ARP) passes.
	DropMulticast bool
}

// Check returns why the lab cannot run here, or nil.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("the namespace lab needs root (ip netns, veth, bridge)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the namespace lab needs iproute2's ip command")
	}
	return nil
}

// New builds a lab. On error nothing is left behind.
func New(o Options) (l *Lab, err error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if o.Hosts == 0 {
		o.Hosts = 2
	}
	if o.Interfaces == 0 {
		o.Interfaces = 1
	}
	if o.Interfaces > 2 {
		return nil, fmt.Errorf("lab: %d interfaces per host; at most 2", o.Interfaces)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	sweep()
	name := fmt.Sprintf("%s%dx%d", Prefix, os.Getpid(), serial.Add(1))
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, err
	}
	l = &Lab{Name: name, Dir: dir, sw: name + "-sw", log: o.Log}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	if err := l.ip("netns", "add", l.sw); err != nil {
		return nil, err
	}
	// The bridges flood every multicast frame: no snooping to get wrong.
	for k := 0; k < o.Interfaces; k++ {
		br := fmt.Sprintf("br%d", k)
		if err := l.ipn(l.sw, "link", "add", br, "type", "bridge", "mcast_snooping", "0"); err != nil {
			return nil, err
		}
		if err := l.ipn(l.sw, "link", "set", br, "up"); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= o.Hosts; i++ {
		h, err := l.addHost(fmt.Sprintf("h%d", i), HostAddr(i))
		if err != nil {
			return nil, err
		}
		l.Hosts = append(l.Hosts, h)
		for k := 1; k < o.Interfaces; k++ {
			if err := h.addIface(k, HostAddrOn(k, i)); err != nil {
				return nil, err
			}
		}
	}
	if l.Observer, err = l.addHost("obs", ObserverAddr); err != nil {
		return nil, err
	}
	if o.DropMulticast {
		if err := l.dropMulticast(); err != nil {
			return nil, err
		}
	}
	o.Log("lab %s: %d hosts and an observer on bridge br0 (198.51.100.0/24)", name, o.Hosts)
	return l, nil
}

func (l *Lab) addHost(name string, addr netip.Addr) (*Host, error) {
	h := &Host{Name: name, NS: l.Name + "-" + name, Addr: addr, MAC: MACOf(addr), IfName: "eth0", lab: l, port: "p-" + name}
	h.Ifs = []Iface{{Name: "eth0", Addr: addr, MAC: h.MAC}}
	steps := [][]string{
		{"netns", "add", h.NS},
		{"-n", l.sw, "link", "add", h.port, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
		{"-n", l.sw, "link", "set", h.port, "master", "br0", "up"},
		{"-n", h.NS, "link", "set", "eth0", "address", h.MAC.String()},
		{"-n", h.NS, "addr", "add", addr.String() + "/24", "dev", "eth0"},
		{"-n", h.NS, "link", "set", "lo", "up"},
		{"-n", h.NS, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if err := l.ip(s...); err != nil {
			return nil, err
		}
	}
	// No IPv6 chatter on the bridge: captures hold only what we study.
	_ = exec.Command("ip", "netns", "exec", h.NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1").Run()
	return h, nil
}

// addIface joins h to bridge br<k> by eth<k>, with address addr/24; the
// veth pair goes with the namespaces. Its MAC is 02:00:00:00:0<k>:<last octet>.
func (h *Host) addIface(k int, addr netip.Addr) error {
	l := h.lab
	ifc := Iface{Name: fmt.Sprintf("eth%d", k), Addr: addr, MAC: MACOf(addr)}
	ifc.MAC[4] = byte(k)
	port, br := fmt.Sprintf("p%d-%s", k, h.Name), fmt.Sprintf("br%d", k)
	steps := [][]string{
		{"-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", ifc.Name, "netns", h.NS},
		{"-n", l.sw, "link", "set", port, "master", br, "up"},
		{"-n", h.NS, "link", "set", ifc.Name, "address", ifc.MAC.String()},
		{"-n", h.NS, "addr", "add", addr.String() + "/24", "dev", ifc.Name},
		{"-n", h.NS, "link", "set", ifc.Name, "up"},
	}
	for _, s := range steps {
		if err := l.ip(s...); err != nil {
			return err
		}
	}
	h.Ifs = append(h.Ifs, ifc)
	return nil
}

func (l *Lab) ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func (l *Lab) ipn(ns string, args ...string) error {
	return l.ip(append([]string{"-n", ns}, args...)...)
}

// Procs lists the processes the lab started.
func (l *Lab) Procs() []*Proc {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Proc{}, l.procs...)
}

// Namespaces lists the lab's namespaces, switch first.
func (l *Lab) Namespaces() []string {
	ns := []string{l.sw}
	for _, h := range l.all() {
		ns = append(ns, h.NS)
	}
	return ns
}

func (l *Lab) all() []*Host {
	hs := append([]*Host{}, l.Hosts...)
	if l.Observer != nil {
		hs = append(hs, l.Observer)
	}
	return hs
}

// Close stops every process of the lab and deletes its namespaces and
// directory. It is safe to call twice.
func (l *Lab) Close() error {
	l.killProcs()
	var errs []error
	for _, ns := range l.Namespaces() {
		if err := deleteNamespace(ns); err != nil {
			errs = append(errs, err)
		}
	}
	if l.Dir != "" && os.Getenv("LAB_KEEP") == "" {
		os.RemoveAll(l.Dir)
	}
	return errors.Join(errs...)
}

// KillAll kills, by PID, every process in h's namespace: a host's death.
// (keepalived's VRRP child leaves its parent's process group.)
func (h *Host) KillAll() { killNamespace(h.NS) }

func killNamespace(ns string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		// Every process is stopped before any is killed: a host dies
		// without a word. Killed one after the other, a parent can go
		// first and a child that its death tells (keepalived's VRRP
		// child, probably) say goodbye before its own SIGKILL comes:
		// once TestVRRP3Interop saw ours take over keepalived's "dead"
		// host after its Skew_Time (a priority-0 advert's wait), not its
		// Master_Down_Interval.
		// A stopped process acts on no signal but SIGKILL.
		for _, sig := range []syscall.Signal{syscall.SIGSTOP, syscall.SIGKILL} {
			for _, p := range pids {
				if pid, err := strconv.Atoi(p); err == nil {
					syscall.Kill(pid, sig)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killProcs kills every process the lab started, and forgets them.
func (l *Lab) killProcs() {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for _, p := range procs {
		p.Kill()
		removeCrashDir(p)
	}
}

// deleteNamespace kills whatever still runs in ns, by PID, and deletes it.
func deleteNamespace(ns string) error {
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		return nil
	}
	killNamespace(ns)
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("lab: deleting %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
	return nil
}

var leftover = regexp.MustCompile(`^` + Prefix + `(\d+)x\d+-`)

// sweep deletes the namespaces of labs whose creating process is gone.
func sweep() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := leftover.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue // a live lab
		}
		deleteNamespace(f[0])
	}
}

// Do runs fn with the calling thread in the host's namespace: sockets
// opened by fn stay in that namespace.
func (h *Host) Do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	target, err := netns.GetFromName(h.NS)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return err
	}
	defer netns.Set(orig)
	return fn()
}

// Exec runs a command in the host's namespace and returns its output.
func (h *Host) Exec(argv ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", h.NS}, argv...)...).CombinedOutput()
	return string(out), err
}

// netlink is a netlink handle in the host's namespace.
func (h *Host) netlink() (*netlink.Handle, error) {
	ns, err := netns.GetFromName(h.NS)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// HasAddr reports whether a is configured on the host's eth0.
func (h *Host) HasAddr(a netip.Addr) bool { return len(h.Labels(a)) > 0 }

// Labels returns the labels of address a on eth0 (empty when absent).
func (h *Host) Labels(a netip.Addr) []string {
	addrs, _ := h.addrList(netlink.FAMILY_V4)
	var labels []string
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP.To4()); ok && ip == a {
			labels = append(labels, x.Label)
		}
	}
	return labels
}

// addrList lists the addresses of family (netlink.FAMILY_V4 or _V6) on
// the host's eth0.
func (h *Host) addrList(family int) ([]netlink.Addr, error) {
	nh, err := h.netlink()
	if err != nil {
		return nil, err
	}
	defer nh.Close()
	link, err := nh.LinkByName(h.IfName)
	if err != nil {
		return nil, err
	}
	return nh.AddrList(link, family)
}

// CutLink takes the host's bridge port down: the host loses its carrier
// and is cut from the LAN, as when a cable is pulled.
func (h *Host) CutLink() error { return h.lab.ipn(h.lab.sw, "link", "set", h.port, "down") }

// RestoreLink plugs the cable back.
func (h *Host) RestoreLink() error { return h.lab.ipn(h.lab.sw, "link", "set", h.port, "up") }

// SetLink sets the host's own eth0 administratively up or down (ifdown).
func (h *Host) SetLink(up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return h.lab.ipn(h.NS, "link", "set", h.IfName, state)
}

// Eventually polls cond every 5 ms until it holds or the deadline passes.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Sandbox is a private mount namespace inside a host's network namespace:
// a long-lived process that holds it, and commands run in it with
// nsenter. Mounts made there (a tmpfs over /run, a test's own
// /etc/network) never reach the machine.
type Sandbox struct {
	Host *Host
	proc *Proc
}

// Sandbox starts a sandbox in h; setup is shell run in it first (mounts).
func (h *Host) Sandbox(setup string) (*Sandbox, error) {
	p, err := h.Start("sandbox", "unshare", "--mount", "--propagation", "private", "sh", "-c", setup+"\nexec sleep 100000")
	if err != nil {
		return nil, err
	}
	// The setup is done when sleep has replaced the shell.
	if !Eventually(5*time.Second, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.Pid()))
		return strings.TrimSpace(string(b)) == "sleep"
	}) {
		p.Kill()
		return nil, fmt.Errorf("lab: sandbox setup in %s failed: %s", h.Name, p.Log())
	}
	return &Sandbox{Host: h, proc: p}, nil
}

// Exec runs argv in the sandbox and returns its combined output.
func (s *Sandbox) Exec(argv ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(s.proc.Pid()), "-m", "-n", "--"}, argv...)...).CombinedOutput()
	return string(out), err
}
