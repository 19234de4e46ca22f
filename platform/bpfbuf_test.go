package platform

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// bpfRecord lays out one record as FreeBSD's bpf(4) returns it on amd64 and
// arm64: bpf_hdr (hdrlen 26 + padding to 32, as the kernel aligns the
// network header), the frame, then padding to 8 bytes. Built from
// <net/bpf.h>, not captured: no FreeBSD machine is available here.
func bpfRecord(frame []byte) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(b[20:], uint32(len(frame)))
	binary.LittleEndian.PutUint16(b[24:], 32)
	b = append(b, frame...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestBPFRecords(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the vectors are little-endian, as FreeBSD on amd64 and arm64")
	}
	f1, f2 := bytes.Repeat([]byte{1}, 70), bytes.Repeat([]byte{2}, 42)
	buf := append(bpfRecord(f1), bpfRecord(f2)...)
	got, err := bpfRecords(buf)
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], f1) || !bytes.Equal(got[1], f2) {
		t.Fatalf("got %d frames, %v", len(got), err)
	}
	// The last record need not be padded.
	last := bpfRecord(f2)[:32+42]
	if got, err := bpfRecords(last); err != nil || len(got) != 1 {
		t.Fatalf("unpadded last record: %v %v", got, err)
	}
	for name, b := range map[string][]byte{
		"short header":   buf[:20],
		"frame cut":      bpfRecord(f1)[:60],
		"hdrlen too low": func() []byte { b := bpfRecord(f1); b[24] = 4; return b }(),
	} {
		if _, err := bpfRecords(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzBPFRecords(f *testing.F) {
	f.Add(append(bpfRecord(bytes.Repeat([]byte{1}, 70)), bpfRecord([]byte{2, 2})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, _ := bpfRecords(b)
		total := 0
		for _, fr := range frames {
			total += len(fr) + bpfHdrMin
		}
		if total > len(b) {
			t.Fatalf("%d bytes of frames and headers from %d", total, len(b))
		}
	})
}
