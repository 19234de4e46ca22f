package carp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// ucarpMessage is the 15-byte message ucarp 1.5.2 signs (src/carp.c
// carp_hmac_prepare and carp_hmac_generate): version, type, vhid, the one
// virtual IPv4 address and the counter as on the wire.
func ucarpMessage(vhid uint8, vip netip.Addr, counter uint64) [15]byte {
	var m [15]byte
	m[0], m[1], m[2] = Version, TypeAdvertisement, vhid
	a := vip.As4()
	copy(m[3:7], a[:])
	binary.BigEndian.PutUint64(m[7:], counter)
	return m
}

// bsdMessage is the message the BSD kernels sign (FreeBSD
// carp_hmac_prepare and carp_hmac_generate): version, type, vhid, the IPv4
// addresses in ascending numeric order, the IPv6 addresses in ascending
// order, each address once and without its zone, then the counter.
func bsdMessage(vhid uint8, addrs []netip.Addr, counter uint64) []byte {
	return binary.BigEndian.AppendUint64(bsdPrefix(vhid, addrs, true), counter)
}

func TestPasswordLength(t *testing.T) {
	vip := []netip.Addr{testVIP}
	if _, err := NewAuth([]byte(strings.Repeat("x", 19)), 1, vip); err != nil {
		t.Fatalf("19 bytes: %v", err)
	}
	if _, err := NewAuth([]byte(strings.Repeat("x", 20)), 1, vip); !errors.Is(err, errPasswordTooLong) {
		t.Fatalf("20 bytes: %v, want errPasswordTooLong", err)
	}
	if _, err := NewAuth([]byte("x"), 1, nil); err == nil {
		t.Fatal("no address: no error")
	}
}

// TestSingleAddressForms checks that for one IPv4 address the BSD message
// and ucarp's 15-byte message are the same bytes and give the same digest,
// which is what lets ucarp talk to FreeBSD and OpenBSD kernel CARP.
func TestSingleAddressForms(t *testing.T) {
	for _, tt := range []struct {
		vhid    uint8
		vip     string
		counter uint64
	}{
		{1, "198.51.100.100", 0},
		{10, "10.1.1.252", 5},
		{255, "255.255.255.255", ^uint64(0)},
		{7, "0.0.0.1", 1 << 63},
	} {
		vip := netip.MustParseAddr(tt.vip)
		u := ucarpMessage(tt.vhid, vip, tt.counter)
		b := bsdMessage(tt.vhid, []netip.Addr{vip}, tt.counter)
		if !bytes.Equal(u[:], b) {
			t.Errorf("%v: ucarp %x, BSD %x", tt, u, b)
		}
		mac := hmac.New(sha1.New, []byte("pw"))
		mac.Write(u[:])
		want := mac.Sum(nil)
		a, err := NewAuth([]byte("pw"), tt.vhid, []netip.Addr{vip})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.sum(a.prefix, tt.counter); !bytes.Equal(got[:], want) {
			t.Errorf("%v: Auth %x, HMAC of ucarp message %x", tt, got, want)
		}
	}
}

func TestBSDMessageOrder(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		var a []netip.Addr
		for _, x := range s {
			a = append(a, netip.MustParseAddr(x))
		}
		return a
	}
	tests := []struct {
		name string
		in   []netip.Addr
		want string
	}{
		{"IPv4 ascending numerically", addrs("10.0.0.2", "9.255.255.255", "10.0.0.1"),
			"020105" + "09ffffff" + "0a000001" + "0a000002"},
		{"duplicates once", addrs("10.0.0.1", "10.0.0.1"), "020105" + "0a000001"},
		{"IPv6 after IPv4", addrs("2001:db8::1", "10.0.0.1"),
			"020105" + "0a000001" + "20010db8000000000000000000000001"},
		{"IPv6 ascending, zone dropped", addrs("fe80::1%eth0", "2001:db8::2", "2001:db8::1"),
			"020105" + "20010db8000000000000000000000001" + "20010db8000000000000000000000002" +
				"fe800000000000000000000000000001"},
		{"IPv4-mapped IPv6 as IPv4", addrs("::ffff:10.0.0.1"), "020105" + "0a000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(bsdMessage(5, tt.in, 0x0102030405060708))
			if want := tt.want + "0102030405060708"; got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	a := testAuth(t, "carplab")
	h := Header{Counter: 99}
	a.Sign(&h)
	if want, ok := a.verify(&h); !ok || want != h.Digest {
		t.Fatal("own signature rejected")
	}
	h.Counter++
	if _, ok := a.verify(&h); ok {
		t.Fatal("changed counter accepted")
	}
}

func TestCounter(t *testing.T) {
	seq := []uint64{7, 1000, 3}
	i := 0
	random := func() uint64 { v := seq[i%len(seq)]; i++; return v }
	var c advertCounter
	// Alone: a fresh random value every time.
	for _, want := range []uint64{7, 1000, 3} {
		if got := c.next(random); got != want {
			t.Fatalf("alone: %d, want %d", got, want)
		}
	}
	// After a valid advert: adopt, then increment.
	c.adopt(0x430d)
	if got := c.next(random); got != 0x430e {
		t.Fatalf("after adopt: %#x", got)
	}
	c.adopt(0x430f) // the peer's next advert
	if got := c.next(random); got != 0x4310 {
		t.Fatalf("shared sequence: %#x", got)
	}
	// Wrap.
	c.adopt(^uint64(0))
	if got := c.next(random); got != 0 {
		t.Fatalf("wrap: %d", got)
	}
	if i != 3 {
		t.Fatalf("random called %d times", i)
	}
}
