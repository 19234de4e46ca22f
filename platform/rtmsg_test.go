package platform

import (
	"encoding/binary"
	"slices"
	"testing"
)

// The messages below are laid out as FreeBSD 14 on amd64 and arm64 sends
// them on a routing socket (little-endian; struct sizes as in
// golang.org/x/net/route's zsys_freebsd_amd64.go: if_msghdr 0xa8,
// if_announcemsghdr 0x18, ifa_msghdr 0x14). They are built from
// <net/if.h>, not captured: no FreeBSD machine is available here.

// ifInfo is rt_ifmsg()'s RTM_IFINFO: no address (ifm_addrs 0), the flags
// and the index, then struct if_data.
func ifInfo(index uint16, flags uint32) []byte {
	b := make([]byte, 0xa8)
	binary.LittleEndian.PutUint16(b[0:], 0xa8)
	b[2], b[3] = rtmVersion, rtmIfInfo
	binary.LittleEndian.PutUint32(b[4:], 0) // ifm_addrs
	binary.LittleEndian.PutUint32(b[8:], flags)
	binary.LittleEndian.PutUint16(b[12:], index)
	b[16] = 6 // ifi_type IFT_ETHER, inside if_data
	return b
}

func ifAnnounce(index uint16, name string, what uint16) []byte {
	b := make([]byte, 0x18)
	binary.LittleEndian.PutUint16(b[0:], 0x18)
	b[2], b[3] = rtmVersion, rtmIfAnnounce
	binary.LittleEndian.PutUint16(b[4:], index)
	copy(b[6:22], name)
	binary.LittleEndian.PutUint16(b[22:], what)
	return b
}

// ifaMsg is RTM_NEWADDR or RTM_DELADDR with one sockaddr_in (RTA_IFA).
func ifaMsg(typ byte, index uint16) []byte {
	b := make([]byte, 0x14+16)
	binary.LittleEndian.PutUint16(b[0:], uint16(len(b)))
	b[2], b[3] = rtmVersion, typ
	binary.LittleEndian.PutUint32(b[4:], 0x20) // RTA_IFA
	binary.LittleEndian.PutUint16(b[12:], index)
	sa := b[0x14:]
	sa[0], sa[1] = 16, 2 // sin_len, AF_INET
	copy(sa[4:8], []byte{198, 51, 100, 100})
	return b
}

func TestParseRoutingMessages(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the vectors are little-endian, as FreeBSD on amd64 and arm64")
	}
	oldVersion := ifInfo(2, 0x43)
	oldVersion[2] = 4
	route := make([]byte, 0x98) // an RTM_ADD route message: skipped
	binary.LittleEndian.PutUint16(route, 0x98)
	route[2], route[3] = rtmVersion, 0x1
	tests := []struct {
		name string
		in   []byte
		want []rtMessage
		err  bool
	}{
		{"carrier up", ifInfo(2, iffUp|iffRunning|0x8802), []rtMessage{{Type: rtmIfInfo, Index: 2, Flags: 0x8843}}, false},
		{"carrier lost", ifInfo(2, iffUp|0x8802), []rtMessage{{Type: rtmIfInfo, Index: 2, Flags: 0x8803}}, false},
		{"interface departs", ifAnnounce(3, "vtnet1", ifanDeparture),
			[]rtMessage{{Type: rtmIfAnnounce, Index: 3, Name: "vtnet1", What: ifanDeparture}}, false},
		{"address added and removed in one read", append(ifaMsg(rtmNewAddr, 2), ifaMsg(rtmDelAddr, 2)...),
			[]rtMessage{{Type: rtmNewAddr, Index: 2}, {Type: rtmDelAddr, Index: 2}}, false},
		{"other types and versions skipped", append(append(route, oldVersion...), ifInfo(5, 1)...),
			[]rtMessage{{Type: rtmIfInfo, Index: 5, Flags: 1}}, false},
		{"truncated", ifInfo(2, 1)[:100], nil, true},
		{"length below the header", []byte{2, 0, 5, rtmIfInfo}, nil, true},
		{"announce too short", func() []byte { b := ifAnnounce(1, "em0", 0)[:20]; b[0] = 20; return b }(), nil, true},
		{"empty", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRoutingMessages(tt.in)
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
	if st := linkStateOfFlags(iffUp | iffRunning); !st.Up || !st.Running {
		t.Fatalf("%+v", st)
	}
	if st := linkStateOfFlags(iffUp); !st.Up || st.Running {
		t.Fatalf("%+v", st)
	}
}

// FuzzRoutingMessages: any bytes decode without panic, and every decoded
// message lies within the input.
func FuzzRoutingMessages(f *testing.F) {
	f.Add(ifInfo(2, 0x43))
	f.Add(append(ifAnnounce(3, "em0", 1), ifaMsg(rtmNewAddr, 3)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := parseRoutingMessages(b)
		if len(msgs) > len(b)/4 {
			t.Fatalf("%d messages from %d bytes", len(msgs), len(b))
		}
	})
}
