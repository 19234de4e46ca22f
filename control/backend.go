package control

import "sync"

// Backend is what the server serves from: the node implements it. Its
// methods are called from the server's goroutines, concurrently, and
// should return promptly (post into the groups' loops and wait for the
// answer, no more).
type Backend interface {
	// Status returns every group, in a stable order.
	Status() []Group
	// Explain says in one paragraph why the named group is in its state.
	Explain(name string) (string, error)
	// Demote sets the persistent demotion of the named group that the
	// control socket owns to level (0 to MaxDemotion), replacing the
	// level set before; Promote sets it back to 0.
	Demote(name string, level int) error
	Promote(name string) error
	// Reload reads the configuration again; ErrNotSupported where there
	// is none (command-line mode).
	Reload() error
	// Subscribe returns a channel of events and a function that ends the
	// subscription. The backend never blocks on the channel: a
	// subscriber that falls behind has its channel closed (Broadcaster
	// does so).
	Subscribe() (events <-chan Event, cancel func())
}

// Maintainer is a Backend that puts groups in maintenance (the
// maintenance verb); without it the verb is ErrNotSupported.
type Maintainer interface {
	// Maintenance puts the named group in maintenance (on) or takes it
	// out, and returns at once: Status follows the handoff. persistent
	// keeps the state across restarts of the daemon; off forgets it.
	Maintenance(name string, on, persistent bool) error
}

// Names are resolved by the server with Select before the Backend sees
// them: a Backend's name is always a Group.Name that its Status returned.

// Broadcaster fans events out to subscribers without ever blocking the
// publisher: a subscriber whose buffer is full is dropped (its channel
// closed), so a slow watch client costs the daemon nothing. A Backend can
// implement Subscribe with it. The zero value is ready, with a buffer of
// DefaultEventBuffer events per subscriber.
type Broadcaster struct {
	// Buffer is the number of events each subscriber may fall behind.
	Buffer int

	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// DefaultEventBuffer is the buffer of a subscriber of a zero Broadcaster.
const DefaultEventBuffer = 256

// Publish sends ev to every subscriber that has room for it and drops the
// others.
func (b *Broadcaster) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// Subscribe returns a channel of the events published from now on, and a
// function that ends the subscription (safe to call more than once).
func (b *Broadcaster) Subscribe() (<-chan Event, func()) {
	n := b.Buffer
	if n <= 0 {
		n = DefaultEventBuffer
	}
	ch := make(chan Event, n)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan Event]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// Close ends every subscription: the watches end.
func (b *Broadcaster) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		close(ch)
	}
	b.subs = nil
}
