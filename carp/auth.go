package carp

import (
	"bytes"
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
// the message of the BSD kernels (FreeBSD carp_hmac_prepare, OpenBSD
// carp_hmac_prepare_ctx). For one IPv4 address this is ucarp's 15-byte
// message (src/carp.c carp_hmac_prepare). Each address is hashed once,
// 0.0.0.0, 255.255.255.255, :: and ffff:…:ffff never (the kernels' "next
// strictly greater" loop), and a link-local IPv6 address with the bytes of
// the kernel's embedded zone (2 and 3) zeroed.
//
// The kernels differ only on link-local IPv6 addresses: FreeBSD hashes
// them, OpenBSD sends a digest without them (its HMAC_NOV6LL context) and
// accepts either. An Auth signs in its Form and, like OpenBSD, accepts a
// digest in either form; without a link-local address they are the same.
//
// An Auth keeps scratch buffers so that signing allocates nothing; it is
// not safe for concurrent use.
type Auth struct {
	prefix []byte
	alt    []byte // the other form, nil when it is prefix
	mac    hash.Hash
	in     [8]byte
	out    [DigestLen]byte
}

// Form says which link-local IPv6 addresses an Auth signs with.
type Form uint8

const (
	// FormAll hashes every address, link-locals included: FreeBSD, and
	// the only form for a set without link-locals.
	FormAll Form = iota
	// FormNoLinkLocal leaves link-local IPv6 addresses out: what OpenBSD
	// sends.
	FormNoLinkLocal
)

// NewAuth prepares the digest of vhid's adverts for the virtual addresses
// addrs, keyed with password, in FormAll.
func NewAuth(password []byte, vhid uint8, addrs []netip.Addr) (*Auth, error) {
	return NewAuthForm(password, vhid, addrs, FormAll)
}

// NewAuthForm is NewAuth that signs in form; it accepts either form.
func NewAuthForm(password []byte, vhid uint8, addrs []netip.Addr, form Form) (*Auth, error) {
	if len(password) > MaxPasswordLen {
		return nil, errPasswordTooLong
	}
	if len(addrs) == 0 {
		return nil, errNoAddress
	}
	all, nov6ll := bsdPrefix(vhid, addrs, true), bsdPrefix(vhid, addrs, false)
	a := &Auth{prefix: all, alt: nov6ll, mac: hmac.New(sha1.New, password)}
	if form == FormNoLinkLocal {
		a.prefix, a.alt = nov6ll, all
	}
	if bytes.Equal(all, nov6ll) {
		a.alt = nil
	}
	return a, nil
}

// scopeEmbedded is the kernels' IN6_IS_SCOPE_EMBED: link-local unicast
// and interface- and link-local multicast, whose bytes 2 and 3 hold the
// zone inside the kernel.
func scopeEmbedded(a [16]byte) bool {
	return a[0] == 0xfe && a[1]&0xc0 == 0x80 || a[0] == 0xff && (a[1]&0x0f == 1 || a[1]&0x0f == 2)
}

// bsdPrefix is the message the BSD kernels sign without its counter, what
// Auth hashes once: version, type, vhid, the IPv4 addresses in ascending
// numeric order, the IPv6 addresses in ascending byte order, as Auth
// describes; link-local IPv6 addresses only with linkLocal. The counter
// follows. A single address other than a link-local is hashed as it is,
// as ucarp hashes its one address, even 0.0.0.0 or 255.255.255.255.
func bsdPrefix(vhid uint8, addrs []netip.Addr, linkLocal bool) []byte {
	sorted := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		switch {
		case !a.IsValid():
			continue
		case len(addrs) == 1 && !scopeEmbedded(a.As16()):
			// ucarp's form: its one address whatever it is.
		case a.IsUnspecified():
			continue
		case a.Is4():
			if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				continue
			}
		default:
			b := a.As16()
			if b == [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
				continue
			}
			if scopeEmbedded(b) {
				if !linkLocal {
					continue
				}
				b[2], b[3] = 0, 0
				a = netip.AddrFrom16(b)
			}
		}
		sorted = append(sorted, a)
	}
	slices.SortFunc(sorted, netip.Addr.Compare) // IPv4 sorts before IPv6
	sorted = slices.Compact(sorted)
	m := []byte{Version, TypeAdvertisement, vhid}
	for _, a := range sorted {
		m = append(m, a.AsSlice()...)
	}
	return m
}

// sum returns the digest of an advert that carries counter, over prefix.
func (a *Auth) sum(prefix []byte, counter uint64) [DigestLen]byte {
	a.mac.Reset()
	a.mac.Write(prefix)
	binary.BigEndian.PutUint64(a.in[:], counter)
	a.mac.Write(a.in[:])
	a.mac.Sum(a.out[:0])
	return a.out
}

// Sign sets h.Digest for h.Counter.
func (a *Auth) Sign(h *Header) {
	h.Digest = a.sum(a.prefix, h.Counter)
}

// verify reports whether h carries the digest expected for its counter in
// either form, and returns the expected digest of the Auth's own form
// (ucarp's md2) for the log line. The comparisons are constant-time.
func (a *Auth) verify(h *Header) (want [DigestLen]byte, ok bool) {
	want = a.sum(a.prefix, h.Counter)
	if hmac.Equal(want[:], h.Digest[:]) {
		return want, true
	}
	if a.alt != nil {
		alt := a.sum(a.alt, h.Counter)
		if hmac.Equal(alt[:], h.Digest[:]) {
			return want, true
		}
	}
	return want, false
}
