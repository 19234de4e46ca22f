//go:build linux

package lab

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// AddrEvent is an address appearing or going on a host.
type AddrEvent struct {
	At    time.Time
	Added bool
}

// AddrWatch records, from rtnetlink events in a host's namespace, when an
// address is added and removed: the moment a host really holds the VIP,
// whatever daemon or script put it there.
type AddrWatch struct {
	mu     sync.Mutex
	events []AddrEvent
	err    error
	done   chan struct{}
}

// WatchAddr starts recording the changes of a on h.
func (h *Host) WatchAddr(a netip.Addr) (*AddrWatch, error) {
	ns, err := netns.GetFromName(h.NS)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	w := &AddrWatch{done: make(chan struct{})}
	ch := make(chan netlink.AddrUpdate, 256)
	opts := netlink.AddrSubscribeOptions{Namespace: &ns, ReceiveBufferSize: 1 << 20, ErrorCallback: func(err error) {
		select {
		case <-w.done:
			// Stop closes the socket under the pending read, which then
			// reports the EAGAIN of its last try: not a lost event.
			return
		default:
		}
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}}
	if err := netlink.AddrSubscribeWithOptions(ch, w.done, opts); err != nil {
		return nil, fmt.Errorf("lab: address events in %s: %w", h.Name, err)
	}
	go func() {
		for u := range ch {
			now := time.Now()
			if ip, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok && ip.Unmap() == a { // IPv4 or IPv6
				w.mu.Lock()
				w.events = append(w.events, AddrEvent{At: now, Added: u.NewAddr})
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

// Stop ends the recording.
func (w *AddrWatch) Stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
}

// First is the first event of the given kind after t.
func (w *AddrWatch) First(added bool, after time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.Added == added && e.At.After(after) {
			return e.At, true
		}
	}
	return time.Time{}, false
}

// Err is the error that ended the recording early, if any.
func (w *AddrWatch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Changes returns the moments the address appeared or went; renewals of
// an address already there (a lifetime refreshed) are left out.
func (w *AddrWatch) Changes() []AddrEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []AddrEvent
	held := false
	for _, e := range w.events {
		if e.Added != held {
			out = append(out, e)
			held = e.Added
		}
	}
	return out
}

// Events returns the events so far.
func (w *AddrWatch) Events() []AddrEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]AddrEvent{}, w.events...)
}

// Reset stops every process of the lab, plugs every cable back, heals
// every partition and removes the VIP from every host, so that the next
// run starts from a clean LAN.
func (l *Lab) Reset() {
	l.killProcs()
	for _, h := range l.Hosts {
		h.KillAll()
		h.RestoreLink()
		h.Heal()
		h.SetLink(true)
		for h.HasAddr(VIP) {
			if _, err := h.Exec("ip", "addr", "del", VIP.String()+"/32", "dev", h.IfName); err != nil {
				break
			}
		}
	}
}
