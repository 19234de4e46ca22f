package platform

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

// TestFakeAgreesWithKernelIPv6 is TestFakeAgreesWithKernel for IPv6
// addresses, whose rules differ: one copy per address whatever the prefix
// length, no labels, a delete that needs the prefix length.
func TestFakeAgreesWithKernelIPv6(t *testing.T) {
	inThrowawayNamespace(t, func() {
		kernel, fake := kernelAndFake(t)
		p128 := netip.MustParsePrefix("2001:db8::100/128")
		p64 := netip.MustParsePrefix("2001:db8::100/64")
		other := netip.MustParsePrefix("2001:db8::101/128")
		ours := vip.Address{Prefix: p128, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}
		agree(t, kernel, fake, []addrOp{
			{"an administrator's copy: no protocol", "add", vip.Address{Prefix: p128}},
			{"ours on top: the address is taken", "add", ours},
			{"replace takes it over in place, no label", "replace", ours},
			{"the same address with another prefix length is the same address", "add", vip.Address{Prefix: p64}},
			{"replace with another prefix length keeps the prefix length", "replace", vip.Address{Prefix: p64, Proto: vip.ProtoCARP, Lifetime: 20 * time.Second}},
			{"delete with another prefix length", "del", vip.Address{Prefix: p64}},
			{"delete with a label: the label is ignored", "del", vip.Address{Prefix: p128, Label: "eth0:other"}},
			{"delete what is not there", "del", vip.Address{Prefix: p128}},
			{"replace adds what is not there", "replace", vip.Address{Prefix: other, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}},
			{"replace without a protocol or lifetime clears both", "replace", vip.Address{Prefix: other}},
			{"replace sets the protocol back and a lifetime", "replace", vip.Address{Prefix: other, Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}},
			{"delete by address, whatever the protocol", "del", vip.Address{Prefix: other}},
		})
	})
}

// TestIPv6AddressNoDAD: the daemon's IPv6 address skips duplicate address
// detection, so that it is never tentative and answers at once.
func TestIPv6AddressNoDAD(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		p := netip.MustParsePrefix("2001:db8::100/128")
		if err := sys.Addresses().AddAddress(vip.Address{Prefix: p, Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		link, _ := netlink.LinkByName("eth0")
		as, err := netlink.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.IP.Equal(p.Addr().AsSlice()) {
				if a.Flags&unix.IFA_F_NODAD == 0 || a.Flags&unix.IFA_F_TENTATIVE != 0 {
					t.Fatalf("flags %#x: want nodad, not tentative", a.Flags)
				}
				return
			}
		}
		t.Fatalf("%v not in %v", p, as)
	})
}
