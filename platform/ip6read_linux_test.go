package platform

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsgInt is a control message of level IPPROTO_IPV6 and type typ
// carrying the int v, as the kernel sends the hop limit and the traffic
// class.
func cmsgInt(typ int32, v int32) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_IPV6, typ
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], uint32(v))
	return b
}

// TestParseRecv6: a packet's source and control messages, as the kernel
// gives them, are its ancillary data; without a source or a destination
// it is not ok.
func TestParseRecv6(t *testing.T) {
	src := &unix.SockaddrInet6{Addr: [16]byte{0xfe, 0x80, 15: 1}, ZoneId: 3}
	dst := netip.MustParseAddr("ff02::12")
	pi := unix.PktInfo6(&unix.Inet6Pktinfo{Addr: dst.As16(), Ifindex: 3})
	oob := append(append(cmsgInt(unix.IPV6_HOPLIMIT, 255), cmsgInt(unix.IPV6_TCLASS, 0xb8)...), pi...)
	want := recv6{src: netip.MustParseAddr("fe80::1"), dst: dst, hops: 255, tclass: 0xb8, ifindex: 3, ok: true}
	if got := parseRecv6(src, oob); got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
	if got := parseRecv6(src, cmsgInt(unix.IPV6_HOPLIMIT, 255)); got.ok {
		t.Errorf("no destination: %+v, want not ok", got)
	}
	if got := parseRecv6(&unix.SockaddrInet4{}, oob); got.ok {
		t.Errorf("an IPv4 source: %+v, want not ok", got)
	}
}

// FuzzParseRecv6: no control messages, however short or strange, make
// parseRecv6 panic.
func FuzzParseRecv6(f *testing.F) {
	f.Add(append(cmsgInt(unix.IPV6_HOPLIMIT, 255), unix.PktInfo6(&unix.Inet6Pktinfo{Ifindex: 3})...))
	f.Add(cmsgInt(unix.IPV6_TCLASS, 1)[:12])
	f.Fuzz(func(t *testing.T, oob []byte) {
		parseRecv6(&unix.SockaddrInet6{}, oob)
	})
}
