package node

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
)

// maintPair starts, on a LAN of their own, A (advskew 0, --preempt) and
// B (advskew 100, its gratuitous ARPs garpB) on vhid 1, or A alone when
// !withB, and waits until A is MASTER. Both stop when t ends (A first).
func maintPair(t *testing.T, withB bool, garpB int, stateDir string) (a, b *testNode) {
	t.Helper()
	lan := &platformtest.LAN{}
	a = newTestNode(lan, 11)
	a.deps.StateDir = stateDir
	sa := a.spec(1, 0)
	sa.Config.Preempt = true
	if err := a.Apply([]Spec{sa}); err != nil {
		t.Fatal(err)
	}
	<-a.Ready()
	time.Sleep(4 * time.Second) // A alone: MASTER after the dead interval
	if withB {
		b = newTestNode(lan, 12)
		sb := b.spec(1, 100)
		sb.Config.GARPCount = garpB
		if err := b.Apply([]Spec{sb}); err != nil {
			t.Fatal(err)
		}
		<-b.Ready()
	}
	settle(3 * time.Second)
	want := "1"
	nodes := []*testNode{a}
	if withB {
		want, nodes = "1 | ", append(nodes, b)
		t.Cleanup(func() { b.Stop(syscall.SIGTERM) })
	}
	t.Cleanup(func() { a.Stop(syscall.SIGTERM) })
	wantHolders(t, want, nodes...)
	return a, b
}

// wantUndemotedMaster fails t unless n's group is MASTER, not demoted.
func wantUndemotedMaster(t *testing.T, n *testNode) {
	t.Helper()
	if st := n.Status()[0]; st.State != control.StateMaster || st.Timing.Demotion != 0 {
		t.Fatalf("%s is %s, demotion %d", n.src, st.State, st.Timing.Demotion)
	}
}

// maintOf is the group's maintenance as the control plane says it.
func maintOf(t *testing.T, n *testNode) *control.Maintenance {
	t.Helper()
	gs := n.Status()
	if len(gs) != 1 {
		t.Fatalf("%d groups", len(gs))
	}
	return gs[0].Maintenance
}

// watchHolders samples, every 10 ms for d, who holds the address, and
// fails at once if no one does; it returns how long both held it.
func watchHolders(t *testing.T, d time.Duration, a, b *testNode) (both time.Duration) {
	t.Helper()
	const step = 10 * time.Millisecond
	for i := 0; i < int(d/step); i++ {
		settle(step)
		ha := a.host.Addrs().Has(vipOf(1).Addr())
		hb := b != nil && b.host.Addrs().Has(vipOf(1).Addr())
		if !ha && !hb {
			t.Fatalf("after %v no host holds the address\nlogs A:\n%s", time.Duration(i+1)*step, a.logs)
		}
		if ha && hb {
			both += step
		}
	}
	return both
}

// TestMaintenancePeerAnnounces: the MASTER in maintenance keeps the
// address until the peer is MASTER and has announced it, then lets it go;
// the address is held by someone at every moment.
func TestMaintenancePeerAnnounces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := maintPair(t, true, 1, "")
		before := len(b.host.ARP())
		maintenance(t, a, "eth0-1", true, false)
		both := watchHolders(t, 5*time.Second, a, b)
		wantHolders(t, " | 1", a, b)
		m := maintOf(t, a)
		if m == nil || !m.On || m.Phase != control.MaintHandedOff || !m.Announced || m.Peer != b.src ||
			m.PeerMAC != "02:00:00:00:00:0c" {
			t.Fatalf("maintenance %+v, want handed off to B, announced", m)
		}
		if len(b.host.ARP()) == before {
			t.Fatal("B did not announce")
		}
		if !strings.Contains(a.logs.String(), "Maintenance: 198.51.100.12 is MASTER and announced it") {
			t.Fatalf("logs:\n%s", a.logs)
		}
		t.Logf("both held the address for %v (the fake's announcement is at once)", both)
		if st := a.Status()[0]; st.State != control.StateBackup || st.Timing.Demotion != carp.MaxDemotion {
			t.Fatalf("A is %s, demotion %d", st.State, st.Timing.Demotion)
		}
		// It stays with B: the demotion keeps A out (A has --preempt).
		settle(10 * time.Second)
		wantHolders(t, " | 1", a, b)
		ex, _ := a.Explain("eth0-1")
		if !strings.Contains(ex, "In maintenance since") || !strings.Contains(ex, "handed off to 198.51.100.12") {
			t.Fatalf("explain: %s", ex)
		}
	})
}

// TestMaintenanceNoPeer: no peer takes over; the host never lets the
// address go and says so.
func TestMaintenanceNoPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := maintPair(t, false, 0, "")
		maintenance(t, a, "eth0-1", true, false)
		watchHolders(t, 10*time.Second, a, nil)
		m := maintOf(t, a)
		if m == nil || m.Phase != control.MaintNoPeer || m.Note != "no peer took over" {
			t.Fatalf("maintenance %+v, want no-peer", m)
		}
		if st := a.Status()[0]; st.State != control.StateMaster {
			t.Fatalf("A is %s", st.State)
		}
		if !strings.Contains(a.logs.String(), "no peer took over 198.51.100.101/32: staying MASTER") {
			t.Fatalf("logs:\n%s", a.logs)
		}
		ex, _ := a.Explain("eth0-1")
		if !strings.Contains(ex, "no peer took over") {
			t.Fatalf("explain: %s", ex)
		}
		// Maintenance off: no change of state, the demotion goes.
		maintenance(t, a, "eth0-1", false, false)
		if m := maintOf(t, a); m != nil {
			t.Fatalf("maintenance %+v after off", m)
		}
		wantUndemotedMaster(t, a)
	})
}

// TestMaintenancePeerNeverAnnounces: the peer becomes MASTER but sends
// no gratuitous ARP (--garp-count 0); the host lets the address go once
// the wait is over and the peer's adverts are steady, and says so.
func TestMaintenancePeerNeverAnnounces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := maintPair(t, true, 0, "")
		maintenance(t, a, "eth0-1", true, false)
		settle(time.Second)
		m := maintOf(t, a)
		if m == nil || m.Phase != control.MaintWaitingAnnouncement || m.Peer != b.src {
			t.Fatalf("maintenance %+v, want waiting for B's announcement", m)
		}
		wantHolders(t, "1 | 1", a, b)
		// Kept with a lifetime, renewed: a crash now leaves it expiring.
		addrs, _ := a.host.Addrs().Addresses()
		for _, ad := range addrs {
			if ad.Prefix == vipOf(1) && ad.Lifetime <= 0 {
				t.Fatalf("the address kept during the handoff has no lifetime: %+v", ad)
			}
		}
		adds := a.host.Addrs().Adds()
		settle(time.Second)
		if a.host.Addrs().Adds() == adds {
			t.Fatal("the address kept during the handoff is not renewed")
		}
		watchHolders(t, 4*time.Second, a, b)
		wantHolders(t, " | 1", a, b)
		m = maintOf(t, a)
		if m.Phase != control.MaintHandedOff || m.Announced || !strings.Contains(m.Note, "did not announce") {
			t.Fatalf("maintenance %+v, want handed off without an announcement", m)
		}
		if !strings.Contains(a.logs.String(), "198.51.100.12 did not announce 198.51.100.101 within 3s: releasing it after") {
			t.Fatalf("logs:\n%s", a.logs)
		}
	})
}

// TestMaintenanceOffDuringWait: off while waiting for the announcement;
// the handoff in flight completes (the address is never unheld), then
// the host, with --preempt and its demotion gone, takes the address back.
func TestMaintenanceOffDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := maintPair(t, true, 0, "")
		maintenance(t, a, "eth0-1", true, false)
		settle(time.Second)
		if m := maintOf(t, a); m == nil || m.Phase != control.MaintWaitingAnnouncement {
			t.Fatalf("maintenance %+v, want waiting for B's announcement", m)
		}
		maintenance(t, a, "eth0-1", false, false)
		if m := maintOf(t, a); m == nil || m.On || m.Phase != control.MaintWaitingAnnouncement {
			t.Fatalf("maintenance %+v, want off with the handoff in flight", m)
		}
		watchHolders(t, 10*time.Second, a, b)
		wantHolders(t, "1 | ", a, b)
		if m := maintOf(t, a); m != nil {
			t.Fatalf("maintenance %+v, want none", m)
		}
		wantUndemotedMaster(t, a)
	})
}

// TestMaintenanceAsBackup: put in maintenance while BACKUP, a host is
// only demoted: with --preempt it no longer takes the address back.
func TestMaintenanceAsBackup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := maintPair(t, true, 1, "")
		a.host.SetLink(true, false) // A loses its carrier: B takes over
		settle(5 * time.Second)
		wantHolders(t, " | 1", a, b)
		maintenance(t, a, "eth0-1", true, false)
		if m := maintOf(t, a); m == nil || m.Phase != control.MaintBackup {
			t.Fatalf("maintenance %+v, want backup", m)
		}
		a.host.SetLink(true, true)
		settle(10 * time.Second)
		wantHolders(t, " | 1", a, b)
	})
}

// TestMaintenancePersistent: --persistent survives a restart: the node
// that comes back starts in maintenance and leaves the address to the
// peer; off forgets it.
func TestMaintenancePersistent(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		a, b := maintPair(t, true, 1, dir)
		maintenance(t, a, "eth0-1", true, true)
		settle(5 * time.Second)
		wantHolders(t, " | 1", a, b)
		if m := maintOf(t, a); m == nil || !m.Persistent {
			t.Fatalf("maintenance %+v, want persistent", m)
		}
		raw, err := os.ReadFile(filepath.Join(dir, MaintenanceDir, "eth0-1"))
		if err != nil {
			t.Fatal(err)
		}
		since, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(raw)))
		if err != nil || !since.Equal(maintOf(t, a).Since) {
			t.Fatalf("kept %q (%v), want %v", raw, err, maintOf(t, a).Since)
		}
		a.Stop(syscall.SIGTERM)

		// The daemon starts again on the same host, with --preempt.
		logs := &logBuf{}
		a2 := &testNode{host: a.host, src: a.src, logs: logs, Node: New(Deps{
			Log:      slog.New(handler{w: logs}),
			Open:     func(string) (platform.OS, error) { return a.host, nil },
			Random:   func() uint64 { return 7 },
			StateDir: dir,
		})}
		defer a2.Stop(syscall.SIGTERM)
		sa := a2.spec(1, 0)
		sa.Config.Preempt = true
		if err := a2.Apply([]Spec{sa}); err != nil {
			t.Fatal(err)
		}
		<-a2.Ready()
		settle(10 * time.Second)
		wantHolders(t, " | 1", a2, b)
		m := maintOf(t, a2)
		if m == nil || !m.On || !m.Persistent || m.Phase != control.MaintBackup || !m.Since.Equal(since) {
			t.Fatalf("maintenance %+v after the restart, want on since %v", m, since)
		}
		if !strings.Contains(logs.String(), "Group eth0-1 starts in maintenance") {
			t.Fatalf("logs:\n%s", logs)
		}
		// Off forgets it, and the election takes the address back.
		maintenance(t, a2, "eth0-1", false, false)
		if _, err := os.Stat(filepath.Join(dir, MaintenanceDir, "eth0-1")); !os.IsNotExist(err) {
			t.Fatalf("the file is still there after off: %v", err)
		}
		settle(10 * time.Second)
		wantHolders(t, "1 | ", a2, b)
	})
}

// TestMaintenanceNotPersistentWithoutStateDir: --persistent needs a state
// directory; the group is in maintenance all the same.
func TestMaintenanceNotPersistentWithoutStateDir(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := maintPair(t, true, 1, "")
		err := a.Maintenance("eth0-1", true, true)
		if err == nil || !strings.Contains(err.Error(), "no state directory") {
			t.Fatalf("Maintenance --persistent without a state directory: %v", err)
		}
		if m := maintOf(t, a); m == nil || !m.On {
			t.Fatalf("maintenance %+v", m)
		}
	})
}

// TestMaintenanceCarrierLostDuringWait: a host cut off while it keeps the
// address for a handoff lets it go at its next look, so that it does not
// hold it beside the peer when the link comes back.
func TestMaintenanceCarrierLostDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := maintPair(t, true, 0, "")
		maintenance(t, a, "eth0-1", true, false)
		settle(500 * time.Millisecond)
		wantHolders(t, "1 | 1", a, b)
		a.host.SetLink(true, false)
		settle(2 * time.Second)
		wantHolders(t, " | 1", a, b)
		if m := maintOf(t, a); m == nil || m.Phase != control.MaintHandedOff || !strings.Contains(m.Note, "link went down") {
			t.Fatalf("maintenance %+v", m)
		}
		a.host.SetLink(true, true)
		settle(5 * time.Second)
		wantHolders(t, " | 1", a, b)
	})
}
