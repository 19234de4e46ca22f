package platform

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

// addrGroups are the rtnetlink groups of the address events watched:
// IPv4 and IPv6 addresses.
const addrGroups = 1<<(unix.RTNLGRP_IPV4_IFADDR-1) | 1<<(unix.RTNLGRP_IPV6_IFADDR-1)

// familyOf is the address family of a.
func familyOf(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// appendAddr6Attrs finishes the request for an IPv6 address as "ip -6 addr add
// ... nodad" builds it. The kernel keeps no label on IPv6 addresses, so
// none is sent: the protocol marks the daemon's copy (Linux 5.18), or
// before that the address alone. The address skips duplicate address
// detection (IFA_F_NODAD, in the header and as IFA_FLAGS) so that it
// answers at once: a MASTER that takes it over must not wait a second in
// the tentative state, and the BACKUP that held it a moment ago would
// otherwise make it fail DAD. The lifetime rules are IPv4's.
func appendAddr6Attrs(b []byte, typ uint16, v vip.Address) []byte {
	if typ == unix.RTM_DELADDR {
		return b
	}
	var f [4]byte
	binary.NativeEndian.PutUint32(f[:], unix.IFA_F_NODAD)
	b = appendAttr(b, unix.IFA_FLAGS, f[:])
	return appendTail(b, v)
}

// kernelLinkLocal reports whether a is an IPv6 link-local address that the
// daemon did not add: the kernel's own, made when the link comes up.
func kernelLinkLocal(a vip.Address) bool {
	return a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast() && a.Proto != vip.ProtoCARP
}
