package node

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// What an interface adds for groups with IPv6 addresses (issue 14): one
// raw IPv6 socket for protocol 112 joined to ff02::12, opened with the
// first such group, read by its own goroutine that hands each packet to
// the group of its vhid, and the interface's link-local address, the
// source of the IPv6 adverts and Neighbour Advertisements.

// ipv6Conn is an interface's IPv6 socket; the zero value is none.
type ipv6Conn struct {
	conn platform.IPConn // a sharedConn
	src  netip.Addr
	// noLL is set while the link runs without a link-local address:
	// after llWarnAfter the node says so once (warnNoLL).
	noLL   *time.Timer
	warned bool
}

// llWarnAfter is how long a running link may lack a link-local address
// (DAD takes a second or two) before the node warns that its IPv6 groups
// wait for one: disable_ipv6=1 or addr_gen_mode=none make none, ever.
const llWarnAfter = 5 * time.Second

func (v *ipv6Conn) close() {
	if v.conn != nil {
		v.conn.Close()
	}
}

// hasIPv6 reports whether a group has an IPv6 address.
func hasIPv6(c group.Config) bool {
	for _, p := range append([]netip.Prefix{c.Addr}, c.MoreAddrs...) {
		if p.Addr().Is6() {
			return true
		}
	}
	return false
}

// moreAddrs are the group's addresses after the first.
func moreAddrs(c group.Config) []netip.Addr {
	var as []netip.Addr
	for _, p := range c.MoreAddrs {
		as = append(as, p.Addr())
	}
	return as
}

// manages reports whether a is one of the addresses the group manages.
func (m *member) manages(a netip.Addr) bool {
	if !m.vip.IsValid() {
		return false
	}
	if m.vip == a {
		return true
	}
	for _, x := range m.more {
		if x == a {
			return true
		}
	}
	return false
}

// staleLabel is the label of the daemon's copy of p: none for IPv6.
func staleLabel(c group.Config, p netip.Prefix) string {
	if p.Addr().Is6() {
		return ""
	}
	return vip.Label(c.Interface, c.VHID)
}

// open6 opens the interface's IPv6 socket for s if s has an IPv6 address
// and it is not open yet, and returns it with the link-local source; a
// group without IPv6 gets nothing. It runs on Apply's goroutine.
func (n *Node) open6(s Spec, sys platform.OS, ifc *iface) (platform.IPConn, netip.Addr, error) {
	if !hasIPv6(s.Config) {
		return nil, netip.Addr{}, nil
	}
	if ifc.v6.conn != nil {
		ifc.mu6.Lock()
		defer ifc.mu6.Unlock()
		return ifc.v6.conn, ifc.v6.src, nil
	}
	ll, ok := sys.(platform.LinkLocaler)
	if !ok {
		return nil, netip.Addr{}, errors.New("node: IPv6 is not supported on this system")
	}
	// None before the interface's first carrier: the groups wait for it
	// (sync6).
	src, err := ll.LinkLocal()
	if err != nil {
		src = netip.Addr{}
	}
	conn, err := sys.OpenIP(platform.IPOptions{Protocol: carp.IPProtocol, Src: src, Group: carp.GroupIPv6})
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("node: IPv6 socket on %s: %w", s.Config.Interface, err)
	}
	ifc.mu6.Lock()
	ifc.v6 = ipv6Conn{conn: newSharedConn(conn), src: src}
	ifc.mu6.Unlock()
	ifc.wg.Add(1)
	go ifc.read6(ifc.v6.conn)
	return ifc.v6.conn, src, nil
}

// gate6 is the link state an IPv6 group sees: no carrier while the
// interface has no link-local address (the kernel makes none before the
// first carrier, and DAD or an administrator can take it away), so that
// it waits as an IPv4 group waits for a carrier.
func gate6(st platform.LinkState, src netip.Addr) platform.LinkState {
	if !src.IsValid() {
		st.Running = false
	}
	return st
}

// onLink hands a link change to every group of the interface, the IPv6
// ones after sync6 has read the link-local address again.
func (n *Node) onLink(ifc *iface, st platform.LinkState) {
	n.syncMAC(ifc)
	ifc.mu6.Lock()
	ifc.link = st
	ifc.mu6.Unlock()
	n.sync6(ifc)
	// Each member's own link-local address (m.src6): the interface's
	// may be one that SetSrc6 refused.
	ifc.mu6.Lock()
	src6 := map[*member]netip.Addr{}
	ifc.each(func(m *member) { src6[m] = m.src6 })
	ifc.mu6.Unlock()
	ifc.each(func(m *member) {
		s := st
		if m.has6 {
			s = gate6(st, src6[m])
		}
		if m.vmac != nil && m.vmac.lost.Load() {
			s = platform.LinkState{Gone: true} // its macvlan (watchVMAC)
		}
		latest(m.link, s)
		n.dem.setLink(m.g, s)
	})
}

// sync6 reads the interface's link-local address again and brings its
// IPv6 groups up to date: a new address goes to the group (SetSrc6)
// before the link state that lets it run; one that is gone makes the
// link look as without a carrier.
func (n *Node) sync6(ifc *iface) {
	ifc.mu6.Lock()
	defer ifc.mu6.Unlock()
	if ifc.v6.conn == nil {
		return
	}
	var src netip.Addr
	if ll, ok := ifc.os.(platform.LinkLocaler); ok {
		if a, err := ll.LinkLocal(); err == nil {
			src = a
		}
	}
	if src != ifc.v6.src {
		n.deps.Log.Info(fmt.Sprintf("IPv6 link-local address of %s: %v (was %v)", ifc.name, src, ifc.v6.src), "interface", ifc.name)
	}
	ifc.v6.src = src
	switch {
	case src.IsValid() || !ifc.link.Running || ifc.link.Gone:
		if ifc.v6.noLL != nil {
			ifc.v6.noLL.Stop()
			ifc.v6.noLL = nil
		}
		ifc.v6.warned = ifc.v6.warned && !src.IsValid()
	case ifc.v6.noLL == nil && !ifc.v6.warned:
		ifc.v6.noLL = time.AfterFunc(llWarnAfter, func() { n.warnNoLL(ifc) })
	}
	var ms []*member
	ifc.each(func(m *member) {
		if m.has6 {
			ms = append(ms, m)
		}
	})
	for _, m := range ms {
		ready := m.src6.IsValid()
		if src.IsValid() && src != m.src6 {
			if err := m.g.SetSrc6(src); err != nil {
				n.deps.Log.Warn(fmt.Sprintf("IPv6 link-local address %v: %v", src, err), "interface", ifc.name, "vhid", m.spec.Config.VHID)
				continue
			}
			m.src6 = src
		}
		if !src.IsValid() {
			m.src6 = netip.Addr{}
		}
		if ready != src.IsValid() {
			st := gate6(ifc.link, src)
			latest(m.link, st)
			n.dem.setLink(m.g, st)
		}
	}
}

// warnNoLL says, once, that the running link still has no link-local
// address: its IPv6 groups wait for one, as without a carrier.
func (n *Node) warnNoLL(ifc *iface) {
	ifc.mu6.Lock()
	defer ifc.mu6.Unlock()
	select {
	case <-ifc.stop:
		return
	default:
	}
	if ifc.v6.noLL == nil || ifc.v6.src.IsValid() || ifc.v6.warned {
		return
	}
	ifc.v6.noLL, ifc.v6.warned = nil, true
	n.deps.Log.Warn(fmt.Sprintf("no IPv6 link-local address on %s: the group waits for one", ifc.name), "interface", ifc.name)
}

// read6 is read for the IPv6 socket: each packet goes to the group of
// its vhid (byte 1 of the CARP header, after the 40-byte IPv6 header),
// if that group has IPv6 addresses. A group without (the socket is open
// for another) is not handed the IPv6 adverts of a dual-stack peer of
// its vhid: they are for no group here, as a packet of an unknown vhid.
func (ifc *iface) read6(conn platform.IPConn) {
	defer ifc.wg.Done()
	b := make([]byte, 2048)
	backoff := time.Millisecond
	for {
		n, err := conn.ReadPacket(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-ifc.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = time.Millisecond
		if n < carp.IPv6HeaderLen+2 {
			ifc.short.Add(1)
			continue
		}
		ifc.mu.RLock()
		k := vkey{vhid: b[carp.IPv6HeaderLen+1]}
		if b[carp.IPv6HeaderLen]>>4 == 3 {
			if vm := ifc.vhids[vkey{group.ProtocolVRRP3, true, k.vhid}]; vm != nil {
				k = vkey{group.ProtocolVRRP3, true, k.vhid}
			}
		}
		m := ifc.vhids[k]
		ifc.mu.RUnlock()
		if m == nil || !m.has6 {
			ifc.unknown.Add(1)
			continue
		}
		m.deliver(b[:n])
	}
}
