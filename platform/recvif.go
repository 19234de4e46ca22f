package platform

import (
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// recvifVerdict is what the IP_RECVIF control message says of a received
// packet where a raw socket cannot be bound to one interface (FreeBSD has
// no SO_BINDTODEVICE) and receives from all of them.
type recvifVerdict uint8

const (
	// recvifOurs: the packet arrived on the daemon's interface.
	recvifOurs recvifVerdict = iota
	// recvifOther: it arrived on another interface; Linux's bound socket
	// never sees such packets.
	recvifOther
	// recvifMissing: no interface was reported, so nothing says the packet
	// came on ours: a packet from another segment must not count.
	recvifMissing

	numRecvifVerdicts
)

var recvifNames = [...]string{recvifOurs: "on-interface", recvifOther: "other-interface", recvifMissing: "no-recvif"}

func (v recvifVerdict) String() string {
	if int(v) < len(recvifNames) {
		return recvifNames[v]
	}
	return "recvifVerdict(?)"
}

// recvifCheck judges a packet by its control message: cm is nil, or its
// IfIndex is 0, when the kernel sent no IP_RECVIF.
func recvifCheck(cm *ipv4.ControlMessage, ifindex int) recvifVerdict {
	switch {
	case cm == nil || cm.IfIndex == 0:
		return recvifMissing
	case cm.IfIndex != ifindex:
		return recvifOther
	}
	return recvifOurs
}

// recvifFilter keeps the packets that arrived on one interface and counts
// those it drops, by verdict; safe for concurrent use.
type recvifFilter struct {
	dropped [numRecvifVerdicts]atomic.Uint64
}

// keep reports whether the packet is for the interface ifindex, and
// counts it when it is not.
func (f *recvifFilter) keep(cm *ipv4.ControlMessage, ifindex int) bool {
	v := recvifCheck(cm, ifindex)
	if v != recvifOurs {
		f.dropped[v].Add(1)
	}
	return v == recvifOurs
}

// Drops implements DropCounter.
func (f *recvifFilter) Drops() map[string]uint64 {
	m := map[string]uint64{}
	for v := recvifOther; v < numRecvifVerdicts; v++ {
		if n := f.dropped[v].Load(); n > 0 {
			m[v.String()] = n
		}
	}
	return m
}

// DropCounter is implemented by an IPConn that drops packets itself,
// before the daemon sees them (FreeBSD: packets that IP_RECVIF places on
// another interface, or on none); the counts are by reason, for the
// daemon's own counters.
type DropCounter interface {
	Drops() map[string]uint64
}
