package platform

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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

func TestRouteReadRetry(t *testing.T) {
	enobufs := &os.PathError{Op: "read", Path: "route", Err: syscall.ENOBUFS}
	closed := &fs.PathError{Op: "read", Path: "route", Err: os.ErrClosed}
	for _, tc := range []struct {
		name     string
		err      error
		failures int
		stop     bool
		wait     time.Duration
	}{
		{"closed socket: the watch is over", closed, 1, true, 0},
		{"closed after errors", closed, 7, true, 0},
		{"one ENOBUFS", enobufs, 1, false, 10 * time.Millisecond},
		{"second in a row", enobufs, 2, false, 20 * time.Millisecond},
		{"fifth in a row", enobufs, 5, false, 160 * time.Millisecond},
		{"seventh in a row", enobufs, 7, false, 640 * time.Millisecond},
		{"eighth reaches the bound", enobufs, 8, false, time.Second},
		{"bounded, no overflow", syscall.EIO, 1 << 20, false, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop, wait := routeReadRetry(tc.err, tc.failures)
			if stop != tc.stop || wait != tc.wait {
				t.Fatalf("stop %v wait %v, want %v %v", stop, wait, tc.stop, tc.wait)
			}
		})
	}
}

// TestReadRoutingSocketDoesNotSpin: a read error that persists is retried
// with a backoff, not in a busy loop; closing done ends the reader during
// a wait, a closed socket ends it at once, and messages after errors still
// reach fn.
func TestReadRoutingSocketDoesNotSpin(t *testing.T) {
	t.Run("persistent error", func(t *testing.T) {
		var reads atomic.Int64
		done, ended := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(ended)
			readRoutingSocket(done, func([]byte) (int, error) {
				reads.Add(1)
				return 0, &os.PathError{Op: "read", Path: "route", Err: syscall.EIO}
			}, func(rtMessage) { t.Error("a message from a failing socket") })
		}()
		deadline := time.Now().Add(5 * time.Second)
		for reads.Load() < 4 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		// 10+20+40 ms of backoff before the 4th read: a spinning reader
		// would have made millions of reads by now.
		if n := reads.Load(); n < 4 || n > 6 {
			t.Fatalf("%d reads", n)
		}
		close(done)
		select {
		case <-ended:
		case <-time.After(2 * time.Second):
			t.Fatal("the reader did not stop when done was closed")
		}
	})
	t.Run("errors, a message, then a closed socket", func(t *testing.T) {
		script := []func(b []byte) (int, error){
			func([]byte) (int, error) { return 0, syscall.ENOBUFS },
			func([]byte) (int, error) { return 0, syscall.ENOBUFS },
			func(b []byte) (int, error) { return copy(b, ifInfo(3, iffUp|iffRunning)), nil },
			func([]byte) (int, error) { return 0, fmt.Errorf("read route: %w", os.ErrClosed) },
		}
		var got []rtMessage
		reads := 0
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			readRoutingSocket(make(chan struct{}), func(b []byte) (int, error) {
				if reads == len(script) {
					t.Error("read after the socket was closed")
					return 0, os.ErrClosed
				}
				reads++
				return script[reads-1](b)
			}, func(m rtMessage) { got = append(got, m) })
		}()
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("the reader did not stop on a closed socket")
		}
		if want := []rtMessage{{Type: rtmIfInfo, Index: 3, Flags: iffUp | iffRunning}}; !slices.Equal(got, want) {
			t.Fatalf("messages %+v, want %+v", got, want)
		}
	})
}
