package vip

import (
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestGratuitousARP(t *testing.T) {
	tests := []struct {
		name, mac, ip, want string
	}{
		// Captured from Debian's ucarp in the lab (carp/testdata/ucarp-advert-1.hex).
		{"lab capture", "02:00:00:00:00:0b", "198.51.100.100",
			"ffffffffffff02000000000b0806000108000604000102000000000bc633646402000000000bc6336464"},
		// Spec §12.1 and §12.2 V1.
		{"spec 12.1", "7a:08:31:f1:27:5e", "10.1.1.252",
			"ffffffffffff7a0831f1275e080600010800060400017a0831f1275e0a0101fc7a0831f1275e0a0101fc"},
		{"spec V1", "52:54:00:12:34:56", "10.1.1.252",
			"ffffffffffff525400123456080600010800060400015254001234560a0101fc5254001234560a0101fc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mac, _ := net.ParseMAC(tt.mac)
			got, err := GratuitousARP(mac, netip.MustParseAddr(tt.ip))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Fatalf("got  %x\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := GratuitousARP(net.HardwareAddr{1, 2, 3}, netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Fatal("3-byte MAC accepted")
	}
}

func TestLabel(t *testing.T) {
	for _, tt := range []struct {
		ifname string
		want   string
	}{
		{"eth0", "eth0:ucarp"},
		{"enp0s31f6", "enp0s31f6:ucarp"},
		{"enp0s31f6a", "enp0s31f6a:42"},
		{"wlxd0c0bf2f1b2a", ""},
	} {
		if got := Label(tt.ifname, 42); got != tt.want {
			t.Errorf("Label(%q) = %q, want %q", tt.ifname, got, tt.want)
		}
	}
}

// fakeSystem is an in-memory interface.
type fakeSystem struct {
	addrs []Address
	err   error
	calls []string
}

func (f *fakeSystem) Addresses() ([]Address, error) { return slices.Clone(f.addrs), f.err }
func (f *fakeSystem) Mark() Mark                    { return MarkLabel }
func (f *fakeSystem) AddAddress(a Address) error {
	f.calls = append(f.calls, "add "+a.Prefix.String()+" "+a.Label)
	if !slices.ContainsFunc(f.addrs, func(b Address) bool { return b.Prefix == a.Prefix && b.Label == a.Label }) {
		f.addrs = append(f.addrs, Address{Prefix: a.Prefix, Label: a.Label})
	}
	return f.err
}
func (f *fakeSystem) DeleteAddress(a Address) error {
	f.calls = append(f.calls, "del "+a.Prefix.String()+" "+a.Label)
	f.addrs = slices.DeleteFunc(f.addrs, func(b Address) bool { return b.Prefix == a.Prefix && b.Label == a.Label })
	return f.err
}

func TestManager(t *testing.T) {
	vip := netip.MustParsePrefix("198.51.100.100/32")
	host := Address{Prefix: netip.MustParsePrefix("198.51.100.11/24"), Label: "eth0"}

	t.Run("acquire and release", func(t *testing.T) {
		f := &fakeSystem{addrs: []Address{host}}
		m := NewManager(f, vip, "eth0:ucarp", 0)
		if added, err := m.Acquire(); !added || err != nil {
			t.Fatalf("acquire: %v %v", added, err)
		}
		if added, err := m.Acquire(); added || err != nil {
			t.Fatalf("second acquire: %v %v", added, err)
		}
		if removed, err := m.Release(); !removed || err != nil {
			t.Fatalf("release: %v %v", removed, err)
		}
		if removed, err := m.Release(); removed || err != nil {
			t.Fatalf("second release: %v %v", removed, err)
		}
		if want := []string{"add 198.51.100.100/32 eth0:ucarp", "del 198.51.100.100/32 eth0:ucarp"}; !slices.Equal(f.calls, want) {
			t.Fatalf("calls %q", f.calls)
		}
	})
	t.Run("an address configured by someone else is never removed", func(t *testing.T) {
		f := &fakeSystem{addrs: []Address{host, {Prefix: vip, Label: "eth0"}}}
		m := NewManager(f, vip, "eth0:ucarp", 0)
		if s, _ := m.Check(); !s.Present || s.Ours {
			t.Fatalf("state %+v", s)
		}
		if _, err := m.Acquire(); !errors.Is(err, ErrForeign) {
			t.Fatalf("acquire: %v", err)
		}
		if removed, err := m.Release(); removed || err != nil {
			t.Fatalf("release: %v %v", removed, err)
		}
		if len(f.calls) != 0 {
			t.Fatalf("calls %q", f.calls)
		}
	})
	t.Run("other prefix length is someone else's", func(t *testing.T) {
		f := &fakeSystem{addrs: []Address{{Prefix: netip.MustParsePrefix("198.51.100.100/24"), Label: "eth0:ucarp"}}}
		if s, _ := NewManager(f, vip, "eth0:ucarp", 0).Check(); !s.Present || s.Ours {
			t.Fatalf("state %+v", s)
		}
	})
	t.Run("without labels the address is the mark", func(t *testing.T) {
		f := &fakeSystem{addrs: []Address{{Prefix: vip}}}
		if s, _ := NewManager(f, vip, "", 0).Check(); !s.Ours {
			t.Fatalf("state %+v", s)
		}
	})
	t.Run("refresh renews only our copy, only with a lifetime", func(t *testing.T) {
		f := &fakeSystem{}
		m := NewManager(f, vip, "eth0:ucarp", 4*time.Second)
		m.Refresh() // absent: nothing
		m.Acquire()
		f.calls = nil
		if s, err := m.Refresh(); !s.Ours || err != nil || len(f.calls) != 1 {
			t.Fatalf("state %+v err %v calls %q", s, err, f.calls)
		}
		f.addrs = []Address{{Prefix: vip, Label: "eth0"}}
		f.calls = nil
		if m.Refresh(); len(f.calls) != 0 {
			t.Fatalf("refreshed someone else's address: %q", f.calls)
		}
		f.addrs = []Address{{Prefix: vip, Label: "eth0:ucarp"}}
		if NewManager(f, vip, "eth0:ucarp", 0).Refresh(); len(f.calls) != 0 {
			t.Fatalf("refresh without a lifetime: %q", f.calls)
		}
	})
	t.Run("errors are returned", func(t *testing.T) {
		boom := errors.New("boom")
		f := &fakeSystem{err: boom}
		m := NewManager(f, vip, "eth0:ucarp", 0)
		if _, err := m.Acquire(); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := m.Release(); !errors.Is(err, boom) {
			t.Fatal(err)
		}
	})
}
