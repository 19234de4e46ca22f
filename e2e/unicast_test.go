//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/internal/lab"
)

// The lab tests of unicast peers (issue 15): a switch that drops
// multicast, as clouds and many hypervisors do (lab.Options.DropMulticast:
// an nftables bridge rule in the switch's namespace).

// newNoMulticastLab is a lab of two hosts whose switch drops multicast
// (IPv4; IPv6 but neighbour discovery and MLD), IPv6 on when ipv6.
func newNoMulticastLab(t *testing.T, ipv6 bool) *lab.Lab {
	t.Helper()
	return lab.NewForTest(t, lab.Options{Hosts: 2, DropMulticast: true}, ipv6)
}

// unicastCARP is ours on h with a control socket in the lab's directory
// and /metrics on the namespace's loopback, preempting, with peers.
func unicastCARP(l *lab.Lab, h *lab.Host, skew int, peers ...netip.Addr) lab.CARP {
	c := ours(lab.CARP{AdvSkew: skew, Preempt: true})
	c.Extra = append(c.Extra, "--control="+ctlSocket(l, h), "--metrics-listen=127.0.0.1:9342")
	for _, p := range peers {
		c.Extra = append(c.Extra, "--peer="+p.String())
	}
	return c
}

func ctlSocket(l *lab.Lab, h *lab.Host) string { return filepath.Join(l.Dir, h.Name+".sock") }

// group1 is the status of h's only group, read with ucarpctl status --json.
func group1(t *testing.T, l *lab.Lab, h *lab.Host) control.Group {
	t.Helper()
	var gs []control.Group
	if !lab.Eventually(5*time.Second, func() bool {
		out, err := ctl(h, ctlBin, ctlSocket(l, h), false, "status", "--json")
		return err == nil && strings.Contains(out, `"groups"`)
	}) {
		t.Fatalf("no control socket on %s", h.Name)
	}
	gs = statusOf(t, h, ctlBin, ctlSocket(l, h))
	if len(gs) != 1 {
		t.Fatalf("%s: %d groups", h.Name, len(gs))
	}
	return gs[0]
}

// notPeerDrops checks a replay of valid adverts from the observer, which
// is no listed peer, sent to h1 and h2 in turn (h1 first): at least 40
// sent, and each host counted its share as not-peer drops. It returns
// the hosts' counts.
func notPeerDrops(t *testing.T, l *lab.Lab, r replayed, h1, h2 *lab.Host) []uint64 {
	t.Helper()
	if r.err != nil || r.sent < 40 {
		t.Fatalf("the observer sent %d adverts: %v", r.sent, r.err)
	}
	var counts []uint64
	for i, hh := range []*lab.Host{h1, h2} {
		want := uint64(r.sent / 2)
		if i == 0 {
			want = uint64((r.sent + 1) / 2)
		}
		var got uint64
		// The last adverts may still be on their way to the reader.
		lab.Eventually(2*time.Second, func() bool {
			got = group1(t, l, hh).Counters.Dropped[carp.DropNotPeer.String()]
			return got == want
		})
		if got != want {
			t.Errorf("%s counted %d not-peer drops, want %d (of %d sent)", hh.Name, got, want, r.sent)
		}
		counts = append(counts, got)
	}
	return counts
}

// TestUnicastPeersMulticastCannotElect: with multicast dropped by the
// switch, a multicast pair hears nothing of each other: both become
// MASTER, over IPv4 (224.0.0.18) and over IPv6 (ff02::12, while neighbour
// discovery still passes). This is what proves the switch's rule; its
// counters show the adverts it dropped.
func TestUnicastPeersMulticastCannotElect(t *testing.T) {
	t.Run("ipv4", func(t *testing.T) {
		l := newNoMulticastLab(t, false)
		start(t, l.Hosts[0], "ucarp", ours(lab.CARP{}))
		start(t, l.Hosts[1], "ucarp", ours(lab.CARP{AdvSkew: 100}))
		waitMasters(t, l, 15*time.Second, l.Hosts[0], l.Hosts[1])
		holdMasters(t, l, 2*time.Second, l.Hosts[0], l.Hosts[1])
		v4, _, err := l.MulticastDropped()
		if err != nil || v4 == 0 {
			t.Fatalf("the switch's rule dropped %d IPv4 multicast packets (%v)", v4, err)
		}
		t.Logf("the switch dropped %d IPv4 multicast packets", v4)
	})
	t.Run("ipv6", func(t *testing.T) {
		l := newNoMulticastLab(t, true)
		vip6 := lab.VIP6.String() + "/64"
		start6(t, l.Hosts[0], "ucarp", lab.CARP{}, vip6)
		start6(t, l.Hosts[1], "ucarp", lab.CARP{AdvSkew: 100}, vip6)
		both := "h1:" + lab.VIP6.String() + " h2:" + lab.VIP6.String()
		waitHolding(t, l, 15*time.Second, both, vip6)
		// Neighbour discovery passes: the observer reaches a holder.
		if !lab.Eventually(5*time.Second, func() bool { return l.Observer.Ping6(lab.VIP6, 200*time.Millisecond) }) {
			t.Fatal("ping -6 to the VIP fails: the switch drops neighbour discovery")
		}
		_, v6, err := l.MulticastDropped()
		if err != nil || v6 == 0 {
			t.Fatalf("the switch's rule dropped %d IPv6 multicast packets (%v)", v6, err)
		}
		t.Logf("the switch dropped %d IPv6 multicast packets", v6)
	})
}

// TestUnicastPeersIPv4: a pair that lists each other as peers elects one
// master on the switch without multicast, and fails over both ways: the
// master killed, the backup takes over; the master restarted, it takes
// the address back (preempt). Valid adverts from the observer, which is
// not a listed peer, sent to each host faster and better than the
// master's, change nothing: each host drops and counts them as not-peer
// (ucarpctl status --json, /metrics) and logs them.
func TestUnicastPeersIPv4(t *testing.T) {
	l := newNoMulticastLab(t, false)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	p1 := start(t, h1, "ucarp", unicastCARP(l, h1, 0, h2.Addr))
	start(t, h2, "ucarp", unicastCARP(l, h2, 100, h1.Addr))
	waitMasters(t, l, 15*time.Second, h1)
	holdMasters(t, l, 3*time.Second, h1) // h2 hears h1: one master
	if g := group1(t, l, h2); !slices.Equal(g.UnicastPeers, []netip.Addr{h1.Addr}) || g.State != control.StateBackup {
		t.Fatalf("h2's status: %s, unicast peers %v", g.State, g.UnicastPeers)
	}
	v4Before, _, err := l.MulticastDropped()
	if err != nil {
		t.Fatal(err)
	}

	// The observer's forged adverts: valid (the right password), advbase 1
	// advskew 0, from its own address, to each host in turn, 20 a second.
	auth, err := carp.NewAuth([]byte("carplab"), 1, []netip.Addr{lab.VIP})
	if err != nil {
		t.Fatal(err)
	}
	h := carp.Header{Version: carp.Version, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: 0, AuthLen: 7, Counter: 1}
	auth.Sign(&h)
	var pkts [][]byte
	for _, dst := range []netip.Addr{h1.Addr, h2.Addr} {
		p := carp.NewPacket(lab.ObserverAddr, dst, 7, h)
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, b)
	}
	done := replayAsync(l.Observer, pkts, 20, 4*time.Second)
	holdMasters(t, l, 4*time.Second, h1)
	r := <-done
	counts := notPeerDrops(t, l, r, h1, h2)
	for i, hh := range []*lab.Host{h1, h2} {
		got := counts[i]
		out, err := hh.Exec("curl", "-s", "http://127.0.0.1:9342/metrics")
		var line string
		for _, x := range strings.Split(out, "\n") {
			if strings.HasPrefix(x, "ucarp_packets_dropped_total{") && strings.Contains(x, `reason="not-peer"`) {
				line = x
			}
		}
		if err != nil || !strings.HasSuffix(line, fmt.Sprintf(" %d", got)) {
			t.Errorf("%s: /metrics: %q, want the not-peer drops, %d (%v)", hh.Name, line, got, err)
		}
	}
	if !p1.WaitLog("Ignoring advert from ["+lab.ObserverAddr.String()+"]: not a configured peer", 1, time.Second) {
		t.Errorf("h1 did not log the observer's adverts")
	}
	v4After, _, _ := l.MulticastDropped()
	t.Logf("the observer sent %d valid adverts from a non-peer; the switch dropped %d IPv4 multicast packets meanwhile", r.sent, v4After-v4Before)

	// Failover both ways: kill the master, then restart it.
	p1.Kill()
	killed := time.Now()
	waitMasters(t, l, 10*time.Second, h2)
	t.Logf("h2 MASTER %v after h1 was killed", time.Since(killed).Round(time.Millisecond))
	start(t, h1, "ucarp", unicastCARP(l, h1, 0, h2.Addr))
	waitMasters(t, l, 15*time.Second, h1)
	holdMasters(t, l, 3*time.Second, h1)
}

// TestUnicastPeersIPv6: the same pair with an IPv6-only group, its
// adverts unicast over IPv6 to a link-local peer (with the interface's
// zone) or to a global one (sent from the host's global address); the
// switch drops ff02::12, and lets neighbour discovery through.
func TestUnicastPeersIPv6(t *testing.T) {
	for _, global := range []bool{false, true} {
		t.Run(map[bool]string{false: "link-local", true: "global"}[global], func(t *testing.T) {
			l := newNoMulticastLab(t, true)
			h1, h2 := l.Hosts[0], l.Hosts[1]
			addr := map[*lab.Host]netip.Addr{}
			for i, h := range []*lab.Host{h1, h2} {
				if global {
					a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(0x11 + i)})
					if out, err := h.Exec("ip", "-6", "addr", "add", a.String()+"/64", "dev", h.IfName, "nodad"); err != nil {
						t.Fatalf("%v: %s", err, out)
					}
					addr[h] = a
					continue
				}
				ll, err := h.LinkLocal()
				if err != nil {
					t.Fatal(err)
				}
				addr[h] = ll.WithZone(h.IfName)
			}
			vip6 := lab.VIP6.String() + "/64"
			p1 := start6(t, h1, "ucarp", unicastCARP(l, h1, 0, addr[h2]), vip6)
			start6(t, h2, "ucarp", unicastCARP(l, h2, 100, addr[h1]), vip6)
			one, two := "h1:"+lab.VIP6.String()+" h2:-", "h1:- h2:"+lab.VIP6.String()
			waitHolding(t, l, 15*time.Second, one, vip6)
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if got := holding(l, vip6); got != one {
					t.Fatalf("holders %q, want %q", got, one)
				}
			}
			g := group1(t, l, h2)
			if g.State != control.StateBackup || g.Counters.ValidReceived == 0 || g.Counters.Dropped[carp.DropNotPeer.String()] != 0 {
				t.Fatalf("h2: %s, %d valid adverts, drops %v", g.State, g.Counters.ValidReceived, g.Counters.Dropped)
			}
			if _, v6, err := l.MulticastDropped(); err != nil {
				t.Fatal(err)
			} else {
				t.Logf("the switch dropped %d IPv6 multicast packets", v6)
			}
			p1.Kill()
			waitHolding(t, l, 10*time.Second, two, vip6)
			start6(t, h1, "ucarp", unicastCARP(l, h1, 0, addr[h2]), vip6)
			waitHolding(t, l, 15*time.Second, one, vip6)
		})
	}
}

// TestUnicastPeersConfigReload: a unicast pair in config mode, where the
// kernel's socket filter of the node sees every advert first: the
// unicast adverts pass it, and the pair elects one master. A reload of
// the backup that adds a peer takes effect in place (no transition, the
// status lists both); one that lists only the observer makes the backup
// deaf to the master at once, so that it takes over: the new list took
// effect without a restart.
func TestUnicastPeersConfigReload(t *testing.T) {
	l := newNoMulticastLab(t, false)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	conf := func(h *lab.Host, skew int, peers ...netip.Addr) string {
		var ps []string
		for _, p := range peers {
			ps = append(ps, fmt.Sprintf("%q", p.String()))
		}
		path := filepath.Join(l.Dir, h.Name+".conf")
		data := fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\npreempt = true\ncontrol = %q\n\n"+
			"[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\npeer = [%s]\n",
			h.IfName, h.Addr, ctlSocket(l, h), lab.VIP, skew, strings.Join(ps, ", "))
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p1, err := h1.Start("ucarp", oursBin, "--config="+conf(h1, 0, h2.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Signal(syscall.SIGTERM)
	conf2 := conf(h2, 100, h1.Addr)
	p2, err := h2.Start("ucarp", oursBin, "--config="+conf2)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Signal(syscall.SIGTERM)
	waitMasters(t, l, 15*time.Second, h1)
	holdMasters(t, l, 3*time.Second, h1)
	before := group1(t, l, h2)
	if before.State != control.StateBackup || before.Counters.ValidReceived == 0 {
		t.Fatalf("h2: %s with %d valid adverts", before.State, before.Counters.ValidReceived)
	}

	conf(h2, 100, h1.Addr, lab.ObserverAddr)
	p2.Signal(syscall.SIGHUP)
	if !p2.WaitLog("Reloaded "+conf2, 1, 5*time.Second) {
		t.Fatalf("no reload line:\n%s", p2.Log())
	}
	holdMasters(t, l, 3*time.Second, h1)
	after := group1(t, l, h2)
	if after.Counters.Transitions != before.Counters.Transitions || after.State != control.StateBackup ||
		!slices.Equal(after.UnicastPeers, []netip.Addr{h1.Addr, lab.ObserverAddr}) || after.Counters.ValidReceived <= before.Counters.ValidReceived {
		t.Fatalf("after the reload h2 is %s, transitions %d -> %d, peers %v, valid %d -> %d", after.State,
			before.Counters.Transitions, after.Counters.Transitions, after.UnicastPeers,
			before.Counters.ValidReceived, after.Counters.ValidReceived)
	}

	conf(h2, 100, lab.ObserverAddr)
	p2.Signal(syscall.SIGHUP)
	waitMasters(t, l, 10*time.Second, h1, h2) // h2 no longer hears h1
	if g := group1(t, l, h2); g.Counters.Dropped[carp.DropNotPeer.String()] == 0 {
		t.Fatalf("h2 dropped none of h1's adverts as not-peer: %v", g.Counters.Dropped)
	}
}

// TestUnicastAuthEnforce: a unicast pair (multicast dropped by the
// switch) with --auth=hmac-sha256 in enforce mode: the backup verifies
// every unicast advert of the master and drops none, and takes over when
// the master dies.
func TestUnicastAuthEnforce(t *testing.T) {
	l := newNoMulticastLab(t, false)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	keys := keyFile(t, l, "keys", oldKey)
	withAuth := func(c lab.CARP) lab.CARP {
		c.Extra = append(c.Extra, "--auth=hmac-sha256", "--keyfile="+keys, "--auth-mode=enforce")
		return c
	}
	p1 := start(t, h1, "ucarp", withAuth(unicastCARP(l, h1, 0, h2.Addr)))
	start(t, h2, "ucarp", withAuth(unicastCARP(l, h2, 100, h1.Addr)))
	waitMasters(t, l, 15*time.Second, h1)
	holdMasters(t, l, 4*time.Second, h1)
	g := group1(t, l, h2)
	if g.State != control.StateBackup || g.Auth == nil || g.Auth.Mode != "enforce" || g.Auth.Accepted["verified"] < 2 || len(g.Auth.Dropped) != 0 {
		t.Fatalf("h2: %s, auth %+v", g.State, g.Auth)
	}
	p1.Kill()
	waitMasters(t, l, carp.DeadInterval(1, 3, 100)+3*time.Second, h2)
	t.Logf("h2 verified %d unicast adverts of h1, took over when it died", g.Auth.Accepted["verified"])
}
