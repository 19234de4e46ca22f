// Package vip owns the virtual address: it adds and removes it through an
// OS-specific System, recognises the copies it added by their label, and
// builds the gratuitous ARP frames that announce a takeover.
//
// # Labels
//
// On Linux the daemon adds the address with the label "<if>:ucarp" (the
// ifupdown alias convention), so that it can tell its own copy from one an
// administrator configured: it only ever removes an address that carries
// its label. Labels are at most 15 bytes; for long interface names the
// label is shortened (see Label). On systems without labels (FreeBSD), the
// address itself is the mark.
//
// # Announcements
//
// ucarp announces a takeover with one ARP request in which sender and
// target are both the virtual address and the NIC's MAC (GratuitousARP),
// and again two adverts later. The frame is 42 bytes, as ucarp sends it;
// NICs pad it to the Ethernet minimum on the wire.
package vip
