// Package platformtest is an in-memory platform: a LAN of hosts, each
// with one interface, whose *Host implements platform.OS, so that group
// and node are tested under testing/synctest, with many groups and
// without root. Its goroutines block only on channels and it reads no
// clock but time.Now, the fake one in a synctest bubble. Open conns and
// watches inside the bubble (their channels then belong to it), and close
// them, and the done channels of watches, before it ends.
//
//	lan := new(platformtest.LAN)
//	a := lan.Host("eth0", mac1, netip.MustParsePrefix("198.51.100.1/24"))
//	b := lan.Host("eth0", mac2, netip.MustParsePrefix("198.51.100.2/24"))
//	o := platform.IPOptions{Protocol: 112, Src: src, Group: netip.MustParseAddr("224.0.0.18")}
//	ca, _ := a.OpenIP(o)
//	cb, _ := b.OpenIP(o)
//	ca.WritePacket(pkt)   // cb.ReadPacket returns a copy; ca never sees it
//	b.SetLink(true, false) // b loses its carrier: it hears nothing
//	lan.Partition(a)       // a and b no longer hear each other
//	lan.Sent()             // every packet and ARP frame, with its time
//
// What a packet written to a conn does follows the Linux kernel where the
// daemon can tell:
//
//   - The protocol byte and destination of the IP header decide who gets
//     it, not the options of the sending conn: a conn gets only packets of
//     its protocol.
//   - A packet to a multicast group reaches the hosts where some open conn
//     joined that group; there every conn of the protocol that joined a
//     group gets it (IP_MULTICAST_ALL, on by default), as does every
//     Broadcast conn (a packet socket sees all the NIC accepts).
//   - A packet sent through a Broadcast conn is an Ethernet broadcast: it
//     reaches every host, where Broadcast conns of the protocol get it, and
//     the others only if the IP layer accepts its destination (a joined
//     group, a local address, 255.255.255.255).
//   - A packet to a unicast address reaches the host that has it in its
//     address table, or as its IPv6 link-local address (Host.LinkLocal),
//     and every conn of the protocol there.
//   - The sender's host never gets its own packets (IP_MULTICAST_LOOP off,
//     PACKET_IGNORE_OUTGOING), from any of its conns.
//   - A host whose link is down (not IFF_UP) cannot send (ENETDOWN) and
//     gets nothing; taking it down makes the reader of each Broadcast conn
//     fail once with ENETDOWN, as a packet socket does. Up without a
//     carrier (not IFF_RUNNING), a send succeeds and the packet is lost;
//     nothing is received either. A removed interface (Host.Remove)
//     cannot send (ENODEV) nor open sockets.
//   - Each conn queues at most LAN.QueueLen packets for its reader; more
//     are dropped and counted (Conn.Drops, Host.Drops), as a full socket
//     buffer drops them.
//   - Close wakes the reader, which returns net.ErrClosed, and leaves the
//     group.
//
// Not modelled: IPv6, IP fragments, TTL and checksums (bytes travel as
// written), unicast to the sender's own address (loopback), ARP
// resolution and replies (ARP frames are recorded, not delivered),
// promiscuous mode, hosts with several interfaces, and the replay of the
// current state that Linux's link subscription starts with (WatchLink, as
// on FreeBSD, reports changes only).
package platformtest
