package platform

import (
	"encoding/binary"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestLinkEvent decodes the ifinfomsg of link messages: the flags of the
// link asked for, nothing of another link or another message.
func TestLinkEvent(t *testing.T) {
	msg := func(index int32, flags uint32) []byte {
		b := make([]byte, unix.SizeofIfInfomsg+8) // and an attribute's room
		binary.NativeEndian.PutUint32(b[4:], uint32(index))
		binary.NativeEndian.PutUint32(b[8:], flags)
		return b
	}
	for _, c := range []struct {
		name  string
		typ   uint16
		data  []byte
		want  LinkState
		found bool
	}{
		{"up and running", unix.RTM_NEWLINK, msg(7, unix.IFF_UP|unix.IFF_RUNNING), LinkState{Up: true, Running: true}, true},
		{"carrier lost", unix.RTM_NEWLINK, msg(7, unix.IFF_UP), LinkState{Up: true}, true},
		{"set down", unix.RTM_NEWLINK, msg(7, 0), LinkState{}, true},
		{"removed", unix.RTM_DELLINK, msg(7, unix.IFF_UP), LinkState{Up: true, Gone: true}, true},
		{"another link", unix.RTM_NEWLINK, msg(8, unix.IFF_UP), LinkState{}, false},
		{"an address message", unix.RTM_NEWADDR, msg(7, unix.IFF_UP), LinkState{}, false},
		{"a bridge port leaves its bridge", unix.RTM_DELLINK, append([]byte{unix.AF_BRIDGE}, msg(7, unix.IFF_UP)[1:]...), LinkState{}, false},
		{"short", unix.RTM_NEWLINK, msg(7, unix.IFF_UP)[:unix.SizeofIfInfomsg-1], LinkState{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, ok := linkEvent(c.typ, c.data, 7)
			if st != c.want || ok != c.found {
				t.Errorf("linkEvent = %+v, %v; want %+v, %v", st, ok, c.want, c.found)
			}
		})
	}
}

// TestLinkDatagram decodes datagrams of link messages: the states of the
// link asked for, from a message cut short too, and the kernel's error
// answers to an RTM_GETLINK.
func TestLinkDatagram(t *testing.T) {
	msg := func(typ uint16, data []byte) []byte {
		b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(data))
		binary.NativeEndian.PutUint32(b, uint32(unix.NLMSG_HDRLEN+len(data)))
		binary.NativeEndian.PutUint16(b[4:], typ)
		return append(b, data...)
	}
	link := func(index int32, flags uint32) []byte {
		b := make([]byte, unix.SizeofIfInfomsg+200) // and attributes
		binary.NativeEndian.PutUint32(b[4:], uint32(index))
		binary.NativeEndian.PutUint32(b[8:], flags)
		return b
	}
	errno := func(e syscall.Errno) []byte {
		b := make([]byte, 4, 20)
		binary.NativeEndian.PutUint32(b, uint32(-int32(e)))
		return append(b, getLinkRequest(7)[:16]...)
	}
	up := msg(unix.RTM_NEWLINK, link(7, unix.IFF_UP|unix.IFF_RUNNING))
	for _, c := range []struct {
		name string
		b    []byte
		cut  bool
		want string
	}{
		{"one state", up, false, "[{Up:true Running:true Gone:false}]"},
		{"two, and another link's", slices.Concat(up, msg(unix.RTM_NEWLINK, link(8, 0)), msg(unix.RTM_DELLINK, link(7, 0))), false,
			"[{Up:true Running:true Gone:false} {Up:false Running:false Gone:true}]"},
		{"cut short after its ifinfomsg", up[:unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg+3], true, "[{Up:true Running:true Gone:false}]"},
		{"cut short in its ifinfomsg", up[:unix.NLMSG_HDRLEN+8], true, "[]"},
		{"longer than read, not cut: malformed", up[:100], false, "[] platform: a malformed netlink message"},
		{"the link is gone", msg(unix.NLMSG_ERROR, errno(unix.ENODEV)), false, "[{Up:false Running:false Gone:true}]"},
		{"an acknowledgement", msg(unix.NLMSG_ERROR, errno(0)), false, "[]"},
		{"another error", msg(unix.NLMSG_ERROR, errno(unix.EMSGSIZE)), false, "[] message too long"},
		{"a short error", msg(unix.NLMSG_ERROR, []byte{1, 2}), false, "[] platform: a short netlink error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []LinkState
			err := linkDatagram(c.b, c.cut, 7, func(st LinkState) bool { got = append(got, st); return true })
			s := fmt.Sprintf("%+v", got)
			if got == nil {
				s = "[]"
			}
			if err != nil {
				s += " " + err.Error()
			}
			if s != c.want {
				t.Errorf("got %s, want %s", s, c.want)
			}
		})
	}
}

// TestGetLinkRequest checks the bytes of the request: a netlink header
// of RTM_GETLINK and an ifinfomsg with the index.
func TestGetLinkRequest(t *testing.T) {
	b := getLinkRequest(0x01020304)
	if len(b) != 32 || binary.NativeEndian.Uint32(b) != 32 || binary.NativeEndian.Uint16(b[4:]) != unix.RTM_GETLINK ||
		binary.NativeEndian.Uint16(b[6:]) != unix.NLM_F_REQUEST || binary.NativeEndian.Uint32(b[20:]) != 0x01020304 {
		t.Errorf("request % x", b)
	}
}

// TestLinuxLinkStateGone: a missing interface is Gone, not an error (the
// kernel's ENODEV), and the state of one that exists is read in the
// calling thread's namespace.
func TestLinuxLinkStateGone(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if st, err := sys.LinkState(); err != nil || !st.Up || !st.Running || st.Gone {
			t.Fatalf("LinkState of eth0 = %+v, %v", st, err)
		}
		if st, err := linkState(1 << 30); err != nil || !st.Gone {
			t.Fatalf("linkState of a missing index = %+v, %v; want Gone", st, err)
		}
	})
}

// TestLinuxLinkExists: a link of the calling thread's namespace exists, a
// missing one does not (RemoveVMAC then asks nothing more).
func TestLinuxLinkExists(t *testing.T) {
	inThrowawayNamespace(t, func() {
		if !linkExists("eth0") || !linkExists("lo") {
			t.Error("eth0 or lo not found")
		}
		if linkExists("nosuch0") {
			t.Error("nosuch0 found")
		}
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if removed, err := sys.(VMACer).RemoveVMAC(VMACOptions{Name: "nosuch0"}); removed || err != nil {
			t.Errorf("RemoveVMAC of a missing link: %v, %v", removed, err)
		}
	})
}

// FuzzLinkEvent: no link message, however short or strange, makes
// linkEvent panic, and only a message about the link itself is taken.
func FuzzLinkEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, typ uint16, data []byte) {
		if _, ok := linkEvent(typ, data, 7); ok && (len(data) < unix.SizeofIfInfomsg || data[0] != unix.AF_UNSPEC || binary.NativeEndian.Uint32(data[4:]) != 7) {
			t.Errorf("linkEvent took a message that is not link 7's: %x", data)
		}
		// data as a whole datagram, read whole or cut short: no panic.
		for _, cut := range []bool{false, true} {
			linkDatagram(data, cut, 7, func(LinkState) bool { return true })
		}
	})
}

// TestLinuxLinkRenewedAfterRemoval: a subscription made (or renewed
// after a loss) once the link is gone reports it Gone: the kernel's
// answer to its RTM_GETLINK is an NLMSG_ERROR of ENODEV, and the link's
// RTM_DELLINK came before the subscription. Before, the socket's filter
// dropped that answer and the group never learnt that its link went.
func TestLinuxLinkRenewedAfterRemoval(t *testing.T) {
	inThrowawayNamespace(t, func() {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkDel(l); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		defer close(done)
		ch := make(chan LinkState, 1)
		if err := subscribeLinks(done, l.Attrs().Index, ch); err != nil {
			t.Fatal(err)
		}
		select {
		case st, ok := <-ch:
			if !ok || !st.Gone {
				t.Fatalf("first state %+v (open %v), want Gone", st, ok)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("nothing within 5 s: the removal is not reported")
		}
	})
}

// TestLinuxLinkLargeMessage: a link whose messages grow larger than the
// subscription's buffer (150 alternative names of 124 bytes added while
// it is watched: about 20 KiB) is watched and read all the same: only
// the ifinfomsg at a message's start is needed, and a message cut short
// still has it. Before, the subscription ended at every message and was
// made again every 100 ms, silently, and LinkState failed. (Go's
// net.Interfaces, which reads a page at a time, does not see such a link
// at all: the daemon cannot open it, only see it grow.)
func TestLinuxLinkLargeMessage(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, ch := watchEth0(t)
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 150 {
			if err := netlink.LinkAddAltName(l, fmt.Sprintf("a%03d%0120d", i, 0)); err != nil {
				t.Fatalf("altname %d: %v", i, err)
			}
			// Its event read before the next: no overrun, whose renewal
			// would subscribe in the test's thread's namespace no more.
			nextState(t, ch, func(LinkState) bool { return true })
		}
		setLink(t, "peer0", false)
		nextState(t, ch, func(st LinkState) bool { return st.Up && !st.Running })
		if st, err := sys.LinkState(); err != nil || !st.Up || st.Running {
			t.Fatalf("LinkState = %+v, %v", st, err)
		}
	})
}
