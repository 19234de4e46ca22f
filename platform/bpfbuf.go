package platform

import (
	"encoding/binary"
	"errors"
)

// bpf(4) read buffers, decoded by hand so that the decoding runs and is
// tested on any system. A read returns records, each a struct bpf_hdr
// then the captured frame, the next record at the next multiple of the
// word size (BPF_WORDALIGN). On LP64 FreeBSD (amd64, arm64) bpf_hdr is:
// a struct timeval (16 bytes), bh_caplen (uint32) at 16, bh_datalen
// (uint32) at 20, bh_hdrlen (uint16) at 24; 32 bytes in all
// (x/sys/unix SizeofBpfHdr).
const (
	bpfHdrCaplen = 16
	bpfHdrHdrlen = 24
	bpfHdrMin    = 26
	bpfWordAlign = 8
)

var errBPFRecord = errors.New("platform: malformed bpf record")

// bpfRecords returns the frames of a bpf read buffer; they alias b.
func bpfRecords(b []byte) ([][]byte, error) {
	order := binary.NativeEndian
	var frames [][]byte
	for len(b) > 0 {
		if len(b) < bpfHdrMin {
			return frames, errBPFRecord
		}
		caplen := int(order.Uint32(b[bpfHdrCaplen:]))
		hdrlen := int(order.Uint16(b[bpfHdrHdrlen:]))
		if hdrlen < bpfHdrMin || caplen > len(b)-hdrlen {
			return frames, errBPFRecord
		}
		frames = append(frames, b[hdrlen:hdrlen+caplen])
		next := (hdrlen + caplen + bpfWordAlign - 1) &^ (bpfWordAlign - 1)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return frames, nil
}
