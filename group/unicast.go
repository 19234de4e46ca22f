package group

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

// Unicast peers (issue 15, bsd-carp-spec §5): a group given peers sends
// each advert of a family to each peer of that family instead of to the
// multicast group (224.0.0.18, ff02::12), with the same HMAC and TTL 255,
// and accepts adverts from those peers only (carp.Validator.SetPeers). A
// family without peers stays multicast, as IPv6 does beside OpenBSD's
// IPv4-only carppeer. The announcements on takeover are unchanged.

// peers4 and peers6 are the peers of each family.
func (c *Config) peers4() []netip.Addr { return peersOf(c.Peers, true) }
func (c *Config) peers6() []netip.Addr { return peersOf(c.Peers, false) }

func peersOf(peers []netip.Addr, v4 bool) []netip.Addr {
	var out []netip.Addr
	for _, p := range peers {
		if p.Is4() == v4 {
			out = append(out, p)
		}
	}
	return out
}

// checkPeers says what is wrong with the peers: one that is not a
// unicast address, is this host's own source (src6 for IPv6), one of
// the group's addresses, or of a family the group has no address in.
// The config checks the same before a group is built (config.CheckPeers);
// this is the last word, with the link-local address known.
func (c *Config) checkPeers(src6 netip.Addr) error {
	fam := c.families()
	var errs []error
	for _, p := range c.Peers {
		a := p.WithZone("")
		switch {
		case !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a == netip.IPv4Unspecified() ||
			a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			errs = append(errs, fmt.Errorf("group: peer %v is not a unicast address", p))
		case a == c.Src || src6.IsValid() && a == src6.WithZone(""):
			errs = append(errs, fmt.Errorf("group: peer %v is this host's own source address", p))
		case a.Is4() && fam&carp.FamilyIPv4 == 0 || a.Is6() && fam&carp.FamilyIPv6 == 0:
			errs = append(errs, fmt.Errorf("group: peer %v: the group has no address of its family", p))
		default:
			for _, v := range c.addrs() {
				if v.Addr() == a {
					errs = append(errs, fmt.Errorf("group: peer %v is one of the group's virtual addresses", p))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// setPeers hands each family's peers to its validator.
func (d *Group) setPeers(c *Config) {
	d.val.SetPeers(c.peers4())
	if v := d.val6.Load(); v != nil {
		v.SetPeers(c.peers6())
	}
}

// send4 sends the signed advert h over IPv4: to the multicast group, or
// to each IPv4 peer. With peers, the advert failed only if it reached
// none of them (the error is then the first peer's); a peer that cannot
// be reached while another can is counted and logged (peerFailed), as
// OpenBSD does not count EHOSTDOWN from a unicast peer against the
// master (bsd-carp-spec §5.2).
func (d *Group) send4(h carp.Header) error {
	peers := d.cfg.peers4()
	if len(peers) == 0 {
		p := carp.NewPacket(d.cfg.Src, d.cfg.Mcast, uint16(d.random()), h)
		d.buf, _ = p.AppendBinary(d.buf[:0])
		var err error
		if d.buf, err = d.ext.sealIPv4(d.buf, time.Now()); err != nil {
			return err
		}
		return d.conn.WritePacket(d.buf)
	}
	var fails peerFails
	for _, peer := range peers {
		p := carp.NewPacket(d.cfg.Src, peer, uint16(d.random()), h)
		d.buf, _ = p.AppendBinary(d.buf[:0])
		var err error
		if d.buf, err = d.ext.sealIPv4(d.buf, time.Now()); err == nil {
			err = d.conn.WritePacket(d.buf)
		}
		fails.add(peer, err)
	}
	return d.peerResult(&fails)
}

// peerFails collects the outcome of sending one advert to each peer of a
// family.
type peerFails struct {
	sent  int
	first error
	peers []netip.Addr
	errs  []error
}

func (f *peerFails) add(peer netip.Addr, err error) {
	if err == nil {
		f.sent++
		return
	}
	if f.first == nil {
		f.first = err
	}
	f.peers = append(f.peers, peer)
	f.errs = append(f.errs, err)
}

// peerResult counts the peers that an advert did not reach and returns
// the advert's error: nil if it reached at least one peer. The lines
// about the peers are rate-limited; when every peer failed, send logs
// the failure instead.
func (d *Group) peerResult(f *peerFails) error {
	d.stats.peerSendErrors += uint64(len(f.errs))
	if f.sent == 0 {
		return f.first
	}
	for i, peer := range f.peers {
		if d.peerLimit.allow(time.Now()) {
			d.log.Warnf("Cannot send the advert to peer %v (sent to the other peers): %s", peer, strerror(f.errs[i]))
		}
	}
	return nil
}

// flushPeerLimit reports the peer lines left out since the last report.
func (d *Group) flushPeerLimit() {
	if n := d.peerLimit.suppressed; n > 0 {
		d.peerLimit.suppressed = 0
		d.log.Warnf("%d more adverts not sent to a peer in the last %v (log lines rate-limited)", n, flushEvery)
	}
}

// own6 is this host's source toward src when it is a global IPv6 peer
// (the address its unicast adverts to src come from), for the tie-break
// of equal masters: src compares itself with what it sees of this host.
// Unset otherwise (the machine uses Src6).
func (d *Group) own6(src netip.Addr) netip.Addr {
	if !src.Is6() || src.IsLinkLocalUnicast() || d.source6 == nil || !slices.ContainsFunc(d.cfg.Peers, netip.Addr.Is6) {
		return netip.Addr{}
	}
	own, ok := d.source6(src.WithZone(""))
	if !ok {
		return netip.Addr{}
	}
	return own
}

// errNoSource6 is a global IPv6 peer that no address of the interface
// can reach.
var errNoSource6 = errors.New("no global IPv6 address on the interface to send from")

// sendPeers6 sends the signed advert h to each IPv6 peer: from the
// link-local address to a link-local peer (the socket adds the
// interface's zone), from a global address of the interface
// (Deps.Source6) to a global one, so that the peer sees the source it
// lists. As with send4, the advert failed only if no peer was reached.
func (d *Group) sendPeers6(h carp.Header, peers []netip.Addr) error {
	var fails peerFails
	for _, peer := range peers {
		src := d.src6
		if !peer.IsLinkLocalUnicast() {
			var ok bool
			if d.source6 != nil {
				src, ok = d.source6(peer)
			}
			if !ok {
				fails.add(peer, fmt.Errorf("%w to reach %v", errNoSource6, peer))
				continue
			}
		}
		p := carp.NewPacket6(src, peer.WithZone(""), h)
		d.buf, _ = p.AppendBinary(d.buf[:0])
		var err error
		if d.buf, err = d.ext.sealIPv6(d.buf, time.Now()); err == nil {
			err = d.conn6.WritePacket(d.buf)
		}
		fails.add(peer, err)
	}
	return d.peerResult(&fails)
}
