//go:build linux

package e2e

import (
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	"github.com/ucarp-go/ucarp/vrrp"
)

// VRRPv3 interop (issue 18): ours with keepalived (vrrp_version 3) and
// with FRR's vrrpd, each peer in both roles, IPv4 and IPv6, all in the
// lab's namespaces with the peers started by internal/lab.

// The routers of these tests: an advert every second (keepalived's and
// FRR's default), priorities 200 and 100. The backup's Skew_Time is
// (256-100)/256 s = 0.61 s and its Master_Down_Interval 3.61 s: a backup
// that honours a priority-0 advert serves some 0.6 s after it, one that
// ignores it not before 2.6 s (the master's last regular advert was at
// most a second before its leave). Adverts every 0.2 s would make the
// two cases 0.12 s and 0.52 s apart, too close to tell apart on a loaded
// machine; the pairs run at once instead.
const (
	vrrpInterval = 100 // centiseconds
	prefPrio     = 200
	otherPrio    = 100
	// leaveBound: a backup serves within this of the master's
	// priority-0 advert: its Skew_Time (0.61 s) and margin for a
	// loaded machine, and still well below the 2.6 s of one that
	// waited for its Master_Down_Interval.
	leaveBound = 2 * time.Second
)

// vrrpRouter is one VRRPv3 router under test: ours, keepalived or FRR.
type vrrpRouter struct {
	name  string
	leave func() // graceful: SIGTERM, the master sends priority 0
	// srcs are the addresses its adverts may come from, read before
	// it leaves: its host's, and FRR's macvlan's link-local address.
	srcs []netip.Addr
}

// hostSrcs are the addresses h's adverts come from: its IPv4 address
// and, with IPv6 on, its link-local address.
func hostSrcs(h *lab.Host) []netip.Addr {
	srcs := []netip.Addr{h.Addr}
	if ll, err := h.LinkLocal(); err == nil {
		srcs = append(srcs, ll)
	}
	return srcs
}

// vrrpImpl starts one implementation's router on a host.
type vrrpImpl struct {
	name  string
	need  func(t *testing.T)
	start func(t *testing.T, h *lab.Host, name string, v lab.VRRP) *vrrpRouter
}

var (
	oursVRRP = vrrpImpl{name: "ours", need: func(*testing.T) {}, start: func(t *testing.T, h *lab.Host, name string, v lab.VRRP) *vrrpRouter {
		t.Helper()
		p, err := h.StartOursVRRP(name, oursBin, v)
		if err != nil {
			t.Fatal(err)
		}
		return &vrrpRouter{name: name, srcs: hostSrcs(h), leave: func() {
			p.Signal(syscall.SIGTERM)
			if _, ok := p.Wait(10 * time.Second); !ok {
				t.Errorf("%s/%s did not end within 10 s of SIGTERM", h.Name, name)
			}
		}}
	}}
	keepalivedVRRP = vrrpImpl{name: "keepalived", need: needPeer(lab.KeepalivedBin), start: func(t *testing.T, h *lab.Host, name string, v lab.VRRP) *vrrpRouter {
		t.Helper()
		k, err := h.StartKeepalived(name, v)
		if err != nil {
			t.Fatal(err)
		}
		return &vrrpRouter{name: name, srcs: hostSrcs(h), leave: func() { k.Stop(10 * time.Second) }}
	}}
	frrVRRP = vrrpImpl{name: "frr", need: needPeer(lab.FRRZebra, lab.FRRVrrpd, lab.FRRVtysh), start: func(t *testing.T, h *lab.Host, name string, v lab.VRRP) *vrrpRouter {
		t.Helper()
		f, err := h.StartFRR(name, v)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Stop(time.Second) })
		srcs := hostSrcs(h)
		if ll, err := f.MacvlanLinkLocal(); err == nil {
			srcs = append(srcs, ll)
		}
		return &vrrpRouter{name: name, srcs: srcs, leave: func() { f.Stop(10 * time.Second) }}
	}}
)

// needPeer skips when a peer's binary is missing; make deps installs
// them (keepalived and frr in DEB_DEPS).
func needPeer(bins ...string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		for _, b := range bins {
			if err := lab.HaveBinary(b); err != nil {
				t.Skipf("skipped: %v", err)
			}
		}
	}
}

// vrrpServers names the hosts that serve a.
func vrrpServers(l *lab.Lab, a netip.Addr) []string { return names(l.VRRPHolders(a)) }

func waitServers(t *testing.T, l *lab.Lab, a netip.Addr, timeout time.Duration, want ...*lab.Host) time.Time {
	t.Helper()
	if !lab.Eventually(timeout, func() bool { return slices.Equal(vrrpServers(l, a), names(want)) }) {
		t.Fatalf("%v served by %v after %v, want %v", a, vrrpServers(l, a), timeout, names(want))
	}
	return time.Now()
}

// TestVRRP3Interop pairs ours with keepalived and with FRR, ours preferred
// (priority 200) and then the peer, over IPv4 and IPv6. In each: both
// converge on the preferred router; it leaves gracefully (SIGTERM) and the
// other serves within its Skew_Time of the priority-0 advert, well before
// its Master_Down_Interval; the preferred one returns and preempts; its
// host dies and the other takes over after its Master_Down_Interval.
//
// The eight pairs run at once, each in a lab of its own, from goroutines
// rather than t.Parallel, so that go test's -parallel (the number of
// cores) does not queue them: they spend their time waiting for
// timers, and the whole takes about as long as the longest.
func TestVRRP3Interop(t *testing.T) {
	var wg sync.WaitGroup
	for _, peer := range []vrrpImpl{keepalivedVRRP, frrVRRP} {
		for _, ipv6 := range []bool{false, true} {
			for _, oursPreferred := range []bool{true, false} {
				fam := map[bool]string{false: "IPv4", true: "IPv6"}[ipv6]
				role := map[bool]string{true: "ours-preferred", false: peer.name + "-preferred"}[oursPreferred]
				wg.Add(1)
				go func() {
					defer wg.Done()
					t.Run(peer.name+"/"+fam+"/"+role, func(t *testing.T) {
						peer.need(t)
						pref, other := oursVRRP, peer
						if !oursPreferred {
							pref, other = peer, oursVRRP
						}
						vrrpPair(t, pref, other, ipv6)
					})
				}()
			}
		}
	}
	wg.Wait()
}

func vrrpPair(t *testing.T, pref, other vrrpImpl, ipv6 bool) {
	l := newLab(t, 2)
	v := lab.VRRP{VRID: 51, Interval: vrrpInterval, Addrs: []netip.Addr{lab.VIP}}
	if ipv6 {
		if err := l.EnableIPv6(); err != nil {
			t.Fatal(err)
		}
		v.Addrs = []netip.Addr{lab.VIP6}
	}
	vip := v.Addrs[0]
	hp, ho := l.Hosts[0], l.Hosts[1]
	vp, vo := v, v
	vp.Priority, vo.Priority = prefPrio, otherPrio
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Stop()

	// Start-up: the other first, so that it may well be master when the
	// preferred one comes; either way the preferred one ends up serving.
	// Ours on --vrrp-checksum=auto sends RFC 9568's IPv4 form until it
	// hears the peer: when ours is MASTER first, keepalived and FRR,
	// which require the pseudo-header form, do not hear it and may serve
	// too, until their first advert makes ours answer in their form.
	other.start(t, ho, other.name, vo)
	rp := pref.start(t, hp, pref.name, vp)
	settleServers(t, l, vip, 15*time.Second, 2*time.Second, hp)

	// Graceful leave: the preferred one's priority-0 advert hands over
	// within the backup's Skew_Time. The time is the backup's: when it
	// serves, whether or not the leaving one (keepalived takes its time)
	// has let go yet.
	leaveAt := time.Now()
	served := make(chan time.Time, 1)
	go func() {
		var at time.Time
		if lab.Eventually(10*time.Second, func() bool { return ho.HoldsVRRP(vip) }) {
			at = time.Now()
		}
		served <- at
	}()
	rp.leave()
	waitServers(t, l, vip, 10*time.Second, ho)
	servedAt := <-served
	if servedAt.IsZero() {
		t.Fatalf("%s never served after %s left", other.name, pref.name)
	}
	var zero *lab.VRRPAdvert
	for _, a := range lab.VRRPAdverts(capture.Frames()) {
		// The leaving router's own, not one the other sends.
		if a.Advert.Priority == 0 && a.At.After(leaveAt.Add(-time.Second)) && slices.Contains(rp.srcs, a.Src) {
			zero = &a
			break
		}
	}
	if zero == nil {
		t.Fatalf("%s sent no priority-0 advert when it left", pref.name)
	}
	// The poll may see the address a little late under load, never early.
	if d := servedAt.Sub(zero.At); d > leaveBound {
		t.Errorf("%s served %v after %s's priority-0 advert; its Skew_Time is %v (Master_Down_Interval %v)",
			other.name, d, pref.name, skew(otherPrio), masterDown(otherPrio))
	} else {
		t.Logf("graceful leave of %s: %s serves %v after the priority-0 advert", pref.name, other.name, d.Round(time.Millisecond))
	}

	// Return: the preferred one preempts.
	pref.start(t, hp, pref.name+"-again", vp)
	waitServers(t, l, vip, 15*time.Second, hp)
	holdServers(t, l, vip, time.Second, hp)

	// Death: no priority-0 advert; the other waits out its
	// Master_Down_Interval after the last advert.
	died := time.Now()
	hp.Die(vip)
	servedAt = waitServers(t, l, vip, 15*time.Second, ho)
	// The dead master's last advert was at most an interval before its
	// death: the other serves Master_Down_Interval after that advert.
	// The margin above is for a loaded machine (and the poll); below, a
	// takeover more than an interval early is a fault, not slowness.
	mdi, took := masterDown(otherPrio), servedAt.Sub(died)
	if took < mdi-vrrp.Centiseconds(vrrpInterval)-100*time.Millisecond || took > mdi+2*time.Second {
		t.Errorf("death of %s's host: %s serves %v later, want about its Master_Down_Interval %v", pref.name, other.name,
			took.Round(time.Millisecond), mdi)
	}
	t.Logf("death of %s's host: %s serves %v later (Master_Down_Interval %v)", pref.name, other.name,
		took.Round(time.Millisecond), mdi)
}

// settleServers waits until exactly want have served a for hold without
// a break, for at most timeout.
func settleServers(t *testing.T, l *lab.Lab, a netip.Addr, timeout, hold time.Duration, want ...*lab.Host) {
	t.Helper()
	var since time.Time
	if !lab.Eventually(timeout, func() bool {
		if !slices.Equal(vrrpServers(l, a), names(want)) {
			since = time.Time{}
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= hold
	}) {
		t.Fatalf("%v not served by %v alone for %v within %v: now %v", a, names(want), hold, timeout, vrrpServers(l, a))
	}
}

// holdServers checks that exactly want serve a during d.
func holdServers(t *testing.T, l *lab.Lab, a netip.Addr, d time.Duration, want ...*lab.Host) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if got := vrrpServers(l, a); !slices.Equal(got, names(want)) {
			t.Fatalf("%v served by %v, want %v", a, got, names(want))
		}
	}
}

func skew(prio int) time.Duration {
	return time.Duration(256-prio) * vrrp.Centiseconds(vrrpInterval) / 256
}

func masterDown(prio int) time.Duration { return 3*vrrp.Centiseconds(vrrpInterval) + skew(prio) }

// TestVRRP3ChecksumDialect: the IPv4 checksum with or without the
// pseudo-header. Debian's keepalived 2.2.7 has no v3_checksum_as_v2 (it
// came in 2.2.8): it sends and requires the pseudo-header form. Ours on
// the default --vrrp-checksum=auto sends RFC 9568's message-only form
// alone; paired with keepalived 2.2.7 on its defaults it switches to
// keepalived's form once it hears it (logged), and the pair ends with
// one master, ours at priority 200. Ours yields to crafted adverts of
// priority 250 in either form and takes over again when they stop; with
// --vrrp-checksum=message-only it keeps that form, which keepalived 2.2.7
// refuses ("Invalid VRRPv3 checksum"). When the installed keepalived
// knows v3_checksum_as_v2, ours with message-only must pair with it.
func TestVRRP3ChecksumDialect(t *testing.T) {
	needPeer(lab.KeepalivedBin)(t)
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Stop()
	v := lab.VRRP{VRID: 52, Interval: 20, Priority: prefPrio}

	// Ours alone, in auto: RFC 9568's form.
	p := start3(t, h1, "ours", v)
	waitServers(t, l, lab.VIP, 10*time.Second, h1)
	checkForm(t, capture, h1.Addr, vrrp.ChecksumMessageOnly)

	// keepalived 2.2.7 on its defaults, of lower priority: it refuses
	// ours' message-only adverts and may serve a moment, until ours hears
	// its pseudo-header adverts and answers in that form.
	kl := v
	kl.Priority = otherPrio
	k0, err := h2.StartKeepalived("keepalived-auto", kl)
	if err != nil {
		t.Fatal(err)
	}
	const switched = "uses the pseudo-header checksum"
	if !p.WaitLog(switched, 1, 15*time.Second) {
		t.Fatalf("ours did not switch to keepalived's checksum form:\n%s", p.Log())
	}
	since := time.Now()
	waitServers(t, l, lab.VIP, 10*time.Second, h1)
	holdServers(t, l, lab.VIP, 3*time.Second, h1)
	if n := len(formsFrom(capture, h1.Addr, since, vrrp.ChecksumMessageOnly)); n > 0 {
		t.Errorf("ours sent %d message-only adverts after switching", n)
	}
	if n := p.Count(switched); n != 1 {
		t.Errorf("the switch logged %d times, want once", n)
	}
	k0.Stop(10 * time.Second)

	// Crafted adverts of a better router, in each form, are heard.
	for _, form := range []vrrp.ChecksumForm{vrrp.ChecksumMessageOnly, vrrp.ChecksumPseudoHeader} {
		a := vrrp.Advert{Version: 3, Type: 1, VRID: uint8(v.VRID), Priority: 250, MaxAdvertInterval: uint16(v.Interval),
			Addrs: []netip.Addr{lab.VIP}}
		done := make(chan error, 1)
		go func() { done <- l.Observer.SendVRRP(a, form, 15, vrrp.Centiseconds(uint16(v.Interval))) }()
		if !lab.Eventually(3*time.Second, func() bool { return !h1.HoldsVRRP(lab.VIP) }) {
			t.Errorf("ours kept the VIP against adverts of priority 250 in the %v form", form)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		waitServers(t, l, lab.VIP, 5*time.Second, h1)
	}
	p.Signal(syscall.SIGTERM)
	p.Wait(10 * time.Second)
	waitServers(t, l, lab.VIP, 5*time.Second)

	// keepalived as the preferred router; ours in each form as backup.
	kv := v
	kv.Priority = 250
	k, err := h2.StartKeepalived("keepalived", kv)
	if err != nil {
		t.Fatal(err)
	}
	waitServers(t, l, lab.VIP, 10*time.Second, h2)
	ov := v
	ov.ChecksumAsV2 = true
	since = time.Now()
	start3(t, h1, "ours-message-only", ov)
	// Ours hears keepalived (it accepts both forms) and stays backup;
	// keepalived 2.2.7 counts ours' message-only adverts as bad.
	holdServers(t, l, lab.VIP, time.Second, h2)
	k.Stop(10 * time.Second)
	waitServers(t, l, lab.VIP, 5*time.Second, h1)
	if !lab.Eventually(2*time.Second, func() bool { return len(formsFrom(capture, h1.Addr, since, vrrp.ChecksumMessageOnly)) > 0 }) {
		t.Fatalf("ours with --vrrp-checksum=message-only sent no message-only advert")
	}
	if n := len(formsFrom(capture, h1.Addr, since, vrrp.ChecksumPseudoHeader)); n > 0 {
		t.Errorf("ours with --vrrp-checksum=message-only sent %d adverts with the pseudo-header", n)
	}

	// Now keepalived is the backup and hears ours' message-only
	// adverts: 2.2.7 refuses them and becomes master beside ours; a
	// keepalived with v3_checksum_as_v2 stays backup.
	kv.Priority, kv.ChecksumAsV2 = otherPrio, true
	k2, err := h2.StartKeepalived("keepalived-v2sum", kv)
	if err == lab.ErrNoChecksumAsV2 {
		t.Logf("%v: checking that it refuses ours' message-only adverts", err)
		kv.ChecksumAsV2 = false
		k2, err = h2.StartKeepalived("keepalived-2.2.7", kv)
		if err != nil {
			t.Fatal(err)
		}
		if !k2.WaitLog("Invalid VRRPv3 checksum", 1, 10*time.Second) {
			t.Fatalf("keepalived took ours' message-only adverts:\n%s", k2.Log())
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	holdServers(t, l, lab.VIP, 3*time.Second, h1)
	if n := k2.Count("Invalid VRRPv3 checksum"); n > 0 {
		t.Errorf("keepalived with v3_checksum_as_v2 refused %d of ours' message-only adverts", n)
	}
}

func start3(t *testing.T, h *lab.Host, name string, v lab.VRRP) *lab.Proc {
	t.Helper()
	p, err := h.StartOursVRRP(name, oursBin, v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// formsFrom lists the adverts from src since t in checksum form f.
func formsFrom(c *lab.Capture, src netip.Addr, since time.Time, f vrrp.ChecksumForm) []lab.VRRPAdvert {
	var out []lab.VRRPAdvert
	for _, a := range lab.From(lab.VRRPAdverts(c.Frames()), src, -1) {
		if a.Form == f && a.At.After(since) {
			out = append(out, a)
		}
	}
	return out
}

// checkForm checks that src has sent adverts, all in form f.
func checkForm(t *testing.T, c *lab.Capture, src netip.Addr, f vrrp.ChecksumForm) {
	t.Helper()
	var ads []lab.VRRPAdvert
	lab.Eventually(2*time.Second, func() bool {
		ads = lab.From(lab.VRRPAdverts(c.Frames()), src, -1)
		return len(ads) > 0
	})
	if len(ads) == 0 {
		t.Fatalf("no VRRPv3 advert from %v", src)
	}
	for _, a := range ads {
		if a.Form != f {
			t.Fatalf("an advert from %v in the %v form, want %v: %x", src, a.Form, f, a.Data)
		}
	}
}
