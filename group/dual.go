package group

import (
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
)

// This file holds what a group with several addresses, IPv6 among them,
// adds to the group of one IPv4 address (issue 14): the address set, the
// families it advertises over, the IPv6 adverts and the announcements of
// every address.

// addrs is every virtual address of the group, the first first.
func (c *Config) addrs() []netip.Prefix {
	return append([]netip.Prefix{c.Addr}, c.MoreAddrs...)
}

// families are the families the group advertises over: those of its
// addresses (bsd-carp-spec §3.4).
func (c *Config) families() carp.Family {
	var f carp.Family
	for _, p := range c.addrs() {
		if p.Addr().Is4() {
			f |= carp.FamilyIPv4
		} else {
			f |= carp.FamilyIPv6
		}
	}
	return f
}

// vipsEnv is CARP_VIPS: every address, the first as written.
func (c *Config) vipsEnv() string {
	s := []string{c.AddrArg}
	for _, p := range c.MoreAddrs {
		s = append(s, p.Addr().String())
	}
	return strings.Join(s, " ")
}

// addrsText names the addresses in log lines: the one address as ucarp's
// lines name it, or all of them.
func (c *Config) addrsText() string {
	s := make([]string, 0, 1+len(c.MoreAddrs))
	for _, p := range c.addrs() {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

// hashed is the address set the HMAC covers.
func (c *Config) hashed() []netip.Addr {
	var as []netip.Addr
	for _, p := range c.addrs() {
		as = append(as, p.Addr())
	}
	return as
}

// vipSet manages every address of the group as one: a MASTER holds them
// all, nobody else holds any. Its State is Held when every address is
// held, Present and Ours when any is.
type vipSet struct {
	ms []*vip.Manager
}

func newVIPSet(sys vip.System, c *Config, lifetime time.Duration) *vipSet {
	s := &vipSet{}
	for _, p := range c.addrs() {
		label := vip.Label(c.Interface, c.VHID)
		if p.Addr().Is6() {
			label = "" // the kernel keeps no label on IPv6 addresses
		}
		s.ms = append(s.ms, vip.NewManager(sys, p, label, lifetime))
	}
	return s
}

// Address is the first address.
func (s *vipSet) Address() vip.Address { return s.ms[0].Address() }

// Ours reports whether a is the daemon's copy of one of the addresses.
func (s *vipSet) Ours(a vip.Address) bool {
	for _, m := range s.ms {
		if m.Ours(a) {
			return true
		}
	}
	return false
}

func (s *vipSet) fold(st *vip.State, one vip.State, first bool) {
	if first {
		st.Held = true
	}
	st.Present = st.Present || one.Present
	st.Held = st.Held && one.Held
	st.Ours = st.Ours || one.Ours
	st.Foreign = append(st.Foreign, one.Foreign...)
}

// Check looks every address up.
func (s *vipSet) Check() (vip.State, error) {
	var st vip.State
	for i, m := range s.ms {
		one, err := m.Check()
		if err != nil {
			return st, err
		}
		s.fold(&st, one, i == 0)
	}
	return st, nil
}

// Acquire acquires every address, each whatever became of the others
// (a MASTER holds what it can); added is true when one had to be added,
// err joins every address's error.
func (s *vipSet) Acquire() (added bool, took []vip.Address, err error) {
	var errs []error
	for _, m := range s.ms {
		a, t, err := m.Acquire()
		added = added || a
		took = append(took, t...)
		errs = append(errs, err)
	}
	return added, took, errors.Join(errs...)
}

// Refresh renews every address; err joins every address's error (one
// not renewed is not Held).
func (s *vipSet) Refresh() (vip.State, []vip.Address, error) {
	var st vip.State
	var took []vip.Address
	var errs []error
	for i, m := range s.ms {
		one, t, err := m.Refresh()
		took = append(took, t...)
		if err != nil {
			errs = append(errs, err)
			one.Held = false
		}
		s.fold(&st, one, i == 0)
	}
	return st, took, errors.Join(errs...)
}

// Release removes every copy of every address, each whatever became of
// the others (only the MASTER may hold any); err joins their errors.
func (s *vipSet) Release() ([]vip.Address, error) {
	var removed []vip.Address
	var errs []error
	for _, m := range s.ms {
		r, err := m.Release()
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// RemoveOurs removes the daemon's own copies of every address; err joins
// their errors.
func (s *vipSet) RemoveOurs() (bool, error) {
	var any bool
	var errs []error
	for _, m := range s.ms {
		r, err := m.RemoveOurs()
		any = any || r
		errs = append(errs, err)
	}
	return any, errors.Join(errs...)
}

// announcements are the frames that announce the addresses on takeover: a
// gratuitous ARP per IPv4 address, an unsolicited Neighbour Advertisement
// per IPv6 address (from src6, the interface's link-local address; none
// without one).
func announcements(c *Config, d *deps) ([][]byte, error) {
	var fs [][]byte
	for _, p := range c.addrs() {
		var f []byte
		var err error
		switch {
		case p.Addr().Is4():
			f, err = vip.GratuitousARP(d.mac, p.Addr())
		case d.src6.IsValid():
			f, err = vip.UnsolicitedNA(d.mac, d.src6, p.Addr(), false)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// announceBurst is the most frames an announcement sends at once: more
// addresses are spread over --garp-interval, so that a takeover of many
// addresses makes no burst that a switch would throttle.
const announceBurst = 16

// announceStep is the time between two bursts of one announcement round
// of n frames: the interval shared between its bursts.
func announceStep(n int, interval time.Duration) time.Duration {
	bursts := (n + announceBurst - 1) / announceBurst
	if bursts <= 1 {
		return 0
	}
	return interval / time.Duration(bursts)
}

// send6 sends the advert h, signed, over IPv6 to ff02::12 from the
// interface's link-local address, or to each IPv6 peer (unicast.go).
func (d *Group) send6(h carp.Header) error {
	if peers := d.cfg.peers6(); len(peers) > 0 {
		return d.sendPeers6(h, peers)
	}
	p := carp.NewPacket6(d.src6, carp.GroupIPv6, h)
	d.buf, _ = p.AppendBinary(d.buf[:0])
	var err error
	if d.buf, err = d.ext.sealIPv6(d.buf, time.Now()); err != nil {
		return err
	}
	return d.conn6.WritePacket(d.buf)
}

// check6 checks an IPv6 packet (header included, as an IPConn reads it).
func (d *Group) check6(pkt []byte, r *received) carp.Drop {
	if len(pkt) < carp.IPv6HeaderLen {
		return carp.Drop{Reason: carp.DropTooShort}
	}
	src := netip.AddrFrom16([16]byte(pkt[8:24]))
	dst := netip.AddrFrom16([16]byte(pkt[24:40]))
	if pkt[6] != carp.IPProtocol {
		return carp.Drop{Reason: carp.DropNotCARP}
	}
	v := d.val6.Load()
	if v == nil {
		// No IPv6 socket: a group without IPv6 addresses, which the
		// node hands no IPv6 packet (node's read6). A group that waits
		// for its link-local address has its validator (New, with no
		// source yet): it counts a peer's IPv6 adverts as what they
		// are, as it counts the IPv4 ones while it waits.
		return carp.Drop{Reason: carp.DropNotCARP}
	}
	r.src = src
	return v.Check(pkt[carp.IPv6HeaderLen:], src, dst, int(pkt[7]), &r.hdr)
}

// SetSrc6 gives the group the interface's IPv6 link-local address, the
// source of its IPv6 adverts and Neighbour Advertisements: when it comes
// after New (a group started before the interface had a carrier, hence
// a link-local address), and each time it changes (removed and added
// again, a new one after DAD). The election's own-source and tie rules,
// the validator and the announcements take it at once.
func (d *Group) SetSrc6(src netip.Addr) error {
	var err error
	d.inLoop(func() {
		if src == d.src6 || d.conn6 == nil {
			return
		}
		now := time.Now()
		var out []carp.Action
		if d.vm != nil {
			prim := d.cfg.Src
			if d.cfg.IPv6() {
				prim = src
			}
			out, err = d.vm.Reconfigure(now, d.cfg, d.addrs != nil, prim, d.out[:0])
		} else {
			if perr := d.cfg.checkPeers(src); perr != nil {
				d.log.Warnf("%s (the interface's link-local address is now %v): a reload with these peers will be refused", perr, src)
			}
			out, err = d.cm.Reconfigure(now, machineConfig(d.cfg, d.addrs != nil, d.random, src), d.out[:0])
		}
		if err != nil {
			return
		}
		d.src6 = src
		if d.vm != nil {
			d.setVRRPView(d.cfg, src)
		}
		v6 := carp.NewValidator6(src, carp.GroupIPv6, d.cfg.VHID, d.readAuth6)
		v6.SetPeers(d.cfg.peers6())
		d.val6.Store(v6)
		if d.arp != nil && len(d.mac) == 6 {
			if garp, aerr := announcements(d.cfg, &d.deps); aerr == nil {
				d.garp = garp
			}
		}
		for _, a := range out {
			d.apply(now, a)
		}
		d.out = out
	})
	return err
}
