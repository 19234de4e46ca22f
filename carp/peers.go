package carp

import (
	"net/netip"
	"slices"
	"sync/atomic"
)

// Unicast peers (bsd-carp-spec §5): a group given peers sends its adverts
// to each of them instead of to the multicast group, and accepts adverts
// from them only. The HMAC is the same as in multicast mode (neither
// kernel's covers the destination), and the TTL or hop limit stays 255 on
// both sides (OpenBSD requires it even for unicast).

// peerSet is the sources a validator accepts, without zones; nil: any.
type peerSet struct {
	addrs []netip.Addr
}

func newPeerSet(peers []netip.Addr) *peerSet {
	if len(peers) == 0 {
		return nil
	}
	s := &peerSet{addrs: make([]netip.Addr, 0, len(peers))}
	for _, p := range peers {
		s.addrs = append(s.addrs, p.WithZone(""))
	}
	return s
}

// has reports whether src, without its zone, is one of the peers.
func (s *peerSet) has(src netip.Addr) bool {
	return slices.Contains(s.addrs, src.WithZone(""))
}

// peerFilter is what a validator keeps of its peers: it is set by the
// group's loop (a reload changes the peers in place) while the reader
// checks packets, hence the atomic pointer.
type peerFilter struct {
	p atomic.Pointer[peerSet]
}

// set replaces the peers; none turns unicast mode off.
func (f *peerFilter) set(peers []netip.Addr) { f.p.Store(newPeerSet(peers)) }

// check is the unicast test of a received advert from src to dst: with
// peers, a source that is not one of them is DropNotPeer, and the
// destination may be the group or a unicast address (the kernel hands
// the socket only those of this host); without, the destination must be
// the group, as ucarp requires. ok is true when the packet passes.
func (f *peerFilter) check(src, dst, group netip.Addr) (Drop, bool) {
	s := f.p.Load()
	if s == nil {
		if dst.IsValid() && dst.WithZone("") != group {
			return Drop{Reason: DropOtherGroup, Dst: dst}, false
		}
		return Drop{}, true
	}
	if !s.has(src) {
		return Drop{Reason: DropNotPeer, Src: src.WithZone("")}, false
	}
	if dst.IsValid() && dst.WithZone("") != group && dst.IsMulticast() {
		return Drop{Reason: DropOtherGroup, Dst: dst}, false
	}
	return Drop{}, true
}

// SetPeers makes the validator accept adverts only from peers (unicast
// mode), addressed to the group or to this host; no peers restore
// ucarp's rule (the group only). Safe to call while Check runs on
// another goroutine.
func (v *Validator) SetPeers(peers []netip.Addr) { v.peers.set(peers) }

// SetPeers is Validator.SetPeers for IPv6.
func (v *Validator6) SetPeers(peers []netip.Addr) { v.peers.set(peers) }
