package carpauth

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// readVector returns the plain and sealed packets of testdata/vector-ipv4.hex.
func readVector(t testing.TB) (plain, sealed []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/vector-ipv4.hex")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "plain: "); ok {
			plain = unhex(t, v)
		}
		if v, ok := strings.CutPrefix(line, "sealed: "); ok {
			sealed = unhex(t, v)
		}
	}
	if plain == nil || sealed == nil {
		t.Fatal("testdata/vector-ipv4.hex: no plain: or sealed: line")
	}
	return plain, sealed
}

// vectorKey is the key of the vector: 00 01 02 ... 1f, id 1.
func vectorKey() Key {
	k := Key{ID: 1, Secret: make([]byte, 32)}
	for i := range k.Secret {
		k.Secret[i] = byte(i)
	}
	return k
}

// TestVector checks the Go code against the Python model of the
// construction in testdata, in both directions.
func TestVector(t *testing.T) {
	plain, want := readVector(t)
	if !bytes.Equal(plain, advert(t, srcA, 0, 7)) {
		t.Fatal("the vector's plain advert is not advert(srcA, 0, 7)")
	}
	kr := keyring(t, vectorKey())
	got, err := newSigner(t, kr).SealIPv4(bytes.Clone(plain), t0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("SealIPv4:\n got %x\nwant %x", got, want)
	}
	v := newVerifier(t, kr, Config{Mode: Enforce})
	if d := v.CheckIPv4(want, t0); d != (Verdict{Result: ResultVerified}) {
		t.Fatalf("CheckIPv4: %+v", d)
	}
}
