// Package carp is the Common Address Redundancy Protocol as ucarp 1.5.2
// speaks it: the advertisement's wire format, its HMAC-SHA1
// authentication, and the state machine that elects a MASTER. It does no
// I/O: no sockets, no system calls, no clock. Callers feed it packets,
// events and the current time, and carry out the actions it returns.
//
// # The advertisement
//
// ucarp sends a 70-byte Ethernet frame: a 14-byte Ethernet header, a
// 20-byte IPv4 header and the 36-byte CARP header. This package encodes
// and decodes the 56-byte IPv4 packet; the daemon's sockets add the
// Ethernet header.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-------+-------+---------------+-------------------------------+
//	|Ver=4  |IHL=5  |  TOS = 0x10   |      Total Length = 56        |  IPv4
//	+-------+-------+---------------+-+-+-+-------------------------+
//	|        ID (random)            |0|D|0|    Fragment Offset = 0  |  DF set
//	+---------------+---------------+-+-+-+-------------------------+
//	|   TTL = 255   | Protocol = 112|       Header Checksum         |
//	+---------------+---------------+-------------------------------+
//	|                 Source Address (--srcip)                      |
//	+---------------------------------------------------------------+
//	|           Destination Address (224.0.0.18 or --mcast)         |
//	+-------+-------+---------------+---------------+---------------+
//	|Ver=2  |Type=1 |     VHID      |    AdvSkew    |  AuthLen = 7  |  CARP
//	+-------+-------+---------------+---------------+---------------+
//	|  Demote = 0   |    AdvBase    |           Checksum            |
//	+---------------+---------------+-------------------------------+
//	|                                                               |
//	+                    Counter (64 bits, big-endian)              +
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                                                               |
//	+                                                               +
//	|                 HMAC-SHA1 digest (20 bytes)                   |
//	+                                                               +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+---------------------------------------------------------------+
//
// The CARP checksum is the Internet checksum of the 36 CARP bytes. ucarp
// computes the IP checksum over all 56 bytes, which gives the standard
// header checksum because the CARP part already sums to zero, and on
// receipt tests that header and CARP bytes together sum to zero.
//
// The digest is HMAC-SHA1 keyed with the password (19 bytes at most) over
// 02 01 <vhid> <virtual IPv4 address> <counter>; see Auth for the form
// with several addresses that the BSD kernels use.
//
// # IPv6
//
// Over IPv6 (Packet6, Validator6) the same 36 CARP bytes follow a 40-byte
// IPv6 header: next header 112, hop limit 255, from the interface's
// link-local address to ff02::12, as FreeBSD and OpenBSD send them. The
// CARP checksum is still over the 36 bytes alone, without the IPv6
// pseudo-header. A dual-stack group sends the same advert over both
// families every interval, and a BACKUP keeps a dead timer per family
// (Config.Families). Byte 4 carries OpenBSD's demote count
// (Config.Demote), which ucarp sends as 0 and never reads.
//
// # Election
//
// A Machine holds the state of one vhid. A node starts as BACKUP and
// becomes MASTER when it hears no advert for advbase*deadratio +
// advskew/256 seconds, or at once when it hears a master that is bound to
// time out, or a slower master while preempting (-P). A MASTER advertises
// every advbase + advskew/256 seconds, steps down when it hears a faster
// master (or an equally fast one whose address wins ucarp's tie-break),
// and sends a gratuitous ARP on takeover and again two adverts later.
//
// Beyond ucarp, the demote byte decides before timing, as in OpenBSD: a
// less demoted master wins outright. A node that gives up the address on purpose first sends a
// bow-out advert (advbase 255, advskew 255), so that its peers take over
// at once instead of after their dead time.
//
// # Testing
//
// Package carptest runs several machines over a simulated network with a
// simulated clock.
package carp
