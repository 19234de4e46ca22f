package node

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// trackingOS counts the sockets of an interface that are open.
type trackingOS struct {
	platform.OS
	open *atomic.Int64
}

func (t trackingOS) OpenIP(o platform.IPOptions) (platform.IPConn, error) {
	c, err := t.OS.OpenIP(o)
	if err != nil {
		return nil, err
	}
	t.open.Add(1)
	return trackedConn{c, t.open}, nil
}

func (t trackingOS) OpenARP() (platform.FrameConn, error) {
	c, err := t.OS.OpenARP()
	if err != nil {
		return nil, err
	}
	t.open.Add(1)
	return trackedFrames{c, t.open}, nil
}

type trackedConn struct {
	platform.IPConn
	open *atomic.Int64
}

func (c trackedConn) Close() error { c.open.Add(-1); return c.IPConn.Close() }

type trackedFrames struct {
	platform.FrameConn
	open *atomic.Int64
}

func (c trackedFrames) Close() error { c.open.Add(-1); return c.FrameConn.Close() }

// TestStartSteps: a group's start takes its steps in order, Deps.Before
// seeing each; the interface's steps are the first group's only, the
// lock and the stale copy a managing group's only.
func TestStartSteps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		var locks platformtest.Locks
		var steps []string
		a.deps.Lock = locks.Lock
		a.deps.CheckPrivileges = true
		a.deps.Before = func(id ID, step Step, sys platform.OS) error {
			if (sys == nil) != (step == StepInterface) {
				t.Errorf("%s: sys %v before %s", id, sys, step)
			}
			steps = append(steps, fmt.Sprintf("%d:%s", id.VHID, step))
			return nil
		}
		scripted := a.spec(2, 0)
		scripted.ManageVIP = false
		a.run(t, a.spec(1, 0), scripted)
		want := []string{"1:interface", "1:privileges", "1:socket", "1:arp", "1:watch", "1:lock", "1:stale", "1:group", "1:run",
			"2:privileges", "2:group", "2:run"}
		if !slices.Equal(steps, want) {
			t.Fatalf("steps %q, want %q", steps, want)
		}
	})
}

// TestStartErrors: a start that fails says at which step, keeps the
// cause for errors.Is, words it as config mode always has, and leaves
// nothing behind: no group, interface, socket or lock.
func TestStartErrors(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		setup func(a *testNode, h *platformtest.Host)
		step  Step
		is    error
		text  string
	}{
		{name: "no interface", step: StepInterface, is: platform.ErrNoInterface,
			setup: func(a *testNode, _ *platformtest.Host) {
				a.deps.Open = func(name string) (platform.OS, error) {
					return nil, fmt.Errorf("%w: %s: %w", platform.ErrNoInterface, name, syscall.ENODEV)
				}
			},
			text: "node: eth0 vhid 1: platform: no such interface: eth0: no such device"},
		{name: "privileges", step: StepPrivileges, setup: func(_ *testNode, h *platformtest.Host) { h.DenyPrivileges(false, true) },
			text: "node: eth0 vhid 1: platformtest: missing capability [CAP_NET_ADMIN]"},
		{name: "join", step: StepSocket, is: syscall.EINVAL,
			setup: func(_ *testNode, h *platformtest.Host) {
				h.FailOpenIP(fmt.Errorf("%w 198.51.100.50 on eth0: %w", platform.ErrJoin, syscall.EINVAL))
			},
			text: "node: eth0 vhid 1: platform: cannot join the multicast group 198.51.100.50 on eth0: invalid argument"},
		{name: "arp", step: StepARP, is: syscall.EPERM, setup: func(_ *testNode, h *platformtest.Host) { h.FailOpenARP(syscall.EPERM) },
			text: "node: eth0 vhid 1: operation not permitted"},
		{name: "locked", step: StepLock, is: platform.ErrLocked,
			setup: func(a *testNode, _ *platformtest.Host) {
				a.deps.Lock = func(name string) (io.Closer, error) { return nil, fmt.Errorf("%w: %s", platform.ErrLocked, name) }
			},
			text: "node: eth0 vhid 1: another daemon manages this group: platform: locked by another process: ucarp-go/2/1"},
		{name: "stale", step: StepStale, is: errBoom, setup: func(_ *testNode, h *platformtest.Host) { h.Addrs().Fail(errBoom) },
			text: "node: eth0 vhid 1: removing a stale copy of 198.51.100.101/32: boom"},
		{name: "group", step: StepGroup, setup: func(a *testNode, _ *platformtest.Host) {}, // a password too long
			text: "node: eth0 vhid 1: carp: password longer than 20 bytes"},
		{name: "refused before run", step: StepRun, is: errBoom,
			setup: func(a *testNode, _ *platformtest.Host) {
				a.deps.Before = func(_ ID, step Step, _ platform.OS) error {
					if step == StepRun {
						return errBoom
					}
					return nil
				}
			},
			text: "node: eth0 vhid 1: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a := newTestNode(&lan, 11)
				var open atomic.Int64
				var locks platformtest.Locks
				a.deps.Open = func(string) (platform.OS, error) { return trackingOS{a.host, &open}, nil }
				a.deps.Lock = locks.Lock
				a.deps.CheckPrivileges = true
				tc.setup(a, a.host)
				s := a.spec(1, 0)
				if tc.step == StepGroup {
					s.Config.Password = []byte(strings.Repeat("x", 30))
				}
				err := a.Apply([]Spec{s})
				var se *StartError
				if !errors.As(err, &se) {
					t.Fatalf("Apply: %v, want a *StartError", err)
				}
				if se.Step != tc.step || se.ID != s.ID() {
					t.Errorf("failed at %s of %s, want %s of %s", se.Step, se.ID, tc.step, s.ID())
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("%v is not %v", err, tc.is)
				}
				if tc.step != StepGroup && err.Error() != tc.text || tc.step == StepGroup && !strings.HasPrefix(err.Error(), "node: eth0 vhid 1: carp: ") {
					t.Errorf("error %q, want %q", err, tc.text)
				}
				if len(a.Groups()) != 0 || len(a.ifaces) != 0 || open.Load() != 0 || locks.Held() != 0 {
					t.Errorf("left behind: groups %v, interfaces %d, sockets %d, locks %d", a.Groups(), len(a.ifaces), open.Load(), locks.Held())
				}
			})
		})
	}
}

// TestStartWithoutGratuitousARP: a system that sends no gratuitous ARP
// (platform.ErrNoARP) is one a group starts on all the same; Degraded
// says so.
func TestStartWithoutGratuitousARP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		a.host.FailOpenARP(fmt.Errorf("%w: bpf: %w", platform.ErrNoARP, syscall.EACCES))
		var told []string
		a.deps.Degraded = func(id ID, step Step, err error) {
			told = append(told, fmt.Sprintf("%s %s %v", id, step, errors.Is(err, platform.ErrNoARP)))
		}
		a.run(t, a.spec(1, 0), a.spec(2, 0))
		if want := []string{"eth0 vhid 1 arp true"}; !slices.Equal(told, want) {
			t.Fatalf("Degraded %q, want %q", told, want)
		}
		settle(5 * time.Second)
		wantHolders(t, "1,2", a)
	})
}

// TestDone: Done delivers how each group ended: a stop by a signal
// (re-raised without -z, code 0 with it), its interface set down (code
// 0, as ucarp exits) or gone (code 2); Interrupt does not wait.
func TestDone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shutdown bool
		end      func(a *testNode)
		want     group.Exit
	}{
		{name: "TERM", end: func(a *testNode) { a.Interrupt(syscall.SIGTERM) }, want: group.Exit{Reraise: syscall.SIGTERM}},
		{name: "HUP", end: func(a *testNode) { a.Interrupt(syscall.SIGHUP) }, want: group.Exit{Reraise: syscall.SIGHUP}},
		{name: "TERM -z", shutdown: true, end: func(a *testNode) { a.Interrupt(syscall.SIGTERM) }, want: group.Exit{}},
		{name: "set down", end: func(a *testNode) { a.host.SetLink(false, false) }, want: group.Exit{}},
		{name: "gone", end: func(a *testNode) { a.host.Remove() }, want: group.Exit{Code: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a := newTestNode(&lan, 11)
				s := a.spec(1, 0)
				s.Config.WaitWhenDown, s.Config.Shutdown = false, tc.shutdown
				if a.Done(s.ID()) != nil {
					t.Fatal("Done of a group the node does not run")
				}
				if err := a.Apply([]Spec{s}); err != nil {
					t.Fatal(err)
				}
				done := a.Done(s.ID())
				settle(5 * time.Second)
				select {
				case e := <-done:
					t.Fatalf("ended on its own: %+v", e)
				default:
				}
				tc.end(a)
				var e *group.Exit
				select {
				case e = <-done:
				case <-time.After(time.Minute):
					t.Fatal("Done delivered nothing")
				}
				if e.Code != tc.want.Code || e.Reraise != tc.want.Reraise {
					t.Errorf("exit %+v, want %+v", e, tc.want)
				}
				if tc.name != "gone" && a.host.Addrs().Has(vipOf(1).Addr()) {
					t.Errorf("the address stayed after the end")
				}
				// The ended group is forgotten, its interface closed.
				if err := a.Apply(nil); err != nil {
					t.Fatal(err)
				}
				if len(a.Groups()) != 0 || len(a.ifaces) != 0 {
					t.Fatalf("left: %v", a.Groups())
				}
			})
		})
	}
}

// TestHooks: Ready and Notify follow a group as group.Deps's do, with
// its identity; Unclaimed hands a socket's read errors to its groups.
func TestHooks(t *testing.T) {
	for _, unclaimed := range []bool{false, true} {
		t.Run(fmt.Sprintf("Unclaimed=%v", unclaimed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a := newTestNode(&lan, 11)
				var mu sync.Mutex
				var seen []string
				a.deps.Ready = func(id ID, state string) {
					mu.Lock()
					defer mu.Unlock()
					seen = append(seen, fmt.Sprintf("ready %s: %s", id, state))
				}
				a.deps.Notify = func(id ID, status string) {
					mu.Lock()
					defer mu.Unlock()
					seen = append(seen, fmt.Sprintf("notify %s: %s", id, status))
				}
				a.deps.Unclaimed = unclaimed
				s := a.spec(1, 0)
				s.Config.NoMcast = true // a broadcast socket fails a read when the link goes down
				if err := a.Apply([]Spec{s}); err != nil {
					t.Fatal(err)
				}
				<-a.Ready()
				time.Sleep(5 * time.Second)
				a.host.SetLink(false, false)
				synctest.Wait()
				a.Stop(syscall.SIGTERM)
				want := []string{"ready eth0 vhid 1: BACKUP", "notify eth0 vhid 1: MASTER on eth0 id 1",
					"notify eth0 vhid 1: BACKUP on eth0 id 1", "notify eth0 vhid 1: STOPPING"}
				mu.Lock()
				defer mu.Unlock()
				if !slices.Equal(seen, want) {
					t.Errorf("hooks %q, want %q", seen, want)
				}
				if got := a.logs.count("read error #1: Network is down interface=eth0 vhid=1"); got != map[bool]int{false: 0, true: 1}[unclaimed] {
					t.Errorf("%d read error lines:\n%s", got, a.logs)
				}
			})
		})
	}
}

// droppingOS opens sockets that say they dropped packets themselves, as
// FreeBSD's do for those of another interface.
type droppingOS struct{ platform.OS }

func (d droppingOS) OpenIP(o platform.IPOptions) (platform.IPConn, error) {
	c, err := d.OS.OpenIP(o)
	return droppingConn{c}, err
}

type droppingConn struct{ platform.IPConn }

func (droppingConn) Drops() map[string]uint64 { return map[string]uint64{"other-interface": 3} }

// TestSocketDropsCounted: the drops that a socket counts itself reach
// the groups' counters through the node's shared socket.
func TestSocketDropsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		a.deps.Open = func(string) (platform.OS, error) { return droppingOS{a.host}, nil }
		a.run(t, a.spec(1, 0))
		<-a.Ready()
		a.Report()
		if a.logs.count("packets dropped 3 (other-interface 3)") != 1 {
			t.Fatalf("no socket drops in the counters:\n%s", a.logs)
		}
	})
}

// TestUnclaimedPackets: with Unclaimed, a packet for a vhid the node does
// not run, or too short to name one, reaches every group of the
// interface, which counts it as its own socket's (the ucarp command
// line's counters); without, only the node counts it.
func TestUnclaimedPackets(t *testing.T) {
	for _, unclaimed := range []bool{false, true} {
		t.Run(fmt.Sprintf("Unclaimed=%v", unclaimed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				a := newTestNode(&lan, 11)
				a.deps.Unclaimed = unclaimed
				peerAddr, conn := thirdHost(t, &lan, carp.IPProtocol)
				a.run(t, a.spec(1, 0))
				<-a.Ready()
				conn.WritePacket(advert(peerAddr, 9, 0))
				short := advert(peerAddr, 9, 0)[:40]
				short[0] = 0x4f // a 60-byte header in 40 bytes: no vhid
				conn.WritePacket(short)
				synctest.Wait()
				a.Report()
				want := "packets dropped 0,"
				if unclaimed {
					want = "packets dropped 2 (bogus-size 1, other-vhid 1),"
				}
				if a.logs.count(want) != 1 {
					t.Errorf("want %q in the counters:\n%s", want, a.logs)
				}
				// A node that counts them itself has the socket drop them
				// first, and the kernel counts nothing.
				ifc := a.ifaces["eth0"]
				read, filtered := uint64(1), uint64(0)
				if !unclaimed {
					read, filtered = 0, 2
				}
				if ifc.unknown.Load() != read || ifc.short.Load() != read {
					t.Errorf("node counted %d unknown, %d short, want %d each", ifc.unknown.Load(), ifc.short.Load(), read)
				}
				if unclaimed != (ifc.filter == nil) {
					t.Errorf("Unclaimed %v, socket filter %v", unclaimed, ifc.filter)
				}
				if n := a.host.Filtered(); n != filtered {
					t.Errorf("%d packets filtered, want %d", n, filtered)
				}
			})
		})
	}
}

// TestLinkEdgesKept: a link that goes down and up again while a group's
// loop is busy still shows the group both changes, as the interface's
// watch delivered them: a group that exits when its interface is set
// down (ucarp's) must not miss an ifdown followed at once by an ifup.
func TestLinkEdgesKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		a := newTestNode(&lan, 11)
		busy := make(chan struct{})
		a.deps.Ready = func(ID, string) { <-busy } // the loop waits here
		s := a.spec(1, 0)
		s.Config.WaitWhenDown = false
		if err := a.Apply([]Spec{s}); err != nil {
			t.Fatal(err)
		}
		done := a.Done(s.ID())
		synctest.Wait()
		a.host.SetLink(false, false)
		a.host.SetLink(true, true)
		synctest.Wait()
		close(busy)
		select {
		case e := <-done:
			if e.Code != 0 || e.Reraise != nil {
				t.Fatalf("exit %+v", e)
			}
		case <-time.After(10 * time.Second):
			a.Stop(syscall.SIGTERM)
			t.Fatalf("the group missed its interface set down:\n%s", a.logs)
		}
		a.Apply(nil)
	})
}
