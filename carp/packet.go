package carp

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
)

const (
	// IPv4HeaderLen is the length of an IPv4 header without options.
	IPv4HeaderLen = 20
	// PacketLen is the length of the IPv4 packet ucarp sends: a 20-byte
	// header and the 36-byte CARP header.
	PacketLen = IPv4HeaderLen + HeaderLen
	// FlagDF is the IPv4 "don't fragment" bit, as set by ucarp.
	FlagDF = 0x4000
)

var (
	errNotIPv4      = errors.New("carp: not an IPv4 packet")
	errHeaderLength = errors.New("carp: bad IPv4 header length")
	errAddress      = errors.New("carp: source and destination must be IPv4 addresses")
	errOptions      = errors.New("carp: IPv4 options must be a multiple of 4 bytes, at most 40")
)

// Packet is an IPv4 datagram carrying a CARP advertisement.
//
// Checksum and Length hold the values read by UnmarshalBinary; encoding
// computes both.
type Packet struct {
	TOS      uint8
	Length   uint16 // IPv4 total length as read
	ID       uint16
	Flags    uint16 // flags and fragment offset as on the wire: FlagDF is 0x4000
	TTL      uint8
	Protocol uint8
	Checksum uint16
	Src      netip.Addr
	Dst      netip.Addr
	Options  []byte // IPv4 options; after UnmarshalBinary it aliases the input
	Header   Header
}

// NewPacket returns the packet ucarp would send for h: TOS 0x10, DF,
// TTL 255, protocol 112, from src to dst, with IP ID id.
func NewPacket(src, dst netip.Addr, id uint16, h Header) Packet {
	return Packet{
		TOS:      TOS,
		ID:       id,
		Flags:    FlagDF,
		TTL:      TTL,
		Protocol: IPProtocol,
		Src:      src,
		Dst:      dst,
		Header:   h,
	}
}

// MarshalBinary encodes p with correct IPv4 and CARP checksums.
func (p *Packet) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, PacketLen+len(p.Options)))
}

// AppendBinary appends the encoding of p to b.
func (p *Packet) AppendBinary(b []byte) ([]byte, error) {
	if !p.Src.Is4() || !p.Dst.Is4() {
		return b, errAddress
	}
	if len(p.Options)%4 != 0 || len(p.Options) > 40 {
		return b, errOptions
	}
	hl := IPv4HeaderLen + len(p.Options)
	off := len(b)
	b = append(b, 0x40|uint8(hl/4), p.TOS)
	b = binary.BigEndian.AppendUint16(b, uint16(hl+HeaderLen))
	b = binary.BigEndian.AppendUint16(b, p.ID)
	b = binary.BigEndian.AppendUint16(b, p.Flags)
	b = append(b, p.TTL, p.Protocol, 0, 0)
	src, dst := p.Src.As4(), p.Dst.As4()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, p.Options...)
	binary.BigEndian.PutUint16(b[off+10:], Checksum(b[off:off+hl]))
	return p.Header.AppendBinary(b)
}

// UnmarshalBinary decodes an IPv4 packet that carries a CARP header. It
// checks the structure only (IPv4, header length, enough bytes); the
// acceptance rules of ucarp are applied by a Validator.
func (p *Packet) UnmarshalBinary(b []byte) error {
	if len(b) < IPv4HeaderLen {
		return io.ErrUnexpectedEOF
	}
	if b[0]>>4 != 4 {
		return errNotIPv4
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4HeaderLen {
		return errHeaderLength
	}
	if len(b) < hl+HeaderLen {
		return io.ErrUnexpectedEOF
	}
	p.TOS = b[1]
	p.Length = binary.BigEndian.Uint16(b[2:4])
	p.ID = binary.BigEndian.Uint16(b[4:6])
	p.Flags = binary.BigEndian.Uint16(b[6:8])
	p.TTL = b[8]
	p.Protocol = b[9]
	p.Checksum = binary.BigEndian.Uint16(b[10:12])
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Options = b[IPv4HeaderLen:hl]
	return p.Header.UnmarshalBinary(b[hl:])
}
