package carp

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
)

const (
	// IPv6HeaderLen is the length of the fixed IPv6 header.
	IPv6HeaderLen = 40
	// Packet6Len is the length of an IPv6 advert: the IPv6 header and the
	// 36-byte CARP header, with no extension header (the BSD kernels send
	// none).
	Packet6Len = IPv6HeaderLen + HeaderLen
	// HopLimit is the only IPv6 hop limit a valid multicast advert may
	// carry (CARP_DFLTTL).
	HopLimit = 255
)

// GroupIPv6 is the IPv6 multicast group of CARP adverts, ff02::12.
var GroupIPv6 = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})

var (
	errNotIPv6     = errors.New("carp: not an IPv6 packet")
	errNextHeader  = errors.New("carp: IPv6 next header is not CARP (112)")
	errAddress6    = errors.New("carp: source and destination must be IPv6 addresses")
	errFlowLabel   = errors.New("carp: flow label has more than 20 bits")
	errPayloadSize = errors.New("carp: IPv6 payload length shorter than a CARP header")
)

// Packet6 is an IPv6 packet carrying a CARP advertisement, as FreeBSD's
// carp_send_ad_locked and OpenBSD's carp_send_ad build it: the fixed
// header, next header 112, hop limit 255, to ff02::12, and the CARP header
// right after it. Its checksum is the same 36-byte Internet checksum as
// over IPv4, without an IPv6 pseudo-header.
//
// PayloadLen holds the value read by UnmarshalBinary; encoding writes 36.
type Packet6 struct {
	TrafficClass uint8 // FreeBSD sends 0xe0 (its dscp sysctl << 2), OpenBSD 0
	FlowLabel    uint32
	PayloadLen   uint16
	NextHeader   uint8
	HopLimit     uint8
	Src          netip.Addr
	Dst          netip.Addr
	Header       Header
}

// NewPacket6 returns the advert OpenBSD would send for h: traffic class 0,
// hop limit 255, next header 112, from src (the interface's link-local
// address) to dst (GroupIPv6).
func NewPacket6(src, dst netip.Addr, h Header) Packet6 {
	return Packet6{NextHeader: IPProtocol, HopLimit: HopLimit, Src: src, Dst: dst, Header: h}
}

// MarshalBinary encodes p with a correct CARP checksum.
func (p *Packet6) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, Packet6Len))
}

// AppendBinary appends the encoding of p to b.
func (p *Packet6) AppendBinary(b []byte) ([]byte, error) {
	if !p.Src.Is6() || !p.Dst.Is6() {
		return b, errAddress6
	}
	if p.FlowLabel >= 1<<20 {
		return b, errFlowLabel
	}
	b = binary.BigEndian.AppendUint32(b, 6<<28|uint32(p.TrafficClass)<<20|p.FlowLabel)
	b = binary.BigEndian.AppendUint16(b, HeaderLen)
	b = append(b, p.NextHeader, p.HopLimit)
	src, dst := p.Src.As16(), p.Dst.As16()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	return p.Header.AppendBinary(b)
}

// UnmarshalBinary decodes an IPv6 packet that carries a CARP header right
// after the fixed header. It checks the structure only (IPv6, next header
// 112, a payload length and enough bytes for the CARP header); the
// acceptance rules are applied by a Validator6 on the CARP bytes.
// Extension headers are refused: the kernels send none, and a raw socket
// hands the daemon the CARP bytes after them anyway.
func (p *Packet6) UnmarshalBinary(b []byte) error {
	if len(b) < IPv6HeaderLen {
		return io.ErrUnexpectedEOF
	}
	if b[0]>>4 != 6 {
		return errNotIPv6
	}
	if b[6] != IPProtocol {
		return errNextHeader
	}
	if binary.BigEndian.Uint16(b[4:6]) < HeaderLen {
		return errPayloadSize
	}
	if len(b) < Packet6Len {
		return io.ErrUnexpectedEOF
	}
	w := binary.BigEndian.Uint32(b[0:4])
	p.TrafficClass = uint8(w >> 20)
	p.FlowLabel = w & (1<<20 - 1)
	p.PayloadLen = binary.BigEndian.Uint16(b[4:6])
	p.NextHeader = b[6]
	p.HopLimit = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	return p.Header.UnmarshalBinary(b[IPv6HeaderLen:])
}

// Validator6 applies the acceptance rules of the BSD kernels (FreeBSD
// carp6_input and carp_input_c, OpenBSD carp6_proto_input_if and
// carp_proto_input_c) to the CARP bytes of received IPv6 packets.
type Validator6 struct {
	src   netip.Addr
	group netip.Addr
	vhid  uint8
	auth  *Auth
	peers peerFilter
}

// NewValidator6 returns a Validator6 for the IPv6 adverts of vhid sent to
// group (GroupIPv6), signed as auth signs them. Packets from src, our own
// source address, are ignored.
func NewValidator6(src, group netip.Addr, vhid uint8, auth *Auth) *Validator6 {
	return &Validator6{src: src.WithZone(""), group: group.WithZone(""), vhid: vhid, auth: auth}
}

// Check decodes the CARP bytes b of an IPv6 packet from src to dst that
// arrived with hop limit hopLimit into h, and applies these tests in this
// order, the first that fails giving the drop:
//
//  1. from our own source address: ignored (DropOwnSource)
//  2. fewer than 36 bytes: DropBogusSize
//  3. hop limit not 255: DropBadTTL (both kernels in multicast mode)
//  4. CARP version not 2: DropBadVersion
//  5. another vhid: DropOtherVHID
//  6. a destination other than the group, when dst is known: DropOtherGroup;
//     with peers (SetPeers), first a source that is not one of them:
//     DropNotPeer, and then a unicast destination passes too
//  7. the 36 bytes do not sum to zero (no pseudo-header): DropBadChecksum
//  8. a digest that matches neither form of Auth: DropBadDigest
//
// A raw IPv6 socket delivers the bytes after the IPv6 header; the hop limit
// and destination come as ancillary data (dst may be the zero Addr when
// unknown). Like the kernels it does not test the type, authlen or demote
// byte, or trailing bytes. Check never fails on any input.
func (v *Validator6) Check(b []byte, src, dst netip.Addr, hopLimit int, h *Header) Drop {
	if src.WithZone("") == v.src {
		return Drop{Reason: DropOwnSource}
	}
	if len(b) < HeaderLen {
		return Drop{Reason: DropBogusSize, Value: len(b) + IPv6HeaderLen, HeaderLen: IPv6HeaderLen}
	}
	if hopLimit != HopLimit {
		return Drop{Reason: DropBadTTL, Value: hopLimit}
	}
	if ver := b[0] >> 4; ver != Version {
		return Drop{Reason: DropBadVersion, Value: int(ver)}
	}
	if b[1] != v.vhid {
		return Drop{Reason: DropOtherVHID, Value: int(b[1])}
	}
	if d, ok := v.peers.check(src, dst, v.group); !ok {
		return d
	}
	if Checksum(b[:HeaderLen]) != 0 {
		return Drop{Reason: DropBadChecksum}
	}
	_ = h.UnmarshalBinary(b) // cannot fail: b has HeaderLen bytes
	if want, ok := v.auth.verify(h); !ok {
		return Drop{Reason: DropBadDigest, Want: [4]byte(want[:4]), Got: [4]byte(h.Digest[:4])}
	}
	return Drop{}
}
