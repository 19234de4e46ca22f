//go:build linux

package lab

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/vrrp"
)

func needPeers(t *testing.T) {
	t.Helper()
	needLab(t)
	for _, b := range []string{KeepalivedBin, FRRZebra, FRRVrrpd, FRRVtysh} {
		if err := HaveBinary(b); err != nil {
			t.Skipf("skipped: %v", err)
		}
	}
}

func newVRRPLab(t *testing.T, ipv6 bool) *Lab {
	t.Helper()
	return NewForTest(t, Options{Hosts: 2, Log: t.Logf}, ipv6)
}

func holderNames(l *Lab, a netip.Addr) []string {
	var s []string
	for _, h := range l.VRRPHolders(a) {
		s = append(s, h.Name)
	}
	return s
}

func waitHolders(t *testing.T, l *Lab, a netip.Addr, timeout time.Duration, want ...string) {
	t.Helper()
	if !Eventually(timeout, func() bool { return slices.Equal(holderNames(l, a), want) }) {
		t.Fatalf("%v served by %v after %v, want %v", a, holderNames(l, a), timeout, want)
	}
}

// TestVRRPPeers checks the lab's VRRPv3 peers against each other before
// ours joins them: keepalived and FRR's vrrpd converge on the preferred
// one, the other takes over when it leaves (priority 0: within the skew
// time, far below the master down interval) or dies, and the preferred one
// preempts on its return. IPv4 with keepalived preferred, IPv6 with FRR
// preferred.
func TestVRRPPeers(t *testing.T) {
	needPeers(t)
	for _, ipv6 := range []bool{false, true} {
		t.Run(map[bool]string{false: "IPv4", true: "IPv6"}[ipv6], func(t *testing.T) {
			l := newVRRPLab(t, ipv6)
			h1, h2 := l.Hosts[0], l.Hosts[1]
			v := VRRP{VRID: 7, Interval: 20}
			if ipv6 {
				v.Addrs = []netip.Addr{VIP6}
			}
			vip := v.withDefaults().Addrs[0]
			hi, lo := v, v
			hi.Priority, lo.Priority = 200, 100
			capture, err := l.Capture()
			if err != nil {
				t.Fatal(err)
			}
			defer capture.Stop()
			// keepalived is preferred over IPv4, FRR over IPv6.
			var kaPrio, frrPrio = hi, lo
			kaHost, frrHost := h1, h2
			if ipv6 {
				kaPrio, frrPrio = lo, hi
				kaHost, frrHost = h2, h1
			}
			f, err := frrHost.StartFRR("frr", frrPrio)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Stop(time.Second)
			k, err := kaHost.StartKeepalived("keepalived", kaPrio)
			if err != nil {
				t.Fatal(err)
			}
			waitHolders(t, l, vip, 10*time.Second, h1.Name)
			src := h1.Addr
			if ipv6 {
				if src, err = f.MacvlanLinkLocal(); err != nil {
					t.Fatal(err)
				}
			}
			// The preferred one leaves: the other serves after its
			// skew time (here at most 0.2 s), not its master down
			// interval.
			var left time.Time
			if ipv6 {
				left = time.Now()
				f.Stop(5 * time.Second)
			} else {
				left = time.Now()
				k.Stop(5 * time.Second)
			}
			waitHolders(t, l, vip, 10*time.Second, h2.Name)
			t.Logf("graceful leave: %v until h2 serves", time.Since(left))
			leave := From(VRRPAdverts(capture.Frames()), src, 0)
			if len(leave) == 0 {
				t.Errorf("no priority-0 advert from h1")
			}
			// It comes back and preempts.
			if ipv6 {
				if f, err = frrHost.StartFRR("frr2", frrPrio); err != nil {
					t.Fatal(err)
				}
				defer f.Stop(time.Second)
			} else {
				if k, err = kaHost.StartKeepalived("keepalived2", kaPrio); err != nil {
					t.Fatal(err)
				}
			}
			waitHolders(t, l, vip, 10*time.Second, h1.Name)
			// It dies: no priority-0 advert; h2 takes over after its
			// master down interval.
			if ipv6 {
				f.Crash()
				f.deleteMacvlan() // a dead host serves nothing
			} else {
				k.Crash()
				for h1.HasAddr(vip) {
					h1.Exec("ip", "addr", "del", vip.String()+"/32", "dev", h1.IfName)
				}
			}
			waitHolders(t, l, vip, 10*time.Second, h2.Name)
			if k.State() == "" {
				t.Errorf("keepalived logged no state:\n%s", k.Log())
			}
		})
	}
}

// TestCaptureFRR captures FRR vrrpd's VRRPv3 adverts, IPv4 and IPv6, as
// it becomes master alone on the LAN and as it stops (SIGTERM), and
// writes them as "key: hex" lines (whole Ethernet frames) to the file
// named by LAB_VRRP_CAPTURE: vrrp/testdata/frr-8.4.hex was made so. It
// does not run otherwise.
func TestCaptureFRR(t *testing.T) {
	out := os.Getenv("LAB_VRRP_CAPTURE")
	if out == "" {
		t.Skip("skipped: set LAB_VRRP_CAPTURE=FILE to capture FRR's adverts")
	}
	needPeers(t)
	var lines []string
	for _, c := range []struct {
		key string
		v   VRRP
	}{
		{"v4", VRRP{VRID: 51, Priority: 200, Interval: 100, Addrs: []netip.Addr{VIP, netip.MustParseAddr("203.0.113.10")}}},
		{"v6", VRRP{VRID: 52, Priority: 100, Interval: 50, Addrs: []netip.Addr{VIP6}}},
	} {
		l := newVRRPLab(t, c.v.IPv6())
		capture, err := l.Capture()
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.Hosts[0].StartFRR("frr", c.v)
		if err != nil {
			t.Fatal(err)
		}
		if !Eventually(15*time.Second, func() bool {
			return len(VRRPAdverts(capture.Frames())) >= 3 && f.State() == "Master"
		}) {
			t.Fatalf("%s: FRR sent %d adverts, state %q", c.key, len(VRRPAdverts(capture.Frames())), f.State())
		}
		ll, _ := f.MacvlanLinkLocal()
		f.Stop(5 * time.Second)
		time.Sleep(200 * time.Millisecond) // let the last frames reach the capture
		ads := VRRPAdverts(capture.Stop())
		var adv, leave *VRRPAdvert
		for i := range ads {
			a := &ads[i]
			t.Logf("%s: %v -> %v %+v form %v from %v: %x", c.key, a.Src, a.Dst, a.Advert, a.Form, a.Source(), a.Data)
			if a.Advert.Priority == 0 && leave == nil {
				leave = a
			} else if a.Advert.Priority != 0 && adv == nil {
				adv = a
			}
		}
		if adv == nil {
			t.Fatalf("%s: no advert", c.key)
		}
		lines = append(lines, fmt.Sprintf("# %s-advert: %d adverts, macvlan link-local %v", c.key, len(ads), ll),
			fmt.Sprintf("%s-advert: %x", c.key, adv.Data))
		if leave != nil {
			lines = append(lines, fmt.Sprintf("%s-leave: %x", c.key, leave.Data))
		} else {
			lines = append(lines, "# "+c.key+": no priority-0 advert on SIGTERM")
		}
		l.Close()
	}
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSendVRRP checks the crafted-advert sender against keepalived
// 2.2.7, master at priority 200: adverts of priority 250 in the
// pseudo-header form (keepalived's) make it back off; in the message-only
// form (RFC 9568's for IPv4) it refuses them as "Invalid VRRPv3 checksum"
// and keeps the address.
func TestSendVRRP(t *testing.T) {
	needPeers(t)
	l := newVRRPLab(t, false)
	h1 := l.Hosts[0]
	v := VRRP{VRID: 9, Priority: 200, Interval: 20}
	k, err := h1.StartKeepalived("keepalived", v)
	if err != nil {
		t.Fatal(err)
	}
	waitHolders(t, l, VIP, 10*time.Second, h1.Name)
	a := vrrp.Advert{Version: 3, Type: 1, VRID: 9, Priority: 250, MaxAdvertInterval: 20, Addrs: []netip.Addr{VIP}}
	if err := l.Observer.SendVRRP(a, vrrp.ChecksumMessageOnly, 10, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := k.Count("Invalid VRRPv3 checksum"); n < 5 || !h1.HoldsVRRP(VIP) {
		t.Fatalf("keepalived: %d invalid checksums, holds the VIP: %v", n, h1.HoldsVRRP(VIP))
	}
	done := make(chan error, 1)
	go func() { done <- l.Observer.SendVRRP(a, vrrp.ChecksumPseudoHeader, 10, 200*time.Millisecond) }()
	waitHolders(t, l, VIP, 3*time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitHolders(t, l, VIP, 5*time.Second, h1.Name)
}
