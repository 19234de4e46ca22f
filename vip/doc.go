// Package vip owns the virtual address: it adds and removes it through an
// OS-specific System, tells the copy it added from copies that someone else
// configured, and builds the gratuitous ARP frames that announce a takeover.
//
// # Marks
//
// On Linux 5.18 and later the daemon's copy carries the address protocol
// ProtoCARP (IFA_PROTO 112), whatever the interface name; it also carries
// the label "<if>:ucarp" (the ifupdown alias convention) where that fits in
// 15 bytes (see Label), for administrators and ucarp-era tools. Older
// kernels ignore the protocol: the label is then the mark (MarkLabel), or
// for long interface names the address alone. FreeBSD aliases carry
// neither (MarkNone).
//
// # Who holds the address
//
// Every copy of the address answers ARP for it, whoever added it, so a
// MASTER holds it and nobody else: Acquire takes over a copy someone else
// configured, Release removes every copy, and RemoveOurs (at start-up)
// only the daemon's own. viptest is a System in memory with the kernel's
// rules.
//
// # Announcements
//
// ucarp announces a takeover with one ARP request in which sender and
// target are both the virtual address and the NIC's MAC (GratuitousARP),
// and again two adverts later. The frame is 42 bytes, as ucarp sends it;
// NICs pad it to the Ethernet minimum on the wire.
package vip
