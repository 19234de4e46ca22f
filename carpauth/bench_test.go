package carpauth

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkSealIPv4 is the cost of the trailer on the send side: one
// sequence and one HMAC-SHA256 over about 110 bytes.
func BenchmarkSealIPv4(b *testing.B) {
	s := newSigner(b, keyring(b, key(1, 1)))
	plain := advert(b, srcA, 0, 7)
	buf := make([]byte, 0, 128)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], plain...)
		var err error
		if buf, err = s.SealIPv4(buf, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealAndCheck is a good advert signed and then checked (parse,
// HMAC-SHA256, freshness, remember): each iteration needs a fresh
// sequence, hence a signature. The check alone costs this less
// BenchmarkSealIPv4, about BenchmarkCheckForged.
func BenchmarkSealAndCheck(b *testing.B) {
	kr := keyring(b, key(1, 1))
	s, v := newSigner(b, kr), newVerifier(b, kr, Config{Mode: Enforce})
	pkt := sealed(b, s, srcA, seq(0))
	hdr := bytes.Clone(pkt[20:56])
	q := seq(0)
	b.ReportAllocs()
	for b.Loop() {
		q++
		pkt = s.appendSeq(pkt[:56], srcA, group, hdr, q)
		if d := v.check(srcA, group, pkt[20:], at(0, 0)); d.Drop {
			b.Fatal(d)
		}
	}
}

// BenchmarkCheckForged is the cost of a forged advert (bad MAC): what a
// flood of them costs a receiver.
func BenchmarkCheckForged(b *testing.B) {
	kr := keyring(b, key(1, 1))
	v := newVerifier(b, kr, Config{Mode: Enforce})
	pkt := sealed(b, newSigner(b, kr), srcA, seq(0))
	pkt[len(pkt)-1] ^= 1
	b.ReportAllocs()
	for b.Loop() {
		if d := v.check(srcA, group, pkt[20:], at(0, 0)); d.Result != ResultBadMAC {
			b.Fatal(d)
		}
	}
}
