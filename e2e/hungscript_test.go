//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// TestHungUpScriptHandsOver is item 4 of issue 12 on the real binaries: the
// preferred master's up script hangs and never adds the address. With
// ucarp the frozen master stops advertising and its peer takes over; here
// the master keeps advertising, so without the script timeout nobody
// would hold the address, forever. When the timeout fires, the master
// gives up with a bow-out, and the peer holds the address at once.
func TestHungUpScriptHandsOver(t *testing.T) {
	l := newLab(t, 2)
	hang := filepath.Join(l.Dir, "hang-up.sh")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	up, down := l.Scripts()
	const timeout = 2 * time.Second
	p1 := start(t, l.Hosts[0], "ucarp", ours(lab.CARP{Extra: []string{
		"--upscript=" + hang, "--downscript=" + down, fmt.Sprintf("--script-timeout=%d", timeout/time.Second)}}))
	p2 := start(t, l.Hosts[1], "ucarp", ours(lab.CARP{AdvSkew: 100, Extra: []string{"--upscript=" + up, "--downscript=" + down}}))
	if !p1.WaitLog("Switching to state: MASTER", 1, 10*time.Second) {
		t.Fatalf("the preferred host never became MASTER:\n%s", p1.Log())
	}
	master := p1.MustLastLogTime(t, "Switching to state: MASTER")
	if !lab.Eventually(timeout+3*time.Second, func() bool { return l.Hosts[1].HasAddr(vip) }) {
		t.Fatalf("the peer never took over from the MASTER whose up script hangs; holders %v", names(l.Masters()))
	}
	gaveUp := p1.MustLastLogTime(t, "giving up MASTER")
	if d := gaveUp.Sub(master); d < timeout || d > timeout+500*time.Millisecond {
		t.Errorf("gave up %v after becoming MASTER, script timeout %v", d, timeout)
	}
	took := p2.MustLastLogTime(t, "Switching to state: MASTER")
	if d := took.Sub(gaveUp); d < 0 || d > 200*time.Millisecond {
		t.Errorf("the peer took over %v after the bow-out: it should be at once", d)
	}
	t.Logf("MASTER gave up %v after its takeover (script timeout %v); the peer took over %v later",
		gaveUp.Sub(master), timeout, took.Sub(gaveUp))
	// The hung script is stopped, the host stays BACKUP (no -P), and the
	// peer alone holds the address.
	if !p1.WaitLog("timed out after", 1, 10*time.Second) {
		t.Fatalf("the hung script was not stopped:\n%s", p1.Log())
	}
	holdMasters(t, l, 4*time.Second, l.Hosts[1])
}
