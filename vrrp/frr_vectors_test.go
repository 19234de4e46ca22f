package vrrp

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
)

const frrFile = "testdata/frr-8.4.hex"

var (
	frrSrc4 = netip.MustParseAddr("198.51.100.11")
	frrSrc6 = netip.MustParseAddr("fe80::2771:74ff:7655:ae77")
	frrMAC4 = []byte{0x00, 0x00, 0x5e, 0x00, 0x01, 51}
	frrMAC6 = []byte{0x00, 0x00, 0x5e, 0x00, 0x02, 52}
)

// frrVectors are the adverts captured from FRR 8.4's vrrpd, with what
// they carry, hand-checked against the bytes (see the file's header).
var frrVectors = []vector{
	{"v4-advert", 0x1f8e, Advert{Version: 3, Type: 1, VRID: 51, Priority: 200, MaxAdvertInterval: 100, Checksum: 0x94f0,
		Addrs: addrs("198.51.100.100", "203.0.113.10")}},
	{"v4-leave", 0x20f5, Advert{Version: 3, Type: 1, VRID: 51, Priority: 0, MaxAdvertInterval: 100, Checksum: 0x5cf1,
		Addrs: addrs("198.51.100.100", "203.0.113.10")}},
	{"v6-advert", 0, Advert{Version: 3, Type: 1, VRID: 52, Priority: 100, MaxAdvertInterval: 50, Checksum: 0x7c83,
		Addrs: addrs("2001:db8::100")}},
	{"v6-leave", 0, Advert{Version: 3, Type: 1, VRID: 52, Priority: 0, MaxAdvertInterval: 50, Checksum: 0xe083,
		Addrs: addrs("2001:db8::100")}},
}

// TestFRRVectors decodes every advert captured from FRR's vrrpd, checks
// its Ethernet source (the virtual MAC), IP header (DF set over IPv4,
// unlike keepalived) and content, that its checksum is in the
// pseudo-header form for IPv4 too, and encodes it again to the same bytes.
func TestFRRVectors(t *testing.T) {
	runVectors(t, frrFile, frrVectors,
		func(t *testing.T, frame []byte, v vector) {
			checkFRREthernet(t, frame, GroupIPv4, frrMAC4)
			checkFRRIPv4(t, frame[ethernetHeaderLen:], v.id, v.advert)
		},
		func(t *testing.T, frame []byte, v vector) {
			checkFRREthernet(t, frame, GroupIPv6, frrMAC6)
			checkFRRIPv6(t, frame[ethernetHeaderLen:], v.advert)
		})
}

// checkFRREthernet checks a frame's destination, the MAC of group, and
// its source, the virtual MAC mac.
func checkFRREthernet(t *testing.T, frame []byte, group netip.Addr, mac []byte) {
	t.Helper()
	if !slices.Equal(frame[:6], map[bool][]byte{false: {1, 0, 0x5e, 0, 0, 0x12}, true: {0x33, 0x33, 0, 0, 0, 0x12}}[group.Is6()]) {
		t.Errorf("Ethernet destination %x", frame[:6])
	}
	if !slices.Equal(frame[6:12], mac) {
		t.Errorf("Ethernet source %x, want the virtual MAC %x", frame[6:12], mac)
	}
}

func checkFRRIPv4(t *testing.T, pkt []byte, id uint16, want Advert) {
	const dontFragment = 0x4000
	checkIPv4Vector(t, pkt, frrSrc4, id, dontFragment, want)
	// What this package's sender writes for the same advert, in FRR's
	// form: the same VRRP message, byte for byte.
	msg, err := want.Marshal(frrSrc4, GroupIPv4, ChecksumPseudoHeader)
	if err != nil || !slices.Equal(msg, pkt[IPv4HeaderLen:]) {
		t.Errorf("Marshal\n %x, %v\nwant\n %x", msg, err, pkt[IPv4HeaderLen:])
	}
	// RFC 9568's message-only form is other bytes, which FRR 8.4 refuses
	// as keepalived 2.2.7 does.
	if mo, _ := want.Marshal(frrSrc4, GroupIPv4, ChecksumMessageOnly); slices.Equal(mo, msg) {
		t.Error("the message-only form encodes to the same bytes")
	}
}

func checkFRRIPv6(t *testing.T, pkt []byte, want Advert) {
	t.Helper()
	if tc := binary.BigEndian.Uint16(pkt[0:2]) >> 4 & 0xff; len(pkt) >= 2 && tc != TOS {
		t.Errorf("traffic class %#x", tc)
	}
	checkIPv6Vector(t, pkt, want, frrSrc6)
}
