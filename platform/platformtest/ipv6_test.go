package platformtest_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/platform"
)

// TestIPv6Delivery: an IPv6 packet to ff02::12 reaches the IPv6 conns that
// joined it, hop limit and all, and no IPv4 conn of the same protocol; an
// IPv4 packet reaches no IPv6 conn.
func TestIPv6Delivery(t *testing.T) {
	_, hs := lan3()
	g6 := netip.MustParseAddr("ff02::12")
	open := func(name string, o platform.IPOptions) platform.IPConn {
		c, err := hs[name].OpenIP(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a6 := open("a", platform.IPOptions{Protocol: carp.IPProtocol, Group: g6})
	b6 := open("b", platform.IPOptions{Protocol: carp.IPProtocol, Group: g6})
	c4 := open("c", mcast(groupA))
	a4 := open("a", mcast(groupA))

	p := carp.NewPacket6(netip.MustParseAddr("fe80::2"), g6, carp.Header{Version: 2, Type: 1, VHID: 1})
	pkt, _ := p.MarshalBinary()
	if err := a6.WritePacket(pkt); err != nil {
		t.Fatal(err)
	}
	if err := a6.WritePacket(ipPacket(carp.IPProtocol, addr(1), groupA, "x")); err == nil {
		t.Fatal("an IPv4 packet written on an IPv6 conn")
	}
	got := make([]byte, 1500)
	n, err := b6.ReadPacket(got)
	if err != nil || !bytes.Equal(got[:n], pkt) || got[7] != 255 {
		t.Fatalf("received %x, %v", got[:n], err)
	}
	if err := a4.WritePacket(ipPacket(carp.IPProtocol, addr(1), groupA, "four")); err != nil {
		t.Fatal(err)
	}
	n, err = c4.ReadPacket(got)
	if err != nil || string(got[20:n]) != "four" {
		t.Fatalf("the IPv4 conn received %x, %v: want the IPv4 packet first", got[:n], err)
	}
	if d := b6.(interface{ Drops() uint64 }).Drops(); d != 0 {
		t.Fatalf("drops %d", d)
	}
}
