package platformtest

import (
	"bytes"
	"net"
	"slices"

	"github.com/ucarp-go/ucarp/platform"
)

var (
	_ platform.ARPListener = (*Host)(nil)
	_ platform.NDListener  = (*Host)(nil)
)

// arpQueueLen bounds the frames an ARP listener holds for its reader.
const arpQueueLen = 64

// arpListener is a listener of ListenARP: what a packet socket of ARP's
// EtherType queues. lan.mu guards q and closed.
type arpListener struct {
	h      *Host
	nd     bool // ListenND's: Neighbour Discovery, not ARP
	q      [][]byte
	wakeup chan struct{}
	closed bool
	done   chan struct{}
}

// ListenARP implements platform.ARPListener, as a Linux packet socket
// with Linux's filter does: it receives the ARP frames written on the
// host's segment (its island) while its link is up and running, those
// broadcast or multicast and those sent to the host's MAC (packet types
// HOST, BROADCAST, MULTICAST), never those the host writes itself
// (OUTGOING) nor those sent to another MAC (OTHERHOST); frames beyond a
// queue of 64 are dropped.
func (h *Host) ListenARP() (platform.FrameReader, error) { return h.listen(false) }

// ListenND implements platform.NDListener, as Linux's packet socket of
// IPv6 with its filter does: it receives the Neighbour Solicitations and
// Advertisements written on the host's segment, as ListenARP the ARP
// frames.
func (h *Host) ListenND() (platform.FrameReader, error) { return h.listen(true) }

func (h *Host) listen(nd bool) (platform.FrameReader, error) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	if h.arpErr != nil {
		return nil, h.arpErr
	}
	l := &arpListener{h: h, nd: nd, wakeup: make(chan struct{}, 1), done: make(chan struct{})}
	h.arpListeners = append(h.arpListeners, l)
	h.listens++
	return l, nil
}

// Listening is how many ARP and ND listeners of the host are open, and
// how many were ever opened.
func (h *Host) Listening() (open, opened int) {
	h.lan.mu.Lock()
	defer h.lan.mu.Unlock()
	return len(h.arpListeners), h.listens
}

// isND reports whether frame is a Neighbour Solicitation or
// Advertisement (what Linux's filter of ListenND keeps).
func isND(frame []byte) bool {
	return len(frame) > 54 && frame[12] == 0x86 && frame[13] == 0xdd && frame[20] == 58 &&
		(frame[54] == 135 || frame[54] == 136)
}

// deliverARP queues a copy of frame, which from wrote, on every listener
// that sees it. lan.mu is held.
func (l *LAN) deliverARP(from *Host, frame []byte) int {
	n := 0
	arp, nd := len(frame) >= 14 && frame[12] == 0x08 && frame[13] == 0x06, isND(frame)
	for _, r := range l.hosts {
		if r == from || r.island != from.island || !r.state.Up || !r.state.Running || r.state.Gone {
			continue
		}
		if frame[0]&1 == 0 && !bytes.Equal(frame[:6], r.mac) {
			continue // PACKET_OTHERHOST
		}
		for _, al := range r.arpListeners {
			if al.closed || len(al.q) >= arpQueueLen || !(al.nd && nd || !al.nd && arp) {
				continue
			}
			al.q = append(al.q, slices.Clone(frame))
			select {
			case al.wakeup <- struct{}{}:
			default:
			}
			n++
		}
	}
	return n
}

func (a *arpListener) ReadFrame(b []byte) (int, error) {
	for {
		a.h.lan.mu.Lock()
		if a.closed {
			a.h.lan.mu.Unlock()
			return 0, &net.OpError{Op: "read", Net: "packet", Err: net.ErrClosed}
		}
		if len(a.q) > 0 {
			f := a.q[0]
			a.q = a.q[1:]
			a.h.lan.mu.Unlock()
			return copy(b, f), nil
		}
		a.h.lan.mu.Unlock()
		select {
		case <-a.wakeup:
		case <-a.done:
		}
	}
}

func (a *arpListener) Close() error {
	a.h.lan.mu.Lock()
	defer a.h.lan.mu.Unlock()
	if !a.closed {
		a.closed = true
		close(a.done)
		a.h.arpListeners = slices.DeleteFunc(a.h.arpListeners, func(x *arpListener) bool { return x == a })
	}
	return nil
}
