package vrrp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/inet"
)

// The seed corpora are in testdata/fuzz/<target>/, one commented value per
// file; f.Add adds the hand-built and captured vectors on top.

// Checksum fix-ups of the fuzz inputs: random bytes almost never carry a
// right checksum, so an input may ask for one to be written in before it
// is decoded, and the fuzzer reaches what lies past the checksum test.
const (
	fixNone    = iota // decode the bytes as they are
	fixPseudo         // write the pseudo-header checksum (and the IPv4 header's)
	fixMessage        // write the message-only checksum (and the IPv4 header's)
)

// fuzzEndpoints are the addresses FuzzAdvert decodes with: keepalived's in
// the captures, so that the captured adverts are seeds as they are.
func fuzzEndpoints(ipv6 bool) (src, dst netip.Addr) {
	if ipv6 {
		return keepalivedSrc6, GroupIPv6
	}
	return keepalivedSrc4, GroupIPv4
}

// fixChecksum writes into msg (8 bytes or more) the checksum of the given
// form for src and dst.
func fixChecksum(msg []byte, src, dst netip.Addr, fix uint8) {
	if len(msg) < HeaderLen || fix == fixNone {
		return
	}
	form := ChecksumPseudoHeader
	if fix == fixMessage {
		form = ChecksumMessageOnly
	}
	msg[6], msg[7] = 0, 0
	binary.BigEndian.PutUint16(msg[6:], checksum(msg, src, dst, form))
}

// FuzzAdvert decodes a VRRP message, encodes it again in the form that
// matched, and decodes that: the fields must survive, the form too, and
// the bytes must be the input's but for the checksum field and the
// reserved bits.
func FuzzAdvert(f *testing.F) {
	for _, c := range codecCases {
		if s, d := fuzzEndpoints(c.src.Is6()); c.src == s && c.dst == d {
			f.Add(mustHex(f, c.wire), c.src.Is6(), uint8(fixNone))
		}
	}
	for _, v := range keepalivedVectors {
		frame := captureLine(f, keepalivedFile, v.key)
		if frame[12] == 0x86 {
			f.Add(frame[ethernetHeaderLen+ipv6HeaderLen:], true, uint8(fixNone))
		} else {
			f.Add(frame[ethernetHeaderLen+IPv4HeaderLen:], false, uint8(fixNone))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool, fix uint8) {
		src, dst := fuzzEndpoints(ipv6)
		b = slices.Clone(b)
		fixChecksum(b, src, dst, fix%3)
		var a Advert
		form, err := a.Unmarshal(b, src, dst)
		if err != nil {
			var r DropReason
			if !errors.As(err, &r) || r == DropNone || r >= NumDropReasons {
				t.Fatalf("error %v is not a drop reason", err)
			}
			return
		}
		if ipv6 && form != ChecksumPseudoHeader {
			t.Fatalf("IPv6 advert with a %v checksum", form)
		}
		enc, err := a.Marshal(src, dst, form)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", a, err)
		}
		if len(enc) != len(b) || !slices.Equal(enc[:4], b[:4]) || !slices.Equal(enc[8:], b[8:]) ||
			enc[4] != b[4]&0x0f || enc[5] != b[5] {
			t.Fatalf("re-encoding changed the message:\n %x\n %x", b, enc)
		}
		var g Advert
		form2, err := g.Unmarshal(enc, src, dst)
		if err != nil || form2 != form {
			t.Fatalf("decoding the re-encoding %x: %v, %v", enc, form2, err)
		}
		a.Checksum, g.Checksum = 0, 0
		if !advertsEqual(a, g) {
			t.Fatalf("round trip:\n %+v\n %+v", a, g)
		}
	})
}

// FuzzPacket does the same for whole IPv4 packets.
func FuzzPacket(f *testing.F) {
	for _, c := range packetCases {
		f.Add(mustHex(f, c.wire), uint8(fixNone))
	}
	for _, v := range keepalivedVectors {
		if frame := captureLine(f, keepalivedFile, v.key); frame[12] == 0x08 {
			f.Add(frame[ethernetHeaderLen:], uint8(fixNone))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, fix uint8) {
		b = slices.Clone(b)
		if fix%3 != fixNone && len(b) >= IPv4HeaderLen {
			// Both checksums, the header's first: the VRRP one covers
			// the addresses, not the header checksum.
			hl := int(b[0]&0x0f) * 4
			if hl >= IPv4HeaderLen && len(b) >= hl {
				b[10], b[11] = 0, 0
				binary.BigEndian.PutUint16(b[10:], inet.Checksum(b[:hl]))
				total := min(int(binary.BigEndian.Uint16(b[2:4])), len(b))
				if total > hl {
					src := netip.AddrFrom4([4]byte(b[12:16]))
					dst := netip.AddrFrom4([4]byte(b[16:20]))
					fixChecksum(b[hl:total], src, dst, fix%3)
				}
			}
		}
		var p Packet
		if err := p.UnmarshalBinary(b); err != nil {
			var r DropReason
			if !errors.As(err, &r) || r == DropNone || r >= NumDropReasons {
				t.Fatalf("error %v is not a drop reason", err)
			}
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		hl := IPv4HeaderLen + len(p.Options)
		if len(enc) != int(p.Length) || !slices.Equal(enc[:10], b[:10]) || !slices.Equal(enc[12:hl], b[12:hl]) {
			t.Fatalf("re-encoding changed the IPv4 header:\n %x\n %x", b[:hl], enc[:hl])
		}
		var q Packet
		if err := q.UnmarshalBinary(enc); err != nil {
			t.Fatalf("decoding the re-encoding %x: %v", enc, err)
		}
		p.Checksum, q.Checksum = 0, 0
		p.Advert.Checksum, q.Advert.Checksum = 0, 0
		if !packetsEqual(p, q) {
			t.Fatalf("round trip:\n %+v\n %+v", p, q)
		}
	})
}

// FuzzMachine drives a machine with random events and checks after each
// the invariants a caller relies on. The input is a byte of configuration
// (the priority; an odd one turns preemption off), then triples: the event
// kind, its argument and the time step in 10 ms. Kinds (mod 6): 0 startup,
// 1 shutdown, 2 an advert of priority arg, 3 timer arg&0x7f%3 (2 is no
// timer; with arg&0x80, delivered right on time), 4 priority arg, 5 an
// unknown kind. For an advert, k = kind/6 picks the source (k%4: 0
// 198.51.100.9, 1 the machine's own 198.51.100.10, 2 198.51.100.11, 3 an
// IPv6 address) and the interval (k/4%8 * 50 cs): 62 is 198.51.100.11 at
// 100 cs, 50 is 198.51.100.9 at 100 cs.
func FuzzMachine(f *testing.F) {
	// Startup, master-down on time, an advert of higher priority, the
	// leaving advert, master-down (after Skew_Time), shutdown.
	f.Add([]byte{100, 0, 0, 0, 3, 0x81, 0, 62, 200, 10, 62, 0, 10, 3, 0x81, 0, 1, 0, 10})
	// The owner: startup, its advert on time, a priority change it
	// ignores, an owner of a higher address, shutdown.
	f.Add([]byte{255, 0, 0, 0, 3, 0x80, 100, 4, 50, 1, 62, 255, 1, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 1 {
			return
		}
		m, err := NewMachine(Config{VRID: 1, Priority: b[0], Interval: 100, NoPreempt: b[0]&1 == 1, Src: self4})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		var out []Action
		for i := 1; i+2 < len(b); i += 3 {
			kind, arg := b[i]%6, b[i+1]
			now = now.Add(time.Duration(b[i+2]) * 10 * time.Millisecond)
			var ev Event
			switch kind {
			case 0:
				ev = Event{Kind: EventStartup}
			case 1:
				ev = Event{Kind: EventShutdown}
			case 2:
				k := b[i] / 6
				src := []netip.Addr{low4, self4, high4, self6}[k%4]
				ev = adv(src, arg, uint16(k/4%8)*50)
			case 3:
				ev = TimerEvent(Timer((arg & 0x7f) % uint8(NumTimers+1)))
				if ev.Timer < NumTimers && arg&0x80 != 0 && !m.timers[ev.Timer].IsZero() {
					now = m.timers[ev.Timer] // on time
				}
			case 4:
				ev = PriorityEvent(arg)
			case 5:
				ev = Event{Kind: EventKind(arg)}
			}
			before := m.State()
			out = m.Handle(now, ev, out[:0])
			checkInvariants(t, m, now, before, ev, out)
		}
	})
}

func checkInvariants(t *testing.T, m *Machine, now time.Time, before State, ev Event, out []Action) {
	t.Helper()
	after := m.State()
	transitions := 0
	for _, a := range out {
		switch a.Kind {
		case ActionTransition:
			transitions++
			if a.From != before || a.To != after || a.From == a.To || a.Reason == ReasonNone {
				t.Fatalf("%v: transition %v->%v (%v), machine went %v->%v", ev.Kind, a.From, a.To, a.Reason, before, after)
			}
		case ActionArmTimer:
			if a.At.Before(now) {
				t.Fatalf("%v: timer %v armed in the past", ev.Kind, a.Timer)
			}
		case ActionSendAdvert:
			leaving := a.Priority == LeavePriority
			if leaving != (before == Master && after == Initialize) || !leaving && after != Master {
				t.Fatalf("%v: advert of priority %d on %v->%v", ev.Kind, a.Priority, before, after)
			}
			if !leaving && a.Priority != m.Priority() {
				t.Fatalf("%v: advert of priority %d, the machine's is %d", ev.Kind, a.Priority, m.Priority())
			}
		case ActionAnnounce:
			if after != Master || before == Master {
				t.Fatalf("%v: announce on %v->%v", ev.Kind, before, after)
			}
		}
	}
	if transitions != 0 && before == after || transitions > 1 || transitions == 0 && before != after {
		t.Fatalf("%v: %d transitions for %v->%v", ev.Kind, transitions, before, after)
	}
	adver, down := !m.timers[TimerAdver].IsZero(), !m.timers[TimerMasterDown].IsZero()
	switch after {
	case Initialize:
		if adver || down {
			t.Fatalf("%v: INIT with timers %v", ev.Kind, m.timers)
		}
	case Backup:
		if adver || !down {
			t.Fatalf("%v: BACKUP with timers %v", ev.Kind, m.timers)
		}
	case Master:
		if !adver || down {
			t.Fatalf("%v: MASTER with timers %v", ev.Kind, m.timers)
		}
	}
}
