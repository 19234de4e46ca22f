//go:build linux

package e2e

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	"github.com/ucarp-go/ucarp/vrrp"
)

// The lab tests of VRRPv3 groups between two of our daemons (issue 18);
// the interop tests with keepalived and FRR are vrrplab's.

// startVRRP3 starts ours on h as a VRRPv3 router of VRID 51 with priority
// prio, for addr (the lab's IPv4 or IPv6 VIP).
func startVRRP3(t *testing.T, h *lab.Host, prio int, addr netip.Addr) *lab.Proc {
	t.Helper()
	p, err := h.Start("ucarp", oursBin, "--protocol=vrrp3", "--interface="+h.IfName, "--srcip="+h.Addr.String(),
		"--vhid=51", "--priority="+strconv.Itoa(prio), "--advert-interval=100", "--vip="+addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// vrrpHolders lists the hosts that hold addr.
func vrrpHolders(l *lab.Lab, addr netip.Addr) []string {
	var s []string
	for _, h := range l.Hosts {
		if addr.Is4() && h.HasAddr(addr) || addr.Is6() && h.HasAddr6(addr) {
			s = append(s, h.Name)
		}
	}
	return s
}

func vrrpWaitHolders(t *testing.T, l *lab.Lab, addr netip.Addr, timeout time.Duration, want ...*lab.Host) {
	t.Helper()
	w := names(want)
	if !lab.Eventually(timeout, func() bool {
		got := vrrpHolders(l, addr)
		if len(got) != len(w) {
			return false
		}
		for i := range got {
			if got[i] != w[i] {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("%s held by %v after %v, want %v", addr, vrrpHolders(l, addr), timeout, w)
	}
}

// TestVRRP3OursFailover: two of our daemons as VRRPv3 routers converge to
// the one of higher priority; killed, it is replaced by the other after
// Master_Down_Interval, counted from the start of the silence; its return
// takes the address back (Preempt_Mode is on by default).
func TestVRRP3OursFailover(t *testing.T) {
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			addr := lab.VIP
			l := newLab(t, 2)
			if fam == "ipv6" {
				addr = lab.VIP6
				if err := l.EnableIPv6(); err != nil {
					t.Fatal(err)
				}
			}
			p1 := startVRRP3(t, l.Hosts[0], 200, addr)
			p2 := startVRRP3(t, l.Hosts[1], 100, addr)
			vrrpWaitHolders(t, l, addr, 15*time.Second, l.Hosts[0])
			fault := time.Now()
			p1.Kill()
			vrrpWaitHolders(t, l, addr, 15*time.Second, l.Hosts[1])
			took := p2.MustLastLogTime(t, "Switching to state: MASTER")
			// The killed master's last advert was at most one interval
			// before the kill: the takeover comes Master_Down_Interval
			// after it. The margin is for a loaded machine.
			mdi := vrrp.MasterDownInterval(100, 100)
			if d := took.Sub(fault); d < mdi-time.Second-100*time.Millisecond || d > mdi+2*time.Second {
				t.Fatalf("h2 took over %v after the kill, want about Master_Down_Interval %v", d, mdi)
			}
			t.Logf("%s: h2 MASTER %v after the kill (Master_Down_Interval %v)", fam, took.Sub(fault).Round(time.Millisecond), mdi)
			startVRRP3(t, l.Hosts[0], 200, addr)
			vrrpWaitHolders(t, l, addr, 15*time.Second, l.Hosts[0])
		})
	}
}
