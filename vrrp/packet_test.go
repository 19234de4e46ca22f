package vrrp

import (
	"errors"
	"slices"
	"testing"
)

// packetCases are IPv4 packets built by hand (their header checksums
// computed apart from this package), in both directions.
var packetCases = []struct {
	name   string
	packet Packet
	wire   string
}{
	{
		name:   "pseudo-header",
		packet: NewPacket(src4, GroupIPv4, 0x1234, codecCases[0].advert, ChecksumPseudoHeader),
		wire:   "45c0 0020 1234 0000 ff70 9e32 c6336401 e0000012  31 01 64 01 0064 353d c6336464",
	},
	{
		name:   "message-only",
		packet: NewPacket(src4, GroupIPv4, 0x1234, codecCases[1].advert, ChecksumMessageOnly),
		wire:   "45c0 0020 1234 0000 ff70 9e32 c6336401 e0000012  31 01 64 01 0064 4001 c6336464",
	},
	{
		// DF and a router-alert option, which keepalived does not send.
		name: "options-and-df",
		packet: func() Packet {
			p := NewPacket(src4, GroupIPv4, 0x1234, codecCases[0].advert, ChecksumPseudoHeader)
			p.Flags = 0x4000
			p.Options = []byte{0x94, 0x04, 0x00, 0x00}
			return p
		}(),
		wire: "46c0 0024 1234 4000 ff70 c929 c6336401 e0000012 94040000  31 01 64 01 0064 353d c6336464",
	},
}

func TestPacketMarshal(t *testing.T) {
	for _, tt := range packetCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.packet.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.wire); !slices.Equal(got, want) {
				t.Errorf("MarshalBinary:\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestPacketUnmarshal(t *testing.T) {
	for _, tt := range packetCases {
		t.Run(tt.name, func(t *testing.T) {
			wire := mustHex(t, tt.wire)
			// Bytes past the total length, such as Ethernet padding, are
			// not part of the packet.
			for _, b := range [][]byte{wire, append(slices.Clone(wire), make([]byte, 14)...)} {
				var p Packet
				if err := p.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				want := tt.packet
				want.Length = uint16(len(wire))
				want.Checksum = uint16(wire[10])<<8 | uint16(wire[11])
				if !packetsEqual(p, want) {
					t.Errorf("decoded\n %+v\nwant\n %+v", p, want)
				}
			}
		})
	}
}

func packetsEqual(a, b Packet) bool {
	return a.TOS == b.TOS && a.Length == b.Length && a.ID == b.ID && a.Flags == b.Flags && a.TTL == b.TTL &&
		a.Protocol == b.Protocol && a.Checksum == b.Checksum && a.Src == b.Src && a.Dst == b.Dst &&
		slices.Equal(a.Options, b.Options) && a.Form == b.Form && advertsEqual(a.Advert, b.Advert)
}

// TestPacketUnmarshalDrops: each packet is wrong in one respect only.
func TestPacketUnmarshalDrops(t *testing.T) {
	const advert = "31 01 64 01 0064 353d c6336464"
	tests := []struct {
		name string
		wire string
		want DropReason
	}{
		{"empty", "", DropShort},
		{"19-bytes", "45c0 0020 1234 0000 ff70 9e32 c6336401 e00000", DropShort},
		{"ipv6", "65c0 0020 1234 0000 ff70 9e32 c6336401 e0000012" + advert, DropNotIPv4},
		{"ihl-4", "44c0 0020 1234 0000 ff70 9e32 c6336401 e0000012" + advert, DropNotIPv4},
		{"total-below-ihl", "45c0 0013 1234 0000 ff70 9e32 c6336401 e0000012" + advert, DropNotIPv4},
		{"total-beyond-bytes", "45c0 0021 1234 0000 ff70 9e32 c6336401 e0000012" + advert, DropShort},
		{"ihl-beyond-bytes", "4fc0 0020 1234 0000 ff70 9e32 c6336401 e0000012" + advert, DropNotIPv4},
		{"tcp", "45c0 0020 1234 0000 ff06 9e9c c6336401 e0000012" + advert, DropNotVRRP},
		{"ttl-254", "45c0 0020 1234 0000 fe70 9f32 c6336401 e0000012" + advert, DropBadTTL},
		{"header-checksum", "45c0 0020 1234 0000 ff70 9e33 c6336401 e0000012" + advert, DropBadIPChecksum},
		{"vrrp-checksum", "45c0 0020 1234 0000 ff70 9e32 c6336401 e0000012  31 01 64 01 0064 353e c6336464", DropBadChecksum},
		{"vrrp-truncated-by-total", "45c0 001f 1234 0000 ff70 9e33 c6336401 e0000012" + advert, DropLengthMismatch},
		{"carp", "4510 0038 4046 4000 ff70 30ae c633640b e0000012 2101 0007 0001 661f 20dc5ffb984a7972b8d54e9c7afc8820bf39ef5c6a4bfd39b22c136b", DropBadVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			err := p.UnmarshalBinary(mustHex(t, tt.wire))
			var r DropReason
			if !errors.As(err, &r) || r != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPacketMarshalErrors(t *testing.T) {
	good := packetCases[0].packet
	six := good
	six.Src = src6
	odd := good
	odd.Options = []byte{1, 2, 3}
	long := good
	long.Options = make([]byte, 44)
	badAdvert := good
	badAdvert.Advert.MaxAdvertInterval = 5000
	tests := []struct {
		name string
		p    Packet
		want error
	}{
		{"ipv6-source", six, errAddress},
		{"options-3-bytes", odd, errOptions},
		{"options-44-bytes", long, errOptions},
		{"advert-error", badAdvert, errInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{7}
			b, err := tt.p.AppendBinary(prefix)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !slices.Equal(b, prefix) {
				t.Errorf("on error AppendBinary returned %x", b)
			}
		})
	}
}
