package node

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
)

// The node is the control plane's backend.
var _ control.SyncBackend = (*Node)(nil)

// GroupName is the group's name in the control plane: Spec.Name, or IF-VHID.
func (s Spec) GroupName() string {
	if s.Name != "" {
		return s.Name
	}
	if s.Config.Protocol == group.ProtocolVRRP3 {
		if s.Config.IPv6() {
			return fmt.Sprintf("%s-vrrp3-%d-ipv6", s.Config.Interface, s.Config.VHID)
		}
		return fmt.Sprintf("%s-vrrp3-%d", s.Config.Interface, s.Config.VHID)
	}
	return fmt.Sprintf("%s-%d", s.Config.Interface, s.Config.VHID)
}

// Status is every group as the control plane says it, by interface and
// vhid.
func (n *Node) Status() []control.Group {
	ms := n.members()
	probes := n.probeStatus()
	out := make([]control.Group, 0, len(ms))
	for _, m := range ms {
		st := m.g.Status()
		g := wireGroup(m.spec, st)
		g.Probes = wireProbes(m.spec, probes)
		g.SyncGroup = m.spec.SyncGroup
		if held, until, healthy := n.dem.holdStatus(m.g); held {
			g.HoldDown = &control.HoldDown{Until: until, UntilHealthy: healthy}
		}
		if st.Maintenance.On || st.Maintenance.Phase != group.MaintOff {
			g.Maintenance = wireMaintenance(st.Maintenance, n.isPersistent(g.Name))
		}
		g.Auth = wireAuth(st.Auth)
		if m.vmac != nil {
			g.VMAC, g.VMACLost = m.spec.Config.VMAC, m.vmac.lost.Load()
		}
		out = append(out, g)
	}
	return out
}

// wireAuth is the control plane's view of --auth; nil for plain CARP.
func wireAuth(a group.AuthStatus) *control.Auth {
	if a.Mode == "" || a.Mode == "off" {
		return nil
	}
	w := &control.Auth{Mode: a.Mode, Keys: slices.Clone(a.KeyIDs), ReplayWindow: a.Window.Seconds(), Senders: a.Senders,
		Accepted: maps.Clone(a.Accepted), Dropped: maps.Clone(a.Dropped)}
	if a.KeyID >= 0 {
		id := a.KeyID
		w.SendKey = &id
	}
	return w
}

func stateName(s carp.State) string {
	switch s {
	case carp.Master:
		return control.StateMaster
	case carp.Backup:
		return control.StateBackup
	}
	return control.StateInit
}

func wireGroup(spec Spec, s group.Status) control.Group {
	g := control.Group{
		Name: spec.GroupName(), Interface: s.Interface, VHID: s.VHID, Protocol: s.Protocol.String(),
		State: stateName(s.State), Since: s.Since, Reason: s.Reason.String(),
		Addresses: wireAddrs(s),
		Timing: control.Timing{AdvBase: s.AdvBase, AdvSkew: s.AdvSkew, Demotion: s.Demotion,
			Demotions: map[string]int{}, DeadTimeMS: s.DeadTime.Milliseconds(),
			Priority: s.Priority, AdvertIntervalCS: s.AdvertInterval, MasterAdverIntervalCS: s.MasterAdverInterval},
		Peers:       []control.Peer{},
		Transitions: []control.Transition{},
		Probes:      []control.Probe{},
		Counters: control.Counters{
			AdvertsSent: s.Counters.Sent, AdvertErrors: s.Counters.SendErrors, ValidReceived: s.Counters.Valid,
			Dropped: s.Counters.Dropped, GratuitousARPs: s.Counters.GARPs, GARPErrors: s.Counters.GARPErrors,
			Transitions: s.Counters.Transitions, ScriptsOK: s.Counters.ScriptsOK,
			ScriptsFailed: s.Counters.ScriptsFailed, ScriptsTimedOut: s.Counters.Timeouts,
			PeerSendErrors: s.Counters.PeerSendErrors,
		},
	}
	if c := s.LastConflict; !c.Time.IsZero() {
		g.LastConflict = &control.Conflict{Address: c.Addr, MAC: c.MAC, Time: c.Time}
	}
	for _, src := range control.DemotionSources {
		g.Timing.Demotions[src] = 0
	}
	maps.Copy(g.Timing.Demotions, s.Demotions)
	for _, p := range s.Peers {
		g.Peers = append(g.Peers, control.Peer{Source: p.Source, AdvBase: p.AdvBase, AdvSkew: p.AdvSkew,
			Demote: p.Demote, LastSeen: p.LastSeen, Counter: p.Counter, Priority: p.Priority, IntervalCS: p.Interval})
	}
	for _, t := range s.Transitions {
		g.Transitions = append(g.Transitions, control.Transition{Time: t.Time, From: stateName(t.From),
			To: stateName(t.To), Reason: t.Reason.String()})
	}
	g.UnicastPeers = s.UnicastPeers
	return g
}

// wireAddrs is every address of the group with whether it is on the
// interface.
func wireAddrs(s group.Status) []control.Address {
	if len(s.Addrs) == 0 { // a Status made by hand, of one address
		return []control.Address{{Prefix: s.Addr, Configured: s.AddrState == group.AddrConfigured}}
	}
	as := make([]control.Address, len(s.Addrs))
	for i, a := range s.Addrs {
		as[i] = control.Address{Prefix: a.Prefix, Configured: a.State == group.AddrConfigured, Conflicts: a.Conflicts}
	}
	return as
}

// byName finds the running group of that control-plane name.
func (n *Node) byName(name string) (*member, error) {
	for _, m := range n.members() {
		if m.spec.GroupName() == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("node: no group %q: %w", name, control.ErrNotFound)
}

// Explain says in a paragraph why the group is in its state.
func (n *Node) Explain(name string) (string, error) {
	m, err := n.byName(name)
	if err != nil {
		return "", err
	}
	why := whyDemoted{syncGroup: m.spec.SyncGroup, remoteSync: n.dem.remoteLevel(m.spec.SyncGroup)}
	why.held, why.holdUntil, why.untilHealthy = n.dem.holdStatus(m.g)
	return explainWhy(m.spec.GroupName(), m.g.Status(), time.Now(), why), nil
}

// whyDemoted is what explain says of the sources of a demotion beyond
// their levels.
type whyDemoted struct {
	syncGroup    string
	remoteSync   int // the sync group's level in other processes
	held         bool
	holdUntil    time.Time
	untilHealthy bool
}

// decidingSource is the source of the largest part of a demotion (the
// first of control.DemotionSources on a tie), and the others by level.
func decidingSource(levels map[string]int) (top string, rest []string) {
	order := slices.Clone(control.DemotionSources)
	for src := range levels {
		if !slices.Contains(order, src) {
			order = append(order, src)
		}
	}
	var srcs []string
	for _, src := range order {
		if levels[src] > 0 {
			srcs = append(srcs, src)
		}
	}
	slices.SortStableFunc(srcs, func(a, b string) int { return levels[b] - levels[a] })
	if len(srcs) == 0 {
		return "", nil
	}
	return srcs[0], srcs[1:]
}

// sourceText says what a source of demotion is.
func sourceText(src string, level int, why whyDemoted, now time.Time) string {
	switch src {
	case control.DemotionAdmin:
		return fmt.Sprintf("admin %d (ucarpctl demote; promote takes it back)", level)
	case control.DemotionHealth:
		return fmt.Sprintf("health %d (the weights of its probes that are not up)", level)
	case control.DemotionHoldDown:
		t := fmt.Sprintf("hold-down %d (the boot hold-down", level)
		if why.held {
			t += fmt.Sprintf(", %v more", why.holdUntil.Sub(now).Round(time.Second))
			if why.untilHealthy {
				t += " or until its probes are up"
			}
		}
		return t + ")"
	case group.DemotionMaintenance:
		return fmt.Sprintf("maintenance %d (ucarpctl maintenance on)", level)
	case control.DemotionSync:
		t := fmt.Sprintf("sync %d (another member of sync group %q failed", level, why.syncGroup)
		if why.remoteSync > 0 {
			t += fmt.Sprintf("; another process reports level %d", why.remoteSync)
		}
		return t + ")"
	}
	return fmt.Sprintf("%s %d", src, level)
}

func explain(name string, s group.Status, now time.Time) string {
	return explainWhy(name, s, now, whyDemoted{})
}

// skewText is an advert's timing as a person reads it.
func skewText(advbase uint8, skew int) string {
	return fmt.Sprintf("advbase %d, advskew %d (an advert every %v)", advbase, skew,
		carp.AdvertInterval(advbase, uint8(min(skew, 255))))
}

// addrsText names every address of the group with whether it is on the
// interface.
func addrsText(s group.Status) string {
	as := s.Addrs
	if len(as) == 0 && s.Addr.IsValid() {
		as = []group.AddrStatus{{Prefix: s.Addr, State: s.AddrState}}
	}
	if len(as) == 0 {
		return ""
	}
	var b strings.Builder
	if len(as) == 1 {
		b.WriteString("Its address: ")
	} else {
		fmt.Fprintf(&b, "Its %d addresses: ", len(as))
	}
	for i, a := range as {
		if i > 0 {
			b.WriteString(", ")
		}
		st := "unknown (the scripts manage it, or it could not be looked up)"
		switch a.State {
		case group.AddrConfigured:
			st = "configured"
		case group.AddrAbsent:
			st = "not configured"
		}
		fmt.Fprintf(&b, "%s %s", a.Prefix, st)
	}
	return b.String() + "."
}

// maintText says where a maintenance is.
func maintText(m group.Maintenance, now time.Time) string {
	since := ""
	if !m.Since.IsZero() {
		since = fmt.Sprintf(" since %s (%v ago)", m.Since.Format(time.RFC3339), now.Sub(m.Since).Round(time.Second))
	}
	switch {
	case m.Phase == group.MaintHandoff:
		return fmt.Sprintf("In maintenance%s: handing the address over, keeping it until a peer is MASTER and has announced it.", since)
	case m.Phase == group.MaintAnnouncement && m.Announced:
		return fmt.Sprintf("In maintenance%s: %s is MASTER and announced the address; letting it go.", since, m.Peer)
	case m.Phase == group.MaintAnnouncement:
		return fmt.Sprintf("In maintenance%s: %s is MASTER (%d adverts heard), waiting for the peer's announcement (gratuitous ARP) before letting the address go.", since, m.Peer, m.Adverts)
	case m.Phase == group.MaintHandedOff:
		t := fmt.Sprintf("In maintenance%s: handed off to %s", since, m.Peer)
		if m.Announced {
			t += fmt.Sprintf(", which announced the address from %s", m.PeerMAC)
		}
		if m.Note != "" {
			t += " (" + m.Note + ")"
		}
		return t + "."
	case m.Phase == group.MaintNoPeer:
		return fmt.Sprintf("In maintenance%s, but no peer took over: this host stays MASTER and keeps the address.", since)
	case m.On:
		return fmt.Sprintf("In maintenance%s: demoted by %d, it takes the address only if no peer holds it.", since, carp.MaxDemotion)
	}
	return ""
}

// authText says what --auth=hmac-sha256 does for the group, and what it
// dropped or would drop.
func authText(a group.AuthStatus) string {
	if a.Mode == "" || a.Mode == "off" {
		return ""
	}
	t := fmt.Sprintf("Adverts are checked by --auth=hmac-sha256 in %s mode", a.Mode)
	switch a.Mode {
	case "enforce":
		t += " (only verified adverts count)"
	default:
		t += " (every advert counts; failures are only counted)"
	}
	var dropped, failed uint64
	for r, n := range a.Dropped {
		if r != "verified" {
			dropped += n
		}
	}
	for r, n := range a.Accepted {
		if r != "verified" && r != "absent" {
			failed += n
		}
	}
	t += fmt.Sprintf(": %d verified", a.Accepted["verified"])
	if dropped > 0 {
		t += fmt.Sprintf(", %d dropped (replays, forgeries or plain adverts)", dropped)
	}
	if failed > 0 {
		t += fmt.Sprintf(", %d accepted that enforce would drop (a key or clock mistake?)", failed)
	}
	return t + "."
}

// dropHints say what a drop reason usually means.
var dropHints = map[string]string{
	carp.DropBadDigest.String():   "a different password (or vhid, or virtual address) on the peer?",
	carp.DropBadTTL.String():      "a router between the hosts, or a forged packet?",
	carp.DropBadVersion.String():  "a peer speaking another CARP or VRRP version?",
	carp.DropOtherVHID.String():   "another group on the same link: a vhid mismatch?",
	carp.DropOtherGroup.String():  "a different multicast address on the peer?",
	carp.DropBadChecksum.String(): "corrupted packets?",
}

func explainWhy(name string, s group.Status, now time.Time, why whyDemoted) string {
	if s.Protocol == group.ProtocolVRRP3 {
		return explainVRRP(name, s, now)
	}
	var b strings.Builder
	own := int(s.AdvSkew) + s.Demotion
	if s.AdvBase == carp.BowOut {
		own = min(own, carp.BowOut-1)
	}
	own = min(own, 255)
	fmt.Fprintf(&b, "%s (%s vhid %d) is %s", name, s.Interface, s.VHID, stateName(s.State))
	if !s.Since.IsZero() {
		fmt.Fprintf(&b, " since %s (%v ago), reason %s", s.Since.Format(time.RFC3339), now.Sub(s.Since).Round(time.Second), s.Reason)
	}
	b.WriteString(".")
	if t := addrsText(s); t != "" {
		b.WriteString(" " + t)
	}
	if t := maintText(s.Maintenance, now); t != "" {
		b.WriteString(" " + t)
	}
	fmt.Fprintf(&b, " It advertises %s", skewText(s.AdvBase, own))
	if s.Demotion > 0 {
		fmt.Fprintf(&b, ", its advskew %d raised by a demotion of %d", s.AdvSkew, s.Demotion)
		if top, rest := decidingSource(s.Demotions); top != "" {
			fmt.Fprintf(&b, " decided by %s", sourceText(top, s.Demotions[top], why, now))
			for i, src := range rest {
				if i == 0 {
					b.WriteString(", beside ")
				} else {
					b.WriteString(" and ")
				}
				b.WriteString(sourceText(src, s.Demotions[src], why, now))
			}
		}
	}
	fmt.Fprintf(&b, "; a BACKUP takes over after %v without an advert.", s.DeadTime)

	// A peer silent for longer than the dead time advertises no more (a
	// bow-out, a stop): it decides nothing now.
	var best, gone *group.Peer
	for i := range s.Peers {
		p := &s.Peers[i]
		if now.Sub(p.LastSeen) > s.DeadTime {
			gone = p
			continue
		}
		if best == nil || carp.AdvertInterval(p.AdvBase, p.AdvSkew) < carp.AdvertInterval(best.AdvBase, best.AdvSkew) {
			best = p
		}
	}
	if best != nil {
		ours, theirs := carp.AdvertInterval(s.AdvBase, uint8(own)), carp.AdvertInterval(best.AdvBase, best.AdvSkew)
		fmt.Fprintf(&b, " The best peer heard, %s, advertised %s, last %v ago: ", best.Source,
			skewText(best.AdvBase, int(best.AdvSkew)), now.Sub(best.LastSeen).Round(time.Second))
		switch {
		case theirs < ours:
			b.WriteString("faster than this host, so it wins the election.")
		case theirs > ours:
			b.WriteString("slower than this host, so this host wins the election (a BACKUP takes over from it only with --preempt).")
		default:
			b.WriteString("as fast as this host: the lower address wins.")
		}
	} else {
		switch s.State {
		case carp.Master:
			b.WriteString(" No other MASTER is heard (a BACKUP is silent in CARP), so this host keeps the address.")
		default:
			b.WriteString(" No peer is heard.")
		}
		if gone != nil {
			fmt.Fprintf(&b, " The last peer heard, %s, fell silent %v ago.", gone.Source, now.Sub(gone.LastSeen).Round(time.Second))
		}
	}
	if c := s.LastConflict; !c.Time.IsZero() {
		var n uint64
		for _, a := range s.Addrs {
			n += a.Conflicts
		}
		fmt.Fprintf(&b, " Another host claimed its addresses %d times while it was MASTER (split brain, or an address configured by hand): last %s at %s, %v ago; each claim was answered with an announcement.",
			n, c.Addr, c.MAC, now.Sub(c.Time).Round(time.Second))
	}
	if t := authText(s.Auth); t != "" {
		b.WriteString(" " + t)
	}
	if len(s.Counters.Dropped) > 0 {
		reasons := slices.SortedFunc(maps.Keys(s.Counters.Dropped), func(a, b string) int {
			return int(s.Counters.Dropped[b]) - int(s.Counters.Dropped[a])
		})
		top := reasons[0]
		fmt.Fprintf(&b, " %d packets were dropped as %s", s.Counters.Dropped[top], top)
		if hint := dropHints[top]; hint != "" && best == nil {
			fmt.Fprintf(&b, ": %s", hint)
		}
		b.WriteString(".")
	}
	return b.String()
}

// Demote sets the operator's demotion (group.DemotionAdmin) of the named
// group; its other sources (health probes) are left as they are, and the
// event carries the group's demotion of all sources.
func (n *Node) Demote(name string, level int) error {
	m, err := n.byName(name)
	if err != nil {
		return err
	}
	n.dem.set(m.g, group.DemotionAdmin, level)
	n.publishDemotion(m.g)
	return nil
}

// publishDemotion tells the watchers of g's demotion of all sources.
func (n *Node) publishDemotion(g *group.Group) {
	id, name := n.dem.names(g)
	if name == "" {
		return
	}
	lvl := g.Status().Demotion
	n.events.Publish(control.Event{Time: time.Now(), Kind: control.EventDemotion, Group: name,
		Interface: id.Interface, VHID: id.VHID, Demotion: &lvl})
}

// Promote sets the operator's demotion of the named group back to 0.
func (n *Node) Promote(name string) error { return n.Demote(name, 0) }

// Reload calls Deps.Reload.
func (n *Node) Reload() error {
	if n.deps.Reload == nil {
		return control.ErrNotSupported
	}
	return n.deps.Reload()
}

// Subscribe streams the groups' transitions and demotions.
func (n *Node) Subscribe() (<-chan control.Event, func()) { return n.events.Subscribe() }

// Publish sends a node event (a reload) to the watchers.
func (n *Node) Publish(ev control.Event) { n.events.Publish(ev) }

// CloseEvents ends every watch: the daemon stops.
func (n *Node) CloseEvents() { n.events.Close() }

// publishTransition is called from the group's loop: Publish never blocks.
func (n *Node) publishTransition(s Spec, tr group.Transition) {
	n.events.Publish(control.Event{Time: tr.Time, Kind: control.EventTransition, Group: s.GroupName(),
		Interface: s.Config.Interface, VHID: s.Config.VHID, From: stateName(tr.From), To: stateName(tr.To),
		Reason: tr.Reason.String()})
}

// explainVRRP is explainWhy for a VRRPv3 group: its priority against the
// best peer's, as RFC 9568 elects.
func explainVRRP(name string, s group.Status, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s vrrp3 vhid %d) is %s", name, s.Interface, s.VHID, stateName(s.State))
	if !s.Since.IsZero() {
		fmt.Fprintf(&b, " since %s (%v ago), reason %s", s.Since.Format(time.RFC3339), now.Sub(s.Since).Round(time.Second), s.Reason)
	}
	b.WriteString(".")
	if t := addrsText(s); t != "" {
		b.WriteString(" " + t)
	}
	fmt.Fprintf(&b, " It advertises priority %d every %d cs", s.Priority, s.AdvertInterval)
	if s.Demotion > 0 {
		fmt.Fprintf(&b, ", lowered by a demotion of %d", s.Demotion)
	}
	fmt.Fprintf(&b, "; as BACKUP it takes over after %v without an advert.", s.DeadTime)
	var best *group.Peer
	for i := range s.Peers {
		p := &s.Peers[i]
		if now.Sub(p.LastSeen) > s.DeadTime || p.Priority == 0 {
			continue
		}
		if best == nil || p.Priority > best.Priority || p.Priority == best.Priority && p.Source.Compare(best.Source) > 0 {
			best = p
		}
	}
	if best == nil {
		b.WriteString(" No master is heard.")
		return b.String()
	}
	fmt.Fprintf(&b, " The master heard, %s, advertises priority %d every %d cs, last %v ago: ", best.Source,
		best.Priority, best.Interval, now.Sub(best.LastSeen).Round(time.Second))
	switch {
	case best.Priority > s.Priority:
		b.WriteString("a higher priority, so it wins the election.")
	case best.Priority < s.Priority:
		b.WriteString("a lower priority, so this host wins the election (as BACKUP it takes over unless preempt is off).")
	default:
		b.WriteString("the same priority: the higher primary address wins.")
	}
	return b.String()
}
