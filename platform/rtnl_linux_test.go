package platform

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nlMsg is a netlink message of typ with seq and payload, padded.
func nlMsg(typ uint16, seq uint32, payload []byte) []byte {
	l := unix.NLMSG_HDRLEN + len(payload)
	b := make([]byte, nlAlign(l))
	binary.NativeEndian.PutUint32(b, uint32(l))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	copy(b[unix.NLMSG_HDRLEN:], payload)
	return b
}

func errno32(e int32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(e))
	return b
}

// TestRTNLParse reads the kernel's answers as they come: an answer to an
// earlier request given up on is skipped, a dump's parts are handed over
// until its end, and the kernel's errors are errnos.
func TestRTNLParse(t *testing.T) {
	cat := func(ms ...[]byte) []byte {
		var b []byte
		for _, m := range ms {
			b = append(b, m...)
		}
		return b
	}
	for _, tt := range []struct {
		name  string
		in    []byte
		done  bool
		err   error
		parts string
	}{
		{"acknowledgement", nlMsg(unix.NLMSG_ERROR, 7, errno32(0)), true, nil, ""},
		{"error", nlMsg(unix.NLMSG_ERROR, 7, errno32(-int32(syscall.EEXIST))), true, syscall.EEXIST, ""},
		{"stale answer, then ours", cat(nlMsg(unix.NLMSG_ERROR, 6, errno32(-int32(syscall.EEXIST))), nlMsg(unix.NLMSG_ERROR, 7, errno32(0))), true, nil, ""},
		{"stale answer only", nlMsg(unix.NLMSG_ERROR, 6, errno32(0)), false, nil, ""},
		{"dump parts", cat(nlMsg(unix.RTM_NEWADDR, 7, []byte("a")), nlMsg(unix.RTM_NEWADDR, 7, []byte("bc"))), false, nil, "a,bc,"},
		{"dump end", cat(nlMsg(unix.RTM_NEWADDR, 7, []byte("a")), nlMsg(unix.NLMSG_DONE, 7, errno32(0))), true, nil, "a,"},
		{"dump end with an error", nlMsg(unix.NLMSG_DONE, 7, errno32(-int32(syscall.EINTR))), true, syscall.EINTR, ""},
		{"other types are skipped", nlMsg(unix.RTM_NEWLINK, 7, []byte("x")), false, nil, ""},
		{"short error", nlMsg(unix.NLMSG_ERROR, 7, nil), true, fmt.Errorf("platform: a short netlink error"), ""},
		{"length beyond the datagram", nlMsg(unix.NLMSG_ERROR, 7, errno32(0))[:18], true, fmt.Errorf("platform: a malformed netlink answer"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &rtnl{seq: 7}
			var parts string
			done, err := r.parse(tt.in, unix.RTM_NEWADDR, func(b []byte) { parts += string(b) + "," })
			if done != tt.done || fmt.Sprint(err) != fmt.Sprint(tt.err) || parts != tt.parts {
				t.Errorf("done %v, err %v, parts %q; want %v, %v, %q", done, err, parts, tt.done, tt.err, tt.parts)
			}
		})
	}
}
