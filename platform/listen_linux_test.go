package platform

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/vip"
)

// TestListenPacketTypes: ListenARP and ListenND read what the interface
// receives (broadcast, multicast, to its MAC) and never what the host
// sends itself, whatever MAC its frames carry (after a change of the
// interface's MAC, the kernel's ARP replies and NAs carry the new one),
// nor the frames for another MAC. (The kernel hands a socket bound to
// one protocol none of the host's own frames: the filter's test of
// PACKET_OUTGOING cannot be shown failing here; that of PACKET_OTHERHOST
// can, on a veth.) The frames are told apart by the
// address they claim; the kernel's own traffic (DAD, MLD) is ignored.
func TestListenPacketTypes(t *testing.T) {
	inThrowawayNamespace(t, func() {
		eth0, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		peer0, err := New("peer0")
		if err != nil {
			t.Fatal(err)
		}
		own, peer := eth0.Interface().HardwareAddr, peer0.Interface().HardwareAddr
		other := net.HardwareAddr{2, 0, 0, 0, 0, 0x99}
		to := func(f []byte, dst net.HardwareAddr) []byte {
			f = append([]byte(nil), f...)
			copy(f, dst)
			return f
		}
		for _, fam := range []struct {
			name   string
			listen func() (FrameReader, error)
			claim  func(mac net.HardwareAddr, i byte) []byte
			parse  func([]byte) (vip.Claim, error)
		}{
			{"ARP", eth0.(ARPListener).ListenARP, func(mac net.HardwareAddr, i byte) []byte {
				f, _ := vip.GratuitousARP(mac, netip.AddrFrom4([4]byte{198, 51, 100, i}))
				return f
			}, vip.ParseClaim},
			{"ND", eth0.(NDListener).ListenND, func(mac net.HardwareAddr, i byte) []byte {
				f, _ := vip.UnsolicitedNA(mac, netip.MustParseAddr("fe80::1"), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: i}), false)
				return f
			}, vip.ParseNDClaim},
		} {
			l, err := fam.listen()
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan byte, 16)
			go func() {
				b := make([]byte, 1514)
				for {
					n, err := l.ReadFrame(b)
					if err != nil {
						close(got)
						return
					}
					if c, err := fam.parse(b[:n]); err == nil {
						got <- c.Addr.AsSlice()[len(c.Addr.AsSlice())-1]
					}
				}
			}()
			send := func(sys OS, f []byte) {
				c, err := sys.OpenARP()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := c.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
			}
			send(eth0, fam.claim(own, 1))              // the host's own: OUTGOING
			send(eth0, fam.claim(other, 2))            // its own with another MAC: OUTGOING
			send(peer0, to(fam.claim(peer, 3), other)) // for another MAC: OTHERHOST
			send(peer0, fam.claim(peer, 4))            // broadcast or multicast
			send(peer0, to(fam.claim(peer, 5), own))   // to the host: HOST
			var heard []byte
			deadline := time.After(5 * time.Second)
			for len(heard) < 2 {
				select {
				case i := <-got:
					heard = append(heard, i)
				case <-deadline:
					t.Fatalf("%s: heard %v within 5 s, want [4 5]", fam.name, heard)
				}
			}
			l.Close()
			if heard[0] != 4 || heard[1] != 5 {
				t.Errorf("%s: heard the claims %v, want [4 5] (broadcast, to the host)", fam.name, heard)
			}
		}
	})
}
