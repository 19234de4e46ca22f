package health

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ucarp-go/ucarp/internal/netnstest"
)

// inThrowawayNamespace runs fn on a thread moved into a new, unnamed
// network namespace holding lo and a veth pair (eth0, peer0), all up, and
// 203.0.113.10/24 on eth0 with nothing behind peer0 (netnstest.Run).
// Everything fn does must stay on its thread: no goroutine of its own.
func inThrowawayNamespace(t *testing.T, fn func()) {
	t.Helper()
	netnstest.Run(t, func() {
		setLink(t, "lo", true)
		eth0, _ := netlink.LinkByName("eth0")
		addr, _ := netlink.ParseAddr("203.0.113.10/24")
		if err := netlink.AddrAdd(eth0, addr); err != nil {
			t.Fatal(err)
		}
		fn()
	})
}

var setLink = netnstest.SetLink

// The ICMP probe takes an unprivileged datagram socket where
// ping_group_range allows it, and a raw socket where it does not; both
// see their replies, and a silent address times out.
func TestICMPSockets(t *testing.T) {
	host, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	if err != nil {
		t.Fatal(err)
	}
	inThrowawayNamespace(t, func() {
		for _, tt := range []struct {
			groups string
			raw    bool
		}{{"0 2147483647", false}, {"1 0", true}} {
			// A namespace's own setting: the host's stays as it is.
			if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte(tt.groups), 0); err != nil {
				t.Fatal(err)
			}
			for _, v4 := range []bool{true, false} {
				c, raw, err := listenICMP(v4)
				if err != nil {
					t.Fatalf("ping_group_range %s: %v", tt.groups, err)
				}
				c.Close()
				if raw != tt.raw {
					t.Errorf("ping_group_range %s, IPv4 %v: raw %v, want %v", tt.groups, v4, raw, tt.raw)
				}
			}
			for _, target := range []string{"127.0.0.1", "::1", "203.0.113.10"} {
				wantErr(t, target+" with ping_group_range "+tt.groups, run(t, mustCheck(t, "icmp:"+target), time.Second), "")
			}
			// No answer: the check ends with its context, naming the target.
			err := run(t, mustCheck(t, "icmp:203.0.113.20"), 300*time.Millisecond)
			wantErr(t, "a silent address", err, "203.0.113.20")
		}
	})
	if after, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); string(after) != string(host) {
		t.Errorf("the host's ping_group_range was %q, is now %q", host, after)
	}
}

// The portable interface check sees the carrier go and the link go down,
// and so does the sysfs one, on a directory that stands for /sys/class/net
// (sysfs shows the host's interfaces, not the namespace's).
func TestInterfaceCarrier(t *testing.T) {
	inThrowawayNamespace(t, func() {
		c := flagsCheck("eth0")
		eventually(t, "eth0 up", c, "")
		setLink(t, "peer0", false)
		eventually(t, "peer0 down", c, "eth0 has no carrier")
		setLink(t, "eth0", false)
		eventually(t, "eth0 down", c, "eth0 is down")
	})

	dir := t.TempDir()
	for name, carrier := range map[string]string{"up0": "1\n", "nocarrier0": "0\n"} {
		os.Mkdir(dir+"/"+name, 0o755)
		if err := os.WriteFile(dir+"/"+name+"/carrier", []byte(carrier), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "carrier 1", run(t, carrierCheck(dir, "up0"), time.Second), "")
	wantErr(t, "carrier 0", run(t, carrierCheck(dir, "nocarrier0"), time.Second), "nocarrier0 has no carrier")
	wantErr(t, "no directory", run(t, carrierCheck(dir, "gone0"), time.Second), "no interface gone0")
}

// eventually runs check until its error holds want ("" for none), for a
// few seconds: the kernel tells a carrier's change after a delay
// (linkwatch).
func eventually(t *testing.T, what string, check Check, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := run(t, check, time.Second)
		if want == "" && err == nil || want != "" && err != nil && strings.Contains(err.Error(), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: error %v, want one with %q", what, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
