//go:build linux

package lab

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// IPv6 in the lab (issue 14). New turns IPv6 off in every namespace, so
// that captures hold only what a test studies; EnableIPv6 turns it on for
// the tests of IPv6 groups.

// VIP6 and VIP6b are the lab's IPv6 virtual addresses, and ObserverAddr6
// the observer's IPv6 address, all in 2001:db8::/64 (RFC 3849), on-link.
var (
	VIP6          = netip.MustParseAddr("2001:db8::100")
	VIP6b         = netip.MustParseAddr("2001:db8::101")
	ObserverAddr6 = netip.MustParseAddr("2001:db8::1")
)

// EnableIPv6 turns IPv6 on in every host and the observer, without
// duplicate address detection (so that the link-local addresses are usable
// at once), gives the observer ObserverAddr6/64, and waits for each
// host's link-local address.
func (l *Lab) EnableIPv6() error {
	for _, h := range l.all() {
		for _, kv := range []string{
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf." + h.IfName + ".accept_dad=0",
			"net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf." + h.IfName + ".disable_ipv6=0",
		} {
			if out, err := exec.Command("ip", "netns", "exec", h.NS, "sysctl", "-qw", kv).CombinedOutput(); err != nil {
				return fmt.Errorf("lab: sysctl %s in %s: %v: %s", kv, h.Name, err, out)
			}
		}
	}
	if err := l.ipn(l.Observer.NS, "-6", "addr", "add", ObserverAddr6.String()+"/64", "dev", l.Observer.IfName, "nodad"); err != nil {
		return err
	}
	for _, h := range l.all() {
		if !Eventually(5*time.Second, func() bool { _, err := h.LinkLocal(); return err == nil }) {
			return fmt.Errorf("lab: %s has no IPv6 link-local address", h.Name)
		}
	}
	return nil
}

// LinkLocal is the link-local address of the host's eth0.
func (h *Host) LinkLocal() (netip.Addr, error) {
	addrs, err := h.addrList(netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip.IsLinkLocalUnicast() && x.Flags&0x40 == 0 { // not tentative
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("lab: no link-local address on %s", h.Name)
}

// HasAddr6 reports whether the IPv6 address a is on the host's eth0.
func (h *Host) HasAddr6(a netip.Addr) bool {
	addrs, _ := h.addrList(netlink.FAMILY_V6)
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip == a {
			return true
		}
	}
	return false
}

// Holders6 are the hosts that hold the IPv6 address a.
func (l *Lab) Holders6(a netip.Addr) []*Host {
	var hs []*Host
	for _, h := range l.Hosts {
		if h.HasAddr6(a) {
			hs = append(hs, h)
		}
	}
	return hs
}

// Ping6 sends one ICMPv6 echo request (a ping -6) to a from h, and
// reports whether the reply came within wait. (The lab has no ping(8).)
func (h *Host) Ping6(a netip.Addr, wait time.Duration) bool {
	var c *icmp.PacketConn
	if err := h.Do(func() (err error) {
		c, err = icmp.ListenPacket("ip6:ipv6-icmp", "::")
		return err
	}); err != nil {
		return false
	}
	defer c.Close()
	id := int(serial.Add(1)) & 0xffff
	msg := icmp.Message{Type: ipv6.ICMPTypeEchoRequest, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("carplab")}}
	b, _ := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
	if _, err := c.WriteTo(b, &net.IPAddr{IP: a.AsSlice()}); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		m, err := icmp.ParseMessage(58, buf[:n])
		if err != nil || m.Type != ipv6.ICMPTypeEchoReply {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
			return true
		}
	}
}

// Neighbour is the link-layer address in h's neighbour cache (ARP's for
// an IPv4 a) for a on eth0, nil when there is none. It reads the cache through netlink, in
// well under a millisecond, so that a test can poll it closely.
func (h *Host) Neighbour(a netip.Addr) net.HardwareAddr {
	nh, err := h.netlink()
	if err != nil {
		return nil
	}
	defer nh.Close()
	link, err := nh.LinkByName(h.IfName)
	if err != nil {
		return nil
	}
	family := netlink.FAMILY_V6
	if a.Is4() {
		family = netlink.FAMILY_V4
	}
	ns, err := nh.NeighList(link.Attrs().Index, family)
	if err != nil {
		return nil
	}
	for _, n := range ns {
		if ip, ok := netip.AddrFromSlice(n.IP); ok && ip == a && len(n.HardwareAddr) == 6 {
			return n.HardwareAddr
		}
	}
	return nil
}
