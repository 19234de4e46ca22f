//go:build linux

package e2e

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/ndp"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// The virtual MAC (--vmac, issue 18): the lab tests of our pair with a
// macvlan per group.

const vmacVRID = 51

// vmacOf is the group's virtual MAC and its macvlan's name.
func vmacOf(addr netip.Addr) (net.HardwareAddr, string) {
	if addr.Is6() {
		return net.HardwareAddr{0, 0, 0x5e, 0, 2, vmacVRID}, "vrrp6." + strconv.Itoa(vmacVRID)
	}
	return net.HardwareAddr{0, 0, 0x5e, 0, 1, vmacVRID}, "vrrp." + strconv.Itoa(vmacVRID)
}

func startVMAC(t *testing.T, h *lab.Host, prio int, addr netip.Addr) *lab.Proc {
	t.Helper()
	p, err := h.Start("ucarp", oursBin, "--protocol=vrrp3", "--interface="+h.IfName, "--srcip="+h.Addr.String(),
		"--vhid="+strconv.Itoa(vmacVRID), "--priority="+strconv.Itoa(prio), "--advert-interval=100", "--vip="+addr.String(), "--vmac")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// macvlans lists h's links named name (ip -o link), each line.
func macvlans(h *lab.Host, name string) []string {
	out, _ := h.Exec("ip", "-o", "-d", "link", "show")
	var s []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], name+"@") {
			s = append(s, line)
		}
	}
	return s
}

// vmacHolds reports whether h's macvlan name holds addr.
func vmacHolds(h *lab.Host, name string, addr netip.Addr) bool {
	out, err := h.Exec("ip", "-o", "addr", "show", "dev", name)
	return err == nil && strings.Contains(out, " "+addr.String()+"/")
}

// waitVMACHolder waits until want alone holds addr on its macvlan, and
// no host holds it on its base interface.
func waitVMACHolder(t *testing.T, l *lab.Lab, name string, addr netip.Addr, want *lab.Host) {
	t.Helper()
	if !lab.Eventually(15*time.Second, func() bool {
		for _, h := range l.Hosts {
			if vmacHolds(h, name, addr) != (h == want) {
				return false
			}
		}
		return len(vrrpHolders(l, addr)) == 0
	}) {
		t.Fatalf("%s: want it on %s's %s alone; on base interfaces: %v", addr, want.Name, name, vrrpHolders(l, addr))
	}
}

// observedMAC makes the observer reach addr and returns the MAC in its
// neighbour cache.
func observedMAC(t *testing.T, l *lab.Lab, addr netip.Addr) net.HardwareAddr {
	t.Helper()
	obs := l.Observer
	var mac net.HardwareAddr
	if !lab.Eventually(10*time.Second, func() bool {
		if addr.Is6() {
			obs.Ping6(addr, 200*time.Millisecond)
		} else if p, err := obs.Ping(addr, 50*time.Millisecond); err == nil {
			start := time.Now()
			lab.Eventually(time.Second, func() bool { return p.Replied(start) })
			p.Stop()
		}
		mac = obs.Neighbour(addr)
		return mac != nil
	}) {
		t.Fatalf("the observer has no neighbour entry for %s", addr)
	}
	return mac
}

// TestVMACPair: two of ours with --vmac: the master holds the address on
// its macvlan, the observer reaches it at the virtual MAC and at that MAC
// alone (the base interfaces do not answer ARP for it), and keeps the
// same MAC across a failover and back; the macvlan goes with the daemon,
// and one a killed daemon left is replaced, not doubled.
func TestVMACPair(t *testing.T) {
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			l, addr := familyLab(t, 2, fam)
			vmac, name := vmacOf(addr)
			h1, h2 := l.Hosts[0], l.Hosts[1]
			p1 := startVMAC(t, h1, 200, addr)
			startVMAC(t, h2, 100, addr)
			waitVMACHolder(t, l, name, addr, h1)
			for _, h := range l.Hosts {
				if got := macvlans(h, name); len(got) != 1 || !strings.Contains(got[0], vmac.String()) || !strings.Contains(got[0], "macvlan mode private") {
					t.Fatalf("%s: links %s: %q, want one private macvlan with %s", h.Name, name, got, vmac)
				}
			}
			if got := observedMAC(t, l, addr); got.String() != vmac.String() {
				t.Fatalf("the observer reaches %s at %s, want the virtual MAC %s", addr, got, vmac)
			}
			for _, h := range l.Hosts {
				// Slashes: the macvlan's name has a dot.
				for k, want := range map[string]string{"ipv4/conf/" + h.IfName + "/arp_ignore": "1", "ipv4/conf/" + h.IfName + "/arp_filter": "1",
					"ipv4/conf/" + h.IfName + "/arp_announce": "2", "ipv6/conf/" + name + "/accept_ra": "0", "ipv6/conf/" + name + "/autoconf": "0"} {
					if out, err := h.Exec("sysctl", "-n", "net/"+k); err != nil || strings.TrimSpace(out) != want {
						t.Errorf("%s: net/%s = %q %v while running, want %s", h.Name, k, out, err, want)
					}
				}
			}
			if addr.Is4() {
				macs, err := l.Observer.WhoHas(addr, 500*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				if len(macs) != 1 || macs[0].String() != vmac.String() {
					t.Fatalf("ARP for %s answered by %v, want %s alone", addr, macs, vmac)
				}
			}

			// A graceful stop: h2 takes over, the observer's entry stays
			// the virtual MAC, h1's macvlan is gone.
			p1.Signal(syscall.SIGTERM)
			if _, ok := p1.Wait(10 * time.Second); !ok {
				t.Fatal("h1 did not exit on SIGTERM")
			}
			if got := macvlans(h1, name); len(got) != 0 {
				t.Fatalf("h1's %s is still there after the exit: %q", name, got)
			}
			for _, k := range []string{"arp_ignore", "arp_filter", "arp_announce"} {
				if out, err := h1.Exec("sysctl", "-n", "net.ipv4.conf."+h1.IfName+"."+k); err != nil || strings.TrimSpace(out) != "0" {
					t.Fatalf("h1's %s after the exit: %q %v, want 0 as before", k, out, err)
				}
			}
			waitVMACHolder(t, l, name, addr, h2)
			if got := observedMAC(t, l, addr); got.String() != vmac.String() {
				t.Fatalf("after the failover the observer reaches %s at %s, want %s", addr, got, vmac)
			}

			// Back: h1 preempts; killed, it leaves its macvlan, which its
			// next start replaces.
			p1 = startVMAC(t, h1, 200, addr)
			waitVMACHolder(t, l, name, addr, h1)
			if got := observedMAC(t, l, addr); got.String() != vmac.String() {
				t.Fatalf("back on h1 the observer reaches %s at %s, want %s", addr, got, vmac)
			}
			p1.Kill()
			if got := macvlans(h1, name); len(got) != 1 {
				t.Fatalf("h1 killed: links %s: %q, want the one it left", name, got)
			}
			p1 = startVMAC(t, h1, 200, addr)
			if !p1.WaitLog("left by a previous run", 1, 10*time.Second) {
				t.Fatal("h1 did not say it replaced the macvlan it left")
			}
			waitVMACHolder(t, l, name, addr, h1)
			if got := macvlans(h1, name); len(got) != 1 {
				t.Fatalf("h1 restarted: links %s: %q, want one", name, got)
			}
		})
	}
}

// TestVMACKeepalived: ours with --vmac and keepalived 2.2.7 with use_vmac,
// each MASTER in turn: the observer reaches the address at the same
// virtual MAC whichever holds it, on that host's macvlan.
func TestVMACKeepalived(t *testing.T) {
	needPeer(lab.KeepalivedBin)(t)
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			l, addr := familyLab(t, 2, fam)
			vmac, ours := vmacOf(addr)
			const theirs = "vrrp.51" // keepalived's name for both families
			h1, h2 := l.Hosts[0], l.Hosts[1]
			waitOn := func(h *lab.Host, name string) {
				t.Helper()
				other, otherName := h2, theirs
				if h == h2 {
					other, otherName = h1, ours
				}
				if !lab.Eventually(15*time.Second, func() bool {
					return vmacHolds(h, name, addr) && !vmacHolds(other, otherName, addr) && len(vrrpHolders(l, addr)) == 0
				}) {
					t.Fatalf("%s: want it on %s's %s alone", addr, h.Name, name)
				}
				if got := observedMAC(t, l, addr); got.String() != vmac.String() {
					t.Fatalf("%s on %s: the observer reaches it at %s, want %s", addr, h.Name, got, vmac)
				}
			}
			// keepalived 2.2.7 leaves arp_announce as it is: at 0 the
			// host's ARP requests for the observer name the address with
			// the base MAC, and the observer takes it (seen here). Ours
			// sets 2; for keepalived the sysadmin does.
			if out, err := h2.Exec("sysctl", "-w", "net.ipv4.conf."+h2.IfName+".arp_announce=2"); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			p := startVMAC(t, h1, 200, addr)
			k, err := h2.StartKeepalived("keepalived", lab.VRRP{VRID: vmacVRID, Priority: 100, Addrs: []netip.Addr{addr}, UseVMAC: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { k.Stop(5 * time.Second) })
			waitOn(h1, ours)
			if got := macvlans(h2, theirs); len(got) != 1 || !strings.Contains(got[0], vmac.String()) {
				t.Fatalf("keepalived's %s: %q, want one with %s", theirs, got, vmac)
			}
			// Ours leaves: keepalived serves at the same MAC.
			p.Signal(syscall.SIGTERM)
			if _, ok := p.Wait(10 * time.Second); !ok {
				t.Fatal("ours did not exit on SIGTERM")
			}
			waitOn(h2, theirs)
			// Ours back, as BACKUP under keepalived now preferred: a
			// restart of keepalived at 250 keeps it MASTER over ours.
			k.Stop(10 * time.Second)
			k, err = h2.StartKeepalived("keepalived2", lab.VRRP{VRID: vmacVRID, Priority: 250, Addrs: []netip.Addr{addr}, UseVMAC: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { k.Stop(5 * time.Second) })
			waitOn(h2, theirs)
			startVMAC(t, h1, 200, addr)
			waitOn(h2, theirs)
			// keepalived leaves: ours serves at the same MAC.
			k.Stop(10 * time.Second)
			waitOn(h1, ours)
		})
	}
}

// TestVMACNameClash: a --vmac name that is an interface but no macvlan
// of the group's interface stops the start with a clear error, and the
// interface is left alone.
func TestVMACNameClash(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	p, err := h.Start("ucarp", oursBin, "--protocol=vrrp3", "--interface="+h.IfName, "--srcip="+h.Addr.String(),
		"--vhid=51", "--vip="+lab.VIP.String(), "--vmac=lo")
	if err != nil {
		t.Fatal(err)
	}
	st, ok := p.Wait(10 * time.Second)
	if !ok || st.ExitCode() == 0 {
		t.Fatalf("ours did not fail: %v\n%s", st, p.Log())
	}
	if !strings.Contains(p.Log(), "vmac lo: an interface of that name exists and is a device, not a macvlan") {
		t.Fatalf("no clear error:\n%s", p.Log())
	}
	if out, err := h.Exec("ip", "-o", "link", "show", "lo"); err != nil || !strings.Contains(out, "LOOPBACK") {
		t.Fatalf("lo: %q %v", out, err)
	}
}

// TestVMACCARP: a CARP pair with --vmac uses BSD kernel CARP's virtual
// MAC, 00:00:5e:00:01:VHID, on carp.VHID, and one MASTER holds it.
func TestVMACCARP(t *testing.T) {
	l := newLab(t, 2)
	start := func(h *lab.Host, skew string) *lab.Proc {
		p, err := h.Start("ucarp", oursBin, "--interface="+h.IfName, "--srcip="+h.Addr.String(), "--vhid=51", "--pass=secret",
			"--advskew="+skew, "--preempt", "--vip="+lab.VIP.String(), "--vmac")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := start(l.Hosts[0], "0")
	start(l.Hosts[1], "100")
	waitVMACHolder(t, l, "carp.51", lab.VIP, l.Hosts[0])
	want := "00:00:5e:00:01:33"
	if got := observedMAC(t, l, lab.VIP); got.String() != want {
		t.Fatalf("the observer reaches %s at %s, want %s", lab.VIP, got, want)
	}
	p1.Signal(syscall.SIGTERM)
	if _, ok := p1.Wait(10 * time.Second); !ok {
		t.Fatal("h1 did not exit on SIGTERM")
	}
	waitVMACHolder(t, l, "carp.51", lab.VIP, l.Hosts[1])
	if got := observedMAC(t, l, lab.VIP); got.String() != want {
		t.Fatalf("after the failover the observer reaches %s at %s, want %s", lab.VIP, got, want)
	}
}

// startVRID starts ours with --vmac for vrid on h, holding addr.
func startVRID(t *testing.T, h *lab.Host, vrid int, addr netip.Addr) *lab.Proc {
	t.Helper()
	p, err := h.Start("ucarp"+strconv.Itoa(vrid), oursBin, "--protocol=vrrp3", "--interface="+h.IfName, "--srcip="+h.Addr.String(),
		"--vhid="+strconv.Itoa(vrid), "--priority=100", "--advert-interval=100", "--vip="+addr.String(), "--vmac")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVMACLostLink: a macvlan that someone removes stops ours (exit 2
// from the command line), said at ERROR.
func TestVMACLostLink(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	p := startVRID(t, h, vmacVRID, lab.VIP)
	waitVMACHolder(t, l, "vrrp.51", lab.VIP, h)
	if out, err := h.Exec("ip", "link", "del", "vrrp.51"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	st, ok := p.Wait(10 * time.Second)
	if !ok || st.ExitCode() != 2 {
		t.Fatalf("ours did not exit with 2: %v\n%s", st, p.Log())
	}
	if !strings.Contains(p.Log(), "The virtual MAC interface vrrp.51 was set down or removed by someone else") {
		t.Fatalf("not said:\n%s", p.Log())
	}
}

// TestVMACOthersMacvlan: a macvlan of the name with another MAC is
// someone else's: ours refuses to start and leaves it.
func TestVMACOthersMacvlan(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	if out, err := h.Exec("ip", "link", "add", "vrrp.51", "link", h.IfName, "address", "02:00:00:00:00:51", "type", "macvlan", "mode", "bridge"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	p := startVRID(t, h, vmacVRID, lab.VIP)
	st, ok := p.Wait(10 * time.Second)
	if !ok || st.ExitCode() == 0 {
		t.Fatalf("ours did not fail: %v\n%s", st, p.Log())
	}
	if !strings.Contains(p.Log(), "not one a previous run left") {
		t.Fatalf("no clear error:\n%s", p.Log())
	}
	if got := macvlans(h, "vrrp.51"); len(got) != 1 || !strings.Contains(got[0], "02:00:00:00:00:51") {
		t.Fatalf("the other's vrrp.51: %q", got)
	}
}

// TestVMACTwoDaemons: two of ours on one interface, one vrid each (the
// classic one process per vhid): the first to exit leaves the base
// interface's ARP settings to the other's macvlan.
func TestVMACTwoDaemons(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	base := func() string {
		var s []string
		for _, k := range []string{"arp_ignore", "arp_filter", "arp_announce"} {
			out, _ := h.Exec("sysctl", "-n", "net/ipv4/conf/"+h.IfName+"/"+k)
			s = append(s, strings.TrimSpace(out))
		}
		return strings.Join(s, "/")
	}
	if got := base(); got != "0/0/0" {
		t.Fatalf("base before: %s", got)
	}
	other := netip.MustParseAddr("198.51.100.101")
	p1 := startVRID(t, h, vmacVRID, lab.VIP)
	waitVMACHolder(t, l, "vrrp.51", lab.VIP, h)
	startVRID(t, h, vmacVRID+1, other)
	waitVMACHolder(t, l, "vrrp.52", other, h)
	p1.Signal(syscall.SIGTERM)
	if _, ok := p1.Wait(10 * time.Second); !ok {
		t.Fatal("the first did not exit on SIGTERM")
	}
	if got := base(); got != "1/1/2" {
		t.Fatalf("base after the first exit, the other's vrrp.52 up: %s, want 1/1/2\n%s", got, p1.Log())
	}
	if !strings.Contains(p1.Log(), "the virtual MAC of vrrp.52 is still on it") {
		t.Fatalf("the first did not say why it left them:\n%s", p1.Log())
	}
	waitVMACHolder(t, l, "vrrp.52", other, h)
}

// TestVMACRouterAdvert: a Router Advertisement on the LAN (from the
// observer) gives the hosts' base interfaces a SLAAC address, and their
// macvlans (the BACKUP's too, with the shared MAC) no address and no
// route.
func TestVMACRouterAdvert(t *testing.T) {
	l := newLab(t, 2)
	if err := l.EnableIPv6(); err != nil {
		t.Fatal(err)
	}
	_, name := vmacOf(lab.VIP6)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	startVMAC(t, h1, 200, lab.VIP6)
	startVMAC(t, h2, 100, lab.VIP6)
	waitVMACHolder(t, l, name, lab.VIP6, h1)
	prefix := netip.MustParseAddr("2001:db8:1::")
	ra := &ndp.RouterAdvertisement{CurrentHopLimit: 64, RouterLifetime: 600 * time.Second, Options: []ndp.Option{
		&ndp.PrefixInformation{PrefixLength: 64, OnLink: true, AutonomousAddressConfiguration: true,
			ValidLifetime: 600 * time.Second, PreferredLifetime: 300 * time.Second, Prefix: prefix}}}
	send := func() error {
		return l.Observer.Do(func() error {
			ifi, err := net.InterfaceByName(l.Observer.IfName)
			if err != nil {
				return err
			}
			c, _, err := ndp.Listen(ifi, ndp.LinkLocal)
			if err != nil {
				return err
			}
			defer c.Close()
			return c.WriteTo(ra, nil, netip.MustParseAddr("ff02::1"))
		})
	}
	slaac := func(h *lab.Host, dev string) string {
		out, _ := h.Exec("ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "global")
		routes, _ := h.Exec("ip", "-6", "route", "show", "dev", dev)
		s := ""
		if strings.Contains(out, "2001:db8:1:") {
			s += "address "
		}
		if strings.Contains(routes, "2001:db8:1::/64") || strings.Contains(routes, "default") {
			s += "route"
		}
		return s
	}
	// The RA reaches the hosts: their base interfaces take it.
	if !lab.Eventually(10*time.Second, func() bool {
		if err := send(); err != nil {
			t.Fatal(err)
		}
		return slaac(h1, h1.IfName) != "" && slaac(h2, h2.IfName) != ""
	}) {
		t.Fatalf("the RA did not reach the hosts' base interfaces: %q %q", slaac(h1, h1.IfName), slaac(h2, h2.IfName))
	}
	// The macvlans, processing the same multicast, take nothing.
	if lab.Eventually(2*time.Second, func() bool { return slaac(h1, name) != "" || slaac(h2, name) != "" }) {
		t.Fatalf("from the RA: on h1's %s %q, on h2's (BACKUP) %q; want nothing", name, slaac(h1, name), slaac(h2, name))
	}
}
