package carp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"slices"
)

// MaxPasswordLen is the longest password ucarp accepts: its key buffer has
// 20 bytes and holds the terminating NUL too. The BSD kernels truncate
// longer passwords to the same 19 bytes.
const MaxPasswordLen = 19

// errPasswordTooLong is returned for a password of more than 19 bytes;
// ucarp logs "Password too long" and exits with code 2 (the daemon checks
// MaxPasswordLen itself, to say so before anything else).
var errPasswordTooLong = errors.New("carp: password too long")

var errNoAddress = errors.New("carp: at least one virtual address is needed")

// Auth computes and checks the HMAC-SHA1 digest of the adverts of one vhid.
//
// The digest is HMAC-SHA1 keyed with the password over
//
//	version(2) || type(1) || vhid || IPv4 addresses ascending || IPv6 addresses ascending || counter
//
// the message of the BSD kernels (FreeBSD carp_hmac_prepare). For one IPv4
// address this is ucarp's 15-byte message (src/carp.c carp_hmac_prepare).
//
// An Auth keeps scratch buffers so that signing allocates nothing; it is
// not safe for concurrent use.
type Auth struct {
	prefix []byte
	mac    hash.Hash
	in     [8]byte
	out    [DigestLen]byte
}

// NewAuth prepares the digest of vhid's adverts for the virtual addresses
// addrs, keyed with password.
func NewAuth(password []byte, vhid uint8, addrs []netip.Addr) (*Auth, error) {
	if len(password) > MaxPasswordLen {
		return nil, errPasswordTooLong
	}
	if len(addrs) == 0 {
		return nil, errNoAddress
	}
	return &Auth{
		prefix: bsdPrefix(vhid, addrs),
		mac:    hmac.New(sha1.New, password),
	}, nil
}

// bsdPrefix is the message the BSD kernels sign (FreeBSD
// carp_hmac_prepare and carp_hmac_generate) without its counter, what Auth
// hashes once: version, type, vhid, the IPv4 addresses in ascending
// numeric order, the IPv6 addresses in ascending order, each address once
// and without its zone. The counter follows.
func bsdPrefix(vhid uint8, addrs []netip.Addr) []byte {
	sorted := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		sorted = append(sorted, a.Unmap().WithZone(""))
	}
	slices.SortFunc(sorted, netip.Addr.Compare) // IPv4 sorts before IPv6
	sorted = slices.Compact(sorted)
	m := []byte{Version, TypeAdvertisement, vhid}
	for _, a := range sorted {
		m = append(m, a.AsSlice()...)
	}
	return m
}

// sum returns the digest of an advert that carries counter.
func (a *Auth) sum(counter uint64) [DigestLen]byte {
	a.mac.Reset()
	a.mac.Write(a.prefix)
	binary.BigEndian.PutUint64(a.in[:], counter)
	a.mac.Write(a.in[:])
	a.mac.Sum(a.out[:0])
	return a.out
}

// Sign sets h.Digest for h.Counter.
func (a *Auth) Sign(h *Header) {
	h.Digest = a.sum(h.Counter)
}

// verify reports whether h carries the digest expected for its counter,
// and returns the expected digest (ucarp's md2) for the log line.
// The comparison is constant-time.
func (a *Auth) verify(h *Header) (want [DigestLen]byte, ok bool) {
	want = a.sum(h.Counter)
	return want, hmac.Equal(want[:], h.Digest[:])
}
