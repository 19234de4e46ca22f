package platform

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/internal/inet"
	"github.com/ucarp-go/ucarp/vip"
)

var _ VMACer = (*linuxOS)(nil)

// sysctlDir is where the interfaces' IPv4 and IPv6 settings are.
var sysctlDir = "/proc/sys/net"

// The base interface's ARP settings that a virtual MAC needs, as
// keepalived sets them: arp_ignore 1 answers ARP only for the addresses of
// the interface that receives it (the macvlan answers for the group's, with
// its MAC; the base no longer does), arp_filter 1 answers only where the
// route to the asker goes out. And one keepalived 2.2.7 does not set:
// arp_announce 2, so that the base interface's own ARP requests (for the
// hosts that the addresses answer: the replies leave through it) name
// its own address, not the group's with the base MAC, which would teach
// the LAN the wrong MAC. Changed while a virtual MAC is on the
// interface, put back when the last goes: baseSettings counts this
// process's, releaseBaseARP looks for other processes'.
var baseARP = []string{"arp_ignore", "arp_filter", "arp_announce"}

// baseWant is the value of each of baseARP.
var baseWant = map[string]string{"arp_ignore": "1", "arp_filter": "1", "arp_announce": "2"}

var baseSettings = struct {
	sync.Mutex
	users map[int]int               // by ifindex: the virtual MACs on it
	saved map[int]map[string]string // by ifindex: the values changed, as they were
}{users: map[int]int{}, saved: map[int]map[string]string{}}

func sysctlPath(fam, ifname, key string) string {
	return filepath.Join(sysctlDir, fam, "conf", ifname, key)
}

func readSysctl(fam, ifname, key string) (string, error) {
	b, err := os.ReadFile(sysctlPath(fam, ifname, key))
	return strings.TrimSpace(string(b)), err
}

func writeSysctl(fam, ifname, key, val string) error {
	return os.WriteFile(sysctlPath(fam, ifname, key), []byte(val+"\n"), 0o644)
}

// CreateVMAC implements VMACer: a private-mode macvlan (keepalived's
// mode: it sees no frame of its siblings), with IPv6 address generation
// off (no link-local address, so no DAD or router solicitation from the
// MAC that the group's other hosts share) and Router Advertisements, SLAAC
// and DAD off (accept_ra, autoconf, dad_transmits 0), up.
func (l *linuxOS) CreateVMAC(o VMACOptions) (VMAC, []string, error) {
	if len(o.Name) == 0 || len(o.Name) > unix.IFNAMSIZ-1 {
		return nil, nil, fmt.Errorf("platform: vmac: %q is not an interface name (1-%d bytes)", o.Name, unix.IFNAMSIZ-1)
	}
	var notes []string
	old, err := netlink.LinkByName(o.Name)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return nil, nil, fmt.Errorf("platform: vmac %s: %w", o.Name, err)
	default:
		mv, ok := old.(*netlink.Macvlan)
		if !ok {
			return nil, nil, fmt.Errorf("platform: vmac %s: an interface of that name exists and is a %s, not a macvlan: name the group's with vmac = \"NAME\"",
				o.Name, old.Type())
		}
		if mv.ParentIndex != l.ifi.Index {
			return nil, nil, fmt.Errorf("platform: vmac %s: a macvlan of that name exists on another interface (index %d), not on %s",
				o.Name, mv.ParentIndex, l.ifi.Name)
		}
		// Left by a daemon that was killed: replaced, never doubled. One
		// with another MAC or mode is someone else's: never destroyed.
		if mv.HardwareAddr.String() != o.MAC.String() || mv.Mode != netlink.MACVLAN_MODE_PRIVATE {
			return nil, nil, fmt.Errorf("platform: vmac %s: a macvlan of that name exists on %s with MAC %s in %s mode, not one a previous run left (%s, private): remove it or name the group's with vmac = \"NAME\"",
				o.Name, l.ifi.Name, mv.HardwareAddr, macvlanMode(mv.Mode), o.MAC)
		}
		if err := netlink.LinkDel(old); err != nil {
			return nil, nil, fmt.Errorf("platform: vmac %s: removing the one a previous run left: %w", o.Name, err)
		}
		notes = append(notes, fmt.Sprintf("Replaced the macvlan %s (%s) left by a previous run", o.Name, mv.HardwareAddr))
	}
	mv := &netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: o.Name, ParentIndex: l.ifi.Index, HardwareAddr: o.MAC},
		Mode:      netlink.MACVLAN_MODE_PRIVATE,
	}
	if err := netlink.LinkAdd(mv); err != nil {
		return nil, notes, fmt.Errorf("platform: vmac %s on %s: %w", o.Name, l.ifi.Name, err)
	}
	fail := func(err error) (VMAC, []string, error) {
		netlink.LinkDel(mv)
		return nil, notes, fmt.Errorf("platform: vmac %s on %s: %w", o.Name, l.ifi.Name, err)
	}
	link, err := netlink.LinkByName(o.Name)
	if err != nil {
		return fail(err)
	}
	if err := netlink.LinkSetIP6AddrGenMode(link, 1 /* IN6_ADDR_GEN_MODE_NONE */); err != nil && o.IPv6 {
		return fail(fmt.Errorf("IPv6 address generation off: %w", err))
	}
	disable6 := "1"
	if o.IPv6 {
		disable6 = "0"
	}
	// No Router Advertisement taken, no SLAAC address made, no DAD sent:
	// the macvlan is up on every host of the group, BACKUPs included,
	// with the MAC they share; an address or route from an RA would be on
	// all of them, and a frame from a BACKUP's would teach the switch the
	// virtual MAC at its port. Set before the link is up and before IPv6
	// is on in it, so that no RA or DAD slips in between.
	for _, k := range []string{"accept_ra", "autoconf", "dad_transmits"} {
		if err := writeSysctl("ipv6", o.Name, k, "0"); err != nil && o.IPv6 {
			return fail(err)
		}
	}
	if err := writeSysctl("ipv6", o.Name, "disable_ipv6", disable6); err != nil && o.IPv6 {
		return fail(err)
	}
	// The macvlan's own settings (keepalived's): it answers ARP for its
	// addresses only, takes packets from its own addresses, checks no
	// reverse path, and keeps the other addresses when the first goes.
	for _, kv := range [][2]string{{"arp_ignore", "1"}, {"accept_local", "1"}, {"rp_filter", "0"}, {"promote_secondaries", "1"}} {
		if err := writeSysctl("ipv4", o.Name, kv[0], kv[1]); err != nil {
			return fail(err)
		}
	}
	changed, err := l.holdBaseARP()
	if err != nil {
		return fail(err)
	}
	notes = append(notes, changed...)
	if all, err := readSysctl("ipv4", "all", "rp_filter"); err == nil && all == "1" {
		notes = append(notes, "Warning: net.ipv4.conf.all.rp_filter is 1 (strict): the traffic for the addresses that arrives on "+
			o.Name+" can be dropped; set it to 2 (loose) or 0 (keepalived sets 0)")
	}
	if err := netlink.LinkSetUp(link); err != nil {
		l.releaseBaseARP(o.Name)
		return fail(err)
	}
	ifi, err := interfaceByIndex(link.Attrs().Index)
	if err != nil {
		l.releaseBaseARP(o.Name)
		return fail(err)
	}
	return &linuxVMAC{base: l, ifi: ifi, link: link, rtnl: newRTNL(l.rtnl.renewer())}, notes, nil
}

// RemoveVMAC implements VMACer.
func (l *linuxOS) RemoveVMAC(o VMACOptions) (bool, error) {
	// Most often there is none: ask by name first (an ioctl), not
	// through vishvananda/netlink, whose every request receives into a
	// 64 KiB array on the stack of its caller (the goroutine that starts
	// the groups, which then keeps 128 KiB of stack: docs/PERF.md).
	if !linkExists(o.Name) {
		return false, nil
	}
	link, err := netlink.LinkByName(o.Name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("platform: vmac %s: %w", o.Name, err)
	}
	mv, ok := link.(*netlink.Macvlan)
	if !ok || mv.ParentIndex != l.ifi.Index || mv.HardwareAddr.String() != o.MAC.String() || mv.Mode != netlink.MACVLAN_MODE_PRIVATE {
		return false, nil
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return false, fmt.Errorf("platform: vmac %s: removing the one a previous run left: %w", o.Name, err)
	}
	return true, nil
}

func macvlanMode(m netlink.MacvlanMode) string {
	switch m {
	case netlink.MACVLAN_MODE_PRIVATE:
		return "private"
	case netlink.MACVLAN_MODE_VEPA:
		return "vepa"
	case netlink.MACVLAN_MODE_BRIDGE:
		return "bridge"
	case netlink.MACVLAN_MODE_PASSTHRU:
		return "passthru"
	case netlink.MACVLAN_MODE_SOURCE:
		return "source"
	}
	return fmt.Sprintf("%d", m)
}

// holdBaseARP sets the base interface's ARP settings for one more
// virtual MAC, and says what it changed.
func (l *linuxOS) holdBaseARP() ([]string, error) {
	bs := &baseSettings
	bs.Lock()
	defer bs.Unlock()
	idx := l.ifi.Index
	if bs.users[idx] > 0 {
		bs.users[idx]++
		return nil, nil
	}
	saved := map[string]string{}
	var notes []string
	for _, k := range baseARP {
		v, err := readSysctl("ipv4", l.ifi.Name, k)
		if err != nil {
			restore(l.ifi.Name, saved)
			return nil, err
		}
		if v == baseWant[k] {
			continue // as the administrator set it: left alone
		}
		if err := writeSysctl("ipv4", l.ifi.Name, k, baseWant[k]); err != nil {
			restore(l.ifi.Name, saved)
			return nil, err
		}
		saved[k] = v
		notes = append(notes, fmt.Sprintf("Set net.ipv4.conf.%s.%s to %s (was %s) while a virtual MAC is on it", l.ifi.Name, k, baseWant[k], v))
	}
	bs.users[idx] = 1
	bs.saved[idx] = saved
	return notes, nil
}

// releaseBaseARP puts back what holdBaseARP changed once the last
// virtual MAC of the interface is gone: this process's (counted), and
// another's (a macvlan of the interface with a virtual MAC, as two
// daemons of a vhid each make; ours, named own, aside). While another's
// is there the settings stay as they are, and stay after: that process
// found them as it needs them and puts nothing back.
func (l *linuxOS) releaseBaseARP(own string) []string {
	bs := &baseSettings
	bs.Lock()
	defer bs.Unlock()
	idx := l.ifi.Index
	if bs.users[idx]--; bs.users[idx] > 0 {
		return nil
	}
	delete(bs.users, idx)
	saved := bs.saved[idx]
	delete(bs.saved, idx)
	if len(saved) == 0 {
		return nil
	}
	if others := otherVMACs(idx, own); len(others) > 0 {
		return []string{fmt.Sprintf("Left net.ipv4.conf.%s.{%s} as set: the virtual MAC of %s is still on it; put them back by hand when none is",
			l.ifi.Name, strings.Join(baseARP, ","), strings.Join(others, ", "))}
	}
	return restore(l.ifi.Name, saved)
}

// otherVMACs lists the macvlans of the interface of index parent whose
// MAC is a virtual MAC (00:00:5e:00:01:xx or 00:00:5e:00:02:xx), but own.
// If the links cannot be listed, it says so: settings in use are never put
// back on a guess.
func otherVMACs(parent int, own string) []string {
	links, err := netlink.LinkList()
	if err != nil {
		return []string{fmt.Sprintf("(unknown: listing the links: %v)", err)}
	}
	var names []string
	for _, link := range links {
		mv, ok := link.(*netlink.Macvlan)
		if !ok || mv.ParentIndex != parent || mv.Name == own {
			continue
		}
		if m := mv.HardwareAddr; len(m) == 6 && m[0] == 0 && m[1] == 0 && m[2] == 0x5e && m[3] == 0 && (m[4] == 1 || m[4] == 2) {
			names = append(names, mv.Name)
		}
	}
	return names
}

func restore(ifname string, saved map[string]string) []string {
	var notes []string
	for _, k := range baseARP {
		v, ok := saved[k]
		if !ok {
			continue
		}
		if cur, err := readSysctl("ipv4", ifname, k); err == nil && cur != baseWant[k] {
			// Someone changed it since: theirs stays.
			notes = append(notes, fmt.Sprintf("Left net.ipv4.conf.%s.%s at %s, set since by someone else", ifname, k, cur))
			continue
		}
		if err := writeSysctl("ipv4", ifname, k, v); err == nil {
			notes = append(notes, fmt.Sprintf("Put net.ipv4.conf.%s.%s back to %s", ifname, k, v))
		}
	}
	return notes
}

type linuxVMAC struct {
	base *linuxOS
	ifi  *net.Interface
	link netlink.Link
	rtnl *rtnl
	once sync.Once
}

func (v *linuxVMAC) Interface() *net.Interface { return v.ifi }

func (v *linuxVMAC) Addresses() vip.System {
	return linuxAddrs{ifi: v.ifi, mark: addressMark(kernelRelease()), rtnl: v.rtnl}
}

func (v *linuxVMAC) WatchLink(done <-chan struct{}) (<-chan LinkState, error) {
	return (&linuxOS{ifi: v.ifi}).WatchLink(done)
}

func (v *linuxVMAC) OpenARP() (FrameConn, error) {
	return (&linuxOS{ifi: v.ifi}).OpenARP()
}

func (v *linuxVMAC) Close() ([]string, error) {
	var notes []string
	var err error
	v.once.Do(func() {
		err = netlink.LinkDel(v.link)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("platform: vmac %s: %w", v.ifi.Name, err)
		}
		notes = v.base.releaseBaseARP(v.ifi.Name)
		v.rtnl.mu.Lock()
		v.rtnl.reset() // its addresses' netlink socket
		v.rtnl.mu.Unlock()
	})
	return notes, err
}

// OpenSend implements VMAC with a packet socket on the macvlan: the
// frame goes to the group's multicast MAC from the virtual MAC, with the
// IP packet as the group wrote it; a filter keeps, of what the macvlan
// receives, the frames of proto from the virtual MAC.
func (v *linuxVMAC) OpenSend(proto uint8, group netip.Addr) (IPConn, error) {
	et, dst := ethernet.EtherTypeIPv4, net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 0}
	protoAt := uint32(ipProtoByte)
	if group.Is6() {
		b := group.As16()
		et, dst = ethernet.EtherTypeIPv6, net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
		protoAt = ethLen + 6 // the IPv6 next header (no extension header in an advert)
	} else if group.Is4() {
		b := group.As4()
		dst[3], dst[4], dst[5] = b[1]&0x7f, b[2], b[3]
	} else {
		return nil, fmt.Errorf("platform: vmac %s: no group to send to", v.ifi.Name)
	}
	if !group.IsMulticast() {
		return nil, fmt.Errorf("platform: vmac %s: %s is not a multicast group", v.ifi.Name, group)
	}
	mac := v.ifi.HardwareAddr
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 6, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(mac[0])<<24 | uint32(mac[1])<<16 | uint32(mac[2])<<8 | uint32(mac[3]), SkipTrue: 5},
		bpf.LoadAbsolute{Off: 10, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(mac[4])<<8 | uint32(mac[5]), SkipTrue: 3},
		bpf.LoadAbsolute{Off: protoAt, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(proto), SkipTrue: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return nil, fmt.Errorf("platform: vmac %s: %w", v.ifi.Name, err)
	}
	c, err := packet.Listen(v.ifi, packet.Raw, int(et), &packet.Config{Filter: prog})
	if err == nil {
		err = ignoreOutgoing(c)
		if err != nil {
			c.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("platform: packet socket on %s: %w", v.ifi.Name, err)
	}
	hdr := etherHeader(dst, mac, et)
	return &sendConn{c: c, to: &packet.Addr{HardwareAddr: dst}, buf: append(make([]byte, 0, 1514), hdr...)}, nil
}

// sendConn sends IP packets in Ethernet frames of its own making, and
// reads those its filter keeps.
type sendConn struct {
	c   *packet.Conn
	to  *packet.Addr
	mu  sync.Mutex
	buf []byte
}

func (s *sendConn) ReadPacket(b []byte) (int, error) {
	for {
		n, _, err := s.c.ReadFrom(b)
		if err != nil {
			return 0, err
		}
		if n > ethLen {
			return copy(b, b[ethLen:n]), nil
		}
	}
}

func (s *sendConn) WritePacket(pkt []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf[:ethLen], pkt...)
	if ip := s.buf[ethLen:]; len(ip) >= 20 && ip[0]>>4 == 4 && ip[10] == 0 && ip[11] == 0 {
		// A header whose checksum the kernel was to fill in (IP_HDRINCL).
		hl := int(ip[0]&0x0f) * 4
		if hl <= len(ip) {
			c := inet.Checksum(ip[:hl])
			ip[10], ip[11] = byte(c>>8), byte(c)
		}
	}
	_, err := s.c.WriteTo(s.buf, s.to)
	return err
}

func (s *sendConn) Close() error { return s.c.Close() }
