package carp

import (
	"fmt"
	"net/netip"
)

//go:generate stringer -type=Level,DropReason -linecomment -output=drop_string.go

// Level is the syslog level at which ucarp reports an event.
type Level uint8

// Levels, lowest first. LevelNone means ucarp says nothing. The line
// comments are the names that String returns (go generate).
const (
	LevelNone    Level = iota // NONE
	LevelDebug                // DEBUG
	LevelInfo                 // INFO
	LevelWarning              // WARNING
	LevelError                // ERROR
)

// DropReason says why a received packet was not accepted as an advert.
// The reasons are listed in the order in which ucarp tests them
// (src/carp.c packethandler); a packet is dropped for the first one that
// applies.
type DropReason uint8

// Drop reasons. The line comments are the names that String returns,
// short names for counters and metrics (go generate).
const (
	// DropNone: the packet is a valid advert for this vhid.
	DropNone DropReason = iota // accepted
	// DropTooShort: no room for an IPv4 header (ucarp: caplen <= 34). Silent.
	DropTooShort // too-short
	// DropOwnSource: sent from our own --srcip. Silent.
	DropOwnSource // own-source
	// DropNotIPv4: the IP version is not 4. ucarp parses such a packet as
	// IPv4 anyway and drops it at the protocol test. Silent.
	DropNotIPv4 // not-ipv4
	// DropNotCARP: the IP protocol is not 112. Silent.
	DropNotCARP // not-carp
	// DropBogusSize: too short for the IP header and 36 CARP bytes. DEBUG.
	DropBogusSize // bogus-size
	// DropBadTTL: IP TTL other than 255. WARNING.
	DropBadTTL // bad-ttl
	// DropBadVersion: CARP version other than 2. WARNING.
	DropBadVersion // bad-version
	// DropOtherVHID: another vhid. DEBUG.
	DropOtherVHID // other-vhid
	// DropOtherGroup: IP destination other than our group. DEBUG.
	DropOtherGroup // other-group
	// DropBadChecksum: the IPv4 header and CARP checksums do not add up. WARNING.
	DropBadChecksum // bad-checksum
	// DropBadDigest: the HMAC does not match: other password, vhid or
	// virtual address. WARNING.
	DropBadDigest // bad-digest
	// DropNotPeer: a group with unicast peers (--peer) got an advert
	// from a source that is not one of them. WARNING. (BSD kernels check
	// no source; ours is stricter: bsd-carp-spec §5.3.)
	DropNotPeer // not-peer

	// NumDropReasons is the number of reasons, DropNone included, for
	// arrays of counters indexed by reason.
	NumDropReasons
)

var dropLevels = [...]Level{
	DropBogusSize:   LevelDebug,
	DropBadTTL:      LevelWarning,
	DropBadVersion:  LevelWarning,
	DropOtherVHID:   LevelDebug,
	DropOtherGroup:  LevelDebug,
	DropBadChecksum: LevelWarning,
	DropBadDigest:   LevelWarning,
	DropNotPeer:     LevelWarning,
	NumDropReasons:  LevelNone,
}

// Level is the level at which ucarp logs a drop for this reason.
func (r DropReason) Level() Level {
	if int(r) < len(dropLevels) {
		return dropLevels[r]
	}
	return LevelNone
}

// Drop is the outcome of checking one received packet: the reason, and
// the details that ucarp prints for it.
type Drop struct {
	Reason DropReason
	// Value is the TTL (DropBadTTL), the CARP version (DropBadVersion),
	// the vhid (DropOtherVHID) or the captured length (DropBogusSize).
	Value int
	// HeaderLen is the IPv4 header length, for DropBogusSize.
	HeaderLen int
	// Dst is the destination, for DropOtherGroup.
	Dst netip.Addr
	// Src is the source, for DropNotPeer.
	Src netip.Addr
	// Want and Got are the first bytes of the expected and received
	// digests, for DropBadDigest.
	Want, Got [4]byte
}

// Accepted reports whether the packet is a valid advert.
func (d Drop) Accepted() bool { return d.Reason == DropNone }

// Level is the level at which ucarp logs this drop.
func (d Drop) Level() Level { return d.Reason.Level() }

// String is ucarp's log text for the drop, without the level prefix, or
// a short description for the drops ucarp does not log.
func (d Drop) String() string {
	switch d.Reason {
	case DropBogusSize:
		return fmt.Sprintf("Bogus size: caplen=[%d], ip_len=[%d] ch_len=[%d]", d.Value, d.HeaderLen, HeaderLen)
	case DropBadTTL:
		return fmt.Sprintf("Bad TTL: [%d]", d.Value)
	case DropBadVersion:
		return fmt.Sprintf("Bad version: [%d]", d.Value)
	case DropOtherVHID:
		return fmt.Sprintf("Ignoring vhid: [%d]", d.Value)
	case DropOtherGroup:
		return fmt.Sprintf("Ignoring different multicast ip: [%s]", d.Dst)
	case DropNotPeer:
		return fmt.Sprintf("Ignoring advert from [%s]: not a configured peer", d.Src)
	case DropBadChecksum:
		return "Bad IP checksum"
	case DropBadDigest:
		return fmt.Sprintf("Bad digest - md2=[%02x%02x%02x%02x...] md=[%02x%02x%02x%02x...] - Check vhid, password and virtual IP address",
			d.Want[0], d.Want[1], d.Want[2], d.Want[3], d.Got[0], d.Got[1], d.Got[2], d.Got[3])
	}
	return d.Reason.String()
}
