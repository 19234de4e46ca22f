package platform

import (
	"encoding/binary"
	"testing"

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
	})
}
