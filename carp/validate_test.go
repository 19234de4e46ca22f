package carp

import (
	"net/netip"
	"testing"
)

var (
	testVIP   = netip.MustParseAddr("198.51.100.100")
	testSelf  = netip.MustParseAddr("198.51.100.11")
	testPeer  = netip.MustParseAddr("198.51.100.12")
	testGroup = netip.MustParseAddr("224.0.0.18")
)

func testAuth(t testing.TB, password string) *Auth {
	t.Helper()
	a, err := NewAuth([]byte(password), 1, []netip.Addr{testVIP})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// advertFrom returns a valid advert from the peer, then lets edit change it
// before or after signing.
func advertFrom(t testing.TB, edit func(p *Packet), raw func(b []byte) []byte) []byte {
	t.Helper()
	h := Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: 100, AuthLen: 7, Counter: 42}
	testAuth(t, "carplab").Sign(&h)
	p := NewPacket(testPeer, testGroup, 7, h)
	if edit != nil {
		edit(&p)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		b = raw(b)
	}
	return b
}

func TestValidatorCheck(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *Packet)
		raw   func(b []byte) []byte
		want  DropReason
		text  string
		level Level
	}{
		{name: "valid", want: DropNone},
		{name: "valid with trailing bytes", raw: func(b []byte) []byte { return append(b, 1, 2, 3) }, want: DropNone},
		{name: "valid with IP options", edit: func(p *Packet) { p.Options = []byte{1, 1, 1, 0} }, want: DropNone},
		{name: "valid with other type, authlen and demote (ucarp ignores them)",
			edit: func(p *Packet) {}, raw: func(b []byte) []byte {
				b[20] = 0x22 // type 2
				b[23] = 9    // authlen
				b[24] = 5    // demote
				fixCARPChecksum(b, 20)
				return b
			}, want: DropNone},
		{name: "empty", raw: func([]byte) []byte { return nil }, want: DropTooShort, level: LevelNone},
		{name: "20 bytes", raw: func(b []byte) []byte { return b[:20] }, want: DropTooShort},
		{name: "own source", edit: func(p *Packet) { p.Src = testSelf; p.TTL = 1 }, want: DropOwnSource},
		{name: "own source before protocol", edit: func(p *Packet) { p.Src = testSelf; p.Protocol = 6 }, want: DropOwnSource},
		{name: "IPv6 version nibble", raw: func(b []byte) []byte { b[0] = 0x65; return b }, want: DropNotIPv4},
		{name: "other protocol", edit: func(p *Packet) { p.Protocol = 17 }, want: DropNotCARP},
		{name: "truncated CARP", raw: func(b []byte) []byte { return b[:55] }, want: DropBogusSize,
			text: "Bogus size: caplen=[55], ip_len=[20] ch_len=[36]", level: LevelDebug},
		{name: "header length below 20", raw: func(b []byte) []byte { b[0] = 0x44; return b }, want: DropBogusSize,
			text: "Bogus size: caplen=[56], ip_len=[16] ch_len=[36]"},
		{name: "bad TTL", edit: func(p *Packet) { p.TTL = 254 }, want: DropBadTTL, text: "Bad TTL: [254]", level: LevelWarning},
		{name: "bad TTL before other vhid", edit: func(p *Packet) { p.TTL = 64; p.Header.VHID = 9 }, want: DropBadTTL,
			text: "Bad TTL: [64]"},
		{name: "VRRPv3", edit: func(p *Packet) { p.Header.Version = 3 }, want: DropBadVersion,
			text: "Bad version: [3]", level: LevelWarning},
		{name: "other vhid", edit: func(p *Packet) { p.Header.VHID = 9 }, want: DropOtherVHID,
			text: "Ignoring vhid: [9]", level: LevelDebug},
		{name: "other vhid before other group", edit: func(p *Packet) { p.Header.VHID = 9; p.Dst = netip.MustParseAddr("224.0.0.19") },
			want: DropOtherVHID},
		{name: "other group", edit: func(p *Packet) { p.Dst = netip.MustParseAddr("239.1.2.3") }, want: DropOtherGroup,
			text: "Ignoring different multicast ip: [239.1.2.3]", level: LevelDebug},
		{name: "bad CARP checksum", raw: func(b []byte) []byte { b[26] ^= 0xff; return b }, want: DropBadChecksum,
			text: "Bad IP checksum", level: LevelWarning},
		{name: "bad IP checksum", raw: func(b []byte) []byte { b[10] ^= 1; return b }, want: DropBadChecksum},
		{name: "checksum before digest", raw: func(b []byte) []byte { b[40] ^= 1; return b }, want: DropBadChecksum},
		{name: "bad digest", raw: func(b []byte) []byte { b[40] ^= 1; fixCARPChecksum(b, 20); return b }, want: DropBadDigest,
			level: LevelWarning},
		{name: "counter changed after signing", raw: func(b []byte) []byte { b[35] ^= 1; fixCARPChecksum(b, 20); return b },
			want: DropBadDigest},
		{name: "better advskew, wrong password", edit: func(p *Packet) {
			p.Header.AdvSkew = 0
			testAuth(t, "wrong").Sign(&p.Header)
		}, want: DropBadDigest},
	}
	v := NewValidator(testSelf, testGroup, 1, testAuth(t, "carplab"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := advertFrom(t, tt.edit, tt.raw)
			var h Header
			d := v.Check(b, &h)
			if d.Reason != tt.want {
				t.Fatalf("reason %v (%s), want %v", d.Reason, d, tt.want)
			}
			if tt.text != "" && d.String() != tt.text {
				t.Fatalf("text %q, want %q", d, tt.text)
			}
			if tt.want != DropNone && tt.level != LevelNone && d.Level() != tt.level {
				t.Fatalf("level %v, want %v", d.Level(), tt.level)
			}
			if tt.want == DropNone {
				if h.Counter != 42 || Source(b) != testPeer {
					t.Fatalf("accepted header %+v from %v", h, Source(b))
				}
			}
		})
	}
}

// fixCARPChecksum recomputes the CARP checksum of the header at off.
func fixCARPChecksum(b []byte, off int) {
	b[off+6], b[off+7] = 0, 0
	c := Checksum(b[off : off+HeaderLen])
	b[off+6], b[off+7] = byte(c>>8), byte(c)
}

func TestDropLevels(t *testing.T) {
	silent := []DropReason{DropNone, DropTooShort, DropOwnSource, DropNotIPv4, DropNotCARP}
	for _, r := range silent {
		if r.Level() != LevelNone {
			t.Errorf("%v logs at %v; ucarp is silent", r, r.Level())
		}
	}
	for r := DropReason(0); r < NumDropReasons; r++ {
		if r.String() == "" || r.String()[0] == 'D' {
			t.Errorf("reason %d has no name", r)
		}
	}
	if NumDropReasons.Level() != LevelNone || DropReason(200).String() != "DropReason(200)" {
		t.Error("out-of-range reasons")
	}
}
