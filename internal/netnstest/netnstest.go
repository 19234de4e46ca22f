//go:build linux

package netnstest

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Run runs fn on a thread moved into a new, unnamed network namespace
// holding a veth pair (eth0, peer0), both up; it skips t when not root.
// The namespace disappears with its last reference when fn returns.
// Everything fn does must stay on its thread: no goroutine of its own.
func Run(t testing.TB, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: a throw-away network namespace needs root; CI runs as root")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	defer netns.Set(orig)
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	SetLink(t, "eth0", true)
	SetLink(t, "peer0", true)
	fn()
}

// SetLink sets the link name of the current namespace up or down.
func SetLink(t testing.TB, name string, up bool) {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err == nil {
		if up {
			err = netlink.LinkSetUp(l)
		} else {
			err = netlink.LinkSetDown(l)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}
