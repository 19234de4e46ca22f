package carpauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"slices"
	"time"
)

// carpLen is the length of the CARP header (carp.HeaderLen); this package
// takes the header as bytes and does not import carp.
const carpLen = 36

var (
	errFamily    = errors.New("carpauth: source and destination must be two IPv4 or two IPv6 addresses")
	errCARPLen   = errors.New("carpauth: the CARP header has 36 bytes")
	errNoAddress = errors.New("carpauth: at least one virtual address is needed")
)

// addressSet is the encoding of a group's virtual addresses that the MAC
// covers: the IPv4 addresses in ascending order after a 2-byte count,
// then the IPv6 addresses likewise; each address once, IPv4-mapped ones
// as IPv4, without zones. The counts keep four IPv4 addresses apart from
// one IPv6 address.
func addressSet(addrs []netip.Addr) ([]byte, error) {
	if len(addrs) == 0 {
		return nil, errNoAddress
	}
	sorted := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() {
			return nil, errors.New("carpauth: invalid virtual address")
		}
		sorted = append(sorted, a.Unmap().WithZone(""))
	}
	slices.SortFunc(sorted, netip.Addr.Compare) // IPv4 sorts before IPv6
	sorted = slices.Compact(sorted)
	n4 := 0
	for n4 < len(sorted) && sorted[n4].Is4() {
		n4++
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(n4))
	for _, a := range sorted[:n4] {
		b = append(b, a.AsSlice()...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sorted)-n4))
	for _, a := range sorted[n4:] {
		b = append(b, a.AsSlice()...)
	}
	return b, nil
}

// sum computes the tag into out:
//
//	HMAC-SHA256(key, trailer[0:16] || ipver || src || dst || carp[0:36] || addressSet)
//
// ipver is 4 or 6, src and dst 4 or 16 bytes each. src and dst must be of
// one family (the caller checks). scratch holds the addresses, so that
// nothing escapes to the heap.
func sum(mac hash.Hash, out *[MACLen]byte, scratch *[33]byte, head []byte, src, dst netip.Addr, carpHdr, addrs []byte) {
	a := scratch[:0]
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		a = append(append(append(a, 4), s[:]...), d[:]...)
	} else {
		s, d := src.As16(), dst.As16()
		a = append(append(append(a, 6), s[:]...), d[:]...)
	}
	mac.Reset()
	mac.Write(head)
	mac.Write(a)
	mac.Write(carpHdr)
	mac.Write(addrs)
	mac.Sum(out[:0])
}

// family checks that src and dst are two IPv4 or two IPv6 addresses and
// returns them unmapped and without zones, as the MAC covers them.
func family(src, dst netip.Addr) (netip.Addr, netip.Addr, bool) {
	src, dst = src.Unmap().WithZone(""), dst.Unmap().WithZone("")
	ok := src.IsValid() && dst.IsValid() && src.Is4() == dst.Is4()
	return src, dst, ok
}

// Sequence makes the sequence numbers of one sender: Unix time in
// nanoseconds, strictly increasing, and advancing with the monotonic
// clock between readings so that a step of the wall clock does not stall
// it:
//
//	next = max(last+1, base + (now - at), wall(now))
//
// where (base, at) is the last point at which the wall clock was ahead
// of this track, now - at measured on the monotonic clock. A forward step
// of the wall clock moves the track forward; a backward step leaves it
// where it was, running on at the monotonic rate, ahead of the wall clock
// by the step while the sender keeps sending. The brief form
// max(last+1, wall(now)) would instead stall after a backward step, one
// nanosecond an advert, and fall behind what the receivers expect of a
// sender they hear.
//
// After a gap of more than the window between two readings (a BACKUP,
// which sends nothing, becoming MASTER), the track is dropped and the
// number is max(last+1, wall(now)): receivers that did not hear the
// sender for that long compare the advert with their wall clock, and a
// track left ahead by an old step would make it ResultFuture at a
// receiver that does not remember the sender. Lead reports how far the
// last number is ahead of the wall clock, which the caller logs when it
// exceeds the window.
//
// The zero Sequence is ready, with the window DefaultWindow; it is not
// safe for concurrent use.
type Sequence struct {
	clock   epoch
	last    uint64
	base    uint64
	at      instant
	sent    instant // the reading of the last number
	started bool
	window  time.Duration // DefaultWindow if 0
}

// Next returns the sequence number for an advert sent at now, which must
// come from time.Now (with its monotonic reading).
func (s *Sequence) Next(now time.Time) uint64 { return s.next(s.clock.reading(now)) }

// SetWindow sets the gap after which the track is rebased onto the wall
// clock: the receivers' replay window (DefaultWindow if 0).
func (s *Sequence) SetWindow(w time.Duration) { s.window = max(w, 0) }

func (s *Sequence) next(now instant) uint64 {
	w := s.window
	if w == 0 {
		w = DefaultWindow
	}
	onTrack := s.started && since(s.sent, now) <= uint64(w)
	track := now.wall
	if onTrack {
		track = s.base + since(s.at, now)
	}
	if !onTrack || now.wall > track {
		s.base, s.at = now.wall, now
		track = now.wall
	}
	s.last = max(s.last+1, track)
	s.sent, s.started = now, true
	return s.last
}

// Lead is how far the last number is ahead of the wall clock when it was
// made: 0 on time, the size of a backward step of the wall clock while
// the sender keeps sending.
func (s *Sequence) Lead() time.Duration {
	if !s.started || s.last <= s.sent.wall {
		return 0
	}
	return time.Duration(min(s.last-s.sent.wall, uint64(1<<63-1)))
}

// Last is the last number Next returned.
func (s *Sequence) Last() uint64 { return s.last }

// Signer appends the trailer to the adverts of one group. It is not safe
// for concurrent use: the group's loop owns it.
type Signer struct {
	key   Key
	mac   hash.Hash
	addrs []byte
	seq   Sequence
	tag   [MACLen]byte
	ips   [33]byte
}

// NewSigner returns the signer of a group whose virtual addresses are
// addrs, signing with kr's first key.
func NewSigner(kr *Keyring, addrs []netip.Addr) (*Signer, error) {
	set, err := addressSet(addrs)
	if err != nil {
		return nil, err
	}
	s := &Signer{addrs: set}
	s.SetKeys(kr)
	return s, nil
}

// SetKeys switches to kr's first key (a key rotation) and keeps the
// sequence, which must not go back.
func (s *Signer) SetKeys(kr *Keyring) {
	s.key = kr.Send()
	s.mac = hmac.New(sha256.New, s.key.Secret)
}

// SetAddrs changes the virtual addresses covered by the MAC, on a reload.
func (s *Signer) SetAddrs(addrs []netip.Addr) error {
	set, err := addressSet(addrs)
	if err != nil {
		return err
	}
	s.addrs = set
	return nil
}

// SetWindow sets the receivers' replay window, which bounds the gap
// between two adverts over which the sequence keeps its track (see
// Sequence).
func (s *Signer) SetWindow(w time.Duration) { s.seq.SetWindow(w) }

// Lead is how far the last sequence sent is ahead of the wall clock (see
// Sequence.Lead).
func (s *Signer) Lead() time.Duration { return s.seq.Lead() }

// KeyID is the id of the key that signs.
func (s *Signer) KeyID() uint8 { return s.key.ID }

// AppendTrailer appends the trailer of the advert carpHdr (its 36 bytes as
// sent, checksum included) from src to dst, sent at now, to b. The caller
// makes the IP length cover it (SealIPv4 does that for IPv4).
func (s *Signer) AppendTrailer(b []byte, src, dst netip.Addr, carpHdr []byte, now time.Time) ([]byte, error) {
	src, dst, ok := family(src, dst)
	if !ok {
		return b, errFamily
	}
	if len(carpHdr) != carpLen {
		return b, errCARPLen
	}
	return s.appendSeq(b, src, dst, carpHdr, s.seq.Next(now)), nil
}

// appendSeq appends the trailer with sequence q; src and dst are checked.
func (s *Signer) appendSeq(b []byte, src, dst netip.Addr, carpHdr []byte, q uint64) []byte {
	t := Trailer{Version: TrailerVersion, KeyID: s.key.ID, Seq: q}
	off := len(b)
	b, _ = t.AppendBinary(b)
	sum(s.mac, &s.tag, &s.ips, b[off:off+signedLen], src, dst, carpHdr, s.addrs)
	copy(b[off+signedLen:], s.tag[:])
	return b
}
