package carpauth

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzTrailer parses, re-encodes and parses again; a trailer that parses
// re-encodes to the same bytes.
func FuzzTrailer(f *testing.F) {
	_, sealed := readVector(f)
	f.Add(sealed[56:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var tr Trailer
		err := tr.UnmarshalBinary(b)
		if err != nil {
			if len(b) == TrailerLen && bytes.HasPrefix(b, append(Magic[:], TrailerVersion, trailerWords)) {
				t.Fatalf("a well-formed trailer refused: %v", err)
			}
			if HasTrailer(b) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrLength) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !HasTrailer(b) {
			t.Fatal("parsed without the magic")
		}
		enc, err := tr.MarshalBinary()
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding %x: %x, %v", b, enc, err)
		}
		var again Trailer
		if err := again.UnmarshalBinary(enc); err != nil || again != tr {
			t.Fatalf("round trip: %+v -> %+v, %v", tr, again, err)
		}
	})
}

// FuzzVerifier feeds any IPv4 packet to a verifier in each mode: it never
// panics, every verdict has a known result, only enforce drops, and an
// advert accepted as verified is a replay the second time.
func FuzzVerifier(f *testing.F) {
	plain, sealed := readVector(f)
	f.Add(plain)
	f.Add(sealed)
	f.Add(sealed[:len(sealed)-1])
	kr, _ := NewKeyring(vectorKey())
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, m := range []Mode{Off, ReceiveOnly, Permissive, Enforce} {
			v, err := NewVerifier(kr, vips, Config{Mode: m})
			if err != nil {
				t.Fatal(err)
			}
			d := v.CheckIPv4(pkt, t0)
			if d.Result >= NumResults || d.Drop && m != Enforce && d.Result != ResultMalformed {
				t.Fatalf("%v: %+v", m, d)
			}
			if d.Result == ResultVerified {
				if again := v.CheckIPv4(pkt, t0); again.Result != ResultReplay {
					t.Fatalf("%v: again: %+v", m, again)
				}
			}
		}
	})
}
