//go:build linux || freebsd

package platform

import "testing"

func TestHeaderChecksum(t *testing.T) {
	// An IPv4 header (UDP, 192.168.0.1 to 192.168.0.199) with its checksum
	// field zeroed; the checksum on the wire was b861.
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := headerChecksum(h); got != 0xb861 {
		t.Errorf("headerChecksum = %04x, want b861", got)
	}
	h[10], h[11] = 0xb8, 0x61
	if got := headerChecksum(h); got != 0 {
		t.Errorf("headerChecksum of a header with its checksum = %04x, want 0", got)
	}
}
