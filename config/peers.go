package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Unicast peers (issue 15): the peer key and --peer.

// ParsePeer reads one peer as the peer key and --peer take it: an IPv4
// or IPv6 address; a link-local IPv6 one may carry a zone, which must be
// the group's interface (checked by CheckPeers). It says what is wrong,
// or "".
func ParsePeer(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Sprintf("%q is not an IPv4 or IPv6 address", s)
	}
	if a.Zone() != "" && !a.IsLinkLocalUnicast() {
		return netip.Addr{}, fmt.Sprintf("%q: only a link-local IPv6 address takes a %%zone", s)
	}
	return a, ""
}

func setPeers(s *settings, v any) string {
	strs, msg := stringList(v, "the list of peers is empty (leave the key out for multicast)")
	if msg != "" {
		return msg
	}
	var peers []netip.Addr
	for _, str := range strs {
		a, msg := ParsePeer(str)
		if msg != "" {
			return msg
		}
		peers = append(peers, a)
	}
	s.peers.val, s.peers.set = peers, true
	return ""
}

// CheckPeers says what is wrong with g's peers, or "": each must be a
// unicast address, listed once, of a family that g has an address in,
// neither srcip nor one of g's addresses, an IPv4 one without nomcast,
// and a link-local one's zone, if written, must be g's interface. The own source of IPv6 adverts (the
// link-local address) is known at start only: the group checks it then.
func CheckPeers(g Group) string {
	var v4, v6 bool
	for _, p := range g.Addrs() {
		v4 = v4 || p.Addr().Is4()
		v6 = v6 || p.Addr().Is6()
	}
	var msgs []string
	seen := map[netip.Addr]bool{}
	for _, p := range g.Peers {
		a := p.WithZone("")
		switch {
		case a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			msgs = append(msgs, fmt.Sprintf("peer %s is not a unicast address", p))
		case a.Is4In6():
			msgs = append(msgs, fmt.Sprintf("peer %s: write the IPv4 address as such", p))
		case a.IsLoopback():
			msgs = append(msgs, fmt.Sprintf("peer %s is a loopback address", p))
		case g.SrcIP.IsValid() && a == g.SrcIP:
			msgs = append(msgs, fmt.Sprintf("peer %s is this host's own source address (srcip)", p))
		case slices.ContainsFunc(g.Addrs(), func(v netip.Prefix) bool { return v.Addr() == a }):
			msgs = append(msgs, fmt.Sprintf("peer %s is one of the group's virtual addresses", p))
		case a.Is4() && !v4:
			msgs = append(msgs, fmt.Sprintf("peer %s is IPv4 but the group has no IPv4 address", p))
		case a.Is6() && !v6:
			msgs = append(msgs, fmt.Sprintf("peer %s is IPv6 but the group has no IPv6 address", p))
		case p.Zone() != "" && g.Interface != "" && p.Zone() != g.Interface:
			msgs = append(msgs, fmt.Sprintf("peer %s: the zone must be the group's interface %s", p, g.Interface))
		case a.Is4() && g.NoMcast:
			msgs = append(msgs, fmt.Sprintf("peer %s: nomcast sends every IPv4 advert as an Ethernet broadcast; leave it out with IPv4 peers", p))
		case seen[a]:
			msgs = append(msgs, fmt.Sprintf("peer %s is listed twice", p))
		}
		seen[a] = true
	}
	return strings.Join(msgs, "; ")
}

// VRRP3Peers says what is wrong with the unicast peers of a vrrp3 group
// beyond CheckPeers: an IPv6 virtual router's adverts come from its
// link-local address (its primary address), to its peers' link-local
// addresses, which are the sources it accepts.
func VRRP3Peers(peers []netip.Addr) string {
	for _, p := range peers {
		if p.Is6() && !p.IsLinkLocalUnicast() {
			return fmt.Sprintf("peer %s: a vrrp3 IPv6 group's peers are link-local addresses (VRRPv3 adverts come from the link-local address)", p)
		}
	}
	return ""
}
