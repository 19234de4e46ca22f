package vip_test

import (
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
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
			got, err := vip.GratuitousARP(mac, netip.MustParseAddr(tt.ip))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Fatalf("got  %x\nwant %s", got, tt.want)
			}
		})
	}
	if _, err := vip.GratuitousARP(net.HardwareAddr{1, 2, 3}, netip.MustParseAddr("10.0.0.1")); err == nil {
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
		if got := vip.Label(tt.ifname, 42); got != tt.want {
			t.Errorf("Label(%q) = %q, want %q", tt.ifname, got, tt.want)
		}
	}
}

var (
	vipPrefix = netip.MustParsePrefix("198.51.100.100/32")
	host      = vip.Address{Prefix: netip.MustParsePrefix("198.51.100.11/24")}
	// admin is the copy RHEL's vip-up adds: "ip addr add VIP/32 dev eth0".
	admin = vip.Address{Prefix: vipPrefix}
)

func newAddrs(t *testing.T, as ...vip.Address) *viptest.Addrs {
	t.Helper()
	f := viptest.New("eth0")
	for _, a := range as {
		if err := f.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	f.Calls()
	return f
}

func TestManager(t *testing.T) {
	t.Run("acquire and release", func(t *testing.T) {
		f := newAddrs(t, host)
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0)
		if added, took, err := m.Acquire(); !added || took != nil || err != nil {
			t.Fatalf("acquire: %v %v %v", added, took, err)
		}
		if added, _, err := m.Acquire(); added || err != nil {
			t.Fatalf("second acquire: %v %v", added, err)
		}
		if removed, err := m.Release(); len(removed) != 1 || err != nil {
			t.Fatalf("release: %v %v", removed, err)
		}
		if removed, err := m.Release(); removed != nil || err != nil {
			t.Fatalf("second release: %v %v", removed, err)
		}
		if want := []string{"replace 198.51.100.100/32 label eth0:ucarp proto 112", "del 198.51.100.100/32 label eth0:ucarp proto 112"}; !slices.Equal(f.Calls(), want) {
			t.Fatal("calls differ")
		}
	})
	t.Run("a foreign copy is someone else's, whatever the label", func(t *testing.T) {
		for _, label := range []string{"eth0", "eth0:ucarp"} { // vip-up's copy, an ifup eth0:ucarp copy
			f := newAddrs(t, host, vip.Address{Prefix: vipPrefix, Label: label})
			s, err := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0).Check()
			if err != nil || !s.Present || !s.Held || s.Ours || len(s.Foreign) != 1 {
				t.Fatalf("%s: state %+v %v", label, s, err)
			}
		}
	})
	t.Run("a long interface name has no label but still a mark", func(t *testing.T) {
		// Label("wlxd0c0bf2f1b2a", 1) is "": before, any copy counted as ours.
		f := viptest.New("wlxd0c0bf2f1b2a")
		f.Add(admin)
		m := vip.NewManager(f, vipPrefix, "", 4*time.Second)
		if s, _ := m.Check(); s.Ours {
			t.Fatalf("the administrator's copy counts as ours: %+v", s)
		}
		if removed, err := m.RemoveOurs(); removed || err != nil {
			t.Fatalf("start-up removal took the administrator's copy: %v %v", removed, err)
		}
	})
	t.Run("a MASTER takes a foreign copy over in place", func(t *testing.T) {
		f := newAddrs(t, host, admin)
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 4*time.Second)
		added, took, err := m.Acquire()
		if added || err != nil || len(took) != 1 || took[0].Label != "eth0" {
			t.Fatalf("acquire: %v %v %v", added, took, err)
		}
		if calls := f.Calls(); len(calls) != 1 || calls[0][:7] != "replace" {
			t.Fatalf("not taken over in place: %q", calls)
		}
		if s, _ := m.Check(); !s.Ours {
			t.Fatalf("not ours after the takeover: %+v", s)
		}
		// So that stepping down removes it: only the new MASTER answers.
		if removed, err := m.Release(); len(removed) != 1 || err != nil || f.Has(vipPrefix.Addr()) {
			t.Fatalf("release: %v %v", removed, err)
		}
	})
	t.Run("release removes every copy, foreign included", func(t *testing.T) {
		f := newAddrs(t, host, admin, vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/24"), Label: "eth0:old"})
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0)
		if removed, err := m.Release(); len(removed) != 2 || err != nil {
			t.Fatalf("release: %v %v", removed, err)
		}
		if as, _ := f.Addresses(); !slices.Equal(as, []vip.Address{{Prefix: host.Prefix, Label: "eth0"}}) {
			t.Fatalf("left %v", as)
		}
	})
	t.Run("start-up removes only our stale copy", func(t *testing.T) {
		f := newAddrs(t, admin)
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0)
		if removed, err := m.RemoveOurs(); removed || err != nil || !f.Has(vipPrefix.Addr()) {
			t.Fatalf("foreign: %v %v", removed, err)
		}
		f = newAddrs(t)
		m.Acquire()
		if removed, err := m.RemoveOurs(); !removed || err != nil || f.Has(vipPrefix.Addr()) {
			t.Fatalf("ours: %v %v", removed, err)
		}
	})
	t.Run("before Linux 5.18 the label marks our copy", func(t *testing.T) {
		f := newAddrs(t, admin)
		f.NoProto = true
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 4*time.Second)
		if s, _ := m.Check(); s.Ours || !s.Held {
			t.Fatalf("state %+v", s)
		}
		if _, took, _ := m.Acquire(); len(took) != 1 {
			t.Fatalf("took %v", took)
		}
		// The kernel keeps the label: the copy stays foreign by its mark,
		// but a MASTER renews it without reporting it at every renewal.
		if s, took, err := m.Refresh(); !s.Held || s.Ours || took != nil || err != nil || f.Adds() != 2 {
			t.Fatalf("refresh %+v %v %v, %d adds", s, took, err, f.Adds())
		}
		f = newAddrs(t, vip.Address{Prefix: vipPrefix, Label: "eth0:ucarp"})
		f.NoProto = true
		if s, _ := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0).Check(); !s.Ours {
			t.Fatalf("state %+v", s)
		}
	})
	t.Run("other prefix length is someone else's", func(t *testing.T) {
		f := newAddrs(t, vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/24"), Label: "eth0:ucarp", Proto: vip.ProtoCARP})
		if s, _ := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0).Check(); !s.Present || s.Held || s.Ours {
			t.Fatalf("state %+v", s)
		}
	})
	t.Run("without labels or protocols the address is the mark", func(t *testing.T) {
		f := newAddrs(t, admin)
		f.NoLabels = true
		if s, _ := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0).Check(); !s.Ours {
			t.Fatalf("state %+v", s)
		}
	})
	t.Run("refresh renews the held copy, only with a lifetime", func(t *testing.T) {
		f := newAddrs(t)
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 4*time.Second)
		m.Refresh() // absent: nothing
		if f.Adds() != 0 {
			t.Fatal("refresh added the address")
		}
		m.Acquire()
		if s, took, err := m.Refresh(); !s.Ours || took != nil || err != nil || f.Adds() != 2 {
			t.Fatalf("state %+v took %v err %v adds %d", s, took, err, f.Adds())
		}
		// A copy configured while MASTER (after a removal) is taken over.
		f.Flush()
		f.Add(admin)
		if s, took, _ := m.Refresh(); s.Ours || len(took) != 1 {
			t.Fatalf("state %+v took %v", s, took)
		}
		if s, _ := m.Check(); !s.Ours {
			t.Fatalf("not taken over: %+v", s)
		}
		f = newAddrs(t, vip.Address{Prefix: vipPrefix, Proto: vip.ProtoCARP})
		if vip.NewManager(f, vipPrefix, "eth0:ucarp", 0).Refresh(); f.Adds() != 0 {
			t.Fatal("refresh without a lifetime")
		}
	})
	t.Run("errors are returned", func(t *testing.T) {
		boom := errors.New("boom")
		f := newAddrs(t)
		f.Fail(boom)
		m := vip.NewManager(f, vipPrefix, "eth0:ucarp", 0)
		if _, _, err := m.Acquire(); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := m.Release(); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := m.RemoveOurs(); !errors.Is(err, boom) {
			t.Fatal(err)
		}
	})
}
