package group

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/carpauth"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

func testKeys(t *testing.T, ids ...uint8) *carpauth.Keyring {
	t.Helper()
	var keys []carpauth.Key
	for _, id := range ids {
		keys = append(keys, carpauth.Key{ID: id, Secret: bytes.Repeat([]byte{id}, 32)})
	}
	kr, err := carpauth.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// authPeer is the harness's peer with --auth=hmac-sha256: it signs its
// adverts with the trailer, and keeps every advert it sent for replays.
type authPeer struct {
	h      *harness
	keys   *carpauth.Keyring
	signer *carpauth.Signer
	ctr    uint64
}

func newAuthPeer(h *harness, kr *carpauth.Keyring) *authPeer {
	s, err := carpauth.NewSigner(kr, []netip.Addr{loopVIP.Addr()})
	if err != nil {
		h.t.Fatal(err)
	}
	return &authPeer{h: h, keys: kr, signer: s}
}

// startAuthHarness starts the harness's group with --auth-mode=mode and
// key 1 (edit, if not nil, changes the rest of its AuthConfig), and the
// peer that signs with the same key. The caller closes the harness.
func startAuthHarness(t *testing.T, mode carpauth.Mode, edit func(*AuthConfig)) (*harness, *authPeer) {
	t.Helper()
	kr := testKeys(t, 1)
	h := startHarness(t, func(c *testConfig) {
		c.Auth = authConfig(kr, mode)
		if edit != nil {
			edit(c.Auth)
		}
	})
	return h, newAuthPeer(h, kr)
}

// reconfigureAuth reloads the harness's group with its config but auth.
func (h *harness) reconfigureAuth(auth *AuthConfig) {
	h.t.Helper()
	cfg := *h.d.cfg
	cfg.Auth = auth
	if err := h.d.Reconfigure(cfg); err != nil {
		h.t.Fatal(err)
	}
}

// advert returns a sealed advert with advskew skew (advbase 1).
func (p *authPeer) advert(skew uint8) []byte {
	p.ctr++
	hd := carp.Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: skew, AuthLen: 7, Counter: p.ctr}
	p.h.peer.Sign(&hd)
	pk := carp.NewPacket(loopPeer, defaultGroup, 9, hd)
	b, _ := pk.MarshalBinary()
	b, err := p.signer.SealIPv4(b, time.Now())
	if err != nil {
		p.h.t.Fatal(err)
	}
	return b
}

func (h *harness) deliver(pkt []byte) {
	h.conn.in <- bytes.Clone(pkt)
	synctest.Wait()
}

func authConfig(kr *carpauth.Keyring, m carpauth.Mode) *AuthConfig {
	return &AuthConfig{Mode: m, Keys: kr, Window: 10 * time.Second, KeyFile: "/etc/ucarp/keys"}
}

// hasTrailer reports whether a sent IPv4 advert carries the extension, and
// its key id and sequence.
func hasTrailer(raw []byte) (bool, uint8, uint64) {
	if len(raw) != carp.PacketLen+carpauth.TrailerLen || binary.BigEndian.Uint16(raw[2:4]) != uint16(len(raw)) {
		return false, 0, 0
	}
	var tr carpauth.Trailer
	if tr.UnmarshalBinary(raw[carp.PacketLen:]) != nil {
		return false, 0, 0
	}
	return true, tr.KeyID, tr.Seq
}

// TestAuthEnforce: a BACKUP in enforce mode is held by its peer's signed
// adverts; once the peer is gone, replays of them, and rewritten ones
// (advbase 0, the bow-out advert, a lower skew), are dropped and counted,
// and the BACKUP takes over on time. Its own adverts carry the trailer,
// which a verifier with the same key accepts.
func TestAuthEnforce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, peer := startAuthHarness(t, carpauth.Enforce, nil)
		defer h.close()
		var captured [][]byte
		for i := range 5 {
			h.at(time.Duration(i) * time.Second)
			a := peer.advert(0)
			captured = append(captured, a)
			h.deliver(a)
		}
		if h.state() != carp.Backup {
			t.Fatalf("state %v while the peer advertises", h.state())
		}
		// A plain advert (the trailer stripped) is dropped in enforce.
		h.receive(1, 0, nil)
		// The peer dies after 4 s. Replay its adverts every 200 ms, and
		// rewritten ones: none may hold the BACKUP down.
		// What plain CARP's HMAC leaves open: advbase and advskew,
		// rewritten with a correct CARP checksum.
		rewrite := func(b []byte, off int, val byte) []byte {
			b = bytes.Clone(b)
			b[off] = val
			b[26], b[27] = 0, 0
			binary.BigEndian.PutUint16(b[26:28], carp.Checksum(b[20:56]))
			return b
		}
		last := captured[len(captured)-1]
		for at := 4200 * time.Millisecond; at < 8*time.Second; at += 200 * time.Millisecond {
			h.at(at)
			h.deliver(captured[int(at/time.Second)%len(captured)])
			h.deliver(rewrite(last, 20+5, 0))                     // advbase 0
			h.deliver(rewrite(rewrite(last, 20+5, 255), 22, 255)) // the bow-out values
		}
		if h.state() != carp.Master {
			t.Fatalf("state %v: replays held the BACKUP down", h.state())
		}
		// Dead time 3.390625 s after the last real advert at 4 s.
		tr := h.d.Status().Transitions
		if got := tr[len(tr)-1]; got.To != carp.Master || got.Time.Sub(h.t0) > 4*time.Second+us(3_390_625)+time.Millisecond {
			t.Fatalf("took over at %v, want 7.390625s", got.Time.Sub(h.t0))
		}
		st := h.d.Status().Auth
		if st.Mode != "enforce" || st.KeyID != 1 || len(st.KeyIDs) != 1 {
			t.Fatalf("status %+v", st)
		}
		if st.Accepted["verified"] != 5 || st.Dropped["absent"] != 1 || st.Dropped["replay"] < 15 || st.Dropped["bad-mac"] < 30 {
			t.Fatalf("counters %+v", st)
		}
		if len(st.Accepted) != 1 {
			t.Fatalf("accepted something unverified: %+v", st.Accepted)
		}
		if line := h.d.statsLine(); !strings.Contains(line, ", auth enforce: verified 5, absent dropped 1, bad-mac dropped") {
			t.Fatalf("counters line %q", line)
		}
		if n := h.logs.count("Advert dropped by --auth-mode=enforce"); n < limitBurst || n > limitBurst+6 { // a burst, then one a second
			t.Fatalf("%d drop lines (want some, rate-limited)", n)
		}
		// What it sends as MASTER: sealed adverts that a peer verifies.
		v, _ := carpauth.NewVerifier(peer.keys, []netip.Addr{loopVIP.Addr()}, carpauth.Config{Mode: carpauth.Enforce})
		sent := 0
		for _, a := range h.conn.adverts() {
			ok, id, _ := hasTrailer(a.raw)
			if !ok || id != 1 {
				t.Fatalf("advert without the trailer: % x", a.raw)
			}
			if d := v.CheckIPv4(a.raw, a.at); d.Drop {
				t.Fatalf("own advert: %+v", d)
			}
			sent++
		}
		if sent == 0 {
			t.Fatal("no advert sent")
		}
	})
}

// TestAuthPermissive: the same replays are accepted in permissive mode
// (they hold the BACKUP down) but counted as what enforce would drop.
func TestAuthPermissive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, peer := startAuthHarness(t, carpauth.Permissive, nil)
		defer h.close()
		a := peer.advert(0)
		h.deliver(a)
		for at := 200 * time.Millisecond; at < 8*time.Second; at += time.Second {
			h.at(at)
			h.deliver(a)
		}
		if h.state() != carp.Backup {
			t.Fatalf("state %v", h.state())
		}
		st := h.d.Status().Auth
		if st.Accepted["verified"] != 1 || st.Accepted["replay"] != 8 || len(st.Dropped) != 0 {
			t.Fatalf("counters %+v", st)
		}
		if strings.Contains(h.logs.String(), "Advert dropped") {
			t.Fatal("a drop line in permissive mode")
		}
	})
}

// TestAuthReceiveOnly: receive-only sends plain adverts and verifies the
// trailers it hears.
func TestAuthReceiveOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, peer := startAuthHarness(t, carpauth.ReceiveOnly, nil)
		defer h.close()
		h.deliver(peer.advert(200)) // a lesser peer: it does not hold us
		h.receive(1, 200, nil)
		h.at(6 * time.Second)
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		ads := h.conn.adverts()
		if len(ads) == 0 {
			t.Fatal("no adverts")
		}
		for _, a := range ads {
			if len(a.raw) != carp.PacketLen {
				t.Fatalf("receive-only sent %d bytes", len(a.raw))
			}
		}
		st := h.d.Status().Auth
		if st.Mode != "receive-only" || st.KeyID != -1 || st.Accepted["verified"] != 1 || st.Accepted["absent"] != 1 {
			t.Fatalf("status %+v", st)
		}
	})
}

// TestAuthOff: without --auth nothing is sent or counted differently, and
// a trailer heard is ignored.
func TestAuthOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		peer := newAuthPeer(h, testKeys(t, 1))
		bad := peer.advert(0)
		bad[len(bad)-1] ^= 1
		h.deliver(bad)
		if h.state() != carp.Backup {
			t.Fatal("a peer's advert with a bad trailer was not taken as plain CARP")
		}
		h.at(6 * time.Second)
		for _, a := range h.conn.adverts() {
			if len(a.raw) != carp.PacketLen {
				t.Fatalf("sent %d bytes", len(a.raw))
			}
		}
		if strings.Contains(h.d.statsLine(), "auth") {
			t.Fatalf("plain CARP's counters line has auth: %q", h.d.statsLine())
		}
		st := h.d.Status().Auth
		if st.Mode != "off" || len(st.Accepted)+len(st.Dropped) != 0 {
			t.Fatalf("status %+v", st)
		}
	})
}

// TestAuthReconfigure rotates the keys and moves through the modes of a
// running MASTER and of a BACKUP by Reconfigure: no transition, the
// sequence never goes back, the new key signs at once, and the BACKUP's
// replay state survives (a replay of an advert heard before the reload is
// still a replay).
func TestAuthReconfigure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1, k12, k21, k2 := testKeys(t, 1), testKeys(t, 1, 2), testKeys(t, 2, 1), testKeys(t, 2)
		h := startHarness(t, func(c *testConfig) { c.Auth = authConfig(k1, carpauth.ReceiveOnly) })
		defer h.close()
		h.at(4 * time.Second) // MASTER since 3.390625 s
		if h.state() != carp.Master {
			t.Fatalf("state %v", h.state())
		}
		peer := newAuthPeer(h, k1)
		heard := peer.advert(200) // a lesser peer, heard before the reloads
		h.deliver(heard)
		steps := []struct {
			kr   *carpauth.Keyring
			mode carpauth.Mode
			id   uint8
		}{
			{k1, carpauth.Permissive, 1},
			{k1, carpauth.Enforce, 1},
			{k12, carpauth.Enforce, 1},
			{k21, carpauth.Enforce, 2},
			{k2, carpauth.Enforce, 2},
			{k2, carpauth.Permissive, 2},
			{k2, carpauth.Enforce, 2},
		}
		at := 4 * time.Second
		var lastSeq uint64
		for _, st := range steps {
			h.reconfigureAuth(authConfig(st.kr, st.mode))
			n := len(h.conn.adverts())
			at += 3 * time.Second
			h.at(at)
			ads := h.conn.adverts()[n:]
			if len(ads) < 2 {
				t.Fatalf("%v: %d adverts", st, len(ads))
			}
			for _, a := range ads {
				ok, id, seq := hasTrailer(a.raw)
				if !ok || id != st.id || seq <= lastSeq {
					t.Fatalf("%v %v: trailer %v key %d sequence %d after %d", st.mode, st.kr.IDs(), ok, id, seq, lastSeq)
				}
				lastSeq = seq
			}
		}
		// The replay state survived every reload, key changes included:
		// the advert heard before is a replay (signed with key 1, which
		// the host no longer has: first put key 1 back).
		h.reconfigureAuth(authConfig(k21, carpauth.Enforce))
		h.deliver(heard)
		if st := h.d.Status().Auth; st.Dropped["replay"] != 1 || st.Senders != 1 {
			t.Fatalf("after the reloads: %+v", st)
		}
		if n := h.logs.count("Switching to state"); n != 2 { // the start's BACKUP, the takeover's MASTER
			t.Fatalf("%d transitions:\n%s", n, h.logs)
		}
		// And back to plain CARP: plain adverts again.
		h.reconfigureAuth(nil)
		n := len(h.conn.adverts())
		h.at(at + 10*time.Second)
		for _, a := range h.conn.adverts()[n:] {
			if len(a.raw) != carp.PacketLen {
				t.Fatalf("plain CARP again: %d bytes", len(a.raw))
			}
		}
		if h.state() != carp.Master {
			t.Fatal("lost MASTER")
		}
	})
}

// TestAuthRelaxTTL: with --relax-ttl, a signed advert that crossed a
// router (TTL 64) holds the BACKUP; a plain one does not, and without
// --relax-ttl neither does.
func TestAuthRelaxTTL(t *testing.T) {
	for _, relax := range []bool{false, true} {
		t.Run(map[bool]string{false: "strict", true: "relaxed"}[relax], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, peer := startAuthHarness(t, carpauth.Enforce, func(a *AuthConfig) { a.RelaxTTL = relax })
				defer h.close()
				for at := time.Duration(0); at < 8*time.Second; at += time.Second {
					h.at(at)
					a := peer.advert(0)
					a[8] = 64 // a router on the way: TTL and header checksum
					a[10], a[11] = 0, 0
					binary.BigEndian.PutUint16(a[10:12], carp.Checksum(a[:20]))
					h.deliver(a)
					h.receive(1, 0, func(p *carp.Packet) { p.TTL = 64 }) // plain, routed
				}
				want := carp.Master
				if relax {
					want = carp.Backup
				}
				if got := h.state(); got != want {
					t.Fatalf("state %v, want %v", got, want)
				}
				st := h.d.Status()
				if relax && (st.Auth.Accepted["verified"] != 8 || st.Auth.Dropped["absent"] != 8) {
					t.Fatalf("auth %+v, dropped %v", st.Auth, st.Counters.Dropped)
				}
				if !relax && st.Counters.Dropped["bad-ttl"] != 16 {
					t.Fatalf("dropped %v", st.Counters.Dropped)
				}
			})
		})
	}
}

// TestAuthIPv6: two groups of an IPv6 address on one LAN: the BACKUP is
// held by the MASTER's signed IPv6 adverts, verified; with a key the
// MASTER lacks, it drops them (unknown-key) and takes over.
func TestAuthIPv6(t *testing.T) {
	for _, sameKey := range []bool{true, false} {
		t.Run(map[bool]string{true: "same key", false: "other key"}[sameKey], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testAuthIPv6(t, sameKey) })
		})
	}
}

func testAuthIPv6(t *testing.T, sameKey bool) {
	var lan platformtest.LAN
	start := func(mac byte, src netip.Addr, skew uint8, kr *carpauth.Keyring) (*Group, <-chan struct{}) {
		c := Config{Interface: "eth0", Src: src, Mcast: defaultGroup, VHID: 1, Password: []byte("carplab"),
			Addr: netip.MustParsePrefix("2001:db8::100/128"), AddrArg: "2001:db8::100", AdvBase: 1, AdvSkew: skew, DeadRatio: 3,
			Auth: authConfig(kr, carpauth.Enforce)}
		return startLANGroup(t, lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, mac}), c, nil)
	}
	kb := testKeys(t, 1)
	if !sameKey {
		kb = testKeys(t, 2)
	}
	a, doneA := start(11, loopPeer, 0, testKeys(t, 1))
	b, doneB := start(12, loopSrc, 100, kb)
	time.Sleep(10 * time.Second)
	synctest.Wait()
	sa, sb := a.Status(), b.Status()
	if sa.State != carp.Master {
		t.Fatalf("A is %v", sa.State)
	}
	if sameKey {
		if sb.State != carp.Backup || sb.Auth.Accepted["verified"] < 5 || len(sb.Auth.Dropped) != 0 {
			t.Fatalf("B is %v, auth %+v", sb.State, sb.Auth)
		}
	} else if sb.State != carp.Master || sb.Auth.Dropped["unknown-key"] < 2 {
		t.Fatalf("B is %v, auth %+v", sb.State, sb.Auth)
	}
	a.Release()
	b.Release()
	<-doneA
	<-doneB
}

// TestAuthConfigRefused: an AuthConfig without keys or mode is refused by
// New and by Reconfigure, which then changes nothing.
func TestAuthConfigRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.Auth = authConfig(testKeys(t, 1), carpauth.Enforce) })
		defer h.close()
		for _, bad := range []*AuthConfig{{Mode: carpauth.Enforce}, {Keys: testKeys(t, 2)}, {Keys: testKeys(t, 2), Mode: 9}} {
			cfg := *h.d.cfg
			cfg.Auth = bad
			cfg.AdvSkew = 7
			if err := h.d.Reconfigure(cfg); err == nil {
				t.Fatalf("%+v accepted", bad)
			}
			if h.d.cfg.AdvSkew != 100 || h.d.Status().Auth.KeyIDs[0] != 1 {
				t.Fatal("a refused reload changed the group")
			}
			c := cfg
			if _, err := New(c, Deps{Log: testLog(io.Discard, false).Logger, Conn: newFakeConn()}); err == nil {
				t.Fatalf("New with %+v", bad)
			}
		}
	})
}
