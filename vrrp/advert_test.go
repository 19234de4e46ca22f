package vrrp

import (
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var (
	src4 = netip.MustParseAddr("198.51.100.1")
	src6 = netip.MustParseAddr("2001:db8::1")
)

// codecCases are adverts built by hand from the layout of RFC 9568 §5.1,
// each with the bytes they encode to. The checksums were computed with an
// implementation of RFC 1071 written apart from this package (Python,
// in the commit that added them); the first is worked out in doc.go.
var codecCases = []struct {
	name     string
	src, dst netip.Addr
	form     ChecksumForm
	advert   Advert
	wire     string
}{
	{
		name: "ipv4-pseudo-header", src: src4, dst: GroupIPv4, form: ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 1, Priority: 100, MaxAdvertInterval: 100, Checksum: 0x353d, Addrs: addrs("198.51.100.100")},
		wire:   "31 01 64 01 0064 353d c6336464",
	},
	{
		name: "ipv4-message-only", src: src4, dst: GroupIPv4, form: ChecksumMessageOnly,
		advert: Advert{Version: 3, Type: 1, VRID: 1, Priority: 100, MaxAdvertInterval: 100, Checksum: 0x4001, Addrs: addrs("198.51.100.100")},
		wire:   "31 01 64 01 0064 4001 c6336464",
	},
	{
		name: "ipv4-three-addrs-max-interval-pseudo-header", src: netip.MustParseAddr("203.0.113.2"), dst: GroupIPv4,
		form:   ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 7, Priority: 254, MaxAdvertInterval: 4095, Checksum: 0x01b2, Addrs: addrs("198.51.100.100", "203.0.113.7", "203.0.113.8")},
		wire:   "31 07 fe 03 0fff 01b2 c6336464 cb007107 cb007108",
	},
	{
		name: "ipv4-three-addrs-max-interval-message-only", src: netip.MustParseAddr("203.0.113.2"), dst: GroupIPv4,
		form:   ChecksumMessageOnly,
		advert: Advert{Version: 3, Type: 1, VRID: 7, Priority: 254, MaxAdvertInterval: 4095, Checksum: 0x1e4c, Addrs: addrs("198.51.100.100", "203.0.113.7", "203.0.113.8")},
		wire:   "31 07 fe 03 0fff 1e4c c6336464 cb007107 cb007108",
	},
	{
		// Unicast: the pseudo-header holds the peer, not the group.
		name: "ipv4-unicast-pseudo-header", src: src4, dst: netip.MustParseAddr("198.51.100.2"), form: ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 1, Priority: 100, MaxAdvertInterval: 100, Checksum: 0xeb19, Addrs: addrs("198.51.100.100")},
		wire:   "31 01 64 01 0064 eb19 c6336464",
	},
	{
		// keepalived sends no address when it has none configured.
		name: "ipv4-no-address", src: src4, dst: GroupIPv4, form: ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 9, Priority: 50, MaxAdvertInterval: 300, Checksum: 0x910a},
		wire:   "31 09 32 00 012c 910a",
	},
	{
		name: "ipv6", src: src6, dst: GroupIPv6, form: ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 1, Priority: 100, MaxAdvertInterval: 100, Checksum: 0x0e89, Addrs: addrs("2001:db8::100")},
		wire:   "31 01 64 01 0064 0e89 20010db8000000000000000000000100",
	},
	{
		name: "ipv6-leave", src: src6, dst: GroupIPv6, form: ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 1, Priority: 0, MaxAdvertInterval: 100, Checksum: 0x7289, Addrs: addrs("2001:db8::100")},
		wire:   "31 01 00 01 0064 7289 20010db8000000000000000000000100",
	},
	{
		name: "ipv6-two-addrs-min-interval", src: src6, dst: GroupIPv6, form: ChecksumPseudoHeader,
		advert: Advert{Version: 3, Type: 1, VRID: 200, Priority: 1, MaxAdvertInterval: 1, Checksum: 0x425a, Addrs: addrs("2001:db8::100", "2001:db8:1::100")},
		wire:   "31 c8 01 02 0001 425a 20010db8000000000000000000000100 20010db8000100000000000000000100",
	},
}

func TestAdvertMarshal(t *testing.T) {
	for _, tt := range codecCases {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.advert
			a.Checksum = 0xdead // ignored
			got, err := a.Marshal(tt.src, tt.dst, tt.form)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.wire); !slices.Equal(got, want) {
				t.Errorf("Marshal:\n got %x\nwant %x", got, want)
			}
			prefix := []byte{0xaa, 0xbb}
			app, err := a.Append(prefix, tt.src, tt.dst, tt.form)
			if err != nil || !slices.Equal(app[:2], prefix) || !slices.Equal(app[2:], got) {
				t.Errorf("Append: %x, %v", app, err)
			}
			if n := a.Len(tt.src.Is6()); n != len(got) {
				t.Errorf("Len = %d, encoded %d bytes", n, len(got))
			}
		})
	}
}

func TestAdvertUnmarshal(t *testing.T) {
	for _, tt := range codecCases {
		t.Run(tt.name, func(t *testing.T) {
			var a Advert
			form, err := a.Unmarshal(mustHex(t, tt.wire), tt.src, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if form != tt.form {
				t.Errorf("form = %v, want %v", form, tt.form)
			}
			if !advertsEqual(a, tt.advert) {
				t.Errorf("decoded\n %+v\nwant\n %+v", a, tt.advert)
			}
		})
	}
}

func advertsEqual(a, b Advert) bool {
	return a.Version == b.Version && a.Type == b.Type && a.VRID == b.VRID && a.Priority == b.Priority &&
		a.MaxAdvertInterval == b.MaxAdvertInterval && a.Checksum == b.Checksum &&
		len(a.Addrs) == len(b.Addrs) && (len(a.Addrs) == 0 || slices.Equal(a.Addrs, b.Addrs))
}

// TestAdvertUnmarshalDrops: every reason the message decoder gives, each
// from a packet that differs from a good one in that one respect.
func TestAdvertUnmarshalDrops(t *testing.T) {
	mapped := netip.AddrFrom16(src4.As16()) // ::ffff:198.51.100.1
	// Where it can be, the checksum is right, so that each packet is
	// wrong in one respect only.
	tests := []struct {
		name     string
		src, dst netip.Addr
		wire     string
		want     DropReason
	}{
		{"source-ipv4-destination-ipv6", src4, GroupIPv6, "31 01 64 01 0064 353d c6336464", DropWrongFamily},
		{"source-ipv4-mapped", mapped, GroupIPv4, "31 01 64 01 0064 353d c6336464", DropWrongFamily},
		{"both-ipv4-mapped", mapped, netip.AddrFrom16(GroupIPv4.As16()), "31 01 64 01 0064 353d c6336464", DropWrongFamily},
		{"no-source", netip.Addr{}, GroupIPv4, "31 01 64 01 0064 353d c6336464", DropWrongFamily},
		{"empty", src4, GroupIPv4, "", DropShort},
		{"seven-bytes", src4, GroupIPv4, "31 01 64 01 0064 35", DropShort},
		{"carp-header", src4, GroupIPv4, "21 01 00 07 0001 661f 20dc5ffb", DropBadVersion},
		{"vrrpv2-header", src4, GroupIPv4, "21 01 64 01 0001 0000 c6336464 0000000000000000", DropBadVersion},
		{"version-4", src4, GroupIPv4, "41 01 64 01 0064 253d c6336464", DropBadVersion},
		{"type-2", src4, GroupIPv4, "32 01 64 01 0064 343d c6336464", DropBadType},
		{"vrid-0", src4, GroupIPv4, "31 00 64 01 0064 353e c6336464", DropVRIDZero},
		{"count-2-one-address", src4, GroupIPv4, "31 01 64 02 0064 353c c6336464", DropLengthMismatch},
		{"count-0-one-address", src4, GroupIPv4, "31 01 64 00 0064 353e c6336464", DropLengthMismatch},
		{"trailing-byte", src4, GroupIPv4, "31 01 64 01 0064 353d c6336464 00", DropLengthMismatch},
		{"truncated-address", src4, GroupIPv4, "31 01 64 01 0064 353d c63364", DropLengthMismatch},
		{"ipv4-sized-address-over-ipv6", src6, GroupIPv6, "31 01 64 01 0064 353d c6336464", DropLengthMismatch},
		{"interval-0", src4, GroupIPv4, "31 01 64 01 0000 35a1 c6336464", DropZeroInterval},
		{"interval-0-reserved-bits-set", src4, GroupIPv4, "31 01 64 01 f000 45a0 c6336464", DropZeroInterval},
		{"checksum-flipped", src4, GroupIPv4, "31 01 64 01 0064 353e c6336464", DropBadChecksum},
		{"other-source", netip.MustParseAddr("198.51.100.9"), GroupIPv4, "31 01 64 01 0064 353d c6336464", DropBadChecksum},
		{"other-destination", src4, netip.MustParseAddr("198.51.100.2"), "31 01 64 01 0064 353d c6336464", DropBadChecksum},
		// The IPv4 form without pseudo-header is not accepted over IPv6.
		{"ipv6-message-only", src6, GroupIPv6, "31 01 64 01 0064 3be0 20010db8000000000000000000000100", DropBadChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep := Advert{VRID: 42, Addrs: addrs("203.0.113.42")}
			a := keep
			a.Addrs = slices.Clone(keep.Addrs)
			form, err := a.Unmarshal(mustHex(t, tt.wire), tt.src, tt.dst)
			var r DropReason
			if !errors.As(err, &r) || r != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !errors.Is(err, tt.want) || form != 0 {
				t.Errorf("errors.Is(%v, %v) false, or form %v", err, tt.want, form)
			}
			if !advertsEqual(a, keep) {
				t.Errorf("a refused packet changed the advert: %+v", a)
			}
		})
	}
}

// TestAdvertReservedBits: the 4 bits before the interval are ignored on
// receipt and sent as zero.
func TestAdvertReservedBits(t *testing.T) {
	var a Advert
	form, err := a.Unmarshal(mustHex(t, "31 01 64 01 f064 453c c6336464"), src4, GroupIPv4)
	if err != nil || form != ChecksumPseudoHeader {
		t.Fatalf("%v, %v", form, err)
	}
	if a.MaxAdvertInterval != 100 {
		t.Errorf("interval = %d, want 100", a.MaxAdvertInterval)
	}
	got, _ := a.Marshal(src4, GroupIPv4, form)
	if want := mustHex(t, "31 01 64 01 0064 353d c6336464"); !slices.Equal(got, want) {
		t.Errorf("re-encoded %x, want %x", got, want)
	}
}

// TestAdvertUnmarshalReuse: decoding into an advert replaces its
// addresses, in the capacity it already has.
func TestAdvertUnmarshalReuse(t *testing.T) {
	a := Advert{Addrs: make([]netip.Addr, 3, 8)}
	for i := range a.Addrs {
		a.Addrs[i] = netip.MustParseAddr("203.0.113.9")
	}
	before := &a.Addrs[:1][0]
	if _, err := a.Unmarshal(mustHex(t, "31 01 64 01 0064 353d c6336464"), src4, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Addrs, addrs("198.51.100.100")) {
		t.Errorf("addresses %v, want [198.51.100.100]", a.Addrs)
	}
	if &a.Addrs[0] != before {
		t.Error("the addresses were not decoded into the existing capacity")
	}
}

func TestShortWrapsUnexpectedEOF(t *testing.T) {
	var a Advert
	_, err := a.Unmarshal([]byte{0x31}, src4, GroupIPv4)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, DropShort) {
		t.Errorf("err = %v, want DropShort wrapping io.ErrUnexpectedEOF", err)
	}
	if errors.Is(DropBadChecksum, io.ErrUnexpectedEOF) {
		t.Error("DropBadChecksum wraps io.ErrUnexpectedEOF")
	}
	if got, want := DropBadTTL.Error(), "vrrp: bad-ttl"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAdvertMarshalErrors(t *testing.T) {
	good := Advert{Version: 3, Type: 1, VRID: 1, Priority: 100, MaxAdvertInterval: 100, Addrs: addrs("198.51.100.100")}
	many := good
	many.Addrs = make([]netip.Addr, 256)
	for i := range many.Addrs {
		many.Addrs[i] = src4
	}
	slow := good
	slow.MaxAdvertInterval = 4096
	six := good
	six.Addrs = addrs("198.51.100.100", "2001:db8::100")
	mapped := good
	mapped.Addrs = []netip.Addr{netip.AddrFrom16(src4.As16())}
	tests := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		form     ChecksumForm
		want     error
	}{
		{"mixed-endpoints", good, src4, GroupIPv6, ChecksumPseudoHeader, errFamily},
		{"no-destination", good, src4, netip.Addr{}, ChecksumPseudoHeader, errFamily},
		{"mapped-source", good, netip.AddrFrom16(src4.As16()), GroupIPv4, ChecksumPseudoHeader, errFamily},
		{"mapped-both", good, netip.AddrFrom16(src4.As16()), netip.AddrFrom16(GroupIPv4.As16()), ChecksumPseudoHeader, errFamily},
		{"ipv6-address-in-ipv4", six, src4, GroupIPv4, ChecksumPseudoHeader, errAddrFamily},
		{"ipv4-address-in-ipv6", good, src6, GroupIPv6, ChecksumPseudoHeader, errAddrFamily},
		{"mapped-address-in-ipv6", mapped, src6, GroupIPv6, ChecksumPseudoHeader, errAddrFamily},
		{"256-addresses", many, src4, GroupIPv4, ChecksumPseudoHeader, errAddrCount},
		{"interval-4096", slow, src4, GroupIPv4, ChecksumPseudoHeader, errInterval},
		{"message-only-ipv6", Advert{VRID: 1, MaxAdvertInterval: 1}, src6, GroupIPv6, ChecksumMessageOnly, errFormIPv6},
		{"unknown-form", good, src4, GroupIPv4, NumChecksumForms, errForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{1, 2, 3}
			b, err := tt.a.Append(prefix, tt.src, tt.dst, tt.form)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !slices.Equal(b, prefix) {
				t.Errorf("on error Append returned %x", b)
			}
		})
	}
}

func TestIsVRRPv3(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    bool
	}{
		{"vrrpv3-advert", "31 01 64 01 0064 353d c6336464", true},
		{"vrrpv3-other-type", "32", true},
		{"carp", "21 01 00 07 0001 661f", false},
		{"vrrpv2", "21 01 64 01 0001", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsVRRPv3(mustHex(t, tt.payload)); got != tt.want {
				t.Errorf("IsVRRPv3 = %v, want %v", got, tt.want)
			}
		})
	}
}
