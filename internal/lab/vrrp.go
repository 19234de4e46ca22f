//go:build linux

package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"

	"github.com/ucarp-go/ucarp/vrrp"
)

// VRRPv3 peers in the lab (issue 18): keepalived (keepalived.go) and FRR's
// vrrpd (frr.go) run in a host's namespace with files of their own under
// the lab's directory, never as the system's services.

// VRRP describes a VRRPv3 virtual router to run on a host, whatever the
// implementation.
type VRRP struct {
	VRID     int // default 51
	Priority int // 1-255, default 100
	// Interval is the advertisement interval in centiseconds (default 100).
	Interval int
	// Addrs are the virtual addresses, all of one family (default VIP).
	Addrs     []netip.Addr
	NoPreempt bool
	// ChecksumAsV2 sends the IPv4 checksum without the pseudo-header
	// (keepalived's v3_checksum_as_v2, which came in keepalived 2.2.8:
	// Debian's 2.2.7 refuses it, and StartKeepalived reports so).
	ChecksumAsV2 bool
	// UnicastPeers, if any, are keepalived's unicast_peer addresses: its
	// adverts go to them rather than to the multicast group.
	UnicastPeers []netip.Addr
	// UseVMAC gives keepalived's instance use_vmac (its macvlan vrrp.VRID
	// with the virtual MAC carries the addresses).
	UseVMAC bool
}

func (v VRRP) withDefaults() VRRP {
	if v.VRID == 0 {
		v.VRID = 51
	}
	if v.Priority == 0 {
		v.Priority = 100
	}
	if v.Interval == 0 {
		v.Interval = 100
	}
	if len(v.Addrs) == 0 {
		v.Addrs = []netip.Addr{VIP}
	}
	return v
}

// IPv6 reports whether the router's addresses are IPv6 ones.
func (v VRRP) IPv6() bool { return len(v.Addrs) > 0 && v.Addrs[0].Is6() && !v.Addrs[0].Is4In6() }

func (v VRRP) check() error {
	if v.VRID < 1 || v.VRID > 255 || v.Priority < 1 || v.Priority > 255 || v.Interval < 1 || v.Interval > 4095 {
		return fmt.Errorf("lab: VRRP router %+v out of range", v)
	}
	for _, a := range v.Addrs {
		if a.Is6() != v.IPv6() {
			return fmt.Errorf("lab: VRRP router with addresses of both families: %v", v.Addrs)
		}
	}
	return nil
}

// VirtualMAC is the router's virtual MAC, 00:00:5e:00:01:VRID for IPv4 and
// 00:00:5e:00:02:VRID for IPv6 (RFC 9568 §7.3).
func (v VRRP) VirtualMAC() string {
	v = v.withDefaults()
	fam := 1
	if v.IPv6() {
		fam = 2
	}
	return fmt.Sprintf("00:00:5e:00:%02x:%02x", fam, v.VRID)
}

// HoldsVRRP reports whether h serves address a: a is on one of its links
// and that link can carry traffic. A macvlan that FRR's vrrpd has put in
// protodown (its Backup state) keeps its addresses but does not serve
// them; ours and keepalived add and remove the address on eth0.
func (h *Host) HoldsVRRP(a netip.Addr) bool {
	nh, err := h.netlink()
	if err != nil {
		return false
	}
	defer nh.Close()
	fam := netlink.FAMILY_V4
	if a.Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := nh.AddrList(nil, fam)
	if err != nil {
		return false
	}
	for _, x := range addrs {
		ip, ok := netip.AddrFromSlice(x.IP)
		if !ok || ip.Unmap() != a {
			continue
		}
		link, err := nh.LinkByIndex(x.LinkIndex)
		if err != nil {
			continue
		}
		if link.Type() != "macvlan" || link.Attrs().OperState == netlink.OperUp {
			return true
		}
	}
	return false
}

// VRRPHolders lists the hosts that serve address a (HoldsVRRP).
func (l *Lab) VRRPHolders(a netip.Addr) []*Host {
	var hs []*Host
	for _, h := range l.Hosts {
		if h.HoldsVRRP(a) {
			hs = append(hs, h)
		}
	}
	return hs
}

// IsVRRP reports whether the frame carries IP protocol 112 (VRRP or CARP)
// over IPv4 or IPv6 (without extension headers).
func (f Frame) IsVRRP() bool {
	_, _, _, err := f.ipPayload()
	return err == nil
}

// ipPayload returns the source, destination and payload of a protocol 112
// packet in the frame.
func (f Frame) ipPayload() (src, dst netip.Addr, payload []byte, err error) {
	d := f.Data
	if len(d) < 14 {
		return src, dst, nil, errors.New("lab: short frame")
	}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case 0x0800:
		ip := d[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != vrrp.IPProtocol {
			break
		}
		hl := int(ip[0]&0xf) * 4
		tl := int(binary.BigEndian.Uint16(ip[2:4]))
		if hl < 20 || tl < hl || tl > len(ip) {
			break
		}
		return netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20])), ip[hl:tl], nil
	case 0x86dd:
		ip := d[14:]
		if len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != vrrp.IPProtocol {
			break
		}
		pl := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+pl > len(ip) {
			break
		}
		return netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])), ip[40 : 40+pl], nil
	}
	return src, dst, nil, errors.New("lab: not a protocol 112 packet")
}

// VRRPAdvert is a VRRPv3 advert seen on the LAN.
type VRRPAdvert struct {
	Frame
	Src, Dst netip.Addr
	Advert   vrrp.Advert
	Form     vrrp.ChecksumForm
}

// VRRPAdverts decodes the VRRPv3 adverts among frames; frames of other
// kinds, and adverts that do not decode, are left out.
func VRRPAdverts(frames []Frame) []VRRPAdvert {
	var out []VRRPAdvert
	for _, f := range frames {
		src, dst, payload, err := f.ipPayload()
		if err != nil || !vrrp.IsVRRPv3(payload) {
			continue
		}
		var a vrrp.Advert
		form, err := a.Unmarshal(payload, src, dst)
		if err != nil {
			continue
		}
		out = append(out, VRRPAdvert{Frame: f, Src: src, Dst: dst, Advert: a, Form: form})
	}
	return out
}

// From keeps the adverts sent from src with priority prio (-1: any).
func From(ads []VRRPAdvert, src netip.Addr, prio int) []VRRPAdvert {
	return slices.DeleteFunc(slices.Clone(ads), func(a VRRPAdvert) bool {
		return a.Src != src || (prio >= 0 && int(a.Advert.Priority) != prio)
	})
}

// HaveBinary reports whether the program is installed, and if not, why.
func HaveBinary(path string) error {
	if _, err := exec.LookPath(path); err != nil {
		return fmt.Errorf("%s is not installed (make deps installs it): %w", path, err)
	}
	return nil
}

// joinLines joins lines with newlines and a final one.
func joinLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// OursVRRPArgs is the command line of our daemon bin on h for router v
// (issue 18's options: --protocol=vrrp3, --priority, --advert-interval in
// centiseconds, --vip for each address, --no-preempt, and
// --vrrp-checksum=message-only for v.ChecksumAsV2), and extra after it.
// The source address is h's IPv4 address, as for CARP; IPv6 addresses go
// with their /64.
func OursVRRPArgs(bin string, h *Host, v VRRP, extra ...string) []string {
	v = v.withDefaults()
	args := []string{bin, "--protocol=vrrp3", "--interface=" + h.IfName, "--srcip=" + h.Addr.String(),
		"--vhid=" + strconv.Itoa(v.VRID), "--priority=" + strconv.Itoa(v.Priority),
		"--advert-interval=" + strconv.Itoa(v.Interval)}
	for _, a := range v.Addrs {
		if a.Is6() {
			args = append(args, "--vip="+a.String()+"/64")
		} else {
			args = append(args, "--vip="+a.String())
		}
	}
	if v.NoPreempt {
		args = append(args, "--no-preempt")
	}
	if v.ChecksumAsV2 {
		args = append(args, "--vrrp-checksum=message-only")
	}
	return append(args, extra...)
}

// StartOursVRRP starts our daemon bin on h as VRRPv3 router v.
func (h *Host) StartOursVRRP(name, bin string, v VRRP, extra ...string) (*Proc, error) {
	if err := v.withDefaults().check(); err != nil {
		return nil, err
	}
	return h.Start(name, OursVRRPArgs(bin, h, v, extra...)...)
}

// Die is a host's death for a VRRP test: every process in its namespace
// killed by PID (no priority-0 advert), and what it served gone with it
// (addrs removed from eth0, FRR's macvlans deleted), as when a machine
// loses power.
func (h *Host) Die(addrs ...netip.Addr) {
	h.KillAll()
	for _, a := range addrs {
		bits := "/32"
		if a.Is6() {
			bits = "/128"
		}
		for i := 0; i < 4 && h.HasAddrAny(a); i++ {
			// Ours may have added it with another prefix length.
			out, _ := h.Exec("ip", "-o", "addr", "show", "dev", h.IfName)
			pfx := a.String() + bits
			for _, w := range strings.Fields(out) {
				if p, err := netip.ParsePrefix(w); err == nil && p.Addr() == a {
					pfx = w
				}
			}
			h.Exec("ip", "addr", "del", pfx, "dev", h.IfName)
		}
	}
	out, _ := h.Exec("ip", "-o", "link", "show", "type", "macvlan")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], "vrrp") {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			h.lab.ipn(h.NS, "link", "del", name)
		}
	}
}

// HasAddrAny reports whether address a, of either family, is on eth0.
func (h *Host) HasAddrAny(a netip.Addr) bool {
	if a.Is6() {
		return h.HasAddr6(a)
	}
	return h.HasAddr(a)
}

// SendVRRP sends n VRRPv3 adverts a from h (IPv4, from h's address to
// 224.0.0.18, TOS 0xc0, TTL 255) with the checksum in form, every
// interval: a forged or foreign router. It returns when the last is sent.
func (h *Host) SendVRRP(a vrrp.Advert, form vrrp.ChecksumForm, n int, interval time.Duration) error {
	var rc *ipv4.RawConn
	err := h.Do(func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		if rc, err = ipv4.NewRawConn(c); err != nil {
			c.Close()
			return err
		}
		ifi, err := net.InterfaceByName(h.IfName)
		if err == nil {
			err = rc.SetMulticastInterface(ifi)
		}
		if err == nil {
			err = rc.SetMulticastLoopback(false)
		}
		if err != nil {
			rc.Close()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: VRRP sender in %s: %w", h.Name, err)
	}
	defer rc.Close()
	msg, err := a.Marshal(h.Addr, vrrp.GroupIPv4, form)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		hdr := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TOS: vrrp.TOS, TotalLen: ipv4.HeaderLen + len(msg),
			TTL: vrrp.TTL, Protocol: vrrp.IPProtocol, Src: h.Addr.AsSlice(), Dst: vrrp.GroupIPv4.AsSlice()}
		if err := rc.WriteTo(hdr, msg, nil); err != nil {
			return fmt.Errorf("lab: sending a VRRP advert from %s: %w", h.Name, err)
		}
	}
	return nil
}
