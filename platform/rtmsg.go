package platform

import (
	"encoding/binary"
	"errors"
)

// FreeBSD routing-socket messages, decoded by hand from the fixed headers
// of <net/if.h>, so that the decoding runs and is tested on any system.
// golang.org/x/net/route builds only on the BSDs, and it drops the
// RTM_IFINFO messages that a link change sends on a routing socket: they
// carry no address (ifm_addrs is 0), and its parser returns nothing without
// RTA_IFP.
const (
	rtmVersion    = 5    // RTM_VERSION
	rtmNewAddr    = 0x0c // RTM_NEWADDR
	rtmDelAddr    = 0x0d // RTM_DELADDR
	rtmIfInfo     = 0x0e // RTM_IFINFO
	rtmIfAnnounce = 0x11 // RTM_IFANNOUNCE

	ifanDeparture = 1 // IFAN_DEPARTURE

	iffUp      = 0x1  // IFF_UP
	iffRunning = 0x40 // IFF_DRV_RUNNING, reported as IFF_RUNNING
)

// rtMessage is what the daemon needs of a routing message.
type rtMessage struct {
	Type  int
	Index int
	Flags int    // RTM_IFINFO: the interface flags
	What  int    // RTM_IFANNOUNCE: IFAN_ARRIVAL or IFAN_DEPARTURE
	Name  string // RTM_IFANNOUNCE: the interface name
}

var errShortMessage = errors.New("platform: routing message too short")

// parseRoutingMessages splits what one read of a routing socket returned
// into messages and decodes those of interest: RTM_IFINFO (if_msghdr:
// flags at 8, index at 12), RTM_IFANNOUNCE (if_announcemsghdr: index at 4,
// name at 6, what at 22) and RTM_NEWADDR/RTM_DELADDR (ifa_msghdr: index
// at 12). Other types and versions are skipped.
func parseRoutingMessages(b []byte) ([]rtMessage, error) {
	order := binary.NativeEndian
	var out []rtMessage
	for len(b) > 0 {
		if len(b) < 4 {
			return out, errShortMessage
		}
		n := int(order.Uint16(b[0:2]))
		if n < 4 || n > len(b) {
			return out, errShortMessage
		}
		m, rest := b[:n], b[n:]
		b = rest
		if m[2] != rtmVersion {
			continue
		}
		switch typ := int(m[3]); typ {
		case rtmIfInfo:
			if n < 14 {
				return out, errShortMessage
			}
			out = append(out, rtMessage{Type: typ, Flags: int(order.Uint32(m[8:12])), Index: int(order.Uint16(m[12:14]))})
		case rtmNewAddr, rtmDelAddr:
			if n < 14 {
				return out, errShortMessage
			}
			out = append(out, rtMessage{Type: typ, Index: int(order.Uint16(m[12:14]))})
		case rtmIfAnnounce:
			if n < 24 {
				return out, errShortMessage
			}
			name := m[6:22]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			out = append(out, rtMessage{Type: typ, Index: int(order.Uint16(m[4:6])), Name: string(name),
				What: int(order.Uint16(m[22:24]))})
		}
	}
	return out, nil
}

// linkStateOfFlags turns BSD interface flags into a LinkState.
func linkStateOfFlags(flags int) LinkState {
	return LinkState{Up: flags&iffUp != 0, Running: flags&iffRunning != 0}
}
