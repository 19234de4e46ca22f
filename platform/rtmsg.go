package platform

import (
	"encoding/binary"
	"errors"
	"os"
	"time"
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

// The wait after a failed read of a routing socket: it doubles from
// routeRetryMin with each failure in a row, up to routeRetryMax, and
// starts over after a good read.
const (
	routeRetryMin = 10 * time.Millisecond
	routeRetryMax = time.Second
)

// routeReadRetry decides what follows a failed read of a routing socket,
// the failures-th in a row (from 1): stop when the socket was closed (the
// watch is over), else wait before reading again. One ENOBUFS (messages
// lost when the socket buffer overflowed; the next ones tell the state)
// costs 10 ms; an error that persists cannot make the reader spin, and is
// retried at most once a second.
func routeReadRetry(err error, failures int) (stop bool, wait time.Duration) {
	if errors.Is(err, os.ErrClosed) {
		return true, 0
	}
	wait = routeRetryMin
	for i := 1; i < failures && wait < routeRetryMax; i++ {
		wait *= 2
	}
	return false, min(wait, routeRetryMax)
}

// readRoutingSocket reads a routing socket with read until done is closed
// or the socket is, and hands each message to fn; failed reads are
// retried as routeReadRetry says.
func readRoutingSocket(done <-chan struct{}, read func([]byte) (int, error), fn func(rtMessage)) {
	buf := make([]byte, 16<<10)
	failures := 0
	for {
		n, err := read(buf)
		if err != nil {
			failures++
			stop, wait := routeReadRetry(err, failures)
			if stop {
				return
			}
			t := time.NewTimer(wait)
			select {
			case <-done:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		failures = 0
		msgs, _ := parseRoutingMessages(buf[:n])
		for _, m := range msgs {
			fn(m)
		}
	}
}
