package group

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

func TestAddressSet(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		c    Config
		fam  carp.Family
		env  string
	}{
		{"one IPv4, as ucarp", Config{Addr: p("198.51.100.100/32"), AddrArg: "198.51.100.100"}, carp.FamilyIPv4, "198.51.100.100"},
		{"IPv6 only", Config{Addr: p("2001:db8::100/128"), AddrArg: "2001:db8::100", MoreAddrs: []netip.Prefix{p("2001:db8::101/64")}},
			carp.FamilyIPv6, "2001:db8::100 2001:db8::101"},
		{"dual stack", Config{Addr: p("198.51.100.100/24"), AddrArg: "198.51.100.100", MoreAddrs: []netip.Prefix{p("2001:db8::100/128"), p("198.51.100.101/32")}},
			carp.FamilyBoth, "198.51.100.100 2001:db8::100 198.51.100.101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if f := tc.c.families(); f != tc.fam {
				t.Errorf("families %d, want %d", f, tc.fam)
			}
			if e := tc.c.vipsEnv(); e != tc.env {
				t.Errorf("CARP_VIPS %q, want %q", e, tc.env)
			}
		})
	}
}

// TestVIPSet: the set is held when every address is, present and ours
// when any is; Acquire adds what is missing, Release removes every copy;
// IPv6 addresses get no label.
func TestVIPSet(t *testing.T) {
	sys := viptest.New("eth0")
	c := &Config{Interface: "eth0", VHID: 1, Addr: netip.MustParsePrefix("198.51.100.100/32"),
		MoreAddrs: []netip.Prefix{netip.MustParsePrefix("2001:db8::100/64")}}
	s := newVIPSet(sys, c, 4*time.Second)
	if err := sys.Add(vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Proto: vip.ProtoCARP}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Check()
	if err != nil || st.Held || !st.Present || !st.Ours {
		t.Fatalf("one of two: %+v %v", st, err)
	}
	if added, _, err := s.Acquire(); err != nil || !added {
		t.Fatalf("acquire: %v %v", added, err)
	}
	if st, _ := s.Check(); !st.Held {
		t.Fatalf("both: %+v", st)
	}
	as, _ := sys.Addresses()
	for _, a := range as {
		if a.Prefix.Addr().Is6() && a.Label != "" || a.Prefix.Addr().Is4() && a.Label != "eth0:ucarp" {
			t.Errorf("address %v", a)
		}
	}
	if removed, err := s.Release(); err != nil || len(removed) != 2 {
		t.Fatalf("release: %v %v", removed, err)
	}
	if st, _ := s.Check(); st.Present {
		t.Fatalf("after release: %+v", st)
	}
}

// TestAnnounceStep: up to 16 frames go at once; more are spread in
// bursts over the interval.
func TestAnnounceStep(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{1, 0}, {16, 0}, {17, 500 * time.Millisecond}, {32, 500 * time.Millisecond}, {64, 250 * time.Millisecond}} {
		if got := announceStep(tc.n, time.Second); got != tc.want {
			t.Errorf("%d frames: step %v, want %v", tc.n, got, tc.want)
		}
	}
}
