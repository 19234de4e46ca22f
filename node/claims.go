package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// claimHub is an interface's one listener of who claims addresses: ARP
// for IPv4, Neighbour Discovery for IPv6, each opened while a group of
// the interface watches an address of its family (a MASTER, a handoff in
// flight) and closed when the last such watch stops. It hands each claim
// of a watched address from a MAC other than the interface's to the
// groups that watch it. Idle, it holds no socket and no goroutine.
type claimHub struct {
	listenARP, listenND func() (platform.FrameReader, error) // nil: not supported
	own                 atomic.Pointer[net.HardwareAddr]     // the interface's MAC

	// mu serializes the opening and closing of the listeners; smu guards
	// subs, which the readers take alone (a reader being closed under mu
	// still delivers what it holds).
	mu   sync.Mutex
	arp  *claimReader
	nd   *claimReader
	smu  sync.RWMutex
	subs map[*claimSub]struct{}
}

type claimSub struct {
	addrs []netip.Addr
	ch    chan<- vip.Claim
}

// claimReader is one open listener and its goroutine.
type claimReader struct {
	l    platform.FrameReader
	stop chan struct{}
	done chan struct{}
}

func newClaimHub(sys platform.OS) *claimHub {
	h := &claimHub{subs: map[*claimSub]struct{}{}}
	h.setOwn(sys.Interface().HardwareAddr)
	if l, ok := sys.(platform.ARPListener); ok {
		h.listenARP = l.ListenARP
	}
	if l, ok := sys.(platform.NDListener); ok {
		h.listenND = l.ListenND
	}
	return h
}

// setOwn gives the hub the interface's MAC, when it changed: the claims
// that carry it are the host's own: frames that come back to the
// interface (a switch that reflects a bond's broadcasts), which the
// listeners' kernel filter cannot tell from another host's.
func (h *claimHub) setOwn(mac net.HardwareAddr) {
	mac = slices.Clone(mac)
	h.own.Store(&mac)
}

// errNoListener says that the platform cannot see the claims of a family.
var errNoListener = fmt.Errorf("node: no listener on this platform: %w", group.ErrNoClaims)

// Watch hands ch, without blocking, every claim of one of addrs from
// another MAC than the interface's, until stop is called. An error says
// that the claims of some of addrs cannot be seen (the others are
// watched all the same, until stop).
func (h *claimHub) Watch(addrs []netip.Addr, ch chan<- vip.Claim) (stop func(), err error) {
	s := &claimSub{addrs: slices.Clone(addrs), ch: ch}
	h.mu.Lock()
	h.smu.Lock()
	h.subs[s] = struct{}{}
	h.smu.Unlock()
	err = h.update()
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.smu.Lock()
			delete(h.subs, s)
			h.smu.Unlock()
			h.update()
			h.mu.Unlock()
		})
	}, err
}

// update opens the listeners that the watches need and closes the
// others; h.mu is held.
func (h *claimHub) update() error {
	var want4, want6 bool
	h.smu.RLock()
	for s := range h.subs {
		for _, a := range s.addrs {
			want4 = want4 || a.Is4()
			want6 = want6 || a.Is6()
		}
	}
	h.smu.RUnlock()
	var errs []error
	var err error
	if h.arp, err = h.keep(h.arp, want4, h.listenARP, vip.ParseClaim); err != nil {
		errs = append(errs, fmt.Errorf("ARP: %w", err))
	}
	if h.nd, err = h.keep(h.nd, want6, h.listenND, vip.ParseNDClaim); err != nil {
		errs = append(errs, fmt.Errorf("neighbour discovery: %w", err))
	}
	return errors.Join(errs...)
}

func (h *claimHub) keep(r *claimReader, want bool, listen func() (platform.FrameReader, error),
	parse func([]byte) (vip.Claim, error)) (*claimReader, error) {
	switch {
	case want && r != nil:
		return r, nil
	case want && listen == nil:
		return nil, errNoListener
	case want:
		l, err := listen()
		if err != nil {
			return nil, err
		}
		r = &claimReader{l: l, stop: make(chan struct{}), done: make(chan struct{})}
		go h.read(r, parse)
		return r, nil
	case r != nil:
		r.close()
	}
	return nil, nil
}

func (r *claimReader) close() {
	close(r.stop)
	r.l.Close()
	<-r.done
}

// close closes the listeners, when the interface goes.
func (h *claimHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.smu.Lock()
	clear(h.subs)
	h.smu.Unlock()
	h.update()
}

// read hands the claims that r reads to the watches, until r is closed.
func (h *claimHub) read(r *claimReader, parse func([]byte) (vip.Claim, error)) {
	defer close(r.done)
	b := make([]byte, 1514)
	for {
		n, err := r.l.ReadFrame(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.stop:
				return
			case <-time.After(10 * time.Millisecond): // e.g. ENETDOWN
			}
			continue
		}
		c, err := parse(b[:n])
		if err != nil || bytes.Equal(c.MAC, *h.own.Load()) {
			continue
		}
		c.MAC = slices.Clone(c.MAC)
		h.smu.RLock()
		for s := range h.subs {
			if slices.Contains(s.addrs, c.Addr) {
				select {
				case s.ch <- c:
				default: // the group has enough to act on
				}
			}
		}
		h.smu.RUnlock()
	}
}
