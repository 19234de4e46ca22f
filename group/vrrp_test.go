package group

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/vrrp"
)

// kinds names the actions as "kind" or "kind:detail" for the table.
func kinds(as []carp.Action) string {
	var s []string
	for _, a := range as {
		switch a.Kind {
		case carp.ActionSendAdvert:
			s = append(s, fmt.Sprintf("send:%d", a.Advert.AdvSkew))
		case carp.ActionRunScript:
			s = append(s, "script:"+a.Script.String())
		case carp.ActionLog:
			if a.Msg == carp.MsgSwitchState {
				s = append(s, fmt.Sprintf("state:%s:%s", a.To, a.Reason))
			} else {
				s = append(s, "log")
			}
		case carp.ActionArmTimer, carp.ActionStopTimer:
			s = append(s, a.Kind.String()+":"+a.Timer.String())
		default:
			s = append(s, a.Kind.String())
		}
	}
	return strings.Join(s, " ")
}

// TestVRRPMachineActions: what the loop gets from a VRRPv3 group's
// machine: CARP's scripts and address around each transition, the
// priority-0 advert of a leaving MASTER (release, SIGUSR2, never on a
// lost carrier), and a demotion that lowers the priority but never to 0.
func TestVRRPMachineActions(t *testing.T) {
	c := &Config{VHID: 51, Priority: 100, AdvertInterval: 100, Protocol: ProtocolVRRP3,
		Addr: netip.MustParsePrefix("198.51.100.100/32"), DownScript: "/down"}
	src := netip.MustParseAddr("198.51.100.1")
	v, err := newVRRPMachine(c, true, src)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1e9, 0)
	step := func(name string, at time.Duration, ev carp.Event, want string) {
		t.Helper()
		if got := kinds(v.Handle(t0.Add(at), ev, nil)); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	step("start", 0, carp.Event{Kind: carp.EventStart},
		"state:BACKUP:start script:down arm-timer:master-down")
	step("master down", vrrp.MasterDownInterval(100, 100), carp.TimerEvent(carp.TimerMasterDown),
		"state:MASTER:master-down add-vip script:up send:100 arm-timer:advert announce")
	if got := kinds(v.SetDemotion(t0, 300, nil)); got != "" || v.Priority() != 1 {
		t.Errorf("demotion 300: %q, priority %d, want 1", got, v.Priority())
	}
	v.SetDemotion(t0, 0, nil)
	step("a higher priority", 5*time.Second, vrrpAdvertEvent(netip.MustParseAddr("198.51.100.2"), &vrrp.Advert{Priority: 200, MaxAdvertInterval: 50}),
		"stop-timer:advert state:BACKUP:higher-priority script:down remove-vip arm-timer:master-down")
	step("master left", 6*time.Second, vrrpAdvertEvent(netip.MustParseAddr("198.51.100.2"), &vrrp.Advert{Priority: 0, MaxAdvertInterval: 50}),
		"arm-timer:master-down")
	step("skew time", 6*time.Second+vrrp.SkewTime(100, 50), carp.TimerEvent(carp.TimerMasterDown),
		"state:MASTER:master-left add-vip script:up send:100 arm-timer:advert announce")
	step("SIGUSR2", 7*time.Second, carp.Event{Kind: carp.EventDemote},
		"stop-timer:advert send:0 state:BACKUP:demote script:down remove-vip log arm-timer:hold")
	step("an advert while held", 8*time.Second, vrrpAdvertEvent(netip.MustParseAddr("198.51.100.2"), &vrrp.Advert{Priority: 50, MaxAdvertInterval: 100}), "")
	step("hold over", 10*time.Second, carp.TimerEvent(carp.TimerHold), "log arm-timer:master-down")
	step("master down again", 20*time.Second, carp.TimerEvent(carp.TimerMasterDown),
		"state:MASTER:master-down add-vip script:up send:100 arm-timer:advert announce")
	step("carrier lost", 21*time.Second, carp.Event{Kind: carp.EventLinkDown},
		"log stop-timer:advert state:BACKUP:carrier-lost script:down remove-vip")
	step("carrier back", 22*time.Second, carp.Event{Kind: carp.EventLinkUp}, "log arm-timer:master-down")
	step("master down once more", 30*time.Second, carp.TimerEvent(carp.TimerMasterDown),
		"state:MASTER:master-down add-vip script:up send:100 arm-timer:advert announce")
	step("release", 31*time.Second, carp.ReleaseEvent(true), "stop-timer:advert send:0 script:down remove-vip")
	if v.State() != carp.Init {
		t.Errorf("state %s after release", v.State())
	}
}

// TestVRRPScriptEnvironment: a VRRPv3 group's scripts get CARP_PROTOCOL
// and its reasons; a CARP group's get CARP_PROTOCOL=carp.
func TestVRRPScriptEnvironment(t *testing.T) {
	for _, p := range []Protocol{ProtocolCARP, ProtocolVRRP3} {
		d := &Group{deps: deps{cfg: &Config{Interface: "eth0", VHID: 51, Protocol: p, UpScript: "/up",
			Addr: netip.MustParsePrefix("198.51.100.100/32"), AddrArg: "198.51.100.100"}}}
		job, ok := d.scriptJob(carp.Action{Kind: carp.ActionRunScript, Script: carp.ScriptUp, From: carp.Backup, To: carp.Master,
			Reason: carp.ReasonMasterLeft})
		if !ok {
			t.Fatal("no job")
		}
		for _, kv := range []string{"CARP_PROTOCOL=" + p.String(), "CARP_REASON=master-left", "CARP_VHID=51"} {
			if !slices.Contains(job.env, kv) {
				t.Errorf("%s: no %s in %q", p, kv, job.env)
			}
		}
	}
}

// TestIsForeign: VRRPv2 adverts are told from CARP's by length alone.
func TestIsForeign(t *testing.T) {
	ip := func(payload []byte) []byte {
		return append([]byte{0x45, 0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0, 198, 51, 100, 1, 224, 0, 0, 18}, payload...)
	}
	vrrp2 := func(n int) []byte {
		return ip(append([]byte{0x21, 1, 100, byte(n), 0, 1, 0, 0}, make([]byte, 4*n+8)...))
	}
	carpAd := ip(append([]byte{0x21, 1, 0, 7}, make([]byte, 32)...))
	for _, tc := range []struct {
		name string
		pkt  []byte
		want bool
	}{
		{"CARP", carpAd, false},
		{"CARP with a trailer", append(slices.Clone(carpAd), make([]byte, 20)...), false},
		{"VRRPv2 of 1 address", vrrp2(1), true},
		{"VRRPv2 of 5 addresses (36 bytes)", vrrp2(5), true},
		{"VRRPv2 of 7 addresses (44 bytes, 7 in authlen's place)", vrrp2(7), true},
		{"VRRPv2 of 17 addresses (84 bytes, CARP's length with a trailer)", vrrp2(17), true},
		{"VRRPv3", ip([]byte{0x31, 1, 100, 1, 0, 100, 0, 0, 198, 51, 100, 100}), false},
		{"short", ip([]byte{0x21, 1}), false},
	} {
		if got := isForeign(tc.pkt); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestVRRPReloadWhileReceiving: the reader checks VRRPv3 adverts with
// the group's VRID, family and own address while the loop reloads the
// group (run with -race: it used to read the loop's d.cfg).
func TestVRRPReloadWhileReceiving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) {
			c.Protocol, c.Priority, c.AdvertInterval, c.Password = ProtocolVRRP3, 100, 100, nil
		})
		defer h.close()
		adv := vrrp.Advert{Version: vrrp.Version, Type: vrrp.TypeAdvertisement, VRID: 1, Priority: 50,
			MaxAdvertInterval: 100, Addrs: []netip.Addr{loopVIP.Addr()}}
		p := vrrp.NewPacket(loopPeer, defaultGroup, 1, adv, vrrp.ChecksumPseudoHeader)
		pkt, err := p.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := h.d.cfg
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 100 {
				c := *cfg
				c.Priority = uint8(100 + i)
				if err := h.d.Reconfigure(c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		for range 100 {
			h.d.Deliver(pkt)
			runtime.Gosched()
		}
		<-done
		synctest.Wait()
	})
}

// TestVRRPChecksumMode: in auto, an IPv4 group sends RFC 9568's
// message-only checksum until it hears a peer, then the peer's form,
// logging each switch once; a forced mode keeps its form whatever the
// peer sends. Every mode accepts both forms.
func TestVRRPChecksumMode(t *testing.T) {
	M, P := vrrp.ChecksumMessageOnly, vrrp.ChecksumPseudoHeader
	for _, tc := range []struct {
		mode  ChecksumMode
		first vrrp.ChecksumForm
		peer  []vrrp.ChecksumForm // the forms of the peer's adverts, in turn
		after []vrrp.ChecksumForm // the form sent after each
		logs  int                 // switches logged
	}{
		{ChecksumAuto, M, []vrrp.ChecksumForm{P, P, M}, []vrrp.ChecksumForm{P, P, M}, 2},
		{ChecksumForceMessageOnly, M, []vrrp.ChecksumForm{P, M}, []vrrp.ChecksumForm{M, M}, 0},
		{ChecksumForcePseudoHeader, P, []vrrp.ChecksumForm{M, P}, []vrrp.ChecksumForm{P, P}, 0},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startHarness(t, func(c *testConfig) {
					c.Protocol, c.Priority, c.AdvertInterval, c.Password, c.Checksum = ProtocolVRRP3, 200, 100, nil, tc.mode
				})
				defer h.close()
				lastForm := func() vrrp.ChecksumForm {
					t.Helper()
					as := h.conn.adverts()
					if len(as) == 0 {
						t.Fatal("no advert sent")
					}
					var p vrrp.Packet
					if err := p.UnmarshalBinary(as[len(as)-1].raw); err != nil {
						t.Fatal(err)
					}
					return p.Form
				}
				h.at(5 * time.Second)
				if h.state() != carp.Master {
					t.Fatalf("state %v", h.state())
				}
				if f := lastForm(); f != tc.first {
					t.Fatalf("first adverts in %v, want %v", f, tc.first)
				}
				at := 5 * time.Second
				for i, form := range tc.peer {
					adv := vrrp.Advert{Version: vrrp.Version, Type: vrrp.TypeAdvertisement, VRID: 1, Priority: 50,
						MaxAdvertInterval: 100, Addrs: []netip.Addr{loopVIP.Addr()}}
					p := vrrp.NewPacket(loopPeer, defaultGroup, 1, adv, form)
					pkt, err := p.AppendBinary(nil)
					if err != nil {
						t.Fatal(err)
					}
					h.conn.in <- pkt
					at += 2 * time.Second
					h.at(at)
					if f := lastForm(); f != tc.after[i] {
						t.Errorf("after a peer's advert in %v: sends %v, want %v", form, f, tc.after[i])
					}
				}
				if n := h.logs.count("VRRPv3 peer 198.51.100.11 uses the"); n != tc.logs {
					t.Errorf("%d switches logged, want %d:\n%s", n, tc.logs, h.logs)
				}
				if h.state() != carp.Master {
					t.Errorf("state %v: the peer's adverts were not all accepted?", h.state())
				}
				var got uint64
				h.d.vrrpDrops(func(string, uint64) { got++ })
				if got != 0 {
					t.Errorf("drops: %d kinds", got)
				}
			})
		})
	}
}

// TestParseNames checks that ParseProtocol and ParseChecksumMode read
// back every name String gives (the names of --protocol, --vrrp-checksum
// and their config keys) and nothing else.
func TestParseNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Protocol
	}{{"carp", ProtocolCARP}, {"vrrp3", ProtocolVRRP3}} {
		if p, ok := ParseProtocol(tc.name); !ok || p != tc.want || p.String() != tc.name {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v", tc.name, p, ok, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		want ChecksumMode
	}{{"auto", ChecksumAuto}, {"message-only", ChecksumForceMessageOnly}, {"pseudo-header", ChecksumForcePseudoHeader}} {
		if m, ok := ParseChecksumMode(tc.name); !ok || m != tc.want || m.String() != tc.name {
			t.Errorf("ParseChecksumMode(%q) = %v, %v; want %v", tc.name, m, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "CARP", "vrrp2", "Protocol(2)", "ChecksumMode(3)", "pseudo"} {
		if p, ok := ParseProtocol(bad); ok {
			t.Errorf("ParseProtocol(%q) = %v, want an error", bad, p)
		}
		if m, ok := ParseChecksumMode(bad); ok {
			t.Errorf("ParseChecksumMode(%q) = %v, want an error", bad, m)
		}
	}
}
