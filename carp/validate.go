package carp

import (
	"net/netip"
)

// Validator applies ucarp's acceptance rules to received IPv4 packets.
type Validator struct {
	src   [4]byte
	group [4]byte
	vhid  uint8
	auth  *Auth
	peers peerFilter
}

// NewValidator returns a Validator for the adverts of vhid sent to group,
// signed as auth signs them. Packets from src, our own --srcip, are
// ignored, as ucarp ignores them.
func NewValidator(src, group netip.Addr, vhid uint8, auth *Auth) *Validator {
	return &Validator{src: src.As4(), group: group.As4(), vhid: vhid, auth: auth}
}

// Check decodes the IPv4 packet b into h and applies ucarp's tests in
// ucarp's order (src/carp.c packethandler):
//
//  1. too short for an IPv4 header: ignored
//  2. from our own source address: ignored
//  3. not IPv4, or not protocol 112: ignored
//  4. shorter than the IP header plus 36 bytes: "Bogus size" (DEBUG)
//  5. TTL not 255: "Bad TTL" (WARNING)
//  6. CARP version not 2: "Bad version" (WARNING)
//  7. another vhid: "Ignoring vhid" (DEBUG)
//  8. another destination than our group: "Ignoring different multicast ip" (DEBUG);
//     with peers (SetPeers), first a source that is not one of them:
//     DropNotPeer (WARNING), and then a unicast destination passes too
//  9. the IPv4 header and the 36 CARP bytes do not sum to zero: "Bad IP checksum" (WARNING)
//  10. wrong HMAC: "Bad digest" (WARNING)
//
// Like ucarp it does not test the CARP type, authlen or demote byte, the
// IPv4 total length, fragmentation, or trailing bytes. b must be the packet
// as it was on the wire, header included. Check never fails on any input:
// every rejected packet is a Drop with a reason.
func (v *Validator) Check(b []byte, h *Header) Drop {
	if len(b) <= IPv4HeaderLen {
		return Drop{Reason: DropTooShort}
	}
	if [4]byte(b[12:16]) == v.src {
		return Drop{Reason: DropOwnSource}
	}
	if b[0]>>4 != 4 {
		return Drop{Reason: DropNotIPv4}
	}
	if b[9] != IPProtocol {
		return Drop{Reason: DropNotCARP}
	}
	hl := int(b[0]&0x0f) * 4
	if hl < IPv4HeaderLen || len(b) < hl+HeaderLen {
		return Drop{Reason: DropBogusSize, Value: len(b), HeaderLen: hl}
	}
	ch := b[hl : hl+HeaderLen]
	if ttl := b[8]; ttl != TTL {
		return Drop{Reason: DropBadTTL, Value: int(ttl)}
	}
	if ver := ch[0] >> 4; ver != Version {
		return Drop{Reason: DropBadVersion, Value: int(ver)}
	}
	if ch[1] != v.vhid {
		return Drop{Reason: DropOtherVHID, Value: int(ch[1])}
	}
	if d, ok := v.peers.check(netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20])), netip.AddrFrom4(v.group)); !ok {
		return d
	}
	if Checksum(b[:hl+HeaderLen]) != 0 {
		return Drop{Reason: DropBadChecksum}
	}
	_ = h.UnmarshalBinary(ch) // cannot fail: ch has HeaderLen bytes
	if want, ok := v.auth.verify(h); !ok {
		return Drop{Reason: DropBadDigest, Want: [4]byte(want[:4]), Got: [4]byte(h.Digest[:4])}
	}
	return Drop{}
}

// VHIDOf returns the vhid of a CARP packet (IPv4 header included) without
// checking anything else, so that a reader can hand the packet to the
// group of that vhid, which checks it; ok is false when the packet is too
// short to carry one.
func VHIDOf(b []byte) (vhid uint8, ok bool) {
	if len(b) < 1 {
		return 0, false
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || len(b) < hl+2 {
		return 0, false
	}
	return b[hl+1], true
}

// Source returns the IPv4 source address of a packet that Check accepted.
func Source(b []byte) netip.Addr {
	return netip.AddrFrom4([4]byte(b[12:16]))
}
