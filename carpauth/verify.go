package carpauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"net/netip"
	"sync"
	"time"
)

// Defaults of Config.
const (
	// DefaultWindow is the replay window when --replay-window is not
	// given: how old an advert may be when it is the first one heard from
	// its sender, and how far a sender's sequence may fall behind the time
	// that passed since it was best on time.
	DefaultWindow = 10 * time.Second
	// DefaultMaxSenders caps the senders remembered per group. A group
	// hears its peers, a handful; the cap only bounds what a key holder
	// sending from many addresses could make it keep.
	DefaultMaxSenders = 64
)

// Config is the receive side's configuration of one group.
type Config struct {
	Mode       Mode          // --auth-mode; Off for --auth=carp
	Window     time.Duration // --replay-window; DefaultWindow if 0
	MaxSenders int           // DefaultMaxSenders if 0
}

// sender is what a Verifier remembers of one source address.
type sender struct {
	last uint64  // the last sequence accepted
	base uint64  // the sequence of the advert that arrived most on time
	at   instant // when base was received
	seen instant // when last was received
}

// Verifier checks the trailers of the adverts that one group receives,
// decides by its Mode, and keeps the replay state of each sender (source
// address). It is safe for concurrent use: a group checks adverts on its
// interface reader's goroutine (group.Deliver) and reloads keys and mode
// from its loop.
//
// The freshness rule, for an advert from source S with a valid MAC and
// sequence q, received at now (the receiver's time.Now, whose monotonic
// reading measures elapsed time) with window W:
//
//   - always, if S was heard before: q > last, the last sequence accepted
//     from S (else ResultReplay). last is kept however long S is silent,
//     so that the adverts of a master that died are replays forever, not
//     only while it is remembered as active;
//   - S unknown (a restarted receiver, or S evicted): wall(now) - W <= q
//     (else ResultStale) and q <= wall(now) + W (else ResultFuture).
//     Without the upper bound, an advert whose sequence ran ahead of the
//     receiver's clock could be replayed, after its sender went quiet,
//     for as long as it was ahead;
//   - S known, active or silent, with track = base + (now - at), where
//     (base, at) is the advert of S that arrived most on time: ResultStale
//     only if q < min(wall(now), track) - W, and, when S was silent for
//     more than W, ResultFuture only if q > max(wall(now), track) + W. The
//     track follows a sender whose Sequence stayed ahead after a backward
//     step of its wall clock; the wall clock follows one whose Sequence
//     rebased onto it after a gap. An active sender may jump ahead (a
//     forward step of its clock).
//
// A step of the receiver's wall clock changes nothing for known, active
// senders; a step of the sender's is absorbed by Sequence. What a replay
// can still do is bounded by W: an advert held back by less than W can
// be delivered late once, if the receiver did not hear it; a receiver
// that has just started (or that evicted S, see MaxSenders) can be fed
// adverts captured less than W before, until the sender's next advert.
type Verifier struct {
	mu      sync.Mutex
	mode    Mode
	window  time.Duration
	max     int
	keys    []keyMAC // the keyring's, a handful: looked up by id
	addrs   []byte
	senders map[netip.Addr]*sender
	clock   epoch
	tag     [MACLen]byte
	ips     [33]byte
}

// NewVerifier returns the verifier of a group whose virtual addresses are
// addrs, accepting the keys of kr. kr may be nil in mode Off only.
func NewVerifier(kr *Keyring, addrs []netip.Addr, c Config) (*Verifier, error) {
	if c.Mode > Enforce {
		return nil, errors.New("carpauth: unknown mode")
	}
	if kr == nil && c.Mode != Off {
		return nil, errors.New("carpauth: a key file is needed with --auth=hmac-sha256")
	}
	if c.Window < 0 || c.MaxSenders < 0 {
		return nil, errors.New("carpauth: negative window or sender cap")
	}
	set, err := addressSet(addrs)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		mode:    c.Mode,
		window:  c.Window,
		max:     c.MaxSenders,
		addrs:   set,
		senders: make(map[netip.Addr]*sender),
	}
	if v.window == 0 {
		v.window = DefaultWindow
	}
	if v.max == 0 {
		v.max = DefaultMaxSenders
	}
	if kr != nil {
		v.SetKeys(kr)
	}
	return v, nil
}

// SetKeys replaces the accepted keys (a reload of the key file) and keeps
// the replay state.
func (v *Verifier) SetKeys(kr *Keyring) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ks := kr.Keys()
	v.keys = make([]keyMAC, 0, len(ks))
	for _, k := range ks {
		v.keys = append(v.keys, keyMAC{id: k.ID, mac: hmac.New(sha256.New, k.Secret)})
	}
}

// keyMAC is one accepted key's HMAC. A slice of them, not an array
// indexed by id: [256]hash.Hash was 4 KiB in every group, with or without
// --auth (1 MiB of heap at 256 groups, docs/PERF.md).
type keyMAC struct {
	id  uint8
	mac hash.Hash
}

// key returns the HMAC of key id, nil if it is not accepted.
func (v *Verifier) key(id uint8) hash.Hash {
	for _, k := range v.keys {
		if k.id == id {
			return k.mac
		}
	}
	return nil
}

// SetWindow changes the window (a reload; DefaultWindow if 0) and keeps
// the replay state.
func (v *Verifier) SetWindow(w time.Duration) {
	if w <= 0 {
		w = DefaultWindow
	}
	v.mu.Lock()
	v.window = w
	v.mu.Unlock()
}

// Window is the replay window.
func (v *Verifier) Window() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.window
}

// SetMode changes the mode (a reload) and keeps the replay state.
func (v *Verifier) SetMode(m Mode) {
	v.mu.Lock()
	v.mode = m
	v.mu.Unlock()
}

// Mode is the verifier's mode.
func (v *Verifier) Mode() Mode {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mode
}

// SetAddrs changes the virtual addresses covered by the MAC, on a reload.
func (v *Verifier) SetAddrs(addrs []netip.Addr) error {
	set, err := addressSet(addrs)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.addrs = set
	v.mu.Unlock()
	return nil
}

// Senders is the number of senders remembered.
func (v *Verifier) Senders() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.senders)
}

// Check decides about one advert that passed the plain CARP checks: src
// and dst are its IP addresses, payload its IP payload cut to the IP
// length (the 36 CARP bytes and whatever follows), now the time of
// receipt (time.Now). A verified sequence is remembered, so that the same
// advert is a replay the second time. Check never fails: every input has
// a Verdict.
func (v *Verifier) Check(src, dst netip.Addr, payload []byte, now time.Time) Verdict {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.check(src, dst, payload, v.clock.reading(now))
}

// check is Check with v.mu held (or in a test that owns v).
func (v *Verifier) check(src, dst netip.Addr, payload []byte, now instant) Verdict {
	if len(payload) < carpLen {
		// Not an advert; carp.Validator drops it before this is called.
		return Verdict{Drop: true, Result: ResultMalformed}
	}
	rest := payload[carpLen:]
	has := HasTrailer(rest)
	if !has || v.mode == Off {
		return Decide(v.mode, has, ResultAbsent)
	}
	r, key, seq := v.verify(src, dst, payload[:carpLen], rest, now)
	d := Decide(v.mode, true, r)
	if r == ResultVerified && !d.Drop {
		v.remember(key, seq, now)
	}
	return d
}

// verify checks the trailer rest of the advert carpHdr and its freshness,
// and returns the sender and sequence to remember if it is ResultVerified.
func (v *Verifier) verify(src, dst netip.Addr, carpHdr, rest []byte, now instant) (Result, netip.Addr, uint64) {
	var t Trailer
	switch err := t.UnmarshalBinary(rest); {
	case errors.Is(err, ErrVersion):
		return ResultBadVersion, netip.Addr{}, 0
	case err != nil:
		return ResultMalformed, netip.Addr{}, 0
	}
	mac := v.key(t.KeyID)
	if mac == nil {
		return ResultUnknownKey, netip.Addr{}, 0
	}
	src, dst, ok := family(src, dst)
	if !ok {
		return ResultBadMAC, netip.Addr{}, 0
	}
	sum(mac, &v.tag, &v.ips, rest[:signedLen], src, dst, carpHdr, v.addrs)
	if !hmac.Equal(v.tag[:], t.MAC[:]) {
		return ResultBadMAC, netip.Addr{}, 0
	}
	return v.fresh(v.senders[src], t.Seq, now), src, t.Seq
}

// fresh applies the freshness rule of the type's documentation to
// sequence q from the sender e (nil if unknown).
func (v *Verifier) fresh(e *sender, q uint64, now instant) Result {
	w := uint64(v.window)
	if e == nil {
		if behind(q, now.wall, w) {
			return ResultStale
		}
		if ahead(q, now.wall, w) {
			return ResultFuture
		}
		return ResultVerified
	}
	if q <= e.last {
		return ResultReplay
	}
	// A known sender, active or quiet: its track or the wall clock,
	// whichever is more lenient on each side. The track is what the
	// sender's Sequence keeps after a backward step of its wall clock;
	// the wall clock is what it rebases onto after a gap. An active
	// sender may jump ahead (a forward step of its wall clock): only a
	// quiet one is bounded above.
	track := e.base + since(e.at, now)
	if behind(q, min(now.wall, track), w) {
		return ResultStale
	}
	if v.idle(e, now) && ahead(q, max(now.wall, track), w) {
		return ResultFuture
	}
	return ResultVerified
}

// ahead reports whether q is more than w above ref, without overflow.
func ahead(q, ref, w uint64) bool {
	return q > ref && q-ref > w
}

// behind reports whether q is more than w below ref, without the
// overflow of q+w for a sequence near the top of the range.
func behind(q, ref, w uint64) bool {
	return ref > w && q < ref-w
}

// idle reports whether e has been silent for more than the window.
func (v *Verifier) idle(e *sender, now instant) bool {
	return since(e.seen, now) > uint64(v.window)
}

// remember records that q from src was accepted at now.
func (v *Verifier) remember(src netip.Addr, q uint64, now instant) {
	e := v.senders[src]
	if e == nil || v.idle(e, now) {
		if e == nil {
			v.makeRoom(now)
			e = new(sender)
			v.senders[src] = e
		}
		*e = sender{last: q, base: q, at: now, seen: now}
		return
	}
	e.last, e.seen = q, now
	if q > e.base+since(e.at, now) {
		e.base, e.at = q, now // more on time than any before
	}
}

// makeRoom makes room for one more sender: if the table is full, it
// forgets the one heard from least recently. Senders that are merely
// silent are kept, with their last sequence, for as long as there is
// room: a dead master's adverts stay replays. Only verified adverts, made
// by a key holder, add senders, so the cap is reached only by a key
// holder sending from many addresses; a sender forgotten then is judged
// by the rule for unknown senders, which bounds its replays by the window
// around the receiver's wall clock.
func (v *Verifier) makeRoom(now instant) {
	if len(v.senders) < v.max {
		return
	}
	var oldest netip.Addr
	var oldestSeen time.Duration
	for a, e := range v.senders {
		if !oldest.IsValid() || e.seen.mono < oldestSeen {
			oldest, oldestSeen = a, e.seen.mono
		}
	}
	if oldest.IsValid() {
		delete(v.senders, oldest)
	}
}
