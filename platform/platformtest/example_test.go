package platformtest_test

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

func ExampleLAN() {
	lan := new(platformtest.LAN)
	a := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParsePrefix("198.51.100.1/24"))
	b := lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 2}, netip.MustParsePrefix("198.51.100.2/24"))
	o := platform.IPOptions{Protocol: 112, Group: netip.MustParseAddr("224.0.0.18")}
	ca, _ := a.OpenIP(o)
	cb, _ := b.OpenIP(o)
	defer ca.Close()
	defer cb.Close()

	// A bare IPv4 header, protocol 112, from 198.51.100.1 to 224.0.0.18.
	pkt := []byte{0x45, 0, 0, 20, 0, 0, 0x40, 0, 255, 112, 0, 0, 198, 51, 100, 1, 224, 0, 0, 18}
	ca.WritePacket(pkt)
	buf := make([]byte, 1500)
	n, _ := cb.ReadPacket(buf)
	fmt.Printf("b read %d bytes from %v\n", n, netip.AddrFrom4([4]byte(buf[12:16])))

	lan.Partition(a)
	ca.WritePacket(pkt)
	for _, f := range lan.Sent() {
		fmt.Printf("%v sent %d bytes to %d conns\n", f.Host, len(f.Data), f.Delivered)
	}
	// Output:
	// b read 20 bytes from 198.51.100.1
	// eth0 02:00:00:00:00:01 sent 20 bytes to 1 conns
	// eth0 02:00:00:00:00:01 sent 20 bytes to 0 conns
}
