package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vrrp"
)

// This file runs a VRRPv3 group (issue 18) on the group's loop: the loop
// drives a machine through the small interface below, the CARP machine
// itself or vrrpMachine, which wraps a vrrp.Machine and speaks the loop's
// language (carp.Event in, carp.Action out), so that scripts, addresses,
// announcements, demotion, status and reload are the same code for both
// protocols.

// Protocol is the protocol a group speaks.
type Protocol uint8

// Protocols. The names are those of --protocol and the config key.
const (
	ProtocolCARP  Protocol = iota // carp
	ProtocolVRRP3                 // vrrp3
)

func (p Protocol) String() string {
	switch p {
	case ProtocolCARP:
		return "carp"
	case ProtocolVRRP3:
		return "vrrp3"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// ParseProtocol reads a protocol name.
func ParseProtocol(s string) (Protocol, bool) {
	for p := ProtocolCARP; p <= ProtocolVRRP3; p++ {
		if p.String() == s {
			return p, true
		}
	}
	return 0, false
}

// ChecksumMode is how a VRRPv3 IPv4 group picks the form of its adverts'
// checksum (vrrp.ChecksumForm; over IPv6 there is one form). It accepts
// both forms whatever the mode. The names are those of --vrrp-checksum
// and the config key.
type ChecksumMode uint8

// Checksum modes.
const (
	// ChecksumAuto sends RFC 9568's IPv4 form, the message alone, until
	// a valid advert from another router of the group is heard, then the
	// form that router uses: keepalived 2.2.7 and FRR 8.4 send and
	// require the pseudo-header form (RFC 5798 as they read it), and
	// routers that require different forms would both become MASTER.
	ChecksumAuto ChecksumMode = iota
	// ChecksumForceMessageOnly always sends the message-only form.
	ChecksumForceMessageOnly
	// ChecksumForcePseudoHeader always sends the pseudo-header form.
	ChecksumForcePseudoHeader
)

func (m ChecksumMode) String() string {
	switch m {
	case ChecksumAuto:
		return "auto"
	case ChecksumForceMessageOnly:
		return "message-only"
	case ChecksumForcePseudoHeader:
		return "pseudo-header"
	}
	return fmt.Sprintf("ChecksumMode(%d)", uint8(m))
}

// ParseChecksumMode reads a checksum mode's name.
func ParseChecksumMode(s string) (ChecksumMode, bool) {
	for m := ChecksumAuto; m <= ChecksumForcePseudoHeader; m++ {
		if m.String() == s {
			return m, true
		}
	}
	return 0, false
}

// initialForm is the form a group of mode m sends first.
func (m ChecksumMode) initialForm() vrrp.ChecksumForm {
	if m == ChecksumForcePseudoHeader {
		return vrrp.ChecksumPseudoHeader
	}
	return vrrp.ChecksumMessageOnly
}

// learnForm follows, in ChecksumAuto, the checksum form of a valid IPv4
// advert of another router of the group, logging each switch.
func (d *Group) learnForm(src netip.Addr, form vrrp.ChecksumForm) {
	if d.cfg.Checksum != ChecksumAuto || d.cfg.IPv6() || form == d.vform {
		return
	}
	d.vform = form
	what := "the message-only checksum (RFC 9568)"
	if form == vrrp.ChecksumPseudoHeader {
		what = "the pseudo-header checksum (RFC 5798 as keepalived/FRR read it)"
	}
	d.log.Infof("VRRPv3 peer %v uses %s: sending that form", src, what)
}

// machine is what the loop drives: *carp.Machine, or *vrrpMachine.
type machine interface {
	Handle(now time.Time, ev carp.Event, out []carp.Action) []carp.Action
	State() carp.State
	SetDemotion(now time.Time, level int, out []carp.Action) []carp.Action
	Demotion() int
}

// ID identifies a group in a process: its interface, vhid, protocol and,
// for VRRPv3, family (IPv4 VRID 1 and IPv6 VRID 1 are two virtual routers,
// beside CARP's vhid 1). config and node use it as their ID.
type ID struct {
	Interface string
	VHID      uint8
	Protocol  Protocol
	IPv6      bool
}

// String formats id as "eth0 vhid 3", "eth0 vrrp3 vhid 3" or "eth0 vrrp3
// vhid 3 ipv6".
func (id ID) String() string {
	if id.Protocol == ProtocolCARP {
		return fmt.Sprintf("%s vhid %d", id.Interface, id.VHID)
	}
	s := fmt.Sprintf("%s %s vhid %d", id.Interface, id.Protocol, id.VHID)
	if id.IPv6 {
		s += " ipv6"
	}
	return s
}

// IPv6 reports whether a VRRPv3 group is an IPv6 virtual router: its
// addresses are of one family (config checks it), that of the first.
func (c *Config) IPv6() bool { return c.Protocol == ProtocolVRRP3 && c.Addr.Addr().Is6() }

// vrrpConfig is the vrrp.Machine's part of c; src is the primary address
// (the IPv6 link-local address for an IPv6 virtual router).
func vrrpConfig(c *Config, src netip.Addr) vrrp.Config {
	return vrrp.Config{VRID: c.VHID, Priority: c.Priority, Interval: c.AdvertInterval, NoPreempt: c.NoPreempt,
		PreemptDelay: c.PreemptDelay, Src: src}
}

// vrrpAdvertEvent carries a VRRPv3 advert in a carp.Event: the priority
// and the interval travel in Counter (vrrpMachine unpacks them).
func vrrpAdvertEvent(src netip.Addr, a *vrrp.Advert) carp.Event {
	return carp.Event{Kind: carp.EventAdvert, Src: src, Counter: uint64(a.Priority)<<16 | uint64(a.MaxAdvertInterval)}
}

// vrrpSend carries a VRRPv3 advert to send in a carp.Action: the
// priority in AdvSkew, the interval in Counter (Group.sendVRRP reads them).
func vrrpSend(priority uint8, interval uint16) carp.Action {
	return carp.Action{Kind: carp.ActionSendAdvert, Advert: carp.Header{Version: vrrp.Version,
		Type: vrrp.TypeAdvertisement, AdvSkew: priority, Counter: uint64(interval)}}
}

// vrrpMachine is a vrrp.Machine as the loop drives a machine. It adds
// what the daemon does around the RFC's machine, as the CARP machine
// does: the scripts and the address on each transition, the carrier (a
// lost carrier leaves the election without an advert, its return starts
// it again), SIGUSR2's demotion (a MASTER leaves with a priority-0
// advert and stays out for the hold time) and the persistent demotion,
// which lowers the advertised priority (never to 0, which means leaving).
type vrrpMachine struct {
	m                              *vrrp.Machine
	manageVIP, downScript, neutral bool
	state                          carp.State // as the loop sees it
	started, linkDown, held        bool
	demotion                       int
	vout                           []vrrp.Action
}

func newVRRPMachine(c *Config, manageVIP bool, src netip.Addr) (*vrrpMachine, error) {
	if !src.IsValid() && !c.IPv6() {
		// Only an IPv6 router waits for its primary address (SetSrc6).
		return nil, errors.New("group: a VRRPv3 IPv4 group needs its source address")
	}
	m, err := vrrp.NewMachine(vrrpConfig(c, src))
	if err != nil {
		return nil, err
	}
	return &vrrpMachine{m: m, manageVIP: manageVIP, downScript: c.DownScript != "", neutral: c.Neutral}, nil
}

func (v *vrrpMachine) State() carp.State { return v.state }
func (v *vrrpMachine) Demotion() int     { return v.demotion }

// Priority is the priority advertised now.
func (v *vrrpMachine) Priority() uint8 { return v.m.Priority() }

// priority is the configured priority lowered by the demotion, at least 1;
// an owner's (255) is not lowered.
func (v *vrrpMachine) priority() uint8 {
	p := int(v.m.Config().Priority)
	if p == vrrp.OwnerPriority {
		return vrrp.OwnerPriority
	}
	return uint8(max(1, p-v.demotion))
}

// SetDemotion lowers the advertised priority by level (see priority).
func (v *vrrpMachine) SetDemotion(now time.Time, level int, out []carp.Action) []carp.Action {
	v.demotion = max(0, min(level, carp.MaxDemotion))
	return v.run(now, vrrp.PriorityEvent(v.priority()), out)
}

// Reconfigure changes priority, interval, preemption and the primary
// address in place. A group created without its primary address (an
// IPv6 router before the interface's link-local address, which its
// caller gives with SetSrc6) starts the election once it has one.
func (v *vrrpMachine) Reconfigure(now time.Time, c *Config, manageVIP bool, src netip.Addr, out []carp.Action) ([]carp.Action, error) {
	acts, err := v.m.Reconfigure(now, vrrpConfig(c, src), v.vout[:0])
	if err != nil {
		return out, err
	}
	v.manageVIP, v.downScript, v.neutral = manageVIP, c.DownScript != "", c.Neutral
	out = v.convert(acts, out)
	out = v.run(now, vrrp.PriorityEvent(v.priority()), out)
	return v.restart(now, out), nil
}

func (v *vrrpMachine) Handle(now time.Time, ev carp.Event, out []carp.Action) []carp.Action {
	switch ev.Kind {
	case carp.EventStart:
		if v.started {
			return out
		}
		v.started = true
		if v.linkDown || v.held {
			return v.setState(carp.Backup, carp.ReasonStart, out)
		}
		return v.run(now, vrrp.Event{Kind: vrrp.EventStartup}, out)
	case carp.EventAdvert:
		return v.run(now, vrrp.Event{Kind: vrrp.EventAdvert, Src: ev.Src,
			Priority: uint8(ev.Counter >> 16), Interval: uint16(ev.Counter)}, out)
	case carp.EventTimer:
		switch ev.Timer {
		case carp.TimerAdvert:
			return v.run(now, vrrp.TimerEvent(vrrp.TimerAdver), out)
		case carp.TimerMasterDown:
			return v.run(now, vrrp.TimerEvent(vrrp.TimerMasterDown), out)
		case carp.TimerHold:
			v.held = false
			out = append(out, carp.Action{Kind: carp.ActionLog, Level: carp.LevelInfo, Msg: carp.MsgDemotionOver})
			return v.restart(now, out)
		}
	case carp.EventLinkDown:
		if v.linkDown {
			return out
		}
		v.linkDown = true
		out = append(out, carp.Action{Kind: carp.ActionLog, Level: carp.LevelWarning, Msg: carp.MsgCarrierLost})
		return v.leave(now, false, carp.Backup, carp.ReasonCarrierLost, out)
	case carp.EventLinkUp:
		if !v.linkDown {
			return out
		}
		v.linkDown = false
		out = append(out, carp.Action{Kind: carp.ActionLog, Level: carp.LevelInfo, Msg: carp.MsgCarrierBack})
		return v.restart(now, out)
	case carp.EventDemote:
		if v.state != carp.Master {
			return out
		}
		out = v.leave(now, true, carp.Backup, carp.ReasonDemote, out)
		out = append(out, carp.Action{Kind: carp.ActionLog, Level: carp.LevelInfo, Msg: carp.MsgDemoted})
		v.held = true
		return append(out, carp.Action{Kind: carp.ActionArmTimer, Timer: carp.TimerHold, At: now.Add(carp.DefaultDemoteHold)})
	case carp.EventRelease:
		v.started = false
		if v.held {
			v.held = false
			out = append(out, carp.Action{Kind: carp.ActionStopTimer, Timer: carp.TimerHold})
		}
		if v.state == carp.Master {
			out = v.leave(now, v.manageVIP || ev.RunDownScript && v.downScript, carp.Init, carp.ReasonShutdown, out)
			if ev.RunDownScript {
				out = append(out, carp.Action{Kind: carp.ActionRunScript, Script: carp.ScriptDown, From: carp.Master, To: carp.Init, Reason: carp.ReasonShutdown})
			}
			if v.manageVIP {
				out = append(out, carp.Action{Kind: carp.ActionRemoveVIP})
			}
			return out
		}
		out = v.leave(now, false, carp.Init, carp.ReasonShutdown, out)
	}
	return out
}

// restart starts the RFC machine again after a carrier loss or a
// demotion, if the group runs.
func (v *vrrpMachine) restart(now time.Time, out []carp.Action) []carp.Action {
	if !v.started || v.linkDown || v.held || v.m.State() != vrrp.Initialize {
		return out
	}
	return v.run(now, vrrp.Event{Kind: vrrp.EventStartup}, out)
}

// leave stops the RFC machine (Shutdown: a MASTER's priority-0 advert,
// sent only if advert is set) and moves the loop's state to `to`. Going
// to INIT (a release) the caller adds the down script and the address.
func (v *vrrpMachine) leave(now time.Time, advert bool, to carp.State, reason carp.Reason, out []carp.Action) []carp.Action {
	acts := v.m.Handle(now, vrrp.Event{Kind: vrrp.EventShutdown}, v.vout[:0])
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActionSendAdvert:
			if advert {
				out = append(out, vrrpSend(a.Priority, a.Interval))
			}
		case vrrp.ActionStopTimer:
			out = append(out, carp.Action{Kind: carp.ActionStopTimer, Timer: carpTimer(a.Timer)})
		}
	}
	v.vout = acts
	if to == carp.Init {
		v.state = carp.Init
		return out
	}
	return v.setState(to, reason, out)
}

func (v *vrrpMachine) run(now time.Time, ev vrrp.Event, out []carp.Action) []carp.Action {
	acts := v.m.Handle(now, ev, v.vout[:0])
	out = v.convert(acts, out)
	v.vout = acts
	return out
}

func (v *vrrpMachine) convert(acts []vrrp.Action, out []carp.Action) []carp.Action {
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActionSendAdvert:
			out = append(out, vrrpSend(a.Priority, a.Interval))
		case vrrp.ActionTransition:
			if a.To != vrrp.Initialize {
				out = v.setState(carp.State(a.To), carpReason(a.Reason), out)
			}
		case vrrp.ActionAnnounce:
			if v.state == carp.Master {
				out = append(out, carp.Action{Kind: carp.ActionAnnounce})
			}
		case vrrp.ActionArmTimer:
			out = append(out, carp.Action{Kind: carp.ActionArmTimer, Timer: carpTimer(a.Timer), At: a.At})
		case vrrp.ActionStopTimer:
			out = append(out, carp.Action{Kind: carp.ActionStopTimer, Timer: carpTimer(a.Timer)})
		}
	}
	return out
}

// setState is carp.Machine's: the line, the scripts and the address of
// a change of state (none for a state the loop is in already: a restart
// after a carrier loss goes INIT → BACKUP inside the RFC machine only).
func (v *vrrpMachine) setState(to carp.State, reason carp.Reason, out []carp.Action) []carp.Action {
	from := v.state
	if from == to {
		return out
	}
	out = append(out, carp.Action{Kind: carp.ActionLog, Level: carp.LevelWarning, Msg: carp.MsgSwitchState, From: from, To: to, Reason: reason})
	switch to {
	case carp.Backup:
		if from != carp.Init || !v.neutral {
			out = append(out, carp.Action{Kind: carp.ActionRunScript, Script: carp.ScriptDown, From: from, To: to, Reason: reason})
		}
		if from == carp.Master && v.manageVIP {
			out = append(out, carp.Action{Kind: carp.ActionRemoveVIP})
		}
	case carp.Master:
		if v.manageVIP {
			out = append(out, carp.Action{Kind: carp.ActionAddVIP})
		}
		// The announcement follows with the RFC machine's ActionAnnounce.
		out = append(out, carp.Action{Kind: carp.ActionRunScript, Script: carp.ScriptUp, From: from, To: to, Reason: reason})
	}
	v.state = to
	return out
}

func carpTimer(t vrrp.Timer) carp.Timer {
	if t == vrrp.TimerAdver {
		return carp.TimerAdvert
	}
	return carp.TimerMasterDown
}

// carpReason is the shared word for a reason of the RFC machine.
func carpReason(r vrrp.Reason) carp.Reason {
	switch r {
	case vrrp.ReasonStartup:
		return carp.ReasonStart
	case vrrp.ReasonOwner:
		return carp.ReasonOwner
	case vrrp.ReasonMasterDown:
		return carp.ReasonMasterDown
	case vrrp.ReasonMasterLeft:
		return carp.ReasonMasterLeft
	case vrrp.ReasonHigherPriority:
		return carp.ReasonHigherPriority
	case vrrp.ReasonHigherAddress:
		return carp.ReasonHigherAddress
	case vrrp.ReasonShutdown:
		return carp.ReasonShutdown
	}
	return carp.ReasonNone
}

// The reasons a VRRPv3 group drops a packet: vrrp.DropReason's, then the
// group's own.
const (
	vrrpDropOwn       = int(vrrp.NumDropReasons) + iota // own-advert: looped back
	vrrpDropOtherVRID                                   // other-vrid
	vrrpDropHopLimit                                    // bad-hop-limit (IPv6)
	vrrpDropFamily                                      // other-family: an IPv4 advert for an IPv6 group or back
	vrrpDropNotPeer                                     // not-peer: a group with unicast peers heard another router
	numVRRPDrops
)

func vrrpDropName(r int) string {
	switch r {
	case vrrpDropOwn:
		return "own-advert"
	case vrrpDropOtherVRID:
		return "other-vrid"
	case vrrpDropHopLimit:
		return "bad-hop-limit"
	case vrrpDropFamily:
		return "other-family"
	case vrrpDropNotPeer:
		return "not-peer"
	}
	return vrrp.DropReason(r).String()
}

// vrrpView is what the reader's checkVRRP needs of a VRRPv3 group's
// config and link-local address, which the loop changes (Reconfigure,
// SetSrc6): the loop stores a new one, the reader loads it.
type vrrpView struct {
	vrid uint8
	ipv6 bool
	own  netip.Addr // the primary address: the source of the own adverts
	// peers are the unicast peers without zones: with some, the
	// adverts of any other source are vrrpDropNotPeer.
	peers []netip.Addr
}

// setVRRPView stores the reader's view of c and src6; on the loop, or
// in New.
func (d *Group) setVRRPView(c *Config, src6 netip.Addr) {
	v := &vrrpView{vrid: c.VHID, ipv6: c.IPv6(), own: c.Src}
	if v.ipv6 {
		v.own = src6
	}
	for _, p := range c.Peers {
		v.peers = append(v.peers, p.WithZone(""))
	}
	d.vview.Store(v)
}

// checkVRRP decodes a VRRPv3 packet (IP header included) for the group.
func (d *Group) checkVRRP(pkt []byte, r *received) int {
	view := d.vview.Load()
	v6 := view.ipv6
	var a *vrrp.Advert
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		if !v6 {
			return vrrpDropFamily
		}
		if len(pkt) < carp.IPv6HeaderLen {
			return int(vrrp.DropShort)
		}
		if pkt[6] != vrrp.IPProtocol {
			return int(vrrp.DropNotVRRP)
		}
		if pkt[7] != vrrp.TTL {
			return vrrpDropHopLimit
		}
		r.src = netip.AddrFrom16([16]byte(pkt[8:24]))
		dst := netip.AddrFrom16([16]byte(pkt[24:40]))
		end := min(len(pkt), carp.IPv6HeaderLen+int(binary.BigEndian.Uint16(pkt[4:6])))
		if _, err := d.vadv.Unmarshal(pkt[carp.IPv6HeaderLen:end], r.src, dst); err != nil {
			return vrrpDropOf(err)
		}
		a = &d.vadv
		if r.src == view.own {
			return vrrpDropOwn
		}
	} else {
		if v6 {
			return vrrpDropFamily
		}
		if err := d.vpkt.UnmarshalBinary(pkt); err != nil {
			return vrrpDropOf(err)
		}
		r.src = d.vpkt.Src
		r.form = d.vpkt.Form
		a = &d.vpkt.Advert
		if r.src == view.own {
			return vrrpDropOwn
		}
	}
	if a.VRID != view.vrid {
		return vrrpDropOtherVRID
	}
	// Unicast peers (keepalived's unicast_peer with check_unicast_src):
	// only the listed routers take part, whatever the destination, the
	// group or this host (the kernel hands the socket only those).
	if len(view.peers) > 0 && !slices.Contains(view.peers, r.src.WithZone("")) {
		return vrrpDropNotPeer
	}
	r.vrrp = vrrpAdvertEvent(r.src, a)
	return -1
}

func vrrpDropOf(err error) int {
	var r vrrp.DropReason
	if errors.As(err, &r) {
		return int(r)
	}
	return int(vrrp.DropShort)
}

// sendVRRP sends a VRRPv3 advert of the group's addresses, in the
// group's current checksum form over IPv4 (d.vform), from the link-local
// address to ff02::12 over IPv6. A group with unicast peers (all of its
// family: config.CheckPeers) sends the advert to each peer instead, with
// the same TTL/hop limit 255 and the checksum computed over the peer's
// address; as with CARP's peers, the advert failed only if it reached
// none of them.
func (d *Group) sendVRRP(a carp.Action) error {
	d.log.Debugf("-> vrrp_send_advert()")
	adv := vrrp.Advert{Version: vrrp.Version, Type: vrrp.TypeAdvertisement, VRID: d.cfg.VHID,
		Priority: a.Advert.AdvSkew, MaxAdvertInterval: uint16(a.Advert.Counter), Addrs: d.vaddrs}
	group := d.cfg.Mcast
	if d.cfg.IPv6() {
		group = vrrp.GroupIPv6
	}
	var err error
	if len(d.cfg.Peers) == 0 {
		err = d.writeVRRP(&adv, group)
	} else {
		var fails peerFails
		for _, peer := range d.cfg.Peers {
			fails.add(peer, d.writeVRRP(&adv, peer.WithZone("")))
		}
		err = d.peerResult(&fails)
	}
	if err != nil {
		d.stats.sendErrors++
		d.log.Warnf("write() has failed: %s", strerror(err))
		return err
	}
	d.stats.sent++
	return nil
}

// writeVRRP writes adv to dst, a multicast group or a peer: over IPv6
// from the link-local address (the primary address, which the peers
// list and compare), over IPv4 from the source address.
func (d *Group) writeVRRP(adv *vrrp.Advert, dst netip.Addr) error {
	var err error
	if d.cfg.IPv6() {
		b := binary.BigEndian.AppendUint32(d.buf[:0], 6<<28|uint32(vrrp.TOS)<<20)
		b = binary.BigEndian.AppendUint16(b, uint16(adv.Len(true)))
		b = append(b, vrrp.IPProtocol, vrrp.TTL)
		s, t := d.src6.As16(), dst.As16()
		b = append(b, s[:]...)
		b = append(b, t[:]...)
		if b, err = adv.Append(b, d.src6, dst, vrrp.ChecksumPseudoHeader); err == nil {
			d.buf = b
			err = d.conn6.WritePacket(b)
		}
		return err
	}
	p := vrrp.NewPacket(d.cfg.Src, dst, uint16(d.random()), *adv, d.vform)
	if d.buf, err = p.AppendBinary(d.buf[:0]); err == nil {
		err = d.conn.WritePacket(d.buf)
	}
	return err
}

// vrrpAddrs are the addresses a VRRPv3 group advertises, in order. Over
// IPv6, RFC 9568 puts a link-local address first (§5.2.9): a group whose
// addresses have none advertises them as they are, which keepalived and
// FRR accept.
func vrrpAddrs(c *Config) []netip.Addr {
	var as []netip.Addr
	for _, p := range c.addrs() {
		as = append(as, p.Addr())
	}
	return as
}

// foreignName is the drop counter of isForeign's packets.
const foreignName = "vrrpv2-or-foreign"

// isForeign reports whether an IPv4 packet of protocol 112 is a VRRPv2
// advert rather than CARP's: both begin with 0x21, and they are told
// apart by length only. A VRRPv2 advert is 16 + 4 × count bytes (count in
// byte 3, where CARP has its authlen, 7); a CARP advert is 36 bytes, or
// 84 with the authentication trailer, and with its 7 in byte 3 would
// have to be 44 to pass for VRRPv2. Any count goes, 7 included (a VRRPv2
// advert of 7 addresses is 44 bytes). The socket filter (carp/filter.go)
// drops every packet shorter than the IPv4 header and 36 bytes before
// this runs, so the VRRPv2 adverts counted here have 5 addresses or more.
func isForeign(pkt []byte) bool {
	if len(pkt) < carp.IPv4HeaderLen || pkt[0]>>4 != 4 {
		return false
	}
	hl := int(pkt[0]&0x0f) * 4
	if hl < carp.IPv4HeaderLen || len(pkt) < hl+4 || pkt[hl]>>4 != carp.Version {
		return false
	}
	return len(pkt)-hl == 16+4*int(pkt[hl+3])
}

// heardVRRP keeps the VRRPv3 peer of ev for Status.
func (d *Group) heardVRRP(now time.Time, src netip.Addr, ev carp.Event) {
	h := carp.Header{AdvSkew: uint8(ev.Counter >> 16)}
	d.heard(now, src, &h)
	d.peers[len(d.peers)-1].Priority = uint8(ev.Counter >> 16)
	d.peers[len(d.peers)-1].Interval = uint16(ev.Counter)
	d.peers[len(d.peers)-1].AdvSkew = 0
}

// vrrpDrops adds a VRRPv3 group's drops, and a CARP group's foreign
// packets, to a counter map by name.
func (d *Group) vrrpDrops(add func(name string, n uint64)) {
	for r := 1; r < numVRRPDrops; r++ {
		if n := d.vdrops[r].Load(); n > 0 {
			add(vrrpDropName(r), n)
		}
	}
	if n := d.foreign.Load(); n > 0 {
		add(foreignName, n)
	}
}
