package platform

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/ucarp-go/ucarp/vip"
)

// TestNDFilter: ListenND's filter keeps Neighbour Solicitations and
// Advertisements and drops every other IPv6 packet. Its first two
// instructions, inFilter's test of the packet type (an extension that
// the VM has not), are left out: e2e's TestSplitBrainNA runs them in the kernel.
func TestNDFilter(t *testing.T) {
	if _, ok := ndFilter[0].(bpf.LoadExtension); !ok {
		t.Fatal("ndFilter does not begin with the packet type")
	}
	vm, err := bpf.NewVM(ndFilter[2:])
	if err != nil {
		t.Fatal(err)
	}
	na, err := vip.UnsolicitedNA(net.HardwareAddr{2, 0, 0, 0, 0, 1}, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::1"), false)
	if err != nil {
		t.Fatal(err)
	}
	withType := func(typ byte) []byte {
		f := append([]byte(nil), na...)
		f[ethLen+40] = typ
		return f
	}
	udp := append([]byte(nil), na...)
	udp[ethLen+6] = 17
	for _, tc := range []struct {
		name  string
		frame []byte
		keep  bool
	}{
		{"neighbour advertisement", na, true},
		{"neighbour solicitation", withType(135), true},
		{"router advertisement", withType(134), false},
		{"echo request", withType(128), false},
		{"UDP", udp, false},
		{"short", na[:ethLen+20], false},
	} {
		n, err := vm.Run(tc.frame)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (n > 0) != tc.keep {
			t.Errorf("%s: filter returns %d, want kept %v", tc.name, n, tc.keep)
		}
	}
}
