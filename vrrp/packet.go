package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/ucarp-go/ucarp/internal/inet"
)

const (
	// IPv4HeaderLen is the length of an IPv4 header without options.
	IPv4HeaderLen = 20
	// TOS is the IPv4 type of service keepalived sends: 0xc0, internetwork
	// control (precedence 6).
	TOS = 0xc0
)

var (
	errAddress = errors.New("vrrp: source and destination must be IPv4 addresses")
	errOptions = errors.New("vrrp: IPv4 options must be a multiple of 4 bytes, at most 40")
)

// Packet is an IPv4 datagram carrying a VRRPv3 advert, as a raw IPv4 socket
// (or a packet socket, less its Ethernet header) delivers it. Over IPv6 the
// socket keeps the header: use Advert with the addresses it reports.
//
// Length and Checksum hold the values read by UnmarshalBinary; encoding
// computes both. Form is the checksum form of the advert: the one that
// matched (UnmarshalBinary), or the one to write (MarshalBinary).
type Packet struct {
	TOS      uint8
	Length   uint16 // IPv4 total length as read
	ID       uint16
	Flags    uint16 // flags and fragment offset as on the wire
	TTL      uint8
	Protocol uint8
	Checksum uint16 // IPv4 header checksum as read
	Src      netip.Addr
	Dst      netip.Addr
	Options  []byte // IPv4 options; after UnmarshalBinary it aliases the input
	Advert   Advert
	Form     ChecksumForm
}

// NewPacket returns the packet keepalived would send for a: TOS 0xc0, no
// flags, TTL 255, protocol 112, from src to dst, with IP ID id (keepalived
// leaves 0 to the kernel, which numbers its packets 1, 2, 3...) and the
// advert's checksum in the given form.
func NewPacket(src, dst netip.Addr, id uint16, a Advert, form ChecksumForm) Packet {
	return Packet{
		TOS:      TOS,
		ID:       id,
		TTL:      TTL,
		Protocol: IPProtocol,
		Src:      src,
		Dst:      dst,
		Advert:   a,
		Form:     form,
	}
}

// MarshalBinary encodes p with correct IPv4 header and VRRP checksums.
func (p *Packet) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, IPv4HeaderLen+len(p.Options)+p.Advert.Len(false)))
}

// AppendBinary appends the encoding of p to b. On error b is returned
// unchanged.
func (p *Packet) AppendBinary(b []byte) ([]byte, error) {
	if !p.Src.Is4() || !p.Dst.Is4() {
		return b, errAddress
	}
	if len(p.Options)%4 != 0 || len(p.Options) > 40 {
		return b, errOptions
	}
	hl := IPv4HeaderLen + len(p.Options)
	total := hl + p.Advert.Len(false) // at most 60 + 8 + 255*4
	off := len(b)
	b = append(b, 0x40|uint8(hl/4), p.TOS)
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = binary.BigEndian.AppendUint16(b, p.ID)
	b = binary.BigEndian.AppendUint16(b, p.Flags)
	b = append(b, p.TTL, p.Protocol, 0, 0)
	src, dst := p.Src.As4(), p.Dst.As4()
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	b = append(b, p.Options...)
	binary.BigEndian.PutUint16(b[off+10:], inet.Checksum(b[off:off+hl]))
	out, err := p.Advert.Append(b, p.Src, p.Dst, p.Form)
	if err != nil {
		return b[:off], err
	}
	return out, nil
}

// UnmarshalBinary decodes an IPv4 packet that carries a VRRPv3 advert and
// checks it. The IPv4 header first: version 4, a header length of 20 to 60
// bytes within the total length, the total length within b (bytes past it,
// such as Ethernet padding, are ignored), protocol 112, TTL 255, the header
// checksum; then the advert, as Advert.Unmarshal checks it, with the
// packet's addresses. It fails with a DropReason, and then p is not to be
// used.
func (p *Packet) UnmarshalBinary(b []byte) error {
	if len(b) < IPv4HeaderLen {
		return DropShort
	}
	if b[0]>>4 != 4 {
		return DropNotIPv4
	}
	hl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case hl < IPv4HeaderLen || total < hl:
		return DropNotIPv4
	case len(b) < total:
		return DropShort
	case b[9] != IPProtocol:
		return DropNotVRRP
	case b[8] != TTL:
		return DropBadTTL
	case inet.Checksum(b[:hl]) != 0:
		return DropBadIPChecksum
	}
	p.TOS = b[1]
	p.Length = uint16(total)
	p.ID = binary.BigEndian.Uint16(b[4:6])
	p.Flags = binary.BigEndian.Uint16(b[6:8])
	p.TTL = b[8]
	p.Protocol = b[9]
	p.Checksum = binary.BigEndian.Uint16(b[10:12])
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Options = b[IPv4HeaderLen:hl]
	form, err := p.Advert.Unmarshal(b[hl:total], p.Src, p.Dst)
	p.Form = form
	return err
}
