package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// addLargeLink adds a veth pair (big0, big1; this kernel may have no
// dummy links) whose big0's messages exceed a page: 40 alternative names
// of 104 bytes make its RTM_NEWLINK about 6 KiB.
func addLargeLink(t *testing.T) netlink.Link {
	t.Helper()
	l := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "big0"}, PeerName: "big1"}
	if err := netlink.LinkAdd(l); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := netlink.LinkAddAltName(l, fmt.Sprintf("b%03d%0100d", i, 0)); err != nil {
			t.Fatalf("altname %d: %v", i, err)
		}
	}
	if err := netlink.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	return l
}

// sameInterface reports what differs between two descriptions of a link.
func sameInterface(got, want net.Interface) string {
	if got.Index != want.Index || got.Name != want.Name || got.MTU != want.MTU || got.Flags != want.Flags ||
		!slices.Equal(got.HardwareAddr, want.HardwareAddr) {
		return fmt.Sprintf("%+v, want %+v", got, want)
	}
	return ""
}

// TestLinuxLookupsAsNet: our lookups of a link by name and by index, and
// the listing, describe each link as Go's net package does, on a host
// where net can read them all: the loopback (no hardware address), a
// veth pair, one down.
func TestLinuxLookupsAsNet(t *testing.T) {
	inThrowawayNamespace(t, func() {
		setLink(t, "peer0", false)
		want, err := net.Interfaces()
		if err != nil || len(want) < 3 {
			t.Fatalf("net.Interfaces: %v, %v", want, err)
		}
		got, err := Interfaces()
		if err != nil || len(got) != len(want) {
			t.Fatalf("Interfaces: %v, %v; want %v", got, err, want)
		}
		for i, w := range want {
			if d := sameInterface(got[i], w); d != "" {
				t.Errorf("Interfaces()[%d] = %s", i, d)
			}
			if ifi, err := interfaceByName(w.Name); err != nil {
				t.Errorf("by name %s: %v", w.Name, err)
			} else if d := sameInterface(*ifi, w); d != "" {
				t.Errorf("by name %s: %s", w.Name, d)
			}
			if ifi, err := interfaceByIndex(w.Index); err != nil {
				t.Errorf("by index %d: %v", w.Index, err)
			} else if d := sameInterface(*ifi, w); d != "" {
				t.Errorf("by index %d: %s", w.Index, d)
			}
		}
		for _, name := range []string{"nosuch0", "", "a-name-too-long-for-a-link", "eth\x000"} {
			if _, err := interfaceByName(name); !errors.Is(err, ErrNoInterface) || !errors.Is(err, unix.ENODEV) {
				t.Errorf("by name %q: %v, want ErrNoInterface and ENODEV", name, err)
			}
		}
		if _, err := interfaceByIndex(1 << 30); !errors.Is(err, ErrNoInterface) {
			t.Errorf("by a missing index: %v, want ErrNoInterface", err)
		}
		// An alternative name is not the link's name (net has none).
		l, _ := netlink.LinkByName("eth0")
		if err := netlink.LinkAddAltName(l, "eth0-alt"); err != nil {
			t.Fatal(err)
		}
		if ifi, err := interfaceByName("eth0-alt"); !errors.Is(err, ErrNoInterface) {
			t.Errorf("by the alternative name: %v, %v; want ErrNoInterface", ifi, err)
		}
	})
}

// TestLinuxLargeLinkLookups: Go's net package does not see a link whose
// message exceeds a page (big0: the kernel leaves it out of a dump read
// a page at a time); the daemon's own lookups find it by name and by
// index, with its MAC, and list it. (With net's lookups, a daemon on big0
// did not start: ENODEV.)
func TestLinuxLargeLinkLookups(t *testing.T) {
	inThrowawayNamespace(t, func() {
		addLargeLink(t)
		// What this test is about, on this kernel and this Go (a page of
		// 4 KiB: not where pages are larger, nor once net reads whole).
		if _, err := net.InterfaceByName("big0"); err == nil {
			t.Log("net.InterfaceByName finds a link of 6 KiB here: ours are checked all the same")
		}
		for _, name := range []string{"big0", "eth0"} {
			sys, err := New(name)
			if err != nil {
				t.Errorf("New(%s): %v", name, err)
				continue
			}
			l, err := netlink.LinkByName(name)
			if err != nil {
				t.Fatal(err)
			}
			a := l.Attrs()
			ifi := sys.Interface()
			if ifi.Index != a.Index || ifi.Name != name || ifi.MTU != a.MTU || !slices.Equal(ifi.HardwareAddr, a.HardwareAddr) {
				t.Errorf("New(%s).Interface() = %+v, want index %d, MTU %d, MAC %v", name, ifi, a.Index, a.MTU, a.HardwareAddr)
			}
			if mac, err := sys.(MACReader).HardwareAddr(); err != nil || !slices.Equal(mac, a.HardwareAddr) {
				t.Errorf("%s: HardwareAddr = %v, %v; want %v", name, mac, err, a.HardwareAddr)
			}
		}
		ifs, err := Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ifi := range ifs {
			names = append(names, ifi.Name)
		}
		if slices.Sort(names); !slices.Equal(names, []string{"big0", "big1", "eth0", "lo", "peer0"}) {
			t.Errorf("Interfaces: %v", names)
		}
	})
}

// linkMessage is an RTM_NEWLINK message of the link index (type
// ARPHRD_ETHER, flags IFF_UP|IFF_MULTICAST) with the attributes given,
// in the kernel's layout.
func linkMessage(index int, attrs ...[]byte) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint16(b[4:], unix.RTM_NEWLINK)
	binary.NativeEndian.PutUint16(b[unix.NLMSG_HDRLEN+2:], unix.ARPHRD_ETHER)
	binary.NativeEndian.PutUint32(b[unix.NLMSG_HDRLEN+4:], uint32(index))
	binary.NativeEndian.PutUint32(b[unix.NLMSG_HDRLEN+8:], unix.IFF_UP|unix.IFF_MULTICAST)
	for _, a := range attrs {
		b = append(b, a...)
	}
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	return b
}

// rtAttr is a route attribute of type typ, padded.
func rtAttr(typ uint16, v []byte) []byte {
	l := unix.SizeofRtAttr + len(v)
	a := make([]byte, nlAlign(l))
	binary.NativeEndian.PutUint16(a, uint16(l))
	binary.NativeEndian.PutUint16(a[2:], typ)
	copy(a[unix.SizeofRtAttr:], v)
	return a
}

// errorMessage is an NLMSG_ERROR message of errno e.
func errorMessage(e syscall.Errno) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+4+unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_ERROR)
	binary.NativeEndian.PutUint32(b[unix.NLMSG_HDRLEN:], uint32(-int32(e)))
	return b
}

// TestLinkAnswer: the answers to an RTM_GETLINK, byte by byte.
func TestLinkAnswer(t *testing.T) {
	mtu := binary.NativeEndian.AppendUint32(nil, 1500)
	eth0 := linkMessage(7, rtAttr(unix.IFLA_IFNAME, []byte("eth0\x00")), rtAttr(unix.IFLA_MTU, mtu),
		rtAttr(unix.IFLA_ADDRESS, []byte{2, 0, 0, 0, 0, 7}), rtAttr(unix.IFLA_PROP_LIST|unix.NLA_F_NESTED, rtAttr(unix.IFLA_ALT_IFNAME, []byte("x\x00"))))
	want := net.Interface{Index: 7, MTU: 1500, Name: "eth0", HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 7}, Flags: net.FlagUp | net.FlagMulticast}
	for _, tc := range []struct {
		name  string
		b     []byte
		index int
		want  *net.Interface
		done  bool
		err   error
	}{
		{"by index", eth0, 7, &want, true, nil},
		{"by name", eth0, 0, &want, true, nil},
		{"another index", eth0, 8, nil, false, nil},
		{"after an acknowledgement", append(errorMessage(0), eth0...), 7, &want, true, nil},
		{"zero MAC", linkMessage(1, rtAttr(unix.IFLA_ADDRESS, make([]byte, 6))), 1, &net.Interface{Index: 1, Flags: net.FlagUp | net.FlagMulticast}, true, nil},
		{"no such link", errorMessage(unix.ENODEV), 7, nil, true, errNoLink},
		{"refused", errorMessage(unix.EPERM), 7, nil, true, unix.EPERM},
		{"cut short", eth0[:len(eth0)-4], 7, nil, true, errMalformed},
		{"attribute too long", linkMessage(7, []byte{200, 0, 3, 0}), 7, nil, true, errMalformed},
		{"empty", nil, 7, nil, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := ""
			if tc.index == 0 {
				name = "eth0"
			}
			ifi, done, err := linkAnswer(tc.b, tc.index, name)
			if done != tc.done || !errors.Is(err, tc.err) || (ifi == nil) != (tc.want == nil) {
				t.Fatalf("%+v, %v, %v; want %+v, %v, %v", ifi, done, err, tc.want, tc.done, tc.err)
			}
			if ifi != nil {
				if d := sameInterface(*ifi, *tc.want); d != "" {
					t.Error(d)
				}
			}
		})
	}
}

// FuzzLinkAnswer: no datagram, however short or strange, makes the
// decoding of an RTM_GETLINK's answer panic, and a link it gives for an
// index is that index's.
func FuzzLinkAnswer(f *testing.F) {
	f.Add(linkMessage(7, rtAttr(unix.IFLA_IFNAME, []byte("eth0\x00")), rtAttr(unix.IFLA_ADDRESS, []byte{2, 0, 0, 0, 0, 7})))
	f.Add(errorMessage(unix.ENODEV))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ifi, done, err := linkAnswer(b, 7, ""); done && err == nil && ifi.Index != 7 {
			t.Errorf("asked for link 7, got %+v", ifi)
		}
		linkAnswer(b, 0, "eth0")
		if len(b) >= unix.NLMSG_HDRLEN {
			decodeLink(b[unix.NLMSG_HDRLEN:])
		}
	})
}
