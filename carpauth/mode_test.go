package carpauth

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	failures := []Result{ResultMalformed, ResultBadVersion, ResultUnknownKey, ResultBadMAC, ResultReplay, ResultStale, ResultFuture}
	for _, m := range []Mode{Off, ReceiveOnly, Permissive, Enforce} {
		t.Run(m.String(), func(t *testing.T) {
			if got := Decide(m, false, ResultAbsent); got != (Verdict{Drop: m == Enforce, Result: ResultAbsent}) {
				t.Errorf("plain: %+v", got)
			}
			want := Verdict{Result: ResultVerified}
			if m == Off {
				want.Result = ResultAbsent
			}
			if got := Decide(m, true, ResultVerified); got != want {
				t.Errorf("verified: %+v, want %+v", got, want)
			}
			for _, r := range failures {
				want := Verdict{Drop: m == Enforce, Result: r}
				if m == Off {
					want = Verdict{Result: ResultAbsent}
				}
				if got := Decide(m, true, r); got != want {
					t.Errorf("%v: %+v, want %+v", r, got, want)
				}
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ReceiveOnly, Permissive, Enforce} {
		if got, err := ParseMode(m.String()); got != m || err != nil {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	for _, s := range []string{"", "off", "Enforce", "receive_only"} {
		if _, err := ParseMode(s); err == nil {
			t.Errorf("ParseMode(%q) accepted", s)
		}
	}
	if Mode(9).String() != "Mode(9)" || Result(99).String() != "Result(99)" {
		t.Error("String of an unknown value")
	}
}

// host is one daemon of a pair in the rollout tests: its mode, the
// signer of what it sends and the verifier of what it receives.
type host struct {
	name string
	src  netip.Addr
	s    *Signer
	v    *Verifier
}

func (h *host) send(t *testing.T, m Mode, q uint64) []byte {
	if m.Sends() {
		return sealed(t, h.s, h.src, q)
	}
	return advert(t, h.src, 0, q)
}

// TestRollout moves a running pair from plain CARP to enforce, one
// host and one mode at a time, along several paths: the good ones never
// make a host drop the other's adverts; the bad ones do, at the step
// named (which shows that the check can fail).
func TestRollout(t *testing.T) {
	type modes struct{ a, b Mode }
	for _, tt := range []struct {
		name  string
		steps []modes
		drop  string // "" or "step N: X drops Y's advert"
	}{
		{"alternating", []modes{
			{Off, Off}, {ReceiveOnly, Off}, {ReceiveOnly, ReceiveOnly}, {Permissive, ReceiveOnly},
			{Permissive, Permissive}, {Enforce, Permissive}, {Enforce, Enforce}}, ""},
		{"A through permissive, then B, then enforce", []modes{
			{Off, Off}, {ReceiveOnly, Off}, {Permissive, Off}, {Permissive, ReceiveOnly},
			{Permissive, Permissive}, {Enforce, Permissive}, {Enforce, Enforce}}, ""},
		{"straight to permissive", []modes{{Off, Off}, {Permissive, Off}, {Permissive, Permissive}, {Enforce, Permissive}, {Enforce, Enforce}}, ""},
		{"back out of enforce", []modes{{Enforce, Enforce}, {Permissive, Enforce}, {Permissive, Permissive}, {Off, Permissive}, {Off, Off}}, ""},
		{"back out too fast", []modes{{Enforce, Enforce}, {Off, Enforce}}, "step 1: B drops A's advert"},
		{"back out: permissive both first", []modes{{Enforce, Enforce}, {Enforce, Permissive}, {Permissive, Permissive}, {ReceiveOnly, Permissive}, {ReceiveOnly, ReceiveOnly}, {Off, Off}}, ""},
		{"A enforces while B sends plain", []modes{{Off, Off}, {Enforce, Off}}, "step 1: A drops B's advert"},
		{"A enforces while B only receives", []modes{{ReceiveOnly, ReceiveOnly}, {Enforce, ReceiveOnly}}, "step 1: A drops B's advert"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kr := keyring(t, key(1, 0x11))
			a := &host{name: "A", src: srcA, s: newSigner(t, kr), v: newVerifier(t, kr, Config{})}
			b := &host{name: "B", src: srcB, s: newSigner(t, kr), v: newVerifier(t, kr, Config{})}
			var counted Counters
			tick := time.Duration(0)
			drop := ""
			for i, st := range tt.steps {
				a.v.SetMode(st.a)
				b.v.SetMode(st.b)
				for range 3 {
					tick += time.Second
					now := at(tick, tick)
					for _, x := range []struct {
						from, to *host
						m        Mode
					}{{a, b, st.a}, {b, a, st.b}} {
						pkt := x.from.send(t, x.m, seq(tick))
						src, dst, payload, _ := PayloadIPv4(pkt)
						v := x.to.v.check(src, dst, payload, now)
						counted.Count(v)
						if v.Drop && drop == "" {
							drop = fmt.Sprintf("step %d: %s drops %s's advert", i, x.to.name, x.from.name)
						}
						// A host that looks at the trailer verifies it.
						if x.to.v.Mode() != Off && x.m.Sends() && v.Result != ResultVerified {
							t.Fatalf("step %d: %s finds %v in %s's advert", i, x.to.name, v.Result, x.from.name)
						}
					}
				}
			}
			if drop != tt.drop {
				t.Fatalf("first drop %q, want %q", drop, tt.drop)
			}
			if tt.drop == "" && counted.Dropped(ResultAbsent) != 0 {
				t.Fatal("counted drops")
			}
		})
	}
}

func TestCounters(t *testing.T) {
	var c Counters
	c.Count(Verdict{Result: ResultVerified})
	c.Count(Verdict{Result: ResultVerified})
	c.Count(Verdict{Drop: true, Result: ResultBadMAC})
	c.Count(Verdict{Result: ResultBadMAC}) // permissive: accepted, would be dropped
	c.Count(Verdict{Drop: true, Result: NumResults})
	for _, tt := range []struct {
		name      string
		got, want uint64
	}{
		{"accepted verified", c.Accepted(ResultVerified), 2},
		{"dropped verified", c.Dropped(ResultVerified), 0},
		{"dropped bad-mac", c.Dropped(ResultBadMAC), 1},
		{"accepted bad-mac", c.Accepted(ResultBadMAC), 1},
		{"out of range", c.Dropped(NumResults), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// TestResultNames keeps the metric labels stable and distinct.
func TestResultNames(t *testing.T) {
	want := []string{"verified", "absent", "malformed", "bad-version", "unknown-key", "bad-mac", "replay", "stale", "future"}
	if len(want) != int(NumResults) {
		t.Fatalf("%d names for %d results", len(want), NumResults)
	}
	for r := range NumResults {
		if r.String() != want[r] {
			t.Errorf("Result(%d) = %q, want %q", r, r.String(), want[r])
		}
		if r.Failed() != (r != ResultVerified && r != ResultAbsent) {
			t.Errorf("%v.Failed()", r)
		}
	}
}
