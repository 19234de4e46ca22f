package carp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// The seed corpora are in testdata/fuzz/<target>/, one commented value per
// file; f.Add adds the vectors of the spec on top.

func addVectorSeeds(f *testing.F) {
	for _, frame := range []string{
		"01005e00001200005e00000a080045100038019e4000ff708e930a010101e0000012210a00070001317aeb503b38d7261357cd587869b90cebacf9c8834115d5fecc2073ffd0",
		"ffffffffffff00005e0000ff080045100038ffff4000ff70ef20ac100002e000001221ffff0700010a27ffffffffffffffff6140df59f2f6904e0649713d24ea515ffc2126ff",
	} {
		b := mustHex(f, frame)
		f.Add(b[ethernetHeaderLen:])
	}
}

// FuzzPacket parses an IPv4 packet, re-encodes it and parses it again:
// the fields must survive, and the re-encoding must have good checksums.
func FuzzPacket(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			// Only options that are not a multiple of 4 bytes are refused,
			// and a decoded header length is always a multiple of 4.
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		hl := IPv4HeaderLen + len(p.Options)
		if Checksum(enc[:hl]) != 0 || Checksum(enc[hl:]) != 0 {
			t.Fatalf("bad checksums in %x", enc)
		}
		var q Packet
		if err := q.UnmarshalBinary(enc); err != nil {
			t.Fatalf("parsing the re-encoding %x: %v", enc, err)
		}
		p.Checksum, q.Checksum = 0, 0
		p.Header.Checksum, q.Header.Checksum = 0, 0
		p.Length, q.Length = 0, 0
		if !packetsEqual(p, q) {
			t.Fatalf("round trip changed the packet\n%+v\n%+v", p, q)
		}
	})
}

// FuzzHeader does the same for the 36-byte CARP header alone.
func FuzzHeader(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if err := h.UnmarshalBinary(b); err != nil {
			if len(b) >= HeaderLen {
				t.Fatalf("%d bytes refused: %v", len(b), err)
			}
			return
		}
		enc, err := h.MarshalBinary()
		if err != nil || len(enc) != HeaderLen || Checksum(enc) != 0 {
			t.Fatalf("re-encoding: %x, %v", enc, err)
		}
		if !bytes.Equal(enc[8:], b[8:HeaderLen]) || !bytes.Equal(enc[:6], b[:6]) {
			t.Fatalf("re-encoding changed the header: %x -> %x", b[:HeaderLen], enc)
		}
		var g Header
		_ = g.UnmarshalBinary(enc)
		h.Checksum, g.Checksum = 0, 0
		if g != h {
			t.Fatalf("round trip: %+v -> %+v", h, g)
		}
	})
}

// FuzzValidator feeds arbitrary bytes to the acceptance checks: they never
// panic, every outcome is a known reason, and an accepted packet stays
// accepted once parsed and re-encoded.
func FuzzValidator(f *testing.F) {
	addVectorSeeds(f)
	vip := netip.MustParseAddr("10.1.1.252")
	auth, _ := NewAuth([]byte("secret"), 10, []netip.Addr{vip})
	v := NewValidator(netip.MustParseAddr("10.1.1.2"), netip.MustParseAddr("224.0.0.18"), 10, auth)
	// The same in unicast mode, with one peer (peers.go).
	peer := netip.MustParseAddr("10.1.1.3")
	auth2, _ := NewAuth([]byte("secret"), 10, []netip.Addr{vip})
	vu := NewValidator(netip.MustParseAddr("10.1.1.2"), netip.MustParseAddr("224.0.0.18"), 10, auth2)
	vu.SetPeers([]netip.Addr{peer})
	// Seeds: the peer's valid advert to the group and to this host.
	for _, dst := range []string{"224.0.0.18", "10.1.1.2"} {
		h := Header{Version: Version, Type: 1, VHID: 10, AdvBase: 1, AuthLen: 7, Counter: 1}
		auth.Sign(&h)
		p := NewPacket(peer, netip.MustParseAddr(dst), 1, h)
		b, _ := p.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		d := v.Check(b, &h)
		if d.Reason >= NumDropReasons {
			t.Fatalf("unknown reason %d", d.Reason)
		}
		_ = d.String()
		var hu Header
		du := vu.Check(b, &hu)
		if du.Reason >= NumDropReasons {
			t.Fatalf("unicast: unknown reason %d", du.Reason)
		}
		_ = du.String()
		switch {
		case du.Accepted() && Source(b) != peer:
			t.Fatalf("unicast: accepted from %v, not a peer", Source(b))
		case d.Accepted() && Source(b) == peer && !du.Accepted():
			t.Fatalf("unicast: a peer's advert to the group refused: %v", du)
		case d.Accepted() && Source(b) != peer && du.Reason != DropNotPeer:
			t.Fatalf("unicast: a non-peer's advert: %v, want not-peer", du)
		}
		if !d.Accepted() {
			return
		}
		var p Packet
		if err := p.UnmarshalBinary(b); err != nil {
			t.Fatalf("accepted but does not parse: %v", err)
		}
		if p.Header.Counter != h.Counter || p.Header.Digest != h.Digest {
			t.Fatalf("validator and decoder disagree: %+v vs %+v", h, p.Header)
		}
		enc, _ := p.MarshalBinary()
		if d := v.Check(enc, &h); !d.Accepted() {
			t.Fatalf("re-encoded packet refused: %v", d)
		}
	})
}

// FuzzMachine drives a machine with random events and reloads and checks,
// after each one, the invariants that the daemon relies on. The input is
// three bytes of configuration, then triples: an event kind (mod 9), its
// argument and the time step; or, from reloadOp up, a reload (see reload).
func FuzzMachine(f *testing.F) {
	// advbase 1, skew 100: start, master-down on time; reload faster,
	// advert on time; reload slower, advert on time; the same config;
	// another vhid.
	f.Add([]byte{1, 100, 2, 0, 0, 0, 1, 0x82, 0, 0xf0, 0x01, 0, 1, 0x81, 0, 0xf0, 0x01, 200, 1, 0x81, 0, 0xfe, 0, 0, 0xff, 0, 0})
	f.Add([]byte{0, 0, 0, 2, 0, 200, 2, 1, 200, 2, 0, 200})
	f.Add([]byte{0, 0, 0, 1, 3, 1, 1, 2, 1, 6, 0, 1, 2, 0, 250, 7, 1, 1})
	f.Add([]byte{0, 0, 0, 4, 1, 1, 4, 1, 1, 4, 1, 1, 2, 1, 100, 5, 0, 1, 6, 0, 100, 2, 0, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 3 {
			return
		}
		cfg := Config{
			VHID: 1, AdvBase: b[0] % 4, AdvSkew: b[1], DeadRatio: uint32(b[2]%5) + 1,
			Preempt: b[2]&0x10 != 0, Neutral: b[2]&0x20 != 0, ManageVIP: b[2]&0x40 != 0,
			DownScript: b[2]&0x80 != 0, Src: testSelf, Random: sequence(),
			Families: Family(b[0] >> 2 & 3), Demote: b[0] >> 4 & 1,
		}
		if cfg.Families&FamilyIPv6 != 0 {
			cfg.Src6 = netip.MustParseAddr("fe80::11")
		}
		if cfg.AdvBase == 0 && cfg.AdvSkew == 0 {
			cfg.AdvSkew = 1
		}
		m, err := NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		var out []Action
		for i := 3; i+2 < len(b); i += 3 {
			if b[i] >= reloadOp {
				reload(t, m, now, b[i], b[i+1], b[i+2])
				continue
			}
			kind, arg, dt := b[i]%9, b[i+1], b[i+2]
			now = now.Add(time.Duration(dt) * 20 * time.Millisecond)
			var ev Event
			switch kind {
			case 0:
				ev = Event{Kind: EventStart}
			case 1:
				ev = TimerEvent(Timer(arg % uint8(NumTimers)))
				if d := m.timers[ev.Timer]; !d.IsZero() && arg&0x80 != 0 {
					now = d // fire exactly on time
				}
			case 2:
				// bits 0-1: source and advbase, bit 2: demote byte 1
				ev = advert([]string{"198.51.100.12", "198.51.100.10", "10.0.0.1", "fe80::12"}[arg%4], arg%3, arg, uint64(i))
				ev.Demote = arg >> 2 & 1
			case 3:
				ev = Event{Kind: EventDemote}
			case 4:
				ev = SendResultEvent(arg&1 == 1)
			case 5:
				ev = Event{Kind: EventLinkDown}
			case 6:
				ev = Event{Kind: EventLinkUp}
			case 7:
				ev = ReleaseEvent(arg&1 == 1)
			case 8:
				ev = Event{Kind: EventKind(arg)} // unknown kinds are ignored
			}
			before := m.State()
			out = m.Handle(now, ev, out[:0])
			checkInvariants(t, m, now, before, ev, out)
		}
	})
}

// reloadOp and above are reloads in FuzzMachine's input: op 0xfe reloads
// the current configuration, 0xff another vhid; the others set advbase
// (arg bits 0-1), deadratio (bits 2-3, plus one), the flags -P, -n,
// ManageVIP and DownScript (bits 4-7) and advskew (skew).
const reloadOp = 0xf0

// reload reconfigures m and checks that a reload never changes state,
// only re-arms timers that run (never before now, and a MASTER's advert
// never later), does nothing at all when nothing changed, and changes
// nothing when it is refused.
func reload(t *testing.T, m *Machine, now time.Time, op, arg, skew byte) {
	t.Helper()
	cfg := m.Config()
	switch op {
	case 0xfe:
	case 0xff:
		cfg.VHID++
	default:
		cfg.AdvBase, cfg.AdvSkew, cfg.DeadRatio = arg&3, skew, uint32(arg>>2&3)+1
		cfg.Preempt, cfg.Neutral, cfg.ManageVIP, cfg.DownScript = arg&0x10 != 0, arg&0x20 != 0, arg&0x40 != 0, arg&0x80 != 0
	}
	before, timers, old := m.State(), m.timers, m.Config()
	out, err := m.Reconfigure(now, cfg, nil)
	if err != nil {
		if op != 0xff && (cfg.AdvBase != 0 || cfg.AdvSkew != 0) {
			t.Fatalf("reload %+v refused: %v", cfg, err)
		}
		if len(out) != 0 || m.timers != timers || settings(m.Config()) != settings(old) {
			t.Fatalf("refused reload changed the machine: %v", out)
		}
		return
	}
	if op == 0xff {
		t.Fatal("vhid changed in place")
	}
	if op == 0xfe && (len(out) != 0 || m.timers != timers) {
		t.Fatalf("reload of the same config: %v", out)
	}
	for _, a := range out {
		if a.Kind != ActionArmTimer || timers[a.Timer].IsZero() || a.At.Before(now) || a.At.Equal(timers[a.Timer]) {
			t.Fatalf("reload: %v %v at %v (was %v, now %v)", a.Kind, a.Timer, a.At, timers[a.Timer], now)
		}
	}
	if adv := m.timers[TimerAdvert]; adv.After(timers[TimerAdvert]) && adv.After(now) {
		t.Fatalf("reload delayed the next advert from %v to %v", timers[TimerAdvert], adv)
	}
	checkInvariants(t, m, now, before, Event{}, out)
}

func checkInvariants(t *testing.T, m *Machine, now time.Time, before State, ev Event, out []Action) {
	t.Helper()
	after := m.State()
	switches := 0
	for _, a := range out {
		switch a.Kind {
		case ActionLog:
			if a.Msg == MsgSwitchState {
				switches++
				if a.From != before || a.To != after {
					t.Fatalf("%v: logged %v->%v, machine went %v->%v", ev.Kind, a.From, a.To, before, after)
				}
			}
		case ActionArmTimer:
			if a.At.Before(now) {
				t.Fatalf("%v: timer %v armed in the past", ev.Kind, a.Timer)
			}
		case ActionAddVIP:
			if after != Master || before == Master {
				t.Fatalf("%v: add-vip on %v->%v", ev.Kind, before, after)
			}
		case ActionRemoveVIP:
			if before != Master || after == Master {
				t.Fatalf("%v: remove-vip on %v->%v", ev.Kind, before, after)
			}
		case ActionRunScript:
			if (a.Script == ScriptUp) != (a.To == Master) || a.To != after {
				t.Fatalf("%v: %v script for %v->%v", ev.Kind, a.Script, a.From, a.To)
			}
		case ActionSendAdvert, ActionAnnounce:
			if before != Master && after != Master {
				t.Fatalf("%v: %v by a %v", ev.Kind, a.Kind, after)
			}
			if a.Kind == ActionSendAdvert && a.Advert.AdvBase == BowOut && a.Advert.AdvSkew == BowOut &&
				(before != Master || after == Master) {
				t.Fatalf("%v: bow-out on %v->%v", ev.Kind, before, after)
			}
		}
	}
	if switches > 1 {
		t.Fatalf("%v: %d transitions for one event", ev.Kind, switches)
	}
	if ev.Kind == EventRelease {
		// The daemon's exit: back to INIT without a "Switching" line, as ucarp.
		if after != Init || switches != 0 {
			t.Fatalf("release: state %v with %d switch logs", after, switches)
		}
	} else if (switches == 1) != (before != after) {
		t.Fatalf("%v: state %v->%v with %d switch logs", ev.Kind, before, after, switches)
	}
	adv := m.timers[TimerAdvert]
	if after == Master && adv.IsZero() {
		t.Fatalf("%v: MASTER without an armed advert timer", ev.Kind)
	}
	if after != Master && !adv.IsZero() {
		t.Fatalf("%v: %v with an advert timer", ev.Kind, after)
	}
	waiting := after == Backup && !m.held && !m.linkDown
	for _, dt := range []Timer{TimerMasterDown, TimerMasterDown6} {
		md := m.timers[dt]
		want := waiting && (dt == TimerMasterDown || m.cfg.Families == FamilyBoth)
		if want != !md.IsZero() {
			t.Fatalf("%v: %v (demoted %v, carrier lost %v) with %v timer %v", ev.Kind, after, m.held, m.linkDown, dt, md)
		}
	}
	if m.held == m.timers[TimerHold].IsZero() {
		t.Fatalf("%v: demoted %v with hold timer %v", ev.Kind, m.held, m.timers[TimerHold])
	}
}
