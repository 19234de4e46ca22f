package platformtest

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

var _ platform.VMACer = (*Host)(nil)

// VMAC is a fake macvlan of a Host (platform.VMAC): its addresses are a
// table of their own, its conns send from its MAC and receive, as the
// kernel hands them, the multicast frames from that MAC that reach the
// host (they never reach the base interface's conns then).
type VMAC struct {
	h     *Host
	ifi   net.Interface
	addrs *viptest.Addrs
	// lan.mu
	state    platform.LinkState
	linkSubs []*sub[platform.LinkState]
}

// CreateVMAC implements platform.VMACer: one of the same name and MAC is
// replaced, as Linux's is (never two of a name); one of another MAC is
// refused.
func (h *Host) CreateVMAC(o platform.VMACOptions) (platform.VMAC, []string, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.state.Gone {
		return nil, nil, fmt.Errorf("platformtest: vmac on %s: %w", h.name, syscall.ENODEV)
	}
	if o.Name == h.name {
		return nil, nil, fmt.Errorf("platformtest: vmac %s: an interface of that name exists and is not a macvlan", o.Name)
	}
	var notes []string
	if h.vmacs == nil {
		h.vmacs = map[string]*VMAC{}
	}
	if old, ok := h.vmacs[o.Name]; ok {
		if old.ifi.HardwareAddr.String() != o.MAC.String() {
			return nil, nil, fmt.Errorf("platformtest: vmac %s: a macvlan of that name exists with MAC %s, not one a previous run left", o.Name, old.ifi.HardwareAddr)
		}
		notes = append(notes, "Replaced the macvlan "+o.Name+" left by a previous run")
	}
	h.lan.index++
	v := &VMAC{h: h, ifi: net.Interface{Name: o.Name, Index: h.lan.index, HardwareAddr: slices.Clone(o.MAC), MTU: 1500,
		Flags: net.FlagUp | net.FlagBroadcast | net.FlagMulticast}, addrs: viptest.New(o.Name),
		state: platform.LinkState{Up: true, Running: true}}
	h.vmacs[o.Name] = v
	return v, notes, nil
}

// RemoveVMAC implements platform.VMACer: the one of the name and MAC
// goes.
func (h *Host) RemoveVMAC(o platform.VMACOptions) (bool, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	v, ok := h.vmacs[o.Name]
	if !ok || v.ifi.HardwareAddr.String() != o.MAC.String() {
		return false, nil
	}
	delete(h.vmacs, o.Name)
	return true, nil
}

// VMACs lists the host's virtual MAC interfaces: name to MAC.
func (h *Host) VMACs() map[string]string {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	m := map[string]string{}
	for name, v := range h.vmacs {
		m[name] = v.ifi.HardwareAddr.String()
	}
	return m
}

// VMAC returns the host's virtual MAC interface of that name, nil if none.
func (h *Host) VMAC(name string) *VMAC {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return h.vmacs[name]
}

// hasVMAC reports whether mac is one of h's macvlans'. lan.mu is held.
func (h *Host) hasVMAC(mac net.HardwareAddr) bool {
	for _, v := range h.vmacs {
		if v.ifi.HardwareAddr.String() == mac.String() {
			return true
		}
	}
	return false
}

func (v *VMAC) Interface() *net.Interface { i := v.ifi; return &i }

// Addresses implements platform.VMAC; Addrs is the same table.
func (v *VMAC) Addresses() vip.System { return v.addrs }
func (v *VMAC) Addrs() *viptest.Addrs { return v.addrs }

// OpenSend implements platform.VMAC.
func (v *VMAC) OpenSend(proto uint8, group netip.Addr) (platform.IPConn, error) {
	if !group.IsMulticast() {
		return nil, fmt.Errorf("platformtest: vmac %s: %v is not a multicast group", v.ifi.Name, group)
	}
	h := v.h
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	family := "ip4"
	if group.Is6() {
		family = "ip6"
	}
	c := &Conn{h: h, o: platform.IPOptions{Protocol: proto, Group: group}, net: fmt.Sprintf("%s:%d", family, proto),
		wakeup: make(chan struct{}, 1), closed: make(chan struct{}), vmac: slices.Clone(v.ifi.HardwareAddr)}
	h.conns = append(h.conns, c)
	return c, nil
}

// WatchLink implements platform.VMAC: the current state, then each
// SetLink.
func (v *VMAC) WatchLink(done <-chan struct{}) (<-chan platform.LinkState, error) {
	ch := subscribe(v.h, &v.linkSubs, done)
	v.h.lan.mu.Lock()
	defer v.h.lan.mu.Unlock()
	v.linkSubs[len(v.linkSubs)-1].push(v.state)
	return ch, nil
}

// SetLink changes the macvlan's link state as an administrator would
// (ip link set down, ip link del: Gone removes it) and tells every
// WatchLink subscriber.
func (v *VMAC) SetLink(st platform.LinkState) {
	h := v.h
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if v.state.Gone {
		return
	}
	v.state = st
	if st.Gone && h.vmacs[v.ifi.Name] == v {
		delete(h.vmacs, v.ifi.Name)
	}
	for _, s := range v.linkSubs {
		s.push(st)
	}
}

// OpenARP implements platform.VMAC: the host's, the frames carrying
// their own source.
func (v *VMAC) OpenARP() (platform.FrameConn, error) { return v.h.OpenARP() }

// Close implements platform.VMAC: the macvlan is gone.
func (v *VMAC) Close() ([]string, error) {
	h := v.h
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.vmacs[v.ifi.Name] == v {
		delete(h.vmacs, v.ifi.Name)
	}
	return nil, nil
}
