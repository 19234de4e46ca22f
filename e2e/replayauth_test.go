//go:build linux

package e2e

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/internal/lab"
)

// authHost is one daemon of TestReplayAuth, in config mode with a control
// socket, so that a reload changes its --auth settings and its status
// shows the counters.
type authHost struct {
	h    *lab.Host
	p    *lab.Proc
	conf string
	sock string
	skew int
}

const (
	oldKey = "1 00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f"
	newKey = "2 6f3c0f2b9a4e51d07c8e2a9b3f1d6c4e8a2b7d9c0e1f3a5b6c7d8e9f0a1b2c3d"
)

// write writes a's config file: the group, and the auth lines given.
func (a *authHost) write(t *testing.T, auth string) {
	t.Helper()
	conf := fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\ncontrol = %q\n%s\n"+
		"[[group]]\nname = \"g1\"\nvhid = 1\naddr = %q\nadvskew = %d\n", a.h.IfName, a.h.Addr, a.sock, auth, vip, a.skew)
	if err := os.WriteFile(a.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startAuthHost(t *testing.T, l *lab.Lab, h *lab.Host, skew int, auth string) *authHost {
	t.Helper()
	a := &authHost{h: h, skew: skew, conf: filepath.Join(l.Dir, h.Name+".conf"), sock: filepath.Join(l.Dir, h.Name+".sock")}
	a.write(t, auth)
	p, err := h.Start("ucarp", oursBin, "--config="+a.conf)
	if err != nil {
		t.Fatal(err)
	}
	a.p = p
	t.Cleanup(func() { p.Signal(syscall.SIGTERM) })
	if !lab.Eventually(10*time.Second, func() bool { _, err := os.Stat(a.sock); return err == nil }) {
		t.Fatalf("no control socket %s:\n%s", a.sock, p.Log())
	}
	return a
}

// status is the group's status through ucarpctl status --json.
func (a *authHost) status(t *testing.T) control.Group {
	t.Helper()
	for _, g := range statusOf(t, a.h, ctlBin, a.sock) {
		if g.Name == "g1" {
			return g
		}
	}
	t.Fatalf("no group g1 on %s", a.h.Name)
	return control.Group{}
}

// reload rewrites a's config with auth and reloads it (SIGHUP), waiting
// for the reload's line.
func (a *authHost) reload(t *testing.T, auth string) {
	t.Helper()
	n := a.p.Count("Reloaded ")
	a.write(t, auth)
	a.p.Signal(syscall.SIGHUP)
	if !a.p.WaitLog("Reloaded ", n+1, 5*time.Second) {
		t.Fatalf("%s did not reload:\n%s", a.h.Name, a.p.Log())
	}
}

// keyFile writes a key file of lines, mode 0600, and returns its path.
func keyFile(t *testing.T, l *lab.Lab, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(l.Dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ipPacket is the IPv4 packet of a captured frame, cut to its total
// length (Ethernet pads short frames).
func ipPacket(f lab.Frame) []byte {
	b := f.Data[14:]
	if n := int(binary.BigEndian.Uint16(b[2:4])); n <= len(b) {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}

// captureAdverts waits until capture holds at least n CARP adverts from
// src (who, in the message if it does not), stops it and returns them as
// IP packets.
func captureAdverts(t *testing.T, capture *lab.Capture, src netip.Addr, n int, who string) [][]byte {
	t.Helper()
	var captured [][]byte
	if !lab.Eventually(5*time.Second, func() bool {
		captured = captured[:0]
		for _, f := range capture.Frames() {
			if f.IsCARP() && f.IPv4Source() == src {
				captured = append(captured, ipPacket(f))
			}
		}
		return len(captured) >= n
	}) {
		t.Fatalf("fewer than %d adverts of %s captured", n, who)
	}
	capture.Stop()
	return captured
}

// rewriteRaw changes advbase and advskew of a captured advert and fixes the
// CARP checksum, as an attacker can: plain CARP's HMAC does not cover
// them. A trailer, if any, stays.
func rewriteRaw(pkt []byte, advbase, advskew uint8) []byte {
	b := append([]byte(nil), pkt...)
	hl := int(b[0]&0x0f) * 4
	c := b[hl : hl+carp.HeaderLen]
	c[2], c[5] = advskew, advbase
	c[6], c[7] = 0, 0
	binary.BigEndian.PutUint16(c[6:8], carp.Checksum(c))
	return b
}

func sum(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// TestReplayAuth is issue #15's replay lab: adverts of the master are
// captured; the master dies; the captures, and rewritten ones (advbase 0,
// the bow-out values), are replayed at the backup. In plain CARP the
// backup is held down for as long as the replay lasts; with
// --auth=hmac-sha256 in enforce mode it takes over on time and every
// replayed packet is dropped and counted.
func TestReplayAuth(t *testing.T) {
	t.Run("plain CARP: the backup is held down", func(t *testing.T) { testReplayAfterDeath(t, false) })
	t.Run("hmac-sha256 enforce: the backup takes over", func(t *testing.T) { testReplayAfterDeath(t, true) })
}

func testReplayAfterDeath(t *testing.T, withAuth bool) {
	l := newLab(t, 2)
	auth := ""
	if withAuth {
		auth = fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nauth-mode = \"enforce\"\n", keyFile(t, l, "keys", oldKey))
	}
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	master := startAuthHost(t, l, l.Hosts[0], 0, auth)
	backup := startAuthHost(t, l, l.Hosts[1], 100, auth)
	waitMasters(t, l, 10*time.Second, l.Hosts[0])
	captured := captureAdverts(t, capture, l.Hosts[0].Addr, 3, "the master")
	if want := carp.PacketLen + map[bool]int{false: 0, true: 48}[withAuth]; len(captured[0]) != want {
		t.Fatalf("captured advert of %d bytes, want %d", len(captured[0]), want)
	}
	last := captured[len(captured)-1]
	pkts := append(captured, rewriteRaw(last, 0, 0), rewriteRaw(last, 1, 0))
	if withAuth {
		pkts = append(pkts, rewriteRaw(last, 255, 255))
	}
	before := backup.status(t)

	// The master dies without a word; the replay starts at once.
	master.p.Kill()
	died := time.Now()
	const rate, length = 20, 9 * time.Second
	done := replayAsync(l.Observer, pkts, rate, length)
	dead := carp.DeadInterval(1, 3, 100)
	if withAuth {
		// On time: the dead interval after the master's last advert,
		// plus slack for a loaded machine.
		waitMasters(t, l, dead+2*time.Second, l.Hosts[1])
		took := time.Since(died)
		t.Logf("the backup took over %v after the master died, under the replay", took)
	} else {
		// Held down: no holder from well past the dead interval until the
		// replay ends.
		time.Sleep(dead + time.Second)
		holdMasters(t, l, length-dead-2*time.Second)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	sent := r.sent
	if sent < rate*int(length/time.Second)*3/4 {
		t.Fatalf("only %d packets replayed", sent)
	}
	if !withAuth {
		// The replay over, the backup takes over within the dead interval.
		waitMasters(t, l, dead+2*time.Second, l.Hosts[1])
		if g := backup.status(t); g.Auth != nil {
			t.Fatalf("plain CARP has an auth status: %+v", g.Auth)
		}
		t.Logf("plain CARP: %d replayed adverts held the backup down for %v", sent, length)
		return
	}
	// Every replayed packet dropped and counted, none accepted.
	var g control.Group
	if !lab.Eventually(3*time.Second, func() bool {
		g = backup.status(t)
		return g.Auth != nil && sum(g.Auth.Dropped)-sum(before.Auth.Dropped) == uint64(sent)
	}) {
		t.Fatalf("%d packets replayed; auth status before %+v, after %+v", sent, before.Auth, g.Auth)
	}
	if g.Auth.Accepted["verified"] != before.Auth.Accepted["verified"] || len(g.Auth.Accepted) != 1 {
		t.Fatalf("an advert was accepted after the master died: before %+v, after %+v", before.Auth, g.Auth)
	}
	if g.Auth.Dropped["replay"] == 0 || g.Auth.Dropped["bad-mac"] == 0 {
		t.Fatalf("drops %v: want replays and rewritten (bad-mac)", g.Auth.Dropped)
	}
	if n := backup.p.Count("Advert dropped by --auth-mode=enforce"); n == 0 || n > 10+int(length/time.Second)+2 {
		t.Errorf("%d drop lines for %d drops: want a rate-limited few", n, sent)
	}
	metrics, err := ctl(backup.h, ctlBin, backup.sock, false, "status")
	if err != nil || !strings.Contains(metrics, "auth hmac-sha256 enforce") {
		t.Errorf("ucarpctl status: %v\n%s", err, metrics)
	}
	t.Logf("hmac-sha256: %d replayed packets dropped: %v", sent, g.Auth.Dropped)
}

// TestAuthRolloutAndRotation moves a running pair from plain CARP to
// enforce one host at a time (receive-only, permissive, enforce), then
// rotates the key in the documented steps, reloading one host at a time:
// no transition on either host, the MASTER keeps the address, and at the
// end both verify every advert of the other with the new key.
func TestAuthRolloutAndRotation(t *testing.T) {
	l := newLab(t, 2)
	k1 := keyFile(t, l, "k1", oldKey)
	k12 := keyFile(t, l, "k12", oldKey, newKey)
	k21 := keyFile(t, l, "k21", newKey, oldKey)
	k2 := keyFile(t, l, "k2", newKey)
	a := startAuthHost(t, l, l.Hosts[0], 0, "")
	b := startAuthHost(t, l, l.Hosts[1], 100, "")
	waitMasters(t, l, 10*time.Second, l.Hosts[0])
	transitions := func() (uint64, uint64) {
		return a.status(t).Counters.Transitions, b.status(t).Counters.Transitions
	}
	ta, tb := transitions()
	with := func(mode, keys string) string {
		return fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nauth-mode = %q\n", keys, mode)
	}
	steps := []struct {
		name string
		h    *authHost
		auth string
	}{
		{"A receive-only", a, with("receive-only", k1)},
		{"B receive-only", b, with("receive-only", k1)},
		{"A permissive", a, with("permissive", k1)},
		{"B permissive", b, with("permissive", k1)},
		{"A enforce", a, with("enforce", k1)},
		{"B enforce", b, with("enforce", k1)},
		{"A adds the new key second", a, with("enforce", k12)},
		{"B adds the new key second", b, with("enforce", k12)},
		{"A signs with the new key", a, with("enforce", k21)},
		{"B signs with the new key", b, with("enforce", k21)},
		{"A drops the old key", a, with("enforce", k2)},
		{"B drops the old key", b, with("enforce", k2)},
	}
	for _, st := range steps {
		st.h.reload(t, st.auth)
		// Three adverts of the MASTER under the new settings; the holder
		// never changes.
		holdMasters(t, l, 3500*time.Millisecond, l.Hosts[0])
		if st.name == "B permissive" {
			// Step 3 of the rollout: both count only verified adverts.
			for _, h := range []*authHost{a, b} {
				g := h.status(t)
				for r, n := range g.Auth.Accepted {
					if r != "verified" && r != "absent" && n > 0 {
						t.Fatalf("%s: %s counts %d %s adverts before enforce", st.name, h.h.Name, n, r)
					}
				}
			}
		}
	}
	if na, nb := transitions(); na != ta || nb != tb {
		t.Fatalf("transitions %d %d before, %d %d after the rollout and rotation", ta, tb, na, nb)
	}
	ga, gb := a.status(t), b.status(t)
	for _, g := range []control.Group{ga, gb} {
		if g.Auth == nil || g.Auth.Mode != "enforce" || g.Auth.SendKey == nil || *g.Auth.SendKey != 2 || len(g.Auth.Keys) != 1 || len(g.Auth.Dropped) != 0 {
			t.Fatalf("%s: auth %+v", g.Name, g.Auth)
		}
	}
	// B, the BACKUP, verified the MASTER's adverts all along.
	if gb.Auth.Accepted["verified"] < 20 {
		t.Fatalf("B verified %d adverts", gb.Auth.Accepted["verified"])
	}
	// A hands over (SIGUSR2: a bow-out advert): B's signer, which only the
	// reloads touched so far, now signs the MASTER's adverts with the new
	// key, and A, which accepts key 2 alone, verifies them and drops none.
	va := ga.Auth.Accepted["verified"]
	a.p.Signal(syscall.SIGUSR2)
	waitMasters(t, l, 5*time.Second, l.Hosts[1])
	// Three adverts of B (one every 1.39 s), waited for under load.
	lab.Eventually(15*time.Second, func() bool { return a.status(t).Auth.Accepted["verified"] >= va+3 })
	holdMasters(t, l, time.Second, l.Hosts[1])
	ga, gb = a.status(t), b.status(t)
	if ga.Auth.Accepted["verified"] < va+3 || len(ga.Auth.Dropped) != 0 || len(ga.Auth.Keys) != 1 || ga.Auth.Keys[0] != 2 {
		t.Fatalf("A after the handoff verified %d adverts (%d before), auth %+v", ga.Auth.Accepted["verified"], va, ga.Auth)
	}
	if gb.Auth.SendKey == nil || *gb.Auth.SendKey != 2 || len(gb.Auth.Dropped) != 0 {
		t.Fatalf("B after the handoff: auth %+v", gb.Auth)
	}
	t.Logf("rollout and rotation in %d reloads: transitions %d %d unchanged; B: %v; after the handoff A: %v",
		len(steps), ta, tb, gb.Auth.Accepted, ga.Auth.Accepted)
}

// TestAuthIPv6Pair: an IPv6-only pair with --auth=hmac-sha256 in enforce
// mode on ucarp's command line: the backup verifies the master's IPv6
// adverts (a broken trailer would make it drop them and take over), and
// takes over when the master dies.
func TestAuthIPv6Pair(t *testing.T) {
	l := newLab6(t)
	keys := keyFile(t, l, "keys", oldKey)
	vip6 := lab.VIP6.String() + "/64"
	sock := filepath.Join(l.Dir, "h2.sock")
	auth := []string{"--auth=hmac-sha256", "--keyfile=" + keys}
	p1 := start6(t, l.Hosts[0], "ucarp", lab.CARP{Extra: auth}, vip6)
	start6(t, l.Hosts[1], "ucarp", lab.CARP{AdvSkew: 100, Extra: append(auth, "--control="+sock)}, vip6)
	want := "h1:" + lab.VIP6.String() + " h2:-"
	waitHolding(t, l, 10*time.Second, want, vip6)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got := holding(l, vip6); got != want {
			t.Fatalf("holders %q, want %q", got, want)
		}
	}
	gs := statusOf(t, l.Hosts[1], ctlBin, sock)
	if len(gs) != 1 || gs[0].Auth == nil || gs[0].Auth.Accepted["verified"] < 4 || len(gs[0].Auth.Dropped) != 0 {
		t.Fatalf("h2's status: %+v", gs)
	}
	p1.Kill()
	waitHolding(t, l, carp.DeadInterval(1, 3, 100)+2*time.Second, "h1:- h2:"+lab.VIP6.String(), vip6)
}

// TestAuthRewrittenAtLiveMaster: an advert of the former master (h2),
// captured and rewritten to advbase 0 advskew 0 (which would beat any
// master in plain CARP), is replayed at the live MASTER h1 in enforce
// mode: dropped and counted, no transition, h1 keeps the address.
func TestAuthRewrittenAtLiveMaster(t *testing.T) {
	l := newLab(t, 2)
	auth := fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nauth-mode = \"enforce\"\n", keyFile(t, l, "keys", oldKey))
	capture, err := l.Capture()
	if err != nil {
		t.Fatal(err)
	}
	h2 := startAuthHost(t, l, l.Hosts[1], 100, auth)
	waitMasters(t, l, 10*time.Second, l.Hosts[1])
	captured := captureAdverts(t, capture, l.Hosts[1].Addr, 2, "h2")
	h1 := startAuthHost(t, l, l.Hosts[0], 0, auth)
	holdMasters(t, l, 2*time.Second, l.Hosts[1])
	h2.p.Signal(syscall.SIGUSR2) // hands over to h1
	waitMasters(t, l, 5*time.Second, l.Hosts[0])
	holdMasters(t, l, 2*time.Second, l.Hosts[0])
	before := h1.status(t)
	last := captured[len(captured)-1]
	pkts := [][]byte{rewriteRaw(last, 0, 0), last}
	const rate, length = 20, 5 * time.Second
	done := replayAsync(l.Observer, pkts, rate, length)
	holdMasters(t, l, length, l.Hosts[0])
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	sent := r.sent
	holdMasters(t, l, time.Second, l.Hosts[0])
	var g control.Group
	if !lab.Eventually(3*time.Second, func() bool {
		g = h1.status(t)
		return g.Auth != nil && sum(g.Auth.Dropped)-sum(before.Auth.Dropped) == uint64(sent)
	}) {
		t.Fatalf("%d packets replayed; h1's auth before %+v, after %+v", sent, before.Auth, g.Auth)
	}
	if g.Counters.Transitions != before.Counters.Transitions || g.State != control.StateMaster {
		t.Fatalf("h1 %s, transitions %d -> %d", g.State, before.Counters.Transitions, g.Counters.Transitions)
	}
	if g.Auth.Dropped["bad-mac"] == 0 || g.Auth.Dropped["replay"] == 0 {
		t.Fatalf("h1's drops %v: want bad-mac (rewritten) and replay", g.Auth.Dropped)
	}
	t.Logf("%d replayed adverts at the live MASTER: %v, no transition", sent, g.Auth.Dropped)
}
