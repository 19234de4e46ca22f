// Package carpauth is the opt-in replay protection and key rotation that
// ucarp-go daemons can use between themselves (--auth=hmac-sha256): a
// trailer after the CARP header that carries a key id, a time-based
// sequence and an HMAC-SHA256 over the whole advert; the receive-side
// checks (MAC, replay, freshness) with a bounded table per sender; the
// key file; and the rollout modes that let a running pair adopt it one
// host at a time. It does no I/O beyond reading a key file through an
// fs.FS, and reads no clock: every call takes the time.
//
// Plain CARP (--auth=carp, the default) is untouched: a daemon sends the
// trailer only when configured to, so ucarp and the BSD kernels are never
// sent it by a correct configuration. docs/AUTH.md is the operator's
// account of all this.
//
// # The advert
//
// The IPv4 or IPv6 packet is the plain CARP advert, byte for byte, with
// the 48-byte trailer after its 36 CARP bytes; the IP length (IPv4 total
// length, IPv6 payload length) covers it. Offsets are from the start of
// the CARP header; for IPv4 without options add 20, for IPv6 add 40.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-------+-------+---------------+---------------+---------------+
//	|Ver=2  |Type=1 |     VHID      |    AdvSkew    |  AuthLen = 7  |  0   CARP,
//	+-------+-------+---------------+---------------+---------------+       unchanged
//	|    Demote     |    AdvBase    |   Checksum (of bytes 0-35)    |  4
//	+---------------+---------------+-------------------------------+
//	|                                                               |  8
//	+                    Counter (64 bits)                          +
//	|                                                               |
//	+---------------------------------------------------------------+
//	|           HMAC-SHA1 digest with --pass (20 bytes)             |  16
//	+---------------+---------------+---------------+---------------+
//	|      'U'      |      'C'      |      'G'      |      'A'      |  36  trailer
//	+---------------+---------------+---------------+---------------+
//	|  Version = 1  |  Length = 12  |    Key ID     | Reserved = 0  |  40
//	+---------------+---------------+---------------+---------------+
//	|                                                               |  44
//	+        Sequence (64 bits, Unix time in nanoseconds)           +
//	|                                                               |
//	+---------------------------------------------------------------+
//	|                                                               |  52
//	+            HMAC-SHA256 tag (32 bytes)                         +
//	|                                                               |
//	+---------------------------------------------------------------+  84
//
// Length is the trailer's length in 32-bit words. The tag is
//
//	HMAC-SHA256(key[KeyID],
//	    trailer bytes 0-15 (magic, version, length, key id, reserved, sequence)
//	 || IP version (1 byte: 4 or 6) || IP source || IP destination
//	 || the 36 CARP bytes as sent (vhid, advskew, demote, advbase,
//	    checksum, counter and SHA1 digest)
//	 || count of IPv4 virtual addresses (2 bytes) || those, ascending
//	 || count of IPv6 virtual addresses (2 bytes) || those, ascending)
//
// so that it covers everything an attacker rewrites to replay plain
// CARP (advbase, advskew, demote, the source) besides the sequence. The
// CARP checksum and SHA1 digest are computed as always, so the CARP part
// stays a complete plain advert.
//
// # Peers that do not know the trailer
//
// ucarp 1.5.2 checks only that the capture holds the IP header and 36
// bytes, sums the checksum over those, and ignores the IP total length
// and anything after (ucarp-spec §1.5). The BSD kernels check a length of
// at least 36 and the checksum over the 36 CARP bytes (bsd-carp-spec
// §3.2; the IPv4 path reads alike but was not run). So in a mixed
// segment, where a plain peer of the same vhid hears an advert with the
// trailer, it takes it for the plain advert it contains: accepted if the
// password and addresses agree, the trailer ignored. Nothing breaks, but
// nothing is protected either: that is why the extension is meant only
// between ucarp-go daemons, and why Enforce is the only mode that
// protects.
//
// # Sequence and freshness
//
// A sender's sequence is its Unix time in nanoseconds, strictly increasing
// and carried across wall-clock steps by the monotonic clock (Sequence).
// A receiver accepts a sequence above the last one it accepted from that
// source and not older than the replay window, judged by its monotonic
// clock for a known sender and its wall clock only for the first advert
// of a sender (Verifier). The hosts' wall clocks must agree within the
// window when a receiver starts; run NTP.
//
// # Keys
//
// A key file has lines "ID KEY" (ParseKeys): the first key signs, every
// key is accepted. To rotate: add the new key as the second line on every
// host (reload), then move it to the first line on every host (reload),
// then remove the old key. No step makes a host drop a peer's adverts
// (TestKeyRotation).
package carpauth
