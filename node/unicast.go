package node

import (
	"net/netip"
)

// The node's part of unicast peers (group/unicast.go): the source of the
// adverts sent to a global IPv6 peer. The link-local address, the source
// of every other IPv6 advert, would not be the address that the peer
// lists; the kernel's own choice could be a virtual address, which moves.

// setVIPs records every virtual address of the groups of the interface,
// for source6 to leave out; called with the groups (refilter), under ifc.mu.
func (ifc *iface) setVIPs() {
	set := map[netip.Addr]bool{}
	for _, m := range ifc.vhids {
		for _, p := range append([]netip.Prefix{m.spec.Config.Addr}, m.spec.Config.MoreAddrs...) {
			set[p.Addr()] = true
		}
	}
	ifc.vips.Store(&set)
}

// source6 is group.Deps.Source6: the interface's global IPv6 address
// that is no group's virtual address and shares the longest prefix with
// peer (one whose prefix holds peer first). It reads the address table
// that the groups share, and takes no lock of the node's: it runs in a
// group's loop.
func (ifc *iface) source6(peer netip.Addr) (netip.Addr, bool) {
	list, err := ifc.addrs.Addresses()
	if err != nil {
		return netip.Addr{}, false
	}
	var vips map[netip.Addr]bool
	if p := ifc.vips.Load(); p != nil {
		vips = *p
	}
	peer = peer.WithZone("")
	var best netip.Addr
	bestScore := -1
	for _, a := range list {
		x := a.Prefix.Addr()
		if !x.Is6() || x.Is4In6() || x.IsLinkLocalUnicast() || x.IsLoopback() || x.IsMulticast() || vips[x] {
			continue
		}
		score := commonBits(x, peer)
		if a.Prefix.Contains(peer) {
			score += 256
		}
		if score > bestScore {
			best, bestScore = x, score
		}
	}
	return best, best.IsValid()
}

// commonBits is the length of the prefix that a and b share.
func commonBits(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			n := i * 8
			for d&0x80 == 0 {
				n++
				d <<= 1
			}
			return n
		}
	}
	return 128
}
