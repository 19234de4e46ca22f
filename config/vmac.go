package config

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/ucarp-go/ucarp/group"
)

// The virtual MAC (vmac, --vmac; issue 18), keepalived's use_vmac: the
// group's addresses go on a macvlan of its interface whose MAC is
// 00:00:5e:00:01:VHID (00:00:5e:00:02:VRID for a vrrp3 IPv6 group), and
// its adverts and announcements leave from that MAC. One key says both
// whether and which interface, as keepalived's `use_vmac [NAME]`: true
// names it after the group (DefaultVMACName), a string names it, false
// (the default) is off.

// vmacDefault marks vmac = true (or --vmac without a name) in settings
// until the group's protocol and family name it.
const vmacDefault = "\x00default"

// MaxIfName is the longest interface name Linux takes (IFNAMSIZ - 1).
const MaxIfName = 15

// DefaultVMACName is the macvlan of vmac = true: keepalived's vrrp.VRID
// for a vrrp3 IPv4 group, vrrp6.VRID for an IPv6 one (keepalived names
// both vrrp.VRID, and they would clash on one interface), carp.VHID for
// a CARP group.
func DefaultVMACName(proto group.Protocol, ipv6 bool, vhid uint8) string {
	switch {
	case proto == group.ProtocolVRRP3 && ipv6:
		return fmt.Sprintf("vrrp6.%d", vhid)
	case proto == group.ProtocolVRRP3:
		return fmt.Sprintf("vrrp.%d", vhid)
	}
	return fmt.Sprintf("carp.%d", vhid)
}

// VMACName checks the interface name of vmac = "NAME" and --vmac=NAME.
func VMACName(name string) string {
	switch {
	case name == "":
		return "an empty interface name: write vmac = true for the default name"
	case len(name) > MaxIfName:
		return fmt.Sprintf("%q is longer than %d bytes, the longest interface name", name, MaxIfName)
	case name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\x00"):
		return fmt.Sprintf("%q is not an interface name", name)
	}
	return ""
}

func setVMAC(s *settings, v any) string {
	switch x := v.(type) {
	case bool:
		s.vmac = setting[string]{"", true}
		if x {
			s.vmac.val = vmacDefault
		}
		return ""
	case string:
		if msg := VMACName(x); msg != "" {
			return msg
		}
		s.vmac = setting[string]{x, true}
		return ""
	}
	return wrongType("true, false or an interface name", v)
}

// ResolveVMAC turns the group's vmac as written (true or a name) into
// the macvlan's name and checks that the group can have one; "" when
// it can.
func ResolveVMAC(g *Group) string {
	if g.VMAC == "" {
		return ""
	}
	if g.VMAC == vmacDefault {
		g.VMAC = DefaultVMACName(g.Protocol, g.ID().IPv6, g.VHID)
	}
	switch {
	case runtime.GOOS != "linux":
		return fmt.Sprintf("a virtual MAC is not supported on %s (it is a Linux macvlan; BSD's kernel CARP has its own)", runtime.GOOS)
	case g.VMAC == g.Interface:
		return fmt.Sprintf("the virtual MAC's interface %s is the group's interface: name another", g.VMAC)
	case !g.ManagesVIP():
		return "a virtual MAC needs the daemon to manage the addresses (manage-vip): they go on its macvlan"
	case len(g.Peers) > 0:
		return "a virtual MAC sends the adverts to the multicast group: it does not go with unicast peers"
	case g.NoMcast:
		return "a virtual MAC sends the adverts to the multicast group: it does not go with nomcast"
	}
	return ""
}

// VMACMAC is the group's virtual MAC as text.
func (g Group) VMACMAC() string {
	fam := 1
	if g.ID().IPv6 {
		fam = 2
	}
	return fmt.Sprintf("00:00:5e:00:%02x:%02x", fam, g.VHID)
}

// CheckVMACs finds the groups whose virtual MACs cannot be together: one
// macvlan name for two groups, or one MAC twice on an interface (a CARP
// vhid and a vrrp3 IPv4 vrid of the same number). It returns, for each
// group at fault, the message.
func CheckVMACs(groups []Group) map[int]string {
	msgs := map[int]string{}
	names := map[string]int{}
	macs := map[[2]string]int{}
	for i, g := range groups {
		if g.VMAC == "" || g.VMAC == vmacDefault {
			continue
		}
		if j, ok := names[g.VMAC]; ok {
			msgs[i] = fmt.Sprintf("the virtual MAC interface %s is also the one of %s: name one with vmac = \"NAME\"", g.VMAC, groups[j].ID())
		} else {
			names[g.VMAC] = i
		}
		k := [2]string{g.Interface, g.VMACMAC()}
		if j, ok := macs[k]; ok {
			if _, bad := msgs[i]; !bad {
				msgs[i] = fmt.Sprintf("the virtual MAC %s on %s is also the one of %s", k[1], g.Interface, groups[j].ID())
			}
		} else {
			macs[k] = i
		}
	}
	return msgs
}

// SetVMAC is --vmac[=NAME]: the default name without one (ResolveVMAC
// makes it), else NAME once checked; it returns the reason NAME is bad.
func SetVMAC(g *Group, name string) string {
	if name == "" {
		g.VMAC = vmacDefault
		return ""
	}
	if msg := VMACName(name); msg != "" {
		return msg
	}
	g.VMAC = name
	return ""
}
