package vrrp

import "io"

//go:generate stringer -type=DropReason -linecomment -output=drop_string.go

// DropReason says why a received packet is not a valid VRRPv3 advert. It is
// the error that the decoders return, so that a caller can count drops by
// reason with errors.As, and test for one with errors.Is.
type DropReason uint8

// Drop reasons, in the order in which the decoders test them: first the IPv4
// header (Packet.UnmarshalBinary only), then the VRRP message
// (Advert.Unmarshal). The line comments are the names that String returns,
// short names for counters and metrics (go generate).
const (
	// DropNone: the packet is a valid advert. Never returned as an error;
	// it is here so that arrays of counters can be indexed by reason.
	DropNone DropReason = iota // accepted
	// DropShort: shorter than an IPv4 header, than the IPv4 total length,
	// or than the 8-byte VRRP header. It wraps io.ErrUnexpectedEOF.
	DropShort // short
	// DropNotIPv4: the IP version is not 4, or the IPv4 header length is
	// below 20 bytes or beyond the total length.
	DropNotIPv4 // not-ipv4
	// DropNotVRRP: the IP protocol is not 112.
	DropNotVRRP // not-vrrp
	// DropBadTTL: the IPv4 TTL (or the IPv6 hop limit, which the caller
	// tests) is not 255: the packet may come from off the link.
	DropBadTTL // bad-ttl
	// DropBadIPChecksum: the IPv4 header checksum is wrong.
	DropBadIPChecksum // bad-ip-checksum
	// DropWrongFamily: the source and destination are not both IPv4 or both
	// IPv6 (an IPv4-mapped IPv6 address counts as neither), so the address
	// length and the checksum are unknown.
	DropWrongFamily // wrong-family
	// DropBadVersion: the version is not 3. CARP and VRRPv2 (version 2)
	// land here.
	DropBadVersion // bad-version
	// DropBadType: the type is not 1 (advertisement).
	DropBadType // bad-type
	// DropVRIDZero: virtual router id 0, outside 1-255.
	DropVRIDZero // vrid-zero
	// DropLengthMismatch: the message is not exactly 8 bytes plus the
	// count of addresses times 4 (IPv4) or 16 (IPv6).
	DropLengthMismatch // length-mismatch
	// DropZeroInterval: a Max Advertise Interval of 0, which would make a
	// backup's Master_Down_Interval zero.
	DropZeroInterval // zero-interval
	// DropBadChecksum: the checksum matches neither form (ChecksumForm).
	DropBadChecksum // bad-checksum

	// NumDropReasons is the number of reasons, DropNone included, for
	// arrays of counters indexed by reason.
	NumDropReasons
)

// Error makes a DropReason the error of the decoders: "vrrp: bad-ttl".
func (r DropReason) Error() string { return "vrrp: " + r.String() }

// Unwrap lets errors.Is(err, io.ErrUnexpectedEOF) hold for DropShort, as it
// does for the short input of other decoders.
func (r DropReason) Unwrap() error {
	if r == DropShort {
		return io.ErrUnexpectedEOF
	}
	return nil
}
