package carptest

import (
	"container/heap"
	"fmt"
	"net/netip"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

// Epoch is the simulated time at which every Network starts.
func Epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// group is the multicast group of the simulated LAN.
var group = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// Network is a simulated LAN.
type Network struct {
	// Latency is the delay between a send and its receipt (default 100 µs).
	Latency time.Duration

	now   time.Time
	seq   uint64
	queue events
	nodes []*Node
	cut   map[[2]*Node]bool
}

// New returns an empty network at Epoch.
func New() *Network {
	return &Network{Latency: 100 * time.Microsecond, now: Epoch(), cut: map[[2]*Node]bool{}}
}

// Now is the simulated time.
func (n *Network) Now() time.Time { return n.now }

// Since is the simulated time elapsed since Epoch.
func (n *Network) Since() time.Duration { return n.now.Sub(Epoch()) }

// Transition is one state change of a node.
type Transition struct {
	At       time.Time
	From, To carp.State
	Reason   carp.Reason
}

// Sent is one advert a node put on the wire.
type Sent struct {
	At     time.Time
	Header carp.Header
}

// Node is one simulated host.
type Node struct {
	Name string
	Addr netip.Addr

	net       *Network
	cfg       carp.Config
	password  string
	vip       netip.Addr
	m         *carp.Machine
	auth      *carp.Auth
	val       *carp.Validator
	down      bool
	sendFails bool
	out       []carp.Action

	// Transitions, Adverts, Announces and Drops record what happened.
	Transitions []Transition
	Adverts     []Sent
	Announces   []time.Time
	Drops       map[carp.DropReason]int
}

// Add creates a node with the given configuration; Src and Random are
// filled in. All nodes share one virtual address and password unless
// SetPassword changes it.
func (n *Network) Add(name, addr string, cfg carp.Config) *Node {
	nd := &Node{Name: name, Addr: netip.MustParseAddr(addr), net: n, cfg: cfg, password: "carplab",
		vip: netip.MustParseAddr("198.51.100.100"), Drops: map[carp.DropReason]int{}}
	nd.cfg.Src = nd.Addr
	seed := uint64(len(n.nodes)+1) << 32
	nd.cfg.Random = func() uint64 { seed++; return seed }
	nd.reset()
	n.nodes = append(n.nodes, nd)
	return nd
}

// SetPassword changes the node's password (for mismatch tests).
func (nd *Node) SetPassword(p string) {
	nd.password = p
	nd.reset()
}

func (nd *Node) reset() {
	var err error
	if nd.m, err = carp.NewMachine(nd.cfg); err != nil {
		panic(err)
	}
	if nd.auth, err = carp.NewAuth([]byte(nd.password), nd.cfg.VHID, []netip.Addr{nd.vip}); err != nil {
		panic(err)
	}
	nd.val = carp.NewValidator(nd.Addr, group, nd.cfg.VHID, nd.auth)
}

// State is the node's current state.
func (nd *Node) State() carp.State { return nd.m.State() }

// Start feeds the start event now.
func (nd *Node) Start() { nd.handle(carp.Event{Kind: carp.EventStart}) }

// Kill stops the node at once, as SIGKILL would: no bow-out, no script.
// Its machine keeps its last state but receives nothing more.
func (nd *Node) Kill() { nd.down = true }

// Restart replaces a killed node's machine with a fresh one and starts it.
func (nd *Node) Restart() {
	nd.down = false
	nd.reset()
	nd.Start()
}

// Event feeds any event now, for demotion, release and carrier events.
func (nd *Node) Event(ev carp.Event) { nd.handle(ev) }

// FailSends makes every send of the node fail (or succeed again).
func (nd *Node) FailSends(fail bool) { nd.sendFails = fail }

// LastTransition is the node's latest state change; ok is false if none.
func (nd *Node) LastTransition() (t Transition, ok bool) {
	if len(nd.Transitions) == 0 {
		return t, false
	}
	return nd.Transitions[len(nd.Transitions)-1], true
}

func (nd *Node) String() string { return nd.Name }

// Cut breaks the link between a and b in both directions.
func (n *Network) Cut(a, b *Node) { n.cut[[2]*Node{a, b}], n.cut[[2]*Node{b, a}] = true, true }

// Heal restores every link.
func (n *Network) Heal() { clear(n.cut) }

// Masters lists the live nodes that are MASTER.
func (n *Network) Masters() []*Node {
	var ms []*Node
	for _, nd := range n.nodes {
		if !nd.down && nd.m.State() == carp.Master {
			ms = append(ms, nd)
		}
	}
	return ms
}

// Run advances the simulated clock by d, processing every event due.
func (n *Network) Run(d time.Duration) { n.RunUntil(n.now.Add(d)) }

// RunUntil processes events in time order until t, then sets the clock to t.
func (n *Network) RunUntil(t time.Time) {
	for n.queue.Len() > 0 && !n.queue[0].at.After(t) {
		e := heap.Pop(&n.queue).(*event)
		n.now = e.at
		if e.node.down {
			continue
		}
		if e.packet != nil {
			e.node.receive(e.packet)
		} else {
			e.node.handle(e.ev)
		}
	}
	n.now = t
}

// RunUntilCond runs until cond holds or max elapses, and reports whether
// it held; the clock stops at the first event after which cond holds.
func (n *Network) RunUntilCond(max time.Duration, cond func() bool) bool {
	end := n.now.Add(max)
	for !cond() {
		if n.queue.Len() == 0 || n.queue[0].at.After(end) {
			n.now = end
			return cond()
		}
		n.RunUntil(n.queue[0].at)
	}
	return true
}

func (n *Network) schedule(at time.Time, nd *Node, ev carp.Event, pkt []byte) {
	n.seq++
	heap.Push(&n.queue, &event{at: at, seq: n.seq, node: nd, ev: ev, packet: pkt})
}

func (nd *Node) receive(pkt []byte) {
	var h carp.Header
	d := nd.val.Check(pkt, &h)
	if !d.Accepted() {
		nd.Drops[d.Reason]++
		return
	}
	nd.handle(carp.AdvertEvent(carp.Source(pkt), &h))
}

func (nd *Node) handle(ev carp.Event) {
	if nd.down {
		return
	}
	n := nd.net
	before := nd.m.State()
	nd.out = nd.m.Handle(n.now, ev, nd.out[:0])
	if after := nd.m.State(); after != before {
		nd.Transitions = append(nd.Transitions, Transition{At: n.now, From: before, To: after, Reason: reasonOf(nd.out)})
	}
	for _, a := range nd.out {
		switch a.Kind {
		case carp.ActionSendAdvert:
			nd.send(a.Advert)
		case carp.ActionArmTimer:
			n.schedule(a.At, nd, carp.TimerEvent(a.Timer), nil)
		case carp.ActionAnnounce:
			nd.Announces = append(nd.Announces, n.now)
		}
	}
}

func reasonOf(as []carp.Action) carp.Reason {
	for _, a := range as {
		if a.Kind == carp.ActionLog && a.Msg == carp.MsgSwitchState {
			return a.Reason
		}
	}
	return carp.ReasonNone
}

func (nd *Node) send(h carp.Header) {
	n := nd.net
	nd.auth.Sign(&h)
	nd.Adverts = append(nd.Adverts, Sent{At: n.now, Header: h})
	// The outcome is known at once, and handled right after this event.
	n.schedule(n.now, nd, carp.SendResultEvent(nd.sendFails), nil)
	if nd.sendFails {
		return
	}
	p := carp.NewPacket(nd.Addr, group, uint16(len(nd.Adverts)), h)
	pkt, err := p.AppendBinary(nil)
	if err != nil {
		panic(fmt.Sprintf("carptest: encoding %+v: %v", p, err))
	}
	for _, peer := range n.nodes {
		if peer != nd && !n.cut[[2]*Node{nd, peer}] {
			n.schedule(n.now.Add(n.Latency), peer, carp.Event{}, pkt)
		}
	}
}

type event struct {
	at     time.Time
	seq    uint64
	node   *Node
	ev     carp.Event
	packet []byte
}

type events []*event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
