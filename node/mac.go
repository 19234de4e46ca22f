package node

import (
	"bytes"
	"fmt"
	"net"
	"slices"

	"github.com/ucarp-go/ucarp/platform"
)

// hwaddr is the interface's MAC as last read: Interface's at first, then
// what syncMAC read on a link event.
func (ifc *iface) hwaddr() net.HardwareAddr {
	if p := ifc.mac.Load(); p != nil {
		return *p
	}
	return ifc.os.Interface().HardwareAddr
}

// syncMAC reads the interface's MAC again on a link event (the kernel
// sends one when it changes: `ip link set address`, a bond's
// fail_over_mac) and, when it changed, gives it to the claims' listener,
// whose own frames it marks, and to every group, whose announcements
// must carry it: an announcement of the old MAC would send the
// neighbours' traffic for the addresses nowhere.
func (n *Node) syncMAC(ifc *iface) {
	r, ok := ifc.os.(platform.MACReader)
	if !ok {
		return
	}
	mac, err := r.HardwareAddr()
	if err != nil || len(mac) != 6 || bytes.Equal(mac, ifc.hwaddr()) {
		return
	}
	n.deps.Log.Info(fmt.Sprintf("MAC of %s: %v (was %v)", ifc.name, mac, ifc.hwaddr()), "interface", ifc.name)
	mac = slices.Clone(mac)
	ifc.mac.Store(&mac)
	if ifc.claims != nil {
		ifc.claims.setOwn(mac)
	}
	ifc.each(func(m *member) {
		if m.vmac == nil { // a virtual MAC stays
			m.g.SetMAC(mac)
		}
	})
}
