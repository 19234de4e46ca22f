package carpauth

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	"github.com/ucarp-go/ucarp/internal/inet"
)

const ipv4HeaderLen = 20

var errIPv4 = errors.New("carpauth: not an IPv4 packet of a header and 36 CARP bytes")

// SealIPv4 appends the trailer to pkt, an IPv4 advert as carp.Packet
// encodes it (header, options, 36 CARP bytes, nothing after), and makes
// the IPv4 total length cover it, with a new header checksum. The CARP
// checksum is unchanged: it covers the 36 CARP bytes only, as every
// receiver computes it. pkt's array is reused when it has room.
func (s *Signer) SealIPv4(pkt []byte, now time.Time) ([]byte, error) {
	if len(pkt) < ipv4HeaderLen || pkt[0]>>4 != 4 {
		return pkt, errIPv4
	}
	hl := int(pkt[0]&0x0f) * 4
	if hl < ipv4HeaderLen || len(pkt) != hl+carpLen {
		return pkt, errIPv4
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	out, err := s.AppendTrailer(pkt, src, dst, pkt[hl:], now)
	if err != nil {
		return pkt, err
	}
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], inet.Checksum(out[:hl]))
	return out, nil
}

// PayloadIPv4 returns the source, destination and payload of pkt, an IPv4
// packet that carp.Validator accepted: the bytes after the header, cut to
// the IPv4 total length (so that link-layer padding is no trailer). A
// total length shorter than the header and 36 bytes, which ucarp does not
// check, gives the 36 CARP bytes alone. ok is false when pkt is no IPv4
// packet with 36 CARP bytes.
func PayloadIPv4(pkt []byte) (src, dst netip.Addr, payload []byte, ok bool) {
	if len(pkt) < ipv4HeaderLen || pkt[0]>>4 != 4 {
		return src, dst, nil, false
	}
	hl := int(pkt[0]&0x0f) * 4
	if hl < ipv4HeaderLen || len(pkt) < hl+carpLen {
		return src, dst, nil, false
	}
	end := min(int(binary.BigEndian.Uint16(pkt[2:4])), len(pkt))
	end = max(end, hl+carpLen)
	src = netip.AddrFrom4([4]byte(pkt[12:16]))
	dst = netip.AddrFrom4([4]byte(pkt[16:20]))
	return src, dst, pkt[hl:end], true
}

// CheckIPv4 is Check for pkt, a whole IPv4 packet that carp.Validator
// accepted.
func (v *Verifier) CheckIPv4(pkt []byte, now time.Time) Verdict {
	src, dst, payload, ok := PayloadIPv4(pkt)
	if !ok {
		return Verdict{Drop: true, Result: ResultMalformed}
	}
	return v.Check(src, dst, payload, now)
}
