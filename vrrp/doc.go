// Package vrrp is the Virtual Router Redundancy Protocol version 3 (RFC
// 9568) for IPv4 and IPv6: the advertisement's wire format with both of the
// checksums that peers put on IPv4 adverts, and the state machine of RFC
// 9568 §6 that elects a master. It does no I/O: no sockets, no system calls,
// no clock. Callers feed it packets, events and the current time, and carry
// out the actions it returns.
//
// # The advertisement
//
// VRRPv3 uses IP protocol 112, as CARP does, and is told apart by its first
// byte: 0x31 where CARP and VRRPv2 have 0x21 (IsVRRPv3). An advert goes to
// 224.0.0.18 or ff02::12 with TTL or hop limit 255 and carries the virtual
// addresses of one family. Over IPv4, keepalived 2.2.7 sends this 36-byte
// packet for virtual router 51, priority 200, one second, two addresses
// (testdata/keepalived-2.2.7.hex); Packet encodes and decodes it whole:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-------+-------+---------------+-------------------------------+
//	|Ver=4  |IHL=5  |  TOS = 0xc0   |      Total Length = 36        |  IPv4
//	+-------+-------+---------------+-+-+-+-------------------------+
//	|     ID (1, 2, 3, ...)         |0|0|0|    Fragment Offset = 0  |
//	+---------------+---------------+-+-+-+-------------------------+
//	|   TTL = 255   | Protocol = 112|       Header Checksum         |
//	+---------------+---------------+-------------------------------+
//	|                 Source Address (198.51.100.1)                 |
//	+---------------------------------------------------------------+
//	|               Destination Address (224.0.0.18)                |
//	+-------+-------+---------------+---------------+---------------+
//	|Ver=3  |Type=1 |   VRID = 51   | Priority = 200|  Count = 2    |  VRRP
//	+-------+-------+---------------+---------------+---------------+
//	|Rsvd=0 | Max Adver Int = 100 cs|       Checksum = 0x94fa       |
//	+-------+-----------------------+-------------------------------+
//	|                 IPv4 Address 1 (198.51.100.100)               |
//	+---------------------------------------------------------------+
//	|                 IPv4 Address 2 (203.0.113.10)                 |
//	+---------------------------------------------------------------+
//
// Over IPv6 the message is the same with 16-byte addresses; the IPv6 header
// comes from the socket, so Advert alone is encoded and decoded there, with
// the source, destination and hop limit that the socket reports.
//
// # The checksum
//
// The checksum is the Internet checksum (RFC 1071) of the message, and over
// IPv6 of a pseudo-header before it (source, destination, length, next
// header 112). Over IPv4 peers disagree, as ChecksumForm tells: RFC 9568
// §5.2.8 sums the message alone ("For the IPv4 address family, the
// checksum calculation only includes the VRRP message"); keepalived 2.2.7
// and FRR 8.4 add the same pseudo-header (source, destination, 0, 112,
// length), reading RFC 5798 so, and drop adverts without it. Worked out for the advert of VRID 1, priority 100,
// interval 100, address 198.51.100.100, from 198.51.100.1 to 224.0.0.18:
//
//	message words   3101 6401 0064 0000 c633 6464          sum 0x1bffd
//	message only    fold 0xbffe, complement                    = 0x4001
//	pseudo-header   c633 6401 e000 0012 0070 000c          sum 0x20ac2
//	with it         0x1bffd + 0x20ac2 = 0x3cabf, fold 0xcac2   = 0x353d
//
// Advert.Unmarshal accepts either form and says which matched, so that a
// group can answer a peer in its own form; Advert.Marshal writes the form it
// is given.
//
// # Election
//
// A Machine holds the state of one virtual router (RFC 9568 §6). A router
// starts as BACKUP, or as MASTER at once when it owns the addresses
// (priority 255). A BACKUP becomes MASTER when it hears no advert for
// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time, where
// Skew_Time = (256 − Priority) × Master_Adver_Interval / 256 lets the backup
// of highest priority go first, and Master_Adver_Interval is the interval
// the master advertises, learned from its adverts. A master that stops
// sends an advert of priority 0, after which its backups wait Skew_Time
// only. A MASTER advertises every Advertisement_Interval and steps down for
// an advert of higher priority, or of equal priority from a higher primary
// address. With Preempt_Mode (the default) a BACKUP ignores a master of
// lower priority, and so takes over from it when its timer runs out.
package vrrp
