package main

// advertID returns the vhid of a CARP advert or the VRID of a VRRP one
// (IP protocol 112, after the IP header): both have the version in the
// first byte's high nibble (CARP 2, VRRP 2 or 3), the type in its low
// one (1: advertisement), and the id in the second byte.
func advertID(b []byte) (uint8, bool) {
	if len(b) < 8 || b[0]&0x0f != 1 {
		return 0, false
	}
	if v := b[0] >> 4; v != 2 && v != 3 {
		return 0, false
	}
	return b[1], true
}
