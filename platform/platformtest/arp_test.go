package platformtest

import (
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/vip"
)

// TestListenPacketTypes: a listener hears the broadcast frames of the
// other hosts and those sent to its MAC, never its own host's
// (PACKET_OUTGOING) nor those sent to another MAC (PACKET_OTHERHOST), as
// Linux's filtered packet socket.
func TestListenPacketTypes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan LAN
		a, b, c := lan.Host("eth0", hw(1)), lan.Host("eth0", hw(2)), lan.Host("eth0", hw(3))
		l, err := a.ListenARP()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		garp := func(h *Host) []byte {
			f, _ := vip.GratuitousARP(h.mac, netip.MustParseAddr("198.51.100.1"))
			return f
		}
		to := func(f []byte, dst *Host) []byte {
			f = append([]byte(nil), f...)
			copy(f, dst.mac)
			return f
		}
		got := make(chan []byte, 8)
		go func() {
			buf := make([]byte, 1514)
			for {
				n, err := l.ReadFrame(buf)
				if err != nil {
					return
				}
				got <- append([]byte(nil), buf[:n]...)
			}
		}()
		for _, tc := range []struct {
			name  string
			from  *Host
			frame []byte
			heard bool
		}{
			{"own broadcast", a, garp(a), false},
			{"broadcast", b, garp(b), true},
			{"to the host", b, to(garp(b), a), true},
			{"to another host", b, to(garp(b), c), false},
		} {
			w, err := tc.from.OpenARP()
			if err != nil {
				t.Fatal(err)
			}
			w.WriteFrame(tc.frame)
			w.Close()
			time.Sleep(time.Millisecond)
			synctest.Wait()
			select {
			case <-got:
				if !tc.heard {
					t.Errorf("%s: heard", tc.name)
				}
			default:
				if tc.heard {
					t.Errorf("%s: not heard", tc.name)
				}
			}
		}
	})
}

func hw(i byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, i} }
