//go:build linux

package e2e

import (
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
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
			l, addr := familyLab(t, 2, fam)
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

// vrrpHoldHolders fails if addr's holders differ from want during d.
func vrrpHoldHolders(t *testing.T, l *lab.Lab, addr netip.Addr, d time.Duration, want ...*lab.Host) {
	t.Helper()
	w := names(want)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got := vrrpHolders(l, addr); !slices.Equal(got, w) {
			t.Fatalf("%s held by %v, want %v", addr, got, w)
		}
	}
}

// startVRRP3Peers is startVRRP3 with unicast peers and a control socket.
func startVRRP3Peers(t *testing.T, l *lab.Lab, h *lab.Host, prio int, addr netip.Addr, peers ...netip.Addr) *lab.Proc {
	t.Helper()
	args := []string{"--protocol=vrrp3", "--interface=" + h.IfName, "--srcip=" + h.Addr.String(),
		"--vhid=51", "--priority=" + strconv.Itoa(prio), "--advert-interval=100", "--vip=" + addr.String(),
		"--control=" + ctlSocket(l, h)}
	for _, p := range peers {
		args = append(args, "--peer="+p.String())
	}
	p, err := h.Start("ucarp", append([]string{oursBin}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVRRP3UnicastPeers: two of our daemons as VRRPv3 routers that list
// each other as unicast peers, on the switch that drops multicast
// (where a multicast pair would both be MASTER:
// TestUnicastPeersMulticastCannotElect), elect the higher priority and
// fail over both ways: the master killed, the backup takes over; back,
// the master preempts. Over IPv4 the observer's valid VRRPv3 adverts of
// a higher priority, sent to each host, change nothing and are counted
// as not-peer. Over IPv6 the peers are the hosts' link-local addresses.
func TestVRRP3UnicastPeers(t *testing.T) {
	for _, fam := range []string{"ipv4", "ipv6"} {
		t.Run(fam, func(t *testing.T) {
			l := newNoMulticastLab(t, fam == "ipv6")
			h1, h2 := l.Hosts[0], l.Hosts[1]
			addr, peer1, peer2 := lab.VIP, h1.Addr, h2.Addr
			if fam == "ipv6" {
				addr = lab.VIP6
				var err1, err2 error
				peer1, err1 = h1.LinkLocal()
				peer2, err2 = h2.LinkLocal()
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
			}
			p1 := startVRRP3Peers(t, l, h1, 200, addr, peer2)
			startVRRP3Peers(t, l, h2, 100, addr, peer1)
			vrrpWaitHolders(t, l, addr, 15*time.Second, h1)
			vrrpHoldHolders(t, l, addr, 3*time.Second, h1) // h2 hears h1: one master
			if g := group1(t, l, h2); !slices.Equal(g.UnicastPeers, []netip.Addr{peer1}) || g.State != control.StateBackup {
				t.Fatalf("h2's status: %s, unicast peers %v", g.State, g.UnicastPeers)
			}
			if fam == "ipv4" {
				adv := vrrp.Advert{Version: vrrp.Version, Type: vrrp.TypeAdvertisement, VRID: 51, Priority: 254,
					MaxAdvertInterval: 50, Addrs: []netip.Addr{addr}}
				var pkts [][]byte
				for _, dst := range []netip.Addr{h1.Addr, h2.Addr} {
					p := vrrp.NewPacket(lab.ObserverAddr, dst, 7, adv, vrrp.ChecksumPseudoHeader)
					b, err := p.AppendBinary(nil)
					if err != nil {
						t.Fatal(err)
					}
					pkts = append(pkts, b)
				}
				done := replayAsync(l.Observer, pkts, 20, 4*time.Second)
				vrrpHoldHolders(t, l, addr, 4*time.Second, h1)
				notPeerDrops(t, l, <-done, h1, h2)
				vrrpHoldHolders(t, l, addr, time.Second, h1)
			}
			p1.Kill()
			killed := time.Now()
			vrrpWaitHolders(t, l, addr, 15*time.Second, h2)
			t.Logf("%s: h2 MASTER %v after h1 was killed", fam, time.Since(killed).Round(time.Millisecond))
			startVRRP3Peers(t, l, h1, 200, addr, peer2)
			vrrpWaitHolders(t, l, addr, 15*time.Second, h1)
			vrrpHoldHolders(t, l, addr, 3*time.Second, h1)
		})
	}
}

// TestVRRP3UnicastKeepalived: ours and keepalived with unicast_peer, each
// listing the other, on the switch that drops multicast (IPv4): ours,
// preferred, serves and keepalived hears it (one server); ours killed,
// keepalived takes over; ours back, it preempts. Ours follows
// keepalived's pseudo-header checksum, computed over the unicast
// destination.
func TestVRRP3UnicastKeepalived(t *testing.T) {
	needPeer(lab.KeepalivedBin)(t)
	l := newNoMulticastLab(t, false)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	addr := lab.VIP
	p1 := startVRRP3Peers(t, l, h1, 200, addr, h2.Addr)
	k, err := h2.StartKeepalived("keepalived", lab.VRRP{VRID: 51, Priority: 100, Interval: 100,
		Addrs: []netip.Addr{addr}, UnicastPeers: []netip.Addr{h1.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop(10 * time.Second)
	if !p1.WaitLog("uses the pseudo-header checksum", 1, 15*time.Second) {
		t.Fatalf("ours did not hear keepalived's unicast adverts:\n%s\nkeepalived:\n%s", p1.Log(), k.Log())
	}
	waitServers(t, l, addr, 15*time.Second, h1)
	holdServers(t, l, addr, 3*time.Second, h1) // keepalived hears ours: one server
	p1.Kill()
	killed := time.Now()
	waitServers(t, l, addr, 15*time.Second, h2)
	t.Logf("keepalived serves %v after ours was killed", time.Since(killed).Round(time.Millisecond))
	startVRRP3Peers(t, l, h1, 200, addr, h2.Addr)
	waitServers(t, l, addr, 15*time.Second, h1)
	holdServers(t, l, addr, 3*time.Second, h1)
	if n := group1(t, l, h1).Counters.Dropped["not-peer"]; n != 0 {
		t.Errorf("ours dropped %d of keepalived's adverts as not-peer", n)
	}
}
