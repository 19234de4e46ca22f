package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	"github.com/ucarp-go/ucarp/internal/inet"
)

// Protocol constants of RFC 9568.
const (
	// IPProtocol is the IP protocol number of VRRP, the same as CARP's.
	IPProtocol = 112
	// Version is the VRRP version carried in the high nibble of byte 0.
	Version = 3
	// TypeAdvertisement is the only VRRP message type.
	TypeAdvertisement = 1
	// TTL is the only IPv4 TTL or IPv6 hop limit a valid advert may carry.
	TTL = 255
	// HeaderLen is the length of the VRRP header before the addresses.
	HeaderLen = 8
	// MaxInterval is the largest Max Advertise Interval, in centiseconds:
	// the field has 12 bits.
	MaxInterval = 0x0fff
	// DefaultInterval is the default Advertisement_Interval: 100
	// centiseconds, one second.
	DefaultInterval = 100
	// DefaultPriority is the default priority of a router that does not
	// own the addresses.
	DefaultPriority = 100
	// OwnerPriority is the priority of the router that owns the virtual
	// addresses (they are its interface addresses).
	OwnerPriority = 255
	// LeavePriority is the priority of the advert a master sends when it
	// stops: its backups take over after Skew_Time only.
	LeavePriority = 0
	// MaxAddrs is the largest count of addresses in one advert.
	MaxAddrs = 255
)

// The multicast groups adverts are sent to.
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
)

//go:generate stringer -type=ChecksumForm -linecomment -output=checksum_string.go

// ChecksumForm is how an advert's checksum is computed. The two forms
// differ only over IPv4; over IPv6 every reading of the RFCs includes the
// pseudo-header.
//
// RFC 5798 §5.2.8 summed "the entire VRRP message ... and a pseudo-header as
// defined in Section 8.1 of [RFC2460]"; keepalived (through 2.2.7 its only
// form, and its default since), FRR (8.4 has no other) and Wireshark read
// that as a pseudo-header for IPv4 as well. Cisco read it as applying to IPv6 only and sums the
// IPv4 message alone, as VRRPv2 did; RFC 9568 §5.2.8 settled on that: "For
// the IPv4 address family, the checksum calculation only includes the VRRP
// message". keepalived 2.2.8 added v3_checksum_as_v2 to speak to such
// routers. A receiver that wants to hear both accepts either
// (Advert.Unmarshal does) and a sender picks one per group.
type ChecksumForm uint8

// Checksum forms. The line comments are the names that String returns.
const (
	// ChecksumPseudoHeader sums an IP pseudo-header (source, destination,
	// protocol 112, length) before the message: the IPv6 form, and the
	// IPv4 form of RFC 5798 as keepalived and FRR read it (what they send
	// by default). Not RFC 9568's IPv4 form.
	ChecksumPseudoHeader ChecksumForm = iota // pseudo-header
	// ChecksumMessageOnly sums the VRRP message alone: RFC 9568's IPv4
	// form, and VRRPv2's. IPv4 only.
	ChecksumMessageOnly // message-only

	// NumChecksumForms is the number of forms, for arrays of counters.
	NumChecksumForms
)

// Advert is a VRRPv3 advertisement (RFC 9568 §5.1). It has no fixed
// encoding on its own: its checksum covers the IP source and destination,
// and the family of its addresses is the family of the packet that carries
// it. Marshal and Unmarshal therefore take both addresses.
//
// Checksum holds the value read by Unmarshal; encoding ignores it and
// computes the right one. The 4 reserved bits before the interval are
// sent as zero and ignored on receipt, as the RFC says.
type Advert struct {
	Version  uint8 // high nibble of byte 0: 3
	Type     uint8 // low nibble of byte 0: 1, advertisement
	VRID     uint8 // virtual router id, 1-255
	Priority uint8 // 0 (leaving), 1-254, or 255 (address owner)
	// MaxAdvertInterval is the Max Advertise Interval in centiseconds,
	// 1-4095 (12 bits).
	MaxAdvertInterval uint16
	Checksum          uint16
	// Addrs are the virtual addresses: all IPv4 in an IPv4 packet, all
	// IPv6 in an IPv6 one. Their count is the Count IPvX Addr field.
	Addrs []netip.Addr
}

// Interval is the Max Advertise Interval as a duration.
func (a *Advert) Interval() time.Duration { return Centiseconds(a.MaxAdvertInterval) }

// Centiseconds is cs hundredths of a second.
func Centiseconds(cs uint16) time.Duration { return time.Duration(cs) * 10 * time.Millisecond }

// Encoding errors: what an Advert cannot hold.
var (
	errFamily     = errors.New("vrrp: source and destination must be both IPv4 or both IPv6")
	errAddrFamily = errors.New("vrrp: every address must be of the packet's family")
	errAddrCount  = errors.New("vrrp: more than 255 addresses")
	errInterval   = errors.New("vrrp: Max Advertise Interval above 4095 centiseconds")
	errForm       = errors.New("vrrp: unknown checksum form")
	errFormIPv6   = errors.New("vrrp: the message-only checksum is for IPv4 only")
)

// addrLen is the length of an address of the family of src and dst, 4 or
// 16, or 0 if they are not of one family. An IPv4-mapped IPv6 address is of
// neither: a socket that hands one out should be unmapped first.
func addrLen(src, dst netip.Addr) int {
	switch {
	case src.Is4() && dst.Is4():
		return 4
	case src.Is6() && dst.Is6() && !src.Is4In6() && !dst.Is4In6():
		return 16
	}
	return 0
}

// Len is the length of the encoding of a over IPv4 (ipv6 false) or IPv6.
func (a *Advert) Len(ipv6 bool) int {
	if ipv6 {
		return HeaderLen + 16*len(a.Addrs)
	}
	return HeaderLen + 4*len(a.Addrs)
}

// Marshal encodes a as sent from src to dst, with its checksum in the given
// form.
func (a *Advert) Marshal(src, dst netip.Addr, form ChecksumForm) ([]byte, error) {
	return a.Append(make([]byte, 0, a.Len(src.Is6())), src, dst, form)
}

// Append appends to b the encoding of a as sent from src to dst, with its
// checksum in the given form. On error b is returned unchanged.
func (a *Advert) Append(b []byte, src, dst netip.Addr, form ChecksumForm) ([]byte, error) {
	alen := addrLen(src, dst)
	switch {
	case alen == 0:
		return b, errFamily
	case form >= NumChecksumForms:
		return b, errForm
	case form == ChecksumMessageOnly && alen == 16:
		return b, errFormIPv6
	case a.MaxAdvertInterval > MaxInterval:
		return b, errInterval
	case len(a.Addrs) > MaxAddrs:
		return b, errAddrCount
	}
	for _, addr := range a.Addrs {
		if alen == 4 && !addr.Is4() || alen == 16 && (!addr.Is6() || addr.Is4In6()) {
			return b, errAddrFamily
		}
	}
	off := len(b)
	b = append(b, a.Version<<4|a.Type&0x0f, a.VRID, a.Priority, uint8(len(a.Addrs)))
	b = binary.BigEndian.AppendUint16(b, a.MaxAdvertInterval)
	b = append(b, 0, 0)
	for _, addr := range a.Addrs {
		if alen == 4 {
			v := addr.As4()
			b = append(b, v[:]...)
		} else {
			v := addr.As16()
			b = append(b, v[:]...)
		}
	}
	msg := b[off:]
	binary.BigEndian.PutUint16(msg[6:], checksum(msg, src, dst, form))
	return b, nil
}

// Unmarshal decodes b, the VRRP message (the IP payload, nothing after it)
// sent from src to dst, into a, and checks it: the family of src and dst,
// the length, version, type, VRID, that the length matches the count of
// addresses, a non-zero interval, and the checksum in either form, which it
// returns. It fails with a DropReason and then leaves a unchanged.
//
// Over IPv4 both forms can match at once, when the pseudo-header happens to
// sum to zero; ChecksumPseudoHeader is returned then, and either form
// encodes the advert to the same bytes.
//
// It does not test the TTL or hop limit (the IPv4 decoder, Packet, does;
// over IPv6 the caller has it from the socket), nor whether the VRID and
// addresses are the ones configured, nor the priority: those are the
// receiving group's. The addresses are decoded into a.Addrs, reusing its
// capacity.
func (a *Advert) Unmarshal(b []byte, src, dst netip.Addr) (ChecksumForm, error) {
	alen := addrLen(src, dst)
	switch {
	case alen == 0:
		return 0, DropWrongFamily
	case len(b) < HeaderLen:
		return 0, DropShort
	case b[0]>>4 != Version:
		return 0, DropBadVersion
	case b[0]&0x0f != TypeAdvertisement:
		return 0, DropBadType
	case b[1] == 0:
		return 0, DropVRIDZero
	case len(b) != HeaderLen+int(b[3])*alen:
		return 0, DropLengthMismatch
	case binary.BigEndian.Uint16(b[4:6])&MaxInterval == 0:
		return 0, DropZeroInterval
	}
	var form ChecksumForm
	switch {
	case checksum(b, src, dst, ChecksumPseudoHeader) == 0:
		form = ChecksumPseudoHeader
	case alen == 4 && checksum(b, src, dst, ChecksumMessageOnly) == 0:
		form = ChecksumMessageOnly
	default:
		return 0, DropBadChecksum
	}
	a.Version = b[0] >> 4
	a.Type = b[0] & 0x0f
	a.VRID = b[1]
	a.Priority = b[2]
	a.MaxAdvertInterval = binary.BigEndian.Uint16(b[4:6]) & MaxInterval
	a.Checksum = binary.BigEndian.Uint16(b[6:8])
	a.Addrs = a.Addrs[:0]
	for p := b[HeaderLen:]; len(p) > 0; p = p[alen:] {
		if alen == 4 {
			a.Addrs = append(a.Addrs, netip.AddrFrom4([4]byte(p)))
		} else {
			a.Addrs = append(a.Addrs, netip.AddrFrom16([16]byte(p)))
		}
	}
	return form, nil
}

// IsVRRPv3 reports whether payload, the payload of an IP protocol 112
// packet, is VRRPv3 rather than CARP or VRRPv2, so that a reader can hand it
// to the right protocol: CARP and VRRPv2 adverts both start with 0x21
// (version 2, type 1), a VRRPv3 advert with 0x31. Only the version nibble
// is tested, so that a VRRPv3 packet of another type reaches this package
// and is counted as DropBadType.
func IsVRRPv3(payload []byte) bool {
	return len(payload) > 0 && payload[0]>>4 == Version
}

// checksum is the Internet checksum (RFC 1071) of msg, after the
// pseudo-header of src and dst if form says so. Over a message whose
// checksum field is right, it is zero.
func checksum(msg []byte, src, dst netip.Addr, form ChecksumForm) uint16 {
	s := inet.Sum(msg, 0)
	if form == ChecksumPseudoHeader {
		// The IPv4 pseudo-header (RFC 768 style: 0, protocol, 16-bit
		// length) and the IPv6 one (RFC 8200 §8.1: 32-bit length, 24 zero
		// bits, next header) add up to the same words.
		s = sumAddr(src, s)
		s = sumAddr(dst, s)
		s += IPProtocol + uint64(len(msg))
	}
	return ^inet.Fold(s)
}

// sumAddr adds the words of address a to s.
func sumAddr(a netip.Addr, s uint64) uint64 {
	if a.Is4() {
		v := a.As4()
		return inet.Sum(v[:], s)
	}
	v := a.As16()
	return inet.Sum(v[:], s)
}
