package carp

import (
	"encoding/binary"
	"io"

	"github.com/ucarp-go/ucarp/internal/inet"
)

// Protocol constants shared with ucarp 1.5.2 and the BSD kernels.
const (
	// IPProtocol is the IP protocol number of CARP.
	IPProtocol = 112
	// Version is the CARP version carried in the high nibble of byte 0.
	Version = 2
	// TypeAdvertisement is the only CARP message type.
	TypeAdvertisement = 1
	// AuthLen is the length of counter and digest in 32-bit words.
	AuthLen = 7
	// TTL is the only IP TTL a valid advert may carry.
	TTL = 255
	// HeaderLen is the length of the CARP header.
	HeaderLen = 36
	// DigestLen is the length of the HMAC-SHA1 digest.
	DigestLen = 20
	// TOS is the IP type of service ucarp sends (IPTOS_LOWDELAY).
	TOS = 0x10
	// BowOut is the advbase and advskew of a bow-out advert: a peer that
	// hears it concludes that the master is about to time out.
	BowOut = 255
)

// Header is the 36-byte CARP advertisement header.
//
// Checksum holds the value read by UnmarshalBinary; MarshalBinary and
// AppendBinary ignore it and compute the right one.
type Header struct {
	Version  uint8
	Type     uint8
	VHID     uint8
	AdvSkew  uint8
	AuthLen  uint8
	Demote   uint8 // byte 4: always 0 from ucarp, never read by it
	AdvBase  uint8
	Checksum uint16
	Counter  uint64
	Digest   [DigestLen]byte
}

// MarshalBinary encodes h into 36 bytes with a correct checksum.
func (h *Header) MarshalBinary() ([]byte, error) {
	return h.AppendBinary(make([]byte, 0, HeaderLen))
}

// AppendBinary appends the 36-byte encoding of h to b.
func (h *Header) AppendBinary(b []byte) ([]byte, error) {
	off := len(b)
	b = append(b,
		h.Version<<4|h.Type&0x0f, h.VHID, h.AdvSkew, h.AuthLen,
		h.Demote, h.AdvBase, 0, 0)
	b = binary.BigEndian.AppendUint64(b, h.Counter)
	b = append(b, h.Digest[:]...)
	binary.BigEndian.PutUint16(b[off+6:], Checksum(b[off:off+HeaderLen]))
	return b, nil
}

// UnmarshalBinary decodes the first 36 bytes of b. Trailing bytes are
// ignored, as ucarp ignores them.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) < HeaderLen {
		return io.ErrUnexpectedEOF
	}
	h.Version = b[0] >> 4
	h.Type = b[0] & 0x0f
	h.VHID = b[1]
	h.AdvSkew = b[2]
	h.AuthLen = b[3]
	h.Demote = b[4]
	h.AdvBase = b[5]
	h.Checksum = binary.BigEndian.Uint16(b[6:8])
	h.Counter = binary.BigEndian.Uint64(b[8:16])
	copy(h.Digest[:], b[16:HeaderLen])
	return nil
}

// Checksum is the Internet checksum (RFC 1071) of b: the one's complement
// of the one's complement sum of its 16-bit big-endian words. A buffer that
// holds a correct checksum field sums to zero.
func Checksum(b []byte) uint16 {
	return inet.Checksum(b)
}
