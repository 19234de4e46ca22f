package carpauth

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
)

var (
	srcA  = netip.MustParseAddr("198.51.100.1")
	srcB  = netip.MustParseAddr("198.51.100.2")
	group = netip.MustParseAddr("224.0.0.18")
	vip   = netip.MustParseAddr("198.51.100.10")
	vips  = []netip.Addr{vip}

	src6A  = netip.MustParseAddr("fe80::1")
	src6B  = netip.MustParseAddr("fe80::2")
	group6 = netip.MustParseAddr("ff02::12")

	// t0 is a wall-clock time for the tests: 2026-12-02 06:00 UTC.
	t0 = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
)

func keyring(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	kr, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// advert returns the plain IPv4 advert that the group would send from
// src: vhid 10, advbase 1, advskew adv, counter ctr, signed with the
// password "secret" for vips.
func advert(t testing.TB, src netip.Addr, adv uint8, ctr uint64) []byte {
	t.Helper()
	auth, err := carp.NewAuth([]byte("secret"), 10, vips)
	if err != nil {
		t.Fatal(err)
	}
	h := carp.Header{Version: carp.Version, Type: carp.TypeAdvertisement, VHID: 10, AdvSkew: adv,
		AuthLen: carp.AuthLen, AdvBase: 1, Counter: ctr}
	auth.Sign(&h)
	p := carp.NewPacket(src, group, 0x1234, h)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at is the instant of wall clock t0+wall and monotonic clock mono.
func at(wall, mono time.Duration) instant {
	return instant{wall: uint64(t0.Add(wall).UnixNano()), mono: mono}
}

// seq is the sequence a sender on time sends at t0+d.
func seq(d time.Duration) uint64 { return uint64(t0.Add(d).UnixNano()) }

func newVerifier(t testing.TB, kr *Keyring, c Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(kr, vips, c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newSigner(t testing.TB, kr *Keyring) *Signer {
	t.Helper()
	s, err := NewSigner(kr, vips)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealed returns the advert from src with a trailer of sequence q.
func sealed(t testing.TB, s *Signer, src netip.Addr, q uint64) []byte {
	t.Helper()
	pkt := advert(t, src, 0, 7)
	out := s.appendSeq(pkt, src, group, pkt[20:56], q)
	out[2], out[3] = 0, byte(len(out))
	out[10], out[11] = 0, 0
	cs := carp.Checksum(out[:20])
	out[10], out[11] = byte(cs>>8), byte(cs)
	return out
}
