// Package inet is the Internet checksum (RFC 1071) that IPv4 headers, CARP
// and VRRP adverts share. Pure: no sockets, no system calls.
package inet

// Sum adds the 16-bit big-endian words of b to s, an odd last byte padded
// with zero. Sums of several pieces (a pseudo-header and a message) add up.
func Sum(b []byte, s uint64) uint64 {
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)&1 != 0 {
		s += uint64(b[n]) << 8
	}
	return s
}

// Fold is the one's complement sum of s in 16 bits.
func Fold(s uint64) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// Checksum is the one's complement of the one's complement sum of b's
// 16-bit big-endian words. A buffer that holds a correct checksum field
// sums to zero.
func Checksum(b []byte) uint16 { return ^Fold(Sum(b, 0)) }
