//go:build linux

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// TestFloodRates floods a converged pair with the chaos suite's forged and
// malformed packets at 11,000 and 100,000 a second for 10 s, with the
// daemon in command-line mode (every packet read and checked, as ucarp)
// and in config mode (one group, vhid 1, the same settings: the socket's
// filter drops what no group accepts in the kernel). The VIP must not
// move and neither process may die; the MASTER's CPU is reported, not
// asserted.
func TestFloodRates(t *testing.T) {
	for _, mode := range []string{"command line", "config"} {
		for _, rate := range []int{11000, 100000} {
			t.Run(fmt.Sprintf("%s/%d", mode, rate), func(t *testing.T) {
				l := newLab(t, 2)
				var p1, p2 *lab.Proc
				if mode == "config" {
					p1 = startConfig(t, l, l.Hosts[0], 0)
					p2 = startConfig(t, l, l.Hosts[1], 100)
					waitMasters(t, l, 10*time.Second, l.Hosts[0])
				} else {
					p1, p2 = pair(t, l, ours(lab.CARP{}), ours(lab.CARP{AdvSkew: 100}))
				}
				// The VIP can be seen on h1 before its log line is read:
				// count the transitions from after that line.
				if !lab.Eventually(5*time.Second, func() bool { return p1.Count("Switching to state: MASTER") > 0 }) {
					t.Fatalf("h1 holds the VIP and logged no MASTER line:\n%s", p1.Log())
				}
				before := p1.Count("Switching to state") + p2.Count("Switching to state")
				cpu0, at0 := cpuSeconds(t, p1.Pid()), time.Now()
				sent, err := l.Observer.Flood(rate, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				elapsed := time.Since(at0).Seconds()
				cpu := (cpuSeconds(t, p1.Pid()) - cpu0) / elapsed
				total := 0
				for _, n := range sent {
					total += n
				}
				for _, p := range []*lab.Proc{p1, p2} {
					if p.Exited() {
						t.Fatalf("%s died", p.Host.Name)
					}
				}
				holdMasters(t, l, 100*time.Millisecond, l.Hosts[0])
				moves := p1.Count("Switching to state") + p2.Count("Switching to state") - before
				t.Logf("%s mode: %d packets/s asked, %.0f sent; the MASTER used %.1f%% of a core; %d state changes; dropped by a full socket: MASTER %d, BACKUP %d",
					mode, rate, float64(total)/elapsed, 100*cpu, moves, kernelDrops(t, l.Hosts[0]), kernelDrops(t, l.Hosts[1]))
				if moves != 0 {
					t.Errorf("%d state changes under the flood", moves)
				}
			})
		}
	}
}

// startConfig starts ours in config mode on h with one group: the
// settings of lab.CARP's command line, at advskew.
func startConfig(t *testing.T, l *lab.Lab, h *lab.Host, advskew int) *lab.Proc {
	t.Helper()
	return startConfigFile(t, l, h, fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\n\n[[group]]\nvhid = 1\naddr = %q\nadvskew = %d\n",
		h.IfName, h.Addr, lab.VIP, advskew))
}
