package platform

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestIP6Conn sends an IPv6 packet of protocol 112 from eth0's link-local
// address to ff02::12 and reads it on the other end of the veth: the group
// is joined (MLD, igmp6), the hop limit is 255, and the rebuilt
// header carries the source, the destination and the payload as sent.
func TestIP6Conn(t *testing.T) {
	inThrowawayNamespace(t, func() {
		a, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		b, err := New("peer0")
		if err != nil {
			t.Fatal(err)
		}
		group := netip.MustParseAddr("ff02::12")
		src, ca, cb := openPair6(t, a, b, group)
		igmp6, _ := os.ReadFile("/proc/thread-self/net/igmp6") // this thread is in the namespace
		if !strings.Contains(string(igmp6), "peer0") || !strings.Contains(string(igmp6), "ff020000000000000000000000000012") {
			t.Fatalf("ff02::12 not joined:\n%s", igmp6)
		}
		payload := bytes.Repeat([]byte{0x21}, 36)
		h := ip6Header(0, 36, 112, 255, src, group)
		pkt := append(h[:], payload...)
		writeOnceReady(t, ca, pkt)
		got := make([]byte, 1500)
		done := make(chan struct{})
		var n int
		var rerr error
		go func() { n, rerr = cb.ReadPacket(got); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("nothing received")
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		if !bytes.Equal(got[:n], pkt) {
			t.Fatalf("received\n%x\nsent\n%x", got[:n], pkt)
		}
	})
}

// waitLinkLocal waits for the interface's link-local address.
func waitLinkLocal(t *testing.T, o OS) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ifi, _ := interfaceByName(o.Interface().Name)
		a, err := LinkLocal(ifi)
		if err == nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLinuxIP6LargeLink: IPv6 packets written and read on a link whose
// message exceeds a page (big0, which Go's net does not list) go through,
// and cost what they cost on an ordinary link: the zone of a link-local
// address, a name that net and x/net look up in a list of every link,
// made them list every link of the host at each write (67 allocations a
// write, 9 on eth0) and each read (73 allocations a read, 17 on peer0).
func TestLinuxIP6LargeLink(t *testing.T) {
	inThrowawayNamespace(t, func() {
		addLargeLink(t)
		setLink(t, "big1", true)
		group := netip.MustParseAddr("ff02::12")
		allocs := map[string]float64{}
		for _, pair := range [][2]string{{"eth0", "peer0"}, {"big0", "big1"}, {"big1", "big0"}} {
			a, err := New(pair[0])
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(pair[1])
			if err != nil {
				t.Fatal(err)
			}
			src, ca, cb := openPair6(t, a, b, group)
			h := ip6Header(0, 36, 112, 255, src, group)
			pkt := append(h[:], bytes.Repeat([]byte{0x21}, 36)...)
			writeOnceReady(t, ca, pkt)
			got := make([]byte, 1500)
			done := make(chan struct{})
			var n int
			go func() { n, _ = cb.ReadPacket(got); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s received nothing from %s", pair[1], pair[0])
			}
			if !bytes.Equal(got[:n], pkt) {
				t.Fatalf("%s received\n%x\nsent\n%x", pair[1], got[:n], pkt)
			}
			allocs[pair[0]+" to "+pair[1]] = testing.AllocsPerRun(20, func() {
				if err := ca.WritePacket(pkt); err != nil {
					t.Fatal(err)
				}
				if _, err := cb.ReadPacket(got); err != nil {
					t.Fatal(err)
				}
			})
			// A read of a closed socket says so: the node's reader ends.
			cb.Close()
			if _, err := cb.ReadPacket(got); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: a read after Close: %v, want net.ErrClosed", pair[1], err)
			}
		}
		for _, big := range []string{"big0 to big1", "big1 to big0"} {
			if allocs[big] > allocs["eth0 to peer0"] {
				t.Errorf("allocations per packet written and read: %v", allocs)
			}
		}
	})
}

// openPair6 opens a protocol-112 IPv6 socket on a and on b, each from its
// link-local address and in group, closed when the test ends, and returns
// a's source with them.
func openPair6(t *testing.T, a, b OS, group netip.Addr) (src netip.Addr, ca, cb IPConn) {
	t.Helper()
	src = waitLinkLocal(t, a)
	ca, err := a.OpenIP(IPOptions{Protocol: 112, Src: src, Group: group})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	cb, err = b.OpenIP(IPOptions{Protocol: 112, Src: waitLinkLocal(t, b), Group: group})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cb.Close() })
	return src, ca, cb
}

// writeOnceReady writes pkt on c, again every 20 ms for 5 s at the most
// while the kernel refuses it because the link-local source is still
// tentative.
func writeOnceReady(t *testing.T, c IPConn, pkt []byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.WritePacket(pkt)
		if err == nil {
			return
		}
		if !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.EINVAL) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
