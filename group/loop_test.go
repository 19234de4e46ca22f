package group

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/syncbuf"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
	"github.com/ucarp-go/ucarp/vrrp"
)

// fakeConn is an in-memory advert socket: packets written are recorded
// with the (fake) time, packets to receive are pushed on in.
type fakeConn struct {
	in     chan []byte
	mu     sync.Mutex
	sent   []sentPacket
	fail   bool
	failTo netip.Addr // the destination that writes fail to (EHOSTDOWN)
	closed chan struct{}
}

type sentPacket struct {
	at  time.Time
	h   carp.Header
	raw []byte // the packet as written
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan []byte, 1024), closed: make(chan struct{})}
}

func (c *fakeConn) ReadPacket(b []byte) (int, error) {
	select {
	case p := <-c.in:
		return copy(b, p), nil
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

func (c *fakeConn) WritePacket(pkt []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return syscall.ENETUNREACH
	}
	if c.failTo.IsValid() && len(pkt) >= 20 && netip.AddrFrom4([4]byte(pkt[16:20])) == c.failTo {
		return syscall.EHOSTDOWN
	}
	var p carp.Packet
	vrrp3 := len(pkt) > carp.IPv4HeaderLen && pkt[carp.IPv4HeaderLen]>>4 == vrrp.Version // kept raw, h zero
	if err := p.UnmarshalBinary(pkt); err != nil && !vrrp3 {
		panic(err)
	}
	c.sent = append(c.sent, sentPacket{time.Now(), p.Header, slices.Clone(pkt)})
	return nil
}

func (c *fakeConn) Close() error { close(c.closed); return nil }

func (c *fakeConn) adverts() []sentPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

type fakeFrames struct {
	mu  sync.Mutex
	at  []time.Time
	buf [][]byte
}

func (f *fakeFrames) WriteFrame(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = append(f.at, time.Now())
	f.buf = append(f.buf, slices.Clone(b))
	return nil
}
func (f *fakeFrames) Close() error { return nil }
func (f *fakeFrames) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.at)
}

// harness is one daemon inside a synctest bubble.
type harness struct {
	t       *testing.T
	d       *Group
	conn    *fakeConn
	arp     *fakeFrames
	addrs   *viptest.Addrs
	link    chan platform.LinkState
	addrChg chan struct{}
	sigs    chan os.Signal
	logs    *syncBuffer
	t0      time.Time
	plan    *Exit
	done    chan struct{}
	peer    *carp.Auth
}

// syncBuffer collects the group's log lines.
type syncBuffer struct{ syncbuf.Buffer }

func (s *syncBuffer) count(sub string) int { return s.Count(sub) }

// textHandler writes "[LEVEL] message" lines, ucarp's words without the
// console's timestamp.
type textHandler struct {
	w     io.Writer
	debug bool
}

func (h textHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.debug
}
func (h textHandler) Handle(_ context.Context, r slog.Record) error {
	name := map[slog.Level]string{slog.LevelDebug: "DEBUG", slog.LevelInfo: "INFO", slog.LevelWarn: "WARNING", slog.LevelError: "ERROR"}[r.Level]
	_, err := fmt.Fprintf(h.w, "[%s] %s\n", name, r.Message)
	return err
}
func (h textHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h textHandler) WithGroup(string) slog.Handler      { return h }

// testLog is a logger that writes to w, with DEBUG lines when debug.
func testLog(w io.Writer, debug bool) logger { return logger{slog.New(textHandler{w, debug})} }

// manageMode says who manages the address in a harness.
type manageMode int

const (
	manageAuto manageMode = iota // the group, when no script is given
	manageOn
	manageOff
)

// testConfig is a group's Config and the harness's own settings.
type testConfig struct {
	Config
	manage manageMode
	debug  bool
	conn   func(*fakeConn) platform.IPConn // wraps the fake socket (nil: as it is)
	// newTimer is Deps.NewTimer (nil: a time.Timer).
	newTimer func() (platform.Timer, error)
}

func (c *testConfig) managesVIP() bool {
	return c.manage == manageOn || c.manage == manageAuto && c.UpScript == "" && c.DownScript == ""
}

var defaultGroup = netip.MustParseAddr("224.0.0.18")

// handleSignals maps ucarp's signals to the group's methods, as
// cmd/ucarp does.
func handleSignals(g *Group, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				g.Report()
			case syscall.SIGUSR2:
				g.Demote()
			default:
				g.Stop(sig)
			}
		case <-done:
			return
		}
	}
}

var (
	loopSrc  = netip.MustParseAddr("198.51.100.12")
	loopPeer = netip.MustParseAddr("198.51.100.11")
	loopVIP  = netip.MustParsePrefix("198.51.100.100/32")
)

// startHarness starts a daemon with advbase 1, advskew 100, deadratio 3
// (dead time 3.390625 s, advert every 1.390625 s), managing the address.
func startHarness(t *testing.T, edit func(c *testConfig)) *harness {
	return startHarnessWith(t, edit, nil)
}

// startHarnessWith is startHarness with a script runner of the test's
// (nil: the real one, with no timeout).
func startHarnessWith(t *testing.T, edit func(c *testConfig), run scripts) *harness {
	c := &testConfig{Config: Config{Interface: "eth0", Src: loopSrc, Mcast: defaultGroup, VHID: 1, Password: []byte("carplab"),
		Addr: loopVIP, AddrArg: "198.51.100.100", AdvBase: 1, AdvSkew: 100, DeadRatio: 3, GARPCount: 1,
		GARPInterval: time.Second}, debug: true}
	if edit != nil {
		edit(c)
	}
	logs := &syncBuffer{}
	log := testLog(logs, c.debug)
	h := &harness{t: t, conn: newFakeConn(), arp: &fakeFrames{}, addrs: viptest.New("eth0"),
		link: make(chan platform.LinkState, 16), addrChg: make(chan struct{}, 1), sigs: make(chan os.Signal, 64),
		logs: logs, t0: time.Now(), done: make(chan struct{})}
	var addrs vip.System
	if c.managesVIP() {
		addrs = h.addrs
	}
	if run == nil {
		run = newRunner(log, 0)
	}
	seq := uint64(0)
	var conn platform.IPConn = h.conn
	if c.conn != nil {
		conn = c.conn(h.conn)
	}
	d, err := New(c.Config, Deps{Log: log.Logger, MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x0c}, Conn: conn, ARP: h.arp,
		Addrs: addrs, Link: h.link, AddrChanged: h.addrChg, Initial: platform.LinkState{Up: true, Running: true},
		Random: func() uint64 { seq++; return seq }, scripts: run, NewTimer: c.newTimer})
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	h.peer, _ = carp.NewAuth([]byte("carplab"), 1, []netip.Addr{loopVIP.Addr()})
	go func() {
		h.plan = d.Run()
		h.conn.Close()
		close(h.done)
	}()
	go handleSignals(d, h.sigs, h.done)
	synctest.Wait()
	return h
}

// close stops the daemon if the test has not, so that the bubble ends
// with no goroutine left.
func (h *harness) close() {
	if h.stopped() {
		return
	}
	h.sigs <- syscall.SIGTERM
	synctest.Wait()
	if !h.stopped() {
		h.t.Fatal("the daemon did not stop on SIGTERM")
	}
}

// at sleeps until t0+d on the fake clock and lets the daemon settle.
func (h *harness) at(d time.Duration) {
	h.t.Helper()
	if wait := time.Until(h.t0.Add(d)); wait > 0 {
		time.Sleep(wait)
	}
	synctest.Wait()
}

func (h *harness) state() (s carp.State) {
	synctest.Wait()
	h.d.inLoop(func() { s = h.d.m.State() })
	return s
}

// receive delivers an advert from the peer.
func (h *harness) receive(advbase, advskew uint8, edit func(p *carp.Packet)) {
	hd := carp.Header{Version: 2, Type: 1, VHID: 1, AdvBase: advbase, AdvSkew: advskew, AuthLen: 7, Counter: 500}
	h.peer.Sign(&hd)
	p := carp.NewPacket(loopPeer, defaultGroup, 9, hd)
	if edit != nil {
		edit(&p)
	}
	b, _ := p.MarshalBinary()
	h.conn.in <- b
	synctest.Wait()
}

func (h *harness) offsets(ts []time.Time) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, t.Sub(h.t0))
	}
	return out
}

func (h *harness) advertTimes() []time.Duration {
	var ts []time.Time
	for _, s := range h.conn.adverts() {
		ts = append(ts, s.at)
	}
	return h.offsets(ts)
}

func (h *harness) stopped() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

func us(n int64) time.Duration { return time.Duration(n) * time.Microsecond }

func TestLoopTakeoverAndAdverts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		if h.state() != carp.Backup {
			t.Fatalf("state %v", h.state())
		}
		h.at(us(3_390_624))
		if h.state() != carp.Backup {
			t.Fatal("took over early")
		}
		h.at(10 * time.Second)
		want := []time.Duration{us(3_390_625), us(4_781_250), us(6_171_875), us(7_562_500), us(8_953_125)}
		if got := h.advertTimes(); !slices.Equal(got, want) {
			t.Fatalf("adverts at %v, want %v", got, want)
		}
		// Gratuitous ARP at the takeover and two adverts later.
		if got := h.offsets(h.arp.times()); !slices.Equal(got, []time.Duration{us(3_390_625), us(6_171_875)}) {
			t.Fatalf("gratuitous ARP at %v", got)
		}
		if !h.addrs.Has(loopVIP.Addr()) {
			t.Fatal("address not added")
		}
		if h.logs.count("[WARNING] Switching to state: MASTER") != 1 {
			t.Fatalf("logs:\n%s", h.logs)
		}
	})
}

func TestLoopPreferredMasterAndBowOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second) // MASTER since 3.390625 s
		h.receive(1, 0, nil)  // a faster master
		if h.state() != carp.Backup || h.addrs.Has(loopVIP.Addr()) {
			t.Fatalf("state %v, address kept %v", h.state(), h.addrs.Has(loopVIP.Addr()))
		}
		ads := h.conn.adverts()
		if last := ads[len(ads)-1]; last.at.Sub(h.t0) != 4*time.Second || last.h.Counter != 501 {
			t.Fatalf("no extra advert on stepping down: %+v", last)
		}
		if !strings.Contains(h.logs.String(), "[WARNING] Preferred master advertised: going back to BACKUP state") {
			t.Fatalf("logs:\n%s", h.logs)
		}
		// Nothing is heard any more: MASTER again after the dead time.
		h.at(4*time.Second + us(3_390_625))
		if h.state() != carp.Master {
			t.Fatal("no takeover after the peer went silent")
		}
	})
}

func TestLoopSignals(t *testing.T) {
	t.Run("USR1 status line", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, nil)
			defer h.close()
			h.sigs <- syscall.SIGUSR1
			h.at(4 * time.Second)
			h.sigs <- syscall.SIGUSR1
			synctest.Wait()
			logs := h.logs.String()
			if !strings.Contains(logs, "[INFO] BACKUP on eth0 id 1\n") || !strings.Contains(logs, "[INFO] MASTER on eth0 id 1\n") ||
				!strings.Contains(logs, "[INFO] Counters: adverts sent 1 (errors 0)") {
				t.Fatalf("logs:\n%s", logs)
			}
		})
	})
	t.Run("USR2 hands over with a bow-out and comes back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, nil)
			defer h.close()
			h.at(4 * time.Second)
			h.sigs <- syscall.SIGUSR2
			synctest.Wait()
			ads := h.conn.adverts()
			if last := ads[len(ads)-1].h; last.AdvBase != 255 || last.AdvSkew != 255 || h.state() != carp.Backup {
				t.Fatalf("last advert %+v, state %v", last, h.state())
			}
			if h.addrs.Has(loopVIP.Addr()) {
				t.Fatal("address kept")
			}
			// Held 3 s, then a dead time: back at 4 + 3 + 3.390625 s.
			h.at(10*time.Second + us(390_624))
			if h.state() != carp.Backup {
				t.Fatal("back too early")
			}
			h.at(10*time.Second + us(390_625))
			if h.state() != carp.Master {
				t.Fatal("not back after the hold and the dead time")
			}
		})
	})
	t.Run("TERM with -z: bow-out, address removed, exit 0", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, func(c *testConfig) { c.Shutdown = true })
			defer h.close()
			h.at(4 * time.Second)
			h.sigs <- syscall.SIGTERM
			synctest.Wait()
			if !h.stopped() || h.plan.Code != 0 || h.plan.Reraise != nil {
				t.Fatalf("stopped %v plan %+v", h.stopped(), h.plan)
			}
			ads := h.conn.adverts()
			if last := ads[len(ads)-1].h; last.AdvBase != 255 || h.addrs.Has(loopVIP.Addr()) {
				t.Fatalf("last advert %+v, address %v", last, h.addrs.Has(loopVIP.Addr()))
			}
			if !strings.Contains(h.logs.String(), "[DEBUG] sighandler_exit(): Calling [(null)] and exiting") {
				t.Fatalf("logs:\n%s", h.logs)
			}
		})
	})
	t.Run("TERM without -z: the managed address is removed, the signal re-raised", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, nil)
			defer h.close()
			h.at(4 * time.Second)
			h.sigs <- syscall.SIGTERM
			synctest.Wait()
			if !h.stopped() || h.plan.Reraise != syscall.SIGTERM || h.addrs.Has(loopVIP.Addr()) {
				t.Fatalf("stopped %v plan %+v", h.stopped(), h.plan)
			}
		})
	})
	t.Run("TERM without -z, scripts own the address: no bow-out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, func(c *testConfig) { c.manage = manageOff })
			defer h.close()
			h.at(4 * time.Second)
			n := len(h.conn.adverts())
			h.sigs <- syscall.SIGTERM
			synctest.Wait()
			if !h.stopped() || len(h.conn.adverts()) != n {
				t.Fatalf("stopped %v, %d adverts after TERM", h.stopped(), len(h.conn.adverts())-n)
			}
		})
	})
	t.Run("a burst of signals is handled in order, none lost", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, func(c *testConfig) { c.Shutdown = true })
			defer h.close()
			h.at(4 * time.Second)
			for range 20 {
				h.sigs <- syscall.SIGUSR1
			}
			h.sigs <- syscall.SIGUSR2
			h.sigs <- syscall.SIGUSR1
			h.sigs <- syscall.SIGTERM
			synctest.Wait()
			if n := h.logs.count("[INFO] MASTER on eth0 id 1"); n != 20 {
				t.Fatalf("%d status lines before the demotion", n)
			}
			if h.logs.count("[INFO] BACKUP on eth0 id 1") != 1 || !h.stopped() {
				t.Fatalf("logs:\n%s", h.logs)
			}
		})
	})
}

func TestLoopForgedAndMalformed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, func(c *testConfig) { c.debug = false })
		defer h.close()
		h.at(4 * time.Second)
		wrong, _ := carp.NewAuth([]byte("wrong"), 1, []netip.Addr{loopVIP.Addr()})
		// 10,000 forged adverts with a better skew and the wrong password,
		// plus malformed ones, within one second.
		for i := range 10000 {
			switch i % 5 {
			case 0:
				h.receive(1, 0, func(p *carp.Packet) { wrong.Sign(&p.Header) })
			case 1:
				h.receive(1, 0, func(p *carp.Packet) { p.TTL = 254 })
			case 2:
				h.conn.in <- []byte{0x45, 0, 0, 20}
			case 3:
				h.receive(1, 0, func(p *carp.Packet) { p.Header.VHID = 2 })
			case 4:
				h.receive(1, 0, func(p *carp.Packet) { p.Header.Version = 3 })
			}
			if i%1000 == 999 {
				time.Sleep(100 * time.Millisecond)
			}
		}
		h.at(6 * time.Second)
		if h.state() != carp.Master {
			t.Fatal("forged adverts took the address away")
		}
		drops := func(r carp.DropReason) uint64 { return h.d.drops[r].Load() }
		var valid uint64
		h.d.inLoop(func() { valid = h.d.stats.valid })
		if drops(carp.DropBadDigest) != 2000 || drops(carp.DropBadTTL) != 2000 || drops(carp.DropTooShort) != 2000 ||
			drops(carp.DropOtherVHID) != 2000 || drops(carp.DropBadVersion) != 2000 || valid != 0 {
			t.Fatalf("drops %v valid %d", &h.d.drops, valid)
		}
		// Rate-limited: a burst of 10 and about one a second per reason.
		if n := h.logs.count("Bad digest"); n < 10 || n > 14 {
			t.Fatalf("%d Bad digest lines", n)
		}
		h.at(20 * time.Second)
		if !strings.Contains(h.logs.String(), "more packets dropped as bad-digest") {
			t.Fatalf("no report of the lines left out:\n%s", h.logs)
		}
	})
}

func TestLoopCarrierAndInterface(t *testing.T) {
	t.Run("carrier lost and back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, nil)
			defer h.close()
			h.at(4 * time.Second)
			h.link <- platform.LinkState{Up: true, Running: false}
			synctest.Wait()
			if h.state() != carp.Backup || h.addrs.Has(loopVIP.Addr()) {
				t.Fatal("MASTER kept the address without a carrier")
			}
			n := len(h.conn.adverts())
			h.sigs <- syscall.SIGUSR1 // answered at once without a carrier
			synctest.Wait()
			if !strings.Contains(h.logs.String(), "[INFO] BACKUP on eth0 id 1") {
				t.Fatal("USR1 not answered")
			}
			h.at(30 * time.Second)
			if len(h.conn.adverts()) != n || h.state() != carp.Backup {
				t.Fatal("contended without a carrier")
			}
			h.link <- platform.LinkState{Up: true, Running: true}
			h.at(30*time.Second + us(3_390_625))
			if h.state() != carp.Master {
				t.Fatal("no election after the carrier came back")
			}
		})
	})
	t.Run("administratively down: exit 0 as ucarp", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, func(c *testConfig) { c.Shutdown = true })
			defer h.close()
			h.at(4 * time.Second)
			h.link <- platform.LinkState{}
			synctest.Wait()
			if !h.stopped() || h.plan.Code != 0 || !strings.Contains(h.logs.String(), "[ERROR] exiting: pfds[0].revents = 8") {
				t.Fatalf("plan %+v logs:\n%s", h.plan, h.logs)
			}
		})
	})
	t.Run("interface gone: non-zero exit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, nil)
			defer h.close()
			h.link <- platform.LinkState{Gone: true}
			synctest.Wait()
			if !h.stopped() || h.plan.Code != 2 || !strings.Contains(h.logs.String(), "[ERROR] Interface [eth0] is gone: exiting") {
				t.Fatalf("plan %+v", h.plan)
			}
		})
	})
	t.Run("config mode: an interface set down is waited for; one gone ends the group only", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, func(c *testConfig) { c.WaitWhenDown = true })
			defer h.close()
			h.at(4 * time.Second) // MASTER
			h.link <- platform.LinkState{}
			synctest.Wait()
			if h.stopped() || h.state() != carp.Backup || h.addrs.Has(loopVIP.Addr()) {
				t.Fatalf("admin down: stopped %v, state %v, address kept %v", h.stopped(), h.state(), h.addrs.Has(loopVIP.Addr()))
			}
			h.link <- platform.LinkState{Gone: true}
			synctest.Wait()
			if !h.stopped() || h.plan.Code != 2 || !strings.Contains(h.logs.String(), "[ERROR] Interface [eth0] is gone: this group stops") {
				t.Fatalf("plan %+v logs:\n%s", h.plan, h.logs)
			}
		})
	})
	t.Run("-S ignores the carrier", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startHarness(t, func(c *testConfig) { c.IgnoreIfState = true })
			defer h.close()
			h.at(4 * time.Second)
			h.link <- platform.LinkState{Up: true, Running: false}
			h.at(10 * time.Second)
			if h.state() != carp.Master {
				t.Fatal("-S: carrier loss was not ignored")
			}
		})
	})
}

func TestLoopReconcile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second)
		garps := len(h.arp.times())
		h.addrs.Flush() // "ip addr flush" by someone else
		h.addrChg <- struct{}{}
		synctest.Wait()
		if !h.addrs.Has(loopVIP.Addr()) || len(h.arp.times()) != garps+1 {
			t.Fatalf("address back %v, gratuitous ARPs %d", h.addrs.Has(loopVIP.Addr()), len(h.arp.times())-garps)
		}
		// Without an address event, within one advert interval.
		h.addrs.Flush()
		h.at(4*time.Second + us(1_390_625) + time.Millisecond)
		if !h.addrs.Has(loopVIP.Addr()) {
			t.Fatal("not put back within one interval")
		}
		// A BACKUP removes our labelled copy.
		h.receive(1, 0, nil)
		h.addrs.AddAddress(vip.Address{Prefix: loopVIP, Label: "eth0:ucarp"})
		h.addrChg <- struct{}{}
		synctest.Wait()
		if h.addrs.Has(loopVIP.Addr()) {
			t.Fatal("BACKUP kept our copy")
		}
		if !strings.Contains(h.logs.String(), "was removed from eth0 by someone else: adding it back") {
			t.Fatalf("logs:\n%s", h.logs)
		}
	})
}

// TestLoopLifetime checks that a MASTER renews its address's lifetime once
// per advert interval, from the timer only: the renewal causes address
// events, which must not cause renewals in turn.
func TestLoopLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second)
		as, _ := h.addrs.Addresses()
		got := as[0].Lifetime
		if got != 4*time.Second {
			t.Fatalf("lifetime %v, want the dead interval 3.39 s rounded up", got)
		}
		before := h.addrs.Adds()
		for range 50 {
			h.addrChg <- struct{}{}
			synctest.Wait()
		}
		if h.addrs.Adds() != before {
			t.Fatal("address events renewed the lifetime")
		}
		h.at(4*time.Second + 10*us(1_390_625))
		if n := h.addrs.Adds() - before; n < 9 || n > 11 {
			t.Fatalf("%d renewals in 10 advert intervals", n)
		}
	})
}

func TestLoopSendErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		h.at(4 * time.Second)
		h.conn.mu.Lock()
		h.conn.fail = true
		h.conn.mu.Unlock()
		h.at(9 * time.Second)
		logs := h.logs.String()
		if !strings.Contains(logs, "[WARNING] write() has failed: Network is unreachable") ||
			!strings.Contains(logs, "[ERROR] write() error #0/3") {
			t.Fatalf("logs:\n%s", logs)
		}
		// Sends work again: the next advert shows the suppression, with
		// advskew 240 instead of 100.
		h.conn.mu.Lock()
		h.conn.fail = false
		h.conn.mu.Unlock()
		h.at(10*time.Second + 500*time.Millisecond)
		if ads := h.conn.adverts(); len(ads) == 0 || ads[len(ads)-1].h.AdvSkew != 240 {
			t.Fatalf("adverts after the errors: %+v", ads)
		}
	})
}

// TestDeliverNeverStallsTheSharedReader: on a node's shared socket, one
// reader delivers the packets of every group of the interface. A group
// whose loop is busy takes rxQueueLen valid adverts; the next are dropped
// and counted at once instead of stalling the reader (with a blocking
// hand-over, the 17th Deliver would wait for the loop).
func TestDeliverNeverStallsTheSharedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &syncBuffer{}
		log := testLog(logs, false)
		c := Config{Interface: "eth0", Src: loopSrc, Mcast: defaultGroup, VHID: 1, Password: []byte("carplab"),
			Addr: loopVIP, AddrArg: "198.51.100.100", AdvBase: 1, AdvSkew: 100, DeadRatio: 3}
		conn := newFakeConn()
		g, err := New(c, Deps{Log: log.Logger, Conn: conn, Link: make(chan platform.LinkState),
			Initial: platform.LinkState{Up: true, Running: true}, Random: func() uint64 { return 1 },
			Shared: true, scripts: newRunner(log, 0)})
		if err != nil {
			t.Fatal(err)
		}
		ended := make(chan struct{})
		go func() { g.Run(); close(ended) }()
		synctest.Wait()
		release := make(chan struct{})
		go g.inLoop(func() { <-release }) // the loop is busy
		synctest.Wait()
		peer, _ := carp.NewAuth([]byte("carplab"), 1, []netip.Addr{loopVIP.Addr()})
		delivered := make(chan struct{})
		go func() {
			for i := range rxQueueLen + 4 {
				hd := carp.Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: 0, AuthLen: 7, Counter: uint64(500 + i)}
				peer.Sign(&hd)
				p := carp.NewPacket(loopPeer, defaultGroup, 9, hd)
				b, _ := p.MarshalBinary()
				g.Deliver(b)
			}
			close(delivered)
		}()
		synctest.Wait()
		select {
		case <-delivered:
		default:
			t.Fatal("Deliver waits for a busy loop")
		}
		close(release)
		synctest.Wait()
		g.Report()
		if !strings.Contains(logs.String(), "valid adverts received 16, packets dropped 4 (queue full 4)") {
			t.Errorf("report:\n%s", logs)
		}
		g.Stop(syscall.SIGTERM)
		<-ended
		conn.Close()
	})
}

// TestLoopReportAtAnotherWakeUp: the report of the lines left out, a lazy
// timer, comes at the next wake-up of another cause once it is due (a
// BACKUP's is each advert it receives), not on a timer of its own a
// second later, which woke the process once every 10 s per BACKUP.
func TestLoopReportAtAnotherWakeUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		const report = "more packets dropped as bad-ttl"
		for s := range 11 {
			h.at(time.Duration(s)*time.Second + 300*time.Millisecond)
			h.receive(1, 0, nil) // the MASTER's advert: this group stays BACKUP
			if s == 0 {
				for range 3 * limitBurst {
					h.receive(1, 0, func(p *carp.Packet) { p.TTL = 254 })
				}
			}
			if got, want := strings.Contains(h.logs.String(), report), s == int(flushEvery/time.Second); got != want {
				t.Fatalf("after the advert at %d.3 s: report %v, want %v\n%s", s, got, want, h.logs)
			}
		}
		if h.state() != carp.Backup {
			t.Fatalf("state %v", h.state())
		}
	})
}

// TestFeedReusesItsQueue: feeding the machine events one at a time, as
// the loop does at each wake-up, allocates nothing. The queue of pending
// events was consumed by reslicing, which walked it to the end of its
// array, and append then moved it to a new one every few events (an
// allocation every few adverts of an idle MASTER or BACKUP).
func TestFeedReusesItsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, nil)
		defer h.close()
		var before, after runtime.MemStats
		h.d.inLoop(func() {
			ev := carp.SendResultEvent(false) // a send that went well: nothing to do
			h.d.feed(ev)                      // the queue's first array
			runtime.ReadMemStats(&before)
			for range 1000 {
				h.d.feed(ev)
			}
			runtime.ReadMemStats(&after)
		})
		if n := after.Mallocs - before.Mallocs; n != 0 {
			t.Errorf("%d allocations for 1000 events fed one at a time, want 0", n)
		}
	})
}
