package carp

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
)

// The vectors of bsd-carp-spec.md §9, computed by the spec's model of the
// FreeBSD and OpenBSD kernels (no BSD kernel has confirmed them: §10). All
// use the counter 01 02 03 04 05 06 07 08.
const bsdCounter = 0x0102030405060708

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func bsdAuth(t testing.TB, password string, vhid uint8, as []netip.Addr, form Form) *Auth {
	t.Helper()
	a, err := NewAuthForm([]byte(password), vhid, as, form)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func digestHex(a *Auth) string {
	h := Header{Counter: bsdCounter}
	a.Sign(&h)
	return hex.EncodeToString(h.Digest[:])
}

// TestBSDVectorsHMAC checks the sorted-set messages and digests of §9.2 to
// §9.4 in both forms, and that each digest is accepted by an Auth of
// either form for the same set (OpenBSD's carp_hmac_verify).
func TestBSDVectorsHMAC(t *testing.T) {
	v4 := addrs("192.0.2.20", "192.0.2.10")
	run1 := addrs("2001:db8::100")
	run2 := addrs("2001:db8::100", "fe80::1")
	tests := []struct {
		name     string
		password string
		vhid     uint8
		addrs    []netip.Addr
		form     Form
		message  string // without the counter; "" when the spec gives none
		digest   string
	}{
		{"a-sorted", "secret", 5, v4, FormAll, "020105c000020ac0000214", "a27b9ad56fe075f5cb5902dfdbdcacd0564a0517"},
		{"a-other-order", "secret", 5, addrs("192.0.2.10", "192.0.2.20"), FormAll, "020105c000020ac0000214", "a27b9ad56fe075f5cb5902dfdbdcacd0564a0517"},
		{"a-openbsd", "secret", 5, v4, FormNoLinkLocal, "020105c000020ac0000214", "a27b9ad56fe075f5cb5902dfdbdcacd0564a0517"},
		{"a-duplicates-and-zero", "secret", 5, addrs("192.0.2.20", "0.0.0.0", "192.0.2.10", "192.0.2.20", "255.255.255.255"), FormAll, "020105c000020ac0000214", "a27b9ad56fe075f5cb5902dfdbdcacd0564a0517"},
		{"b-one-ipv4-is-ucarp", "secret", 5, addrs("192.0.2.10"), FormAll, "020105c000020a", "d8ec2661206b17c8530390292a0be29983ded7d7"},
		{"b-empty-password", "", 5, addrs("192.0.2.10"), FormAll, "020105c000020a", "5690b7f66b485e66d0cf511e0f41c26c5dfff8ab"},
		{"c-run1-freebsd", "v6pass", 7, run1, FormAll, "02010720010db8000000000000000000000100", "2adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{"c-run1-openbsd", "v6pass", 7, run1, FormNoLinkLocal, "02010720010db8000000000000000000000100", "2adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{"c-run1-openbsd-orig", "v6pass", 7, addrs("2001:db8::100", "fe80::200:5eff:fe00:107"), FormAll,
			"02010720010db8000000000000000000000100fe8000000000000002005efffe000107", "e0d4320c01596f62f893ee3820604d8c2cd6db51"},
		{"c-run2-freebsd", "v6pass", 7, run2, FormAll,
			"02010720010db8000000000000000000000100fe800000000000000000000000000001", "6530ba10ef22cad6453db4726f1d4f95aa3a81ba"},
		{"c-run2-zone-ignored", "v6pass", 7, addrs("fe80::1%eth0", "2001:db8::100"), FormAll,
			"02010720010db8000000000000000000000100fe800000000000000000000000000001", "6530ba10ef22cad6453db4726f1d4f95aa3a81ba"},
		{"c-run2-embedded-zone-zeroed", "v6pass", 7, addrs("fe80:3::1", "2001:db8::100"), FormAll,
			"02010720010db8000000000000000000000100fe800000000000000000000000000001", "6530ba10ef22cad6453db4726f1d4f95aa3a81ba"},
		{"c-run2-openbsd", "v6pass", 7, run2, FormNoLinkLocal, "02010720010db8000000000000000000000100", "2adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{"c-run2-openbsd-orig", "v6pass", 7, addrs("2001:db8::100", "fe80::1", "fe80::200:5eff:fe00:107"), FormAll, "", "85665af070822a8adaa30d1e13e8822a10372cc2"},
		{"e-dual-stack-freebsd", "secret", 5, addrs("192.0.2.20", "192.0.2.10", "fe80::1", "2001:db8::100"), FormAll,
			"020105c000020ac000021420010db8000000000000000000000100fe800000000000000000000000000001", "997d4056fa60c4ea15f36524d35df5b7b92e6d86"},
		{"e-dual-stack-openbsd", "secret", 5, addrs("192.0.2.20", "192.0.2.10", "fe80::1", "2001:db8::100"), FormNoLinkLocal,
			"020105c000020ac000021420010db8000000000000000000000100", "1b4e5458093c7099f7c751a498adc55ea9d30c9e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := bsdAuth(t, tt.password, tt.vhid, tt.addrs, tt.form)
			if tt.message != "" {
				if got := hex.EncodeToString(a.prefix); got != tt.message {
					t.Errorf("message %s\n   want %s", got, tt.message)
				}
			}
			if got := digestHex(a); got != tt.digest {
				t.Errorf("digest %s, want %s", got, tt.digest)
			}
			// Receive: either form for the same set accepts it.
			for _, form := range []Form{FormAll, FormNoLinkLocal} {
				r := bsdAuth(t, tt.password, tt.vhid, tt.addrs, form)
				h := Header{Counter: bsdCounter}
				copy(h.Digest[:], mustHex(t, tt.digest))
				if _, ok := r.verify(&h); !ok {
					t.Errorf("form %d refuses the digest", form)
				}
			}
		})
	}
}

// TestBSDVectorsWrongOrder checks the spec's counter-example: the digest
// over the addresses in the order given is not the kernels'.
func TestBSDVectorsWrongOrder(t *testing.T) {
	a := bsdAuth(t, "secret", 5, addrs("192.0.2.10"), FormAll)
	a.prefix = mustHex(t, "020105c0000214c000020a")
	if got := digestHex(a); got != "46e7a41c1615bfca3535f846131e8d13085326c3" {
		t.Fatalf("unsorted digest %s", got)
	}
	r := bsdAuth(t, "secret", 5, addrs("192.0.2.20", "192.0.2.10"), FormAll)
	h := Header{Counter: bsdCounter}
	copy(h.Digest[:], mustHex(t, "46e7a41c1615bfca3535f846131e8d13085326c3"))
	if _, ok := r.verify(&h); ok {
		t.Fatal("the digest over the unsorted set is accepted")
	}
}

// TestBSDFormsDisagree: in run 2 a FreeBSD digest (link-local hashed) and
// the digest of an OpenBSD carp with its automatic link-local are refused
// by each other's set, as §9.4 says.
func TestBSDFormsDisagree(t *testing.T) {
	openbsd := bsdAuth(t, "v6pass", 7, addrs("2001:db8::100", "fe80::1", "fe80::200:5eff:fe00:107"), FormNoLinkLocal)
	h := Header{Counter: bsdCounter}
	copy(h.Digest[:], mustHex(t, "6530ba10ef22cad6453db4726f1d4f95aa3a81ba"))
	if _, ok := openbsd.verify(&h); ok {
		t.Fatal("the OpenBSD set accepts the FreeBSD run-2 digest")
	}
}

// bsdFrame6 is a §9.5 frame: its CARP header signed by auth, TC tclass.
type bsdFrame6 struct {
	name    string
	tclass  uint8
	addrs   []netip.Addr
	form    Form
	advbase uint8
	advskew uint8
	demote  uint8
	frame   string // the whole Ethernet frame, or only the CARP header
}

func bsdFrames6() []bsdFrame6 {
	run1, run2 := addrs("2001:db8::100"), addrs("2001:db8::100", "fe80::1")
	return []bsdFrame6{
		{name: "d1-freebsd", tclass: 0xe0, addrs: run1, advbase: 1,
			frame: "33330000001200005e00010786dd6e000000002470fffe800000000000000000000000000002ff020000000000000000000000000012210700070001451d01020304050607082adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{name: "d2-openbsd-run1", addrs: run1, form: FormNoLinkLocal, advbase: 1,
			frame: "33330000001200005e00010786dd60000000002470fffe800000000000000000000000000002ff020000000000000000000000000012210700070001451d01020304050607082adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{name: "d2-openbsd-run2", addrs: run2, form: FormNoLinkLocal, advbase: 1,
			frame: "33330000001200005e00010786dd60000000002470fffe800000000000000000000000000002ff020000000000000000000000000012210700070001451d01020304050607082adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{name: "d3-freebsd-run2", tclass: 0xe0, addrs: run2, advbase: 1,
			frame: "33330000001200005e00010786dd6e000000002470fffe800000000000000000000000000002ff020000000000000000000000000012210700070001114a01020304050607086530ba10ef22cad6453db4726f1d4f95aa3a81ba"},
		{name: "d1-openbsd-demote-128", addrs: run1, advbase: 1, demote: 128,
			frame: "210700078001c51c01020304050607082adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
		{name: "d1-bow-out", addrs: run1, advbase: 255, advskew: 255,
			frame: "2107ff0700ff451e01020304050607082adffe6620e2db3f934921bd9cd0abe6bbeaaaae"},
	}
}

var (
	bsdSrc6  = netip.MustParseAddr("fe80::2")
	bsdSrcMC = [6]byte{0, 0, 0x5e, 0, 1, 7}
)

func (v bsdFrame6) header(t testing.TB) Header {
	h := Header{Version: Version, Type: TypeAdvertisement, VHID: 7, AdvBase: v.advbase, AdvSkew: v.advskew,
		AuthLen: AuthLen, Demote: v.demote, Counter: bsdCounter}
	bsdAuth(t, "v6pass", 7, v.addrs, v.form).Sign(&h)
	return h
}

// TestBSDVectorsIPv6Encode builds each §9.5 advert and compares it byte
// for byte: the Ethernet header as the kernels' stack writes it, then our
// encoding of the IPv6 packet (or the CARP header alone).
func TestBSDVectorsIPv6Encode(t *testing.T) {
	for _, v := range bsdFrames6() {
		t.Run(v.name, func(t *testing.T) {
			want := mustHex(t, v.frame)
			h := v.header(t)
			var got []byte
			var err error
			if len(want) == HeaderLen {
				got, err = h.MarshalBinary()
			} else {
				p := NewPacket6(bsdSrc6, GroupIPv6, h)
				p.TrafficClass = v.tclass
				got = append([]byte{0x33, 0x33, 0, 0, 0, 0x12}, bsdSrcMC[:]...)
				got = append(got, 0x86, 0xdd)
				got, err = p.AppendBinary(got)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame mismatch\n got %x\nwant %x", got, want)
			}
		})
	}
}

// TestBSDVectorsIPv6Decode parses each §9.5 advert, re-encodes it to the
// same bytes, and checks that a Validator6 for the same set accepts it
// whichever form it signs in (FreeBSD's d3 digest and OpenBSD's d2 alike).
func TestBSDVectorsIPv6Decode(t *testing.T) {
	self := netip.MustParseAddr("fe80::9")
	for _, v := range bsdFrames6() {
		t.Run(v.name, func(t *testing.T) {
			b := mustHex(t, v.frame)
			ch := b
			if len(b) > HeaderLen {
				pkt := b[ethernetHeaderLen:]
				var p Packet6
				if err := p.UnmarshalBinary(pkt); err != nil {
					t.Fatal(err)
				}
				if p.TrafficClass != v.tclass || p.FlowLabel != 0 || p.PayloadLen != HeaderLen || p.NextHeader != IPProtocol ||
					p.HopLimit != HopLimit || p.Src != bsdSrc6 || p.Dst != GroupIPv6 {
					t.Fatalf("decoded %+v", p)
				}
				if want := v.header(t); p.Header.Digest != want.Digest || p.Header.Counter != bsdCounter || p.Header.Demote != v.demote {
					t.Fatalf("decoded header %+v", p.Header)
				}
				again, err := p.MarshalBinary()
				if err != nil || !bytes.Equal(again, pkt) {
					t.Fatalf("re-encoded %x, %v\nwant %x", again, err, pkt)
				}
				ch = pkt[IPv6HeaderLen:]
			}
			for _, form := range []Form{FormAll, FormNoLinkLocal} {
				val := NewValidator6(self, GroupIPv6, 7, bsdAuth(t, "v6pass", 7, v.addrs, form))
				var h Header
				if d := val.Check(ch, bsdSrc6, GroupIPv6, HopLimit, &h); !d.Accepted() {
					t.Fatalf("form %d: rejected: %v", form, d)
				}
				if h.Demote != v.demote || h.AdvBase != v.advbase || h.AdvSkew != v.advskew {
					t.Fatalf("header %+v", h)
				}
			}
		})
	}
}

// TestBSDVectorsIPv4Frames builds the §9.2 IPv4 frames: a two-address
// HMAC carried by a FreeBSD-style (TOS 0xe0, IP ID 0) and an
// OpenBSD-style (TOS 0x10, IP ID 0x1234) packet, and accepts them.
func TestBSDVectorsIPv4Frames(t *testing.T) {
	as := addrs("192.0.2.20", "192.0.2.10")
	for _, tt := range []struct {
		name  string
		tos   uint8
		id    uint16
		frame string
	}{
		{"a-freebsd", 0xe0, 0, "01005e00001200005e000105080045e0003800004000ff70d860c0000202e0000012210500070001f96f0102030405060708a27b9ad56fe075f5cb5902dfdbdcacd0564a0517"},
		{"a-openbsd", 0x10, 0x1234, "01005e00001200005e00010508004510003812344000ff70c6fcc0000202e0000012210500070001f96f0102030405060708a27b9ad56fe075f5cb5902dfdbdcacd0564a0517"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth := bsdAuth(t, "secret", 5, as, FormAll)
			h := Header{Version: Version, Type: TypeAdvertisement, VHID: 5, AdvBase: 1, AuthLen: AuthLen, Counter: bsdCounter}
			auth.Sign(&h)
			p := NewPacket(netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("224.0.0.18"), tt.id, h)
			p.TOS = tt.tos
			got, err := p.AppendBinary(appendEthernet(nil, multicastMAC(p.Dst), [6]byte{0, 0, 0x5e, 0, 1, 5}))
			if err != nil {
				t.Fatal(err)
			}
			want := mustHex(t, tt.frame)
			if !bytes.Equal(got, want) {
				t.Fatalf("frame mismatch\n got %x\nwant %x", got, want)
			}
			val := NewValidator(netip.MustParseAddr("192.0.2.3"), p.Dst, 5, bsdAuth(t, "secret", 5, as, FormNoLinkLocal))
			var r Header
			if d := val.Check(want[ethernetHeaderLen:], &r); !d.Accepted() {
				t.Fatalf("rejected: %v", d)
			}
		})
	}
}
