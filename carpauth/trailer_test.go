package carpauth

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrailerBytes(t *testing.T) {
	var mac [MACLen]byte
	for i := range mac {
		mac[i] = byte(0xa0 + i)
	}
	for _, tt := range []struct {
		name string
		t    Trailer
		wire string
	}{
		{"key 0, sequence 1", Trailer{Version: 1, Seq: 1},
			"55434741 010c0000 0000000000000001" + strings.Repeat("00", 32)},
		{"key 7, 2026-12-02T06:00:00Z", Trailer{Version: 1, KeyID: 7, Seq: 0x18ed5a6138aec000, MAC: mac},
			"55434741 010c0700 18ed5a6138aec000 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"},
		{"reserved byte kept", Trailer{Version: 1, KeyID: 255, Reserved: 0x80, Seq: ^uint64(0)},
			"55434741 010cff80 ffffffffffffffff" + strings.Repeat("00", 32)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.wire)
			got, err := tt.t.MarshalBinary()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("MarshalBinary = %x, %v; want %x", got, err, want)
			}
			var back Trailer
			if err := back.UnmarshalBinary(want); err != nil || back != tt.t {
				t.Fatalf("UnmarshalBinary = %+v, %v; want %+v", back, err, tt.t)
			}
			if !HasTrailer(want) {
				t.Fatal("HasTrailer = false")
			}
		})
	}
}

func TestTrailerErrors(t *testing.T) {
	good, _ := (&Trailer{Version: 1, KeyID: 1, Seq: 5}).MarshalBinary()
	with := func(i int, b byte) []byte {
		c := bytes.Clone(good)
		c[i] = b
		return c
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, io.ErrUnexpectedEOF},
		{"magic only", good[:4], io.ErrUnexpectedEOF},
		{"47 bytes", good[:47], io.ErrUnexpectedEOF},
		{"49 bytes", append(bytes.Clone(good), 0), ErrLength},
		{"version 2", with(4, 2), ErrVersion},
		{"version 0", with(4, 0), ErrVersion},
		{"length 11 words", with(5, 11), ErrLength},
		{"other magic", with(3, 'B'), errMagic},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tr Trailer
			if err := tr.UnmarshalBinary(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("UnmarshalBinary(%x) = %v, want %v", tt.b, err, tt.want)
			}
		})
	}
	for _, b := range [][]byte{nil, {0}, []byte("UCG"), []byte("UCGB....")} {
		if HasTrailer(b) {
			t.Errorf("HasTrailer(%q) = true", b)
		}
	}
}
