package inet

import "testing"

func TestChecksum(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    []byte
		want uint16
	}{
		// RFC 1071's example, section 3: words 0001 f203 f4f5 f6f7 sum to ddf2.
		{"RFC 1071", []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, ^uint16(0xddf2)},
		{"odd length padded", []byte{0x01}, ^uint16(0x0100)},
		{"empty", nil, 0xffff},
		// An IPv4 header (Wikipedia's example) with its checksum b861 in place sums to zero.
		{"header with its checksum", []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}, 0},
	} {
		if got := Checksum(tt.b); got != tt.want {
			t.Errorf("%s: %04x, want %04x", tt.name, got, tt.want)
		}
	}
	if Sum([]byte{0xff, 0xff}, Sum([]byte{0x00, 0x02}, 0)) != 0x10001 || Fold(0x10001) != 2 {
		t.Error("sums of pieces do not add up and fold")
	}
}
