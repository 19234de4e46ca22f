package platform

import (
	"net"
	"net/netip"
)

// zoneOnWrite is true: a write to a link-local destination names the
// interface as its zone, as it always did here.
const zoneOnWrite = true

// bindIP6 does nothing: FreeBSD has no SO_BINDTODEVICE, and ip6Conn keeps
// the packets whose IPV6_PKTINFO names the interface.
func bindIP6(int, *net.Interface) error { return nil }

// LinkLocal implements LinkLocaler.
func (f *freebsdOS) LinkLocal() (netip.Addr, error) { return LinkLocal(f.ifi) }

// ip6Reader is empty: read reads through x/net.
type ip6Reader struct{}

// read reads ic's next packet into ic.buf, with its ancillary data.
func (*ip6Reader) read(ic *ip6Conn) (int, recv6, error) {
	n, cm, src, err := ic.pc.ReadFrom(ic.buf[:])
	if err != nil {
		return 0, recv6{}, err
	}
	ipa, ok := src.(*net.IPAddr)
	if cm == nil || !ok || cm.Dst == nil {
		return n, recv6{}, nil
	}
	s, ok1 := netip.AddrFromSlice(ipa.IP.To16())
	d, ok2 := netip.AddrFromSlice(cm.Dst.To16())
	return n, recv6{src: s, dst: d, hops: cm.HopLimit, tclass: cm.TrafficClass, ifindex: cm.IfIndex, ok: ok1 && ok2}, nil
}
