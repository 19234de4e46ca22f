package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// A group with a virtual MAC (group.Config.VMAC, keepalived's use_vmac)
// has a macvlan of its own on its interface, made at its start (as
// keepalived makes its at start-up, so that a BACKUP is ready to take
// over without a netlink round trip) and removed when its Run returns
// (exit, reload removal or change, interface gone). Its addresses go on
// the macvlan; its adverts, gratuitous ARP and Neighbour Advertisements
// leave from it, from the virtual MAC; it still reads through the
// interface's shared sockets, and the adverts of the group's other hosts
// through the macvlan: Linux hands a multicast frame whose source is a
// local macvlan's MAC to that macvlan alone (macvlan_handle_frame), and
// the other hosts' adverts come from the same virtual MAC.

// vmacParts is what a group's virtual MAC gives it.
type vmacParts struct {
	v     platform.VMAC
	mac   net.HardwareAddr
	addrs vip.System
	conn  platform.IPConn // the IPv4 adverts (nil for an IPv6 VRRPv3 group)
	conn6 platform.IPConn // the IPv6 adverts, for a group with IPv6 addresses
	arp   platform.FrameConn
	link  <-chan platform.LinkState // the macvlan's
	// lost: someone else removed the macvlan or set it down; the group
	// sees its interface gone from then on (onLink).
	lost atomic.Bool
	// mu serializes the group's Deliver between the interface's readers
	// and the macvlan's (deliver).
	mu      sync.Mutex
	readers sync.WaitGroup
	stop    chan struct{} // closed by close: the readers return
}

// deliver hands pkt to m's group: Deliver takes one goroutine at a time,
// and a group with a virtual MAC has two readers.
func (m *member) deliver(pkt []byte) {
	if v := m.vmac; v != nil {
		v.mu.Lock()
		defer v.mu.Unlock()
	}
	m.g.Deliver(pkt)
}

// readVMAC reads the adverts that reach m's macvlan until it is closed.
func (m *member) readVMAC() {
	for _, c := range []platform.IPConn{m.vmac.conn, m.vmac.conn6} {
		if c == nil {
			continue
		}
		m.vmac.readers.Add(1)
		go func() {
			defer m.vmac.readers.Done()
			b := make([]byte, 2048)
			backoff := time.Millisecond
			for {
				n, err := c.ReadPacket(b)
				if err != nil {
					select {
					case <-m.vmac.stop:
						return
					case <-time.After(backoff):
					}
					backoff = min(2*backoff, time.Second)
					continue
				}
				backoff = time.Millisecond
				m.deliver(b[:n])
			}
		}()
	}
}

// vmacMAC is the group's virtual MAC: 00:00:5e:00:02:VRID for a VRRPv3
// IPv6 virtual router, 00:00:5e:00:01:VHID otherwise (RFC 9568 §7.3; BSD
// CARP's for both families).
func vmacMAC(c group.Config) net.HardwareAddr {
	return platform.VirtualMAC(c.VHID, c.Protocol == group.ProtocolVRRP3 && c.IPv6())
}

// defaultVMACName is the macvlan of vmac = true (config.DefaultVMACName,
// which node does not import: a test checks they agree).
func defaultVMACName(c group.Config) string {
	switch {
	case c.Protocol == group.ProtocolVRRP3 && c.IPv6():
		return fmt.Sprintf("vrrp6.%d", c.VHID)
	case c.Protocol == group.ProtocolVRRP3:
		return fmt.Sprintf("vrrp.%d", c.VHID)
	}
	return fmt.Sprintf("carp.%d", c.VHID)
}

// removeStaleVMAC removes, for a group without a virtual MAC, the
// macvlan of the default name with the group's virtual MAC that a
// killed run with one left (with the addresses on it, which would answer
// for them beside ours), unless a group of this node uses it.
func (n *Node) removeStaleVMAC(s Spec, sys platform.OS, log *slog.Logger) error {
	c := s.Config
	vm, ok := sys.(platform.VMACer)
	if !ok || c.VMAC != "" {
		return nil
	}
	name := defaultVMACName(c)
	for _, m := range n.groups {
		if m.spec.Config.Interface == c.Interface && m.spec.Config.VMAC == name {
			return nil
		}
	}
	mac := vmacMAC(c)
	removed, err := vm.RemoveVMAC(platform.VMACOptions{Name: name, MAC: mac})
	if removed {
		log.Warn(fmt.Sprintf("Removed the macvlan %s (%s) left on %s by a previous run with a virtual MAC", name, mac, c.Interface))
	}
	return err
}

// openVMAC makes the group's macvlan and opens its sockets; changed is
// signalled when a listing of its addresses changes them.
func (n *Node) openVMAC(s Spec, sys platform.OS, log *slog.Logger, changed chan struct{}) (_ *vmacParts, err error) {
	c := s.Config
	vm, ok := sys.(platform.VMACer)
	if !ok {
		return nil, errors.New("node: a virtual MAC (vmac) is not supported on this system")
	}
	p := &vmacParts{mac: vmacMAC(c), stop: make(chan struct{})}
	v, notes, err := vm.CreateVMAC(platform.VMACOptions{Name: c.VMAC, MAC: p.mac, IPv6: hasIPv6(c)})
	for _, note := range notes {
		log.Warn(note)
	}
	if err != nil {
		return nil, err
	}
	p.v = v
	defer func() {
		if err != nil {
			p.close(log)
		}
	}()
	log.Info(fmt.Sprintf("Virtual MAC %s on %s (macvlan of %s)", p.mac, c.VMAC, c.Interface))
	// The macvlan's addresses make no event here: its table is listed
	// at every look, off the group's loop (addrCache.blind), and the
	// group told when a listing changes it.
	cache := &addrCache{sys: v.Addresses(), blind: true, notify: func(bool, []netip.Addr) { signal(changed) }}
	cache.prime()
	p.addrs = cache
	if !c.IPv6() {
		if p.conn, err = v.OpenSend(carp.IPProtocol, c.Mcast); err != nil {
			return nil, err
		}
	}
	if hasIPv6(c) {
		if p.conn6, err = v.OpenSend(carp.IPProtocol, carp.GroupIPv6); err != nil {
			return nil, err
		}
	}
	if p.arp, err = v.OpenARP(); err != nil {
		return nil, err
	}
	if p.link, err = v.WatchLink(p.stop); err != nil {
		return nil, err
	}
	return p, nil
}

// watchVMAC stops m's group, as its interface gone would, when someone
// else removes its macvlan or sets it down: its addresses and adverts are
// on it. The next start (a reload, a restart) makes it again.
func (n *Node) watchVMAC(m *member, log *slog.Logger) {
	v := m.vmac
	v.readers.Add(1)
	go func() {
		defer v.readers.Done()
		for {
			select {
			case st, ok := <-v.link:
				if !ok {
					return
				}
				if st.Up && !st.Gone || v.lost.Swap(true) {
					continue
				}
				// Linux sets a macvlan down before it deletes it: one
				// message for both.
				log.Error(fmt.Sprintf("The virtual MAC interface %s was set down or removed by someone else: this group stops (a reload or restart makes it again)",
					m.spec.Config.VMAC))
				gone := platform.LinkState{Gone: true}
				latest(m.link, gone)
				n.dem.setLink(m.g, gone)
			case <-v.stop:
				return
			}
		}
	}()
}

// close closes the sockets and removes the macvlan.
func (p *vmacParts) close(log *slog.Logger) {
	close(p.stop)
	for _, c := range []interface{ Close() error }{p.conn, p.conn6, p.arp} {
		if c != nil {
			c.Close()
		}
	}
	p.readers.Wait()
	notes, err := p.v.Close()
	for _, note := range notes {
		log.Info(note)
	}
	if err != nil {
		log.Error(fmt.Sprintf("Removing the virtual MAC interface: %v", err))
	}
}

// closeVMAC removes the virtual MAC of a group that did not start.
func (m *member) closeVMAC(log *slog.Logger) {
	if m.vmac != nil {
		m.vmac.close(log)
		m.vmac = nil
	}
}
