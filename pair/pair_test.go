package pair

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/")

const (
	osDebian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
	osUbuntu = "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\n"
	osRocky  = "NAME=\"Rocky Linux\"\nVERSION_ID=\"9.4\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n"
	osCentOS = "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n"
	osArch   = "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\n"
)

// ip6JSON is "ip -j -6 addr show" with a link-local address on eth0.
const ip6JSON = `[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet6","local":"::1","prefixlen":128}]},` +
	`{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet6","local":"fe80::5a9c:fcff:fe00:1","prefixlen":64}]}]`

func ipJSON(addr string) string {
	return `[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},` +
		`{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"` + addr + `","prefixlen":24}]}]`
}

func ifconfig(addr string) string {
	return "vtnet0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500\n" +
		"\toptions=4c079b<RXCSUM,TXCSUM>\n\tether 58:9c:fc:00:00:01\n" +
		"\tinet " + addr + " netmask 0xffffff00 broadcast 203.0.113.255\n" +
		"\tinet6 fe80::5a9c:fcff:fe00:1%vtnet0 prefixlen 64 scopeid 0x1\n" +
		"lo0: flags=1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP> metric 0 mtu 16384\n" +
		"\tinet 127.0.0.1 netmask 0xff000000\n"
}

// host makes a fake host of a kind: debian, ubuntu, rocky, centos6 (no
// systemd), freebsd, arch.
func newFake(kind, name, addr string, master bool) *fake {
	f := &fake{name: name, kernel: "Linux", systemd: true, addrs: ipJSON(addr), addrs6: ip6JSON, master: master}
	switch kind {
	case "debian":
		f.osRelease = osDebian
	case "debian-sysv":
		f.osRelease, f.systemd = osDebian, false
	case "ubuntu":
		f.osRelease = osUbuntu
	case "rocky":
		f.osRelease = osRocky
	case "centos-sysv":
		f.osRelease, f.systemd = osCentOS, false
	case "arch":
		f.osRelease = osArch
	case "freebsd":
		f.kernel, f.addrs, f.systemd = "FreeBSD", ifconfig(addr), false
	}
	return f
}

func baseOptions() Options {
	return Options{VIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.100/24")}, VHID: 10, Password: "s3cret", Preempt: true}
}

// multiVIP gives the pair two IPv4 addresses and an IPv6 one.
func multiVIP(o *Options) {
	o.VIPs = append(o.VIPs, netip.MustParsePrefix("203.0.113.101/24"), netip.MustParsePrefix("2001:db8::100/64"))
}

// testRunner has a clock that Sleep moves on.
func testRunner(out *bytes.Buffer) *Runner {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &Runner{Out: out, Now: func() time.Time { return now }, Sleep: func(d time.Duration) { now = now.Add(d) }}
}

type snapshot struct {
	installed, active bool
	files             map[string]File
	settings          map[string]string
}

func snap(f *fake) snapshot {
	return snapshot{f.installed, f.active, maps.Clone(f.files), maps.Clone(f.settings)}
}

func (s snapshot) equal(o snapshot) bool {
	return s.installed == o.installed && s.active == o.active && maps.Equal(s.files, o.files) && maps.Equal(s.settings, o.settings)
}

// TestPairGolden runs pair, pair again, and unpair, on each OS family,
// and compares every command (with what it writes) to testdata/*.golden:
// go test ./pair -run TestPairGolden -update rewrites them, to be read.
func TestPairGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   string
		mod    func(*Options)
		output []string
	}{
		{"debian-systemd-deb", "debian", "debian", func(o *Options) { o.Package, o.PackageData = "ucarp-go_0.1.0-1_amd64.deb", []byte("DEB\n") }, nil},
		{"ubuntu-systemd-repo", "ubuntu", "ubuntu", nil, nil},
		{"debian-sysv", "debian-sysv", "debian-sysv", func(o *Options) { o.Package, o.PackageData = "x.deb", []byte("DEB\n") }, nil},
		{"rocky-rpm", "rocky", "rocky", func(o *Options) { o.Package, o.PackageData = "ucarp-go-0.1.0-1.x86_64.rpm", []byte("RPM\n") }, nil},
		{"centos-sysv-repo", "centos-sysv", "centos-sysv", func(o *Options) { o.Preferred = 1; o.Preempt = false }, nil},
		{"freebsd-ours", "freebsd", "freebsd", nil, nil},
		{"freebsd-kernel", "freebsd", "freebsd", func(o *Options) { o.FreeBSDKernel = true }, nil},
		{"mixed-debian-freebsd-kernel", "debian", "freebsd", func(o *Options) { o.FreeBSDKernel = true },
			[]string{"a mixed pair (Linux and FreeBSD)"}},
		// Several VIPs in one group, per family.
		{"debian-systemd-multi", "debian", "debian", multiVIP, nil},
		{"centos-sysv-multi", "centos-sysv", "centos-sysv", multiVIP, nil},
		{"freebsd-ours-multi", "freebsd", "freebsd", multiVIP, nil},
		{"freebsd-kernel-multi", "freebsd", "freebsd", func(o *Options) { multiVIP(o); o.FreeBSDKernel = true; o.AdvBase = 2 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := baseOptions()
			if tc.mod != nil {
				tc.mod(&o)
			}
			a, b := newFake(tc.a, "a", "203.0.113.10", true), newFake(tc.b, "b", "203.0.113.11", false)
			if o.Preferred == 1 {
				a.master, b.master = false, true
			}
			initial := [2]snapshot{snap(a), snap(b)}
			var out, tr bytes.Buffer
			ctx := context.Background()
			step := func(name string, f func(*Runner) error) {
				t.Helper()
				out.Reset()
				a.log, b.log = nil, nil
				if err := f(testRunner(&out)); err != nil {
					t.Fatalf("%s: %v\n%s", name, err, out.String())
				}
				fmt.Fprintf(&tr, "######## %s\n#### host a\n%s\n#### host b\n%s\n#### output\n%s\n", name,
					strings.Join(a.log, "\n"), strings.Join(b.log, "\n"), out.String())
			}
			step("pair", func(r *Runner) error { return r.Pair(ctx, [2]Session{a, b}, o) })
			for _, want := range append(tc.output, "pair "+vipList(o)+" vhid 10: ") {
				if !strings.Contains(out.String(), want) {
					t.Errorf("pair's output lacks %q:\n%s", want, out.String())
				}
			}
			for _, f := range []*fake{a, b} {
				for p, file := range f.files {
					if strings.HasSuffix(p, ".pass") && (file.Mode != 0o600 || file.Data != "s3cret\n") {
						t.Errorf("%s: %s: mode %04o, %q", f.name, p, file.Mode, file.Data)
					}
				}
				if !f.active {
					t.Errorf("%s: not started", f.name)
				}
			}
			configured := [2]snapshot{snap(a), snap(b)}
			step("pair again", func(r *Runner) error { return r.Pair(ctx, [2]Session{a, b}, o) })
			if !strings.Contains(out.String(), "nothing to change") {
				t.Errorf("the second run changed something:\n%s", out.String())
			}
			if !configured[0].equal(snap(a)) || !configured[1].equal(snap(b)) {
				t.Error("the second run changed a host")
			}
			step("unpair", func(r *Runner) error {
				return r.Unpair(ctx, [2]Session{a, b}, Options{VIPs: o.VIPs, VHID: o.VHID, FreeBSDKernel: o.FreeBSDKernel})
			})
			if !initial[0].equal(snap(a)) || !initial[1].equal(snap(b)) {
				t.Errorf("unpair did not leave the hosts as they were:\n%+v\n%+v", snap(a), snap(b))
			}
			step("unpair again", func(r *Runner) error {
				return r.Unpair(ctx, [2]Session{a, b}, Options{VIPs: o.VIPs, VHID: o.VHID, FreeBSDKernel: o.FreeBSDKernel})
			})
			if !strings.Contains(out.String(), "nothing to remove") {
				t.Errorf("unpair again: %s", out.String())
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, tr.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./pair -run TestPairGolden -update writes it)", err)
			}
			if string(want) != tr.String() {
				t.Errorf("the commands differ from %s (-update rewrites it):\n%s", golden, tr.String())
			}
		})
	}
}

// TestRefusals: what pair refuses, before it changes anything.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b *fake
		mod  func(*Options)
		want string
	}{
		{"unknown OS", newFake("arch", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false), nil,
			"Arch Linux is not an operating system this command knows"},
		{"unknown kernel", func() *fake { f := newFake("debian", "a", "203.0.113.10", true); f.kernel = "SunOS"; return f }(),
			newFake("debian", "b", "203.0.113.11", false), nil, `"SunOS" is not an operating system`},
		{"VIP in no subnet", newFake("debian", "a", "198.51.100.10", true), newFake("debian", "b", "203.0.113.11", false), nil,
			"the VIP 203.0.113.100 is in no subnet of this host's interfaces"},
		{"no such interface", newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false),
			func(o *Options) { o.Interface = "eth9" }, "no interface eth9"},
		{"one host twice", newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.10", false), nil,
			"are one host"},
		{"vhid 0", newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false),
			func(o *Options) { o.VHID = 0 }, "vhid 0: must be 1 to 255"},
		{"IPv6 only", newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false),
			func(o *Options) { o.VIPs = []netip.Prefix{netip.MustParsePrefix("2001:db8::1/64")} }, "no IPv4 VIP"},
		{"duplicate VIP", newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false),
			func(o *Options) { o.VIPs = append(o.VIPs, netip.MustParsePrefix("203.0.113.100/32")) }, "the VIP 203.0.113.100 is given twice"},
		{"mixed subnets", newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false),
			func(o *Options) { o.VIPs = append(o.VIPs, netip.MustParsePrefix("198.51.100.100/24")) },
			"the VIPs are not all on one interface: 198.51.100.100 is in no subnet of eth0, where 203.0.113.100 is"},
		{"mixed subnets, FreeBSD", newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false),
			func(o *Options) { o.VIPs = append(o.VIPs, netip.MustParsePrefix("198.51.100.100/24")) },
			"198.51.100.100 is in no subnet of vtnet0"},
		{"IPv6 VIP, no link-local", func() *fake { f := newFake("debian", "a", "203.0.113.10", true); f.addrs6 = "[]"; return f }(),
			newFake("debian", "b", "203.0.113.11", false), multiVIP,
			"the VIP 2001:db8::100 is IPv6 and eth0 has no IPv6 link-local address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := baseOptions()
			if tc.mod != nil {
				tc.mod(&o)
			}
			var out bytes.Buffer
			err := testRunner(&out).Pair(context.Background(), [2]Session{tc.a, tc.b}, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			for _, f := range []*fake{tc.a, tc.b} {
				if f.installed || len(f.files) > 0 || f.active {
					t.Errorf("%s was changed: %v", f.name, f.log)
				}
			}
		})
	}
}

// TestVHIDInUse: a third host advertises the vhid; the package that
// pair installed to listen is removed again. The pair's own adverts (a
// rerun) are not a refusal.
func TestVHIDInUse(t *testing.T) {
	a, b := newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false)
	b.heard = []string{"203.0.113.10", "203.0.113.99"}
	var out bytes.Buffer
	err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, baseOptions())
	if err == nil || !strings.Contains(err.Error(), "vhid 10 is in use on eth0's segment (adverts from 203.0.113.99)") ||
		!strings.Contains(err.Error(), "rolled back: both hosts are as they were") {
		t.Fatalf("got %v", err)
	}
	for _, f := range []*fake{a, b} {
		if f.installed || len(f.files) > 0 || f.active {
			t.Errorf("%s was left changed: %+v", f.name, snap(f))
		}
	}
	b.heard = []string{"203.0.113.10"}
	if err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, baseOptions()); err != nil {
		t.Fatalf("the pair's own adverts: %v", err)
	}
}

// TestRollback: the second host fails to start; the first is put back as
// it was, or the error names what is left.
func TestRollback(t *testing.T) {
	for _, kind := range []string{"debian", "debian-sysv", "rocky", "freebsd"} {
		t.Run(kind, func(t *testing.T) {
			a, b := newFake(kind, "a", "203.0.113.10", true), newFake(kind, "b", "203.0.113.11", false)
			a.installed = true // installed before: stays
			a.files = map[string]File{"/etc/ucarp/vhid10.pass": {Path: "/etc/ucarp/vhid10.pass", Mode: 0o640, Data: "old\n"}}
			a.settings = map[string]string{}
			before := snap(a)
			p, _ := NewPlan(Facts{Family: FreeBSD, Interface: "vtnet0", Systemd: b.systemd}, baseOptions(), 1)
			if kind != "freebsd" {
				p, _ = NewPlan(Facts{Family: Debian, Interface: "eth0", Systemd: b.systemd}, baseOptions(), 1)
			}
			b.failOn = p.Start[len(p.Start)-1]
			var out bytes.Buffer
			err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, baseOptions())
			if err == nil || !strings.Contains(err.Error(), "rolled back: both hosts are as they were") {
				t.Fatalf("got %v\n%s", err, out.String())
			}
			if !before.equal(snap(a)) {
				t.Errorf("a is not as it was:\n%+v\n%+v\n%s", before, snap(a), strings.Join(a.log, "\n"))
			}
			if b.installed || len(b.files) > 0 || len(b.settings) > 0 {
				t.Errorf("b is not as it was: %+v", snap(b))
			}
			// What Start enabled for every instance is undone after the
			// files are gone.
			if pb, _ := NewPlan(b.facts(), baseOptions(), 1); len(pb.StopLast) > 0 {
				last := slices.Index(b.log, pb.StopLast[0])
				if last < 0 || last < slices.Index(b.log, "rm -f /etc/ucarp/vhid10.conf") {
					t.Errorf("b: %q not run after the conf's removal:\n%s", pb.StopLast[0], strings.Join(b.log, "\n"))
				}
			}

			// When an undo fails too, the error says what is left.
			a, b = newFake(kind, "a", "203.0.113.10", true), newFake(kind, "b", "203.0.113.11", false)
			b.failOn = p.Start[len(p.Start)-1]
			a.failOn = "rm -f "
			err = testRunner(&out).Pair(context.Background(), [2]Session{a, b}, baseOptions())
			if err == nil || !strings.Contains(err.Error(), "left as it is") || !strings.Contains(err.Error(), "a: ") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestDryRun: only commands that look are run; the others are printed.
func TestDryRun(t *testing.T) {
	for _, kind := range []string{"debian", "freebsd"} {
		a, b := newFake(kind, "a", "203.0.113.10", true), newFake(kind, "b", "203.0.113.11", false)
		var out bytes.Buffer
		r := testRunner(&out)
		r.DryRun = true
		if err := r.Pair(context.Background(), [2]Session{a, b}, baseOptions()); err != nil {
			t.Fatal(err)
		}
		for _, f := range []*fake{a, b} {
			if f.installed || len(f.files) > 0 || f.active || len(f.settings) > 0 {
				t.Errorf("%s: the dry run changed it: %v", kind, f.log)
			}
		}
		for _, want := range []string{"a: would run: ", "b: would run: ", "s3cret"} {
			if want == "s3cret" {
				if strings.Contains(out.String(), want) {
					t.Errorf("%s: the dry run prints the password:\n%s", kind, out.String())
				}
				continue
			}
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: no %q in:\n%s", kind, want, out.String())
			}
		}
	}
}

// TestVerifyFailover: the holder is demoted, the other takes over, and
// the demotion is taken back.
func TestVerifyFailover(t *testing.T) {
	a, b := newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false)
	var out bytes.Buffer
	r := testRunner(&out)
	r.VerifyFailover = true
	hook := &hookSession{fake: a, on: map[string]func(){
		"ucarpctl demote eth0:10 255": func() { a.master, b.master = false, true },
		"ucarpctl promote eth0:10":    func() { a.master, b.master = true, false },
	}}
	if err := r.Pair(context.Background(), [2]Session{hook, b}, baseOptions()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "failover: b took the address while a was demoted") {
		t.Errorf("output:\n%s", out.String())
	}
	// Where ucarpctl has the maintenance verb, it is used.
	a.maint = true
	hook.on = map[string]func(){
		"ucarpctl maintenance on eth0:10":  func() { a.master, b.master = false, true },
		"ucarpctl maintenance off eth0:10": func() { a.master, b.master = true, false },
	}
	out.Reset()
	if err := r.Pair(context.Background(), [2]Session{hook, b}, baseOptions()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "failover: b took the address while a was in maintenance") {
		t.Errorf("output:\n%s", out.String())
	}
	a.maint = false

	// A holder that never lets go fails the check, and is promoted again.
	hook.on = map[string]func(){}
	err := r.Pair(context.Background(), [2]Session{hook, b}, baseOptions())
	if err == nil || !strings.Contains(err.Error(), "b did not take the address while a was demoted") {
		t.Fatalf("got %v", err)
	}
	if last := a.log[len(a.log)-1]; last != "ucarpctl promote eth0:10" {
		t.Errorf("the last command on a: %q", last)
	}
}

// TestVerifyFailoverKernel: in kernel mode only the paired vhid is
// demoted (not the host's every group through net.inet.carp.demotion),
// in a way that moves the address with preempt and without.
func TestVerifyFailoverKernel(t *testing.T) {
	for _, preempt := range []bool{true, false} {
		a, b := newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
		var out bytes.Buffer
		r := testRunner(&out)
		r.VerifyFailover = true
		hook := &hookSession{fake: a, on: map[string]func(){
			"ifconfig vtnet0 vhid 10 advskew 254 state backup": func() { a.master, b.master = false, true },
			"ifconfig vtnet0 vhid 10 advskew 0":                func() { a.master, b.master = preempt, !preempt },
		}}
		o := baseOptions()
		o.FreeBSDKernel, o.Preempt = true, preempt
		if err := r.Pair(context.Background(), [2]Session{hook, b}, o); err != nil {
			t.Fatalf("preempt %v: %v\n%s\n%s", preempt, err, out.String(), strings.Join(a.log, "\n"))
		}
		for _, c := range a.log {
			if strings.Contains(c, "carp.demotion") {
				t.Errorf("preempt %v: the host's every group is demoted: %s", preempt, c)
			}
		}
		if !strings.Contains(out.String(), "failover: b took the address while a was demoted") {
			t.Errorf("preempt %v: output:\n%s", preempt, out.String())
		}
	}
}

type hookSession struct {
	*fake
	on map[string]func()
}

func (h *hookSession) Run(ctx context.Context, cmd string, stdin []byte) (string, error) {
	if f := h.on[cmd]; f != nil {
		f()
	}
	return h.fake.Run(ctx, cmd, stdin)
}

// TestFewerVIPs: pairing again with fewer VIPs leaves no trace of the
// others (the config file, ucarp_vips, the kernel's aliases, which also
// go down), and unpair with only the first VIP removes every alias that
// holds the vhid.
func TestFewerVIPs(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		kernel bool
	}{{"debian", false}, {"freebsd", false}, {"freebsd", true}} {
		t.Run(fmt.Sprintf("%s kernel=%v", tc.kind, tc.kernel), func(t *testing.T) {
			a, b := newFake(tc.kind, "a", "203.0.113.10", true), newFake(tc.kind, "b", "203.0.113.11", false)
			initial := [2]snapshot{snap(a), snap(b)}
			o := baseOptions()
			o.FreeBSDKernel = tc.kernel
			multiVIP(&o)
			ctx := context.Background()
			var out bytes.Buffer
			if err := testRunner(&out).Pair(ctx, [2]Session{a, b}, o); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			one := o
			one.VIPs = o.VIPs[:1]
			a.log = nil
			if err := testRunner(&out).Pair(ctx, [2]Session{a, b}, one); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			trace := func(f *fake) string {
				for _, v := range f.settings {
					if strings.Contains(v, "203.0.113.101") || strings.Contains(v, "2001:db8::100") {
						return v
					}
				}
				for _, file := range f.files {
					if strings.Contains(file.Data, "203.0.113.101") || strings.Contains(file.Data, "--vip") {
						return file.Data
					}
				}
				return ""
			}
			for _, f := range []*fake{a, b} {
				if s := trace(f); s != "" {
					t.Errorf("%s: the VIPs left out are still configured: %q", f.name, s)
				}
			}
			if tc.kernel && !slices.Contains(a.log, "ifconfig vtnet0 inet6 2001:db8::100 -alias 2>/dev/null || true") {
				t.Errorf("the address left out is not taken down:\n%s", strings.Join(a.log, "\n"))
			}
			// Pair with all three again, then unpair with only the first.
			if err := testRunner(&out).Pair(ctx, [2]Session{a, b}, o); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if err := testRunner(&out).Unpair(ctx, [2]Session{a, b}, Options{VIPs: one.VIPs, VHID: 10, FreeBSDKernel: tc.kernel}); err != nil {
				t.Fatal(err)
			}
			if !initial[0].equal(snap(a)) || !initial[1].equal(snap(b)) {
				t.Errorf("unpair did not leave the hosts as they were:\n%+v\n%+v", snap(a), snap(b))
			}
		})
	}
}

// TestFreeBSDOtherVHID: FreeBSD's rc.d script runs one group; a host
// whose rc.conf has another group's ucarp_vhid is refused by pair and
// left alone by unpair.
func TestFreeBSDOtherVHID(t *testing.T) {
	other := func() *fake {
		f := newFake("freebsd", "a", "203.0.113.10", true)
		f.installed, f.active = true, true
		f.files = map[string]File{"/usr/local/etc/ucarp.pass": {Path: "/usr/local/etc/ucarp.pass", Mode: 0o600, Data: "five\n"}}
		f.settings = map[string]string{"/etc/rc.conf ucarp_enable": "YES", "/etc/rc.conf ucarp_vhid": "5", "/etc/rc.conf ucarp_addr": "203.0.113.50"}
		return f
	}
	a, b := other(), newFake("freebsd", "b", "203.0.113.11", false)
	before := snap(a)
	var out bytes.Buffer
	err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, baseOptions())
	if err == nil || !strings.Contains(err.Error(), "a: its rc.d ucarp already runs vhid 5") {
		t.Fatalf("pair: got %v", err)
	}
	if !before.equal(snap(a)) || b.installed || len(b.files) > 0 {
		t.Errorf("pair changed a host: %v %v", a.log, b.log)
	}
	// Kernel CARP does not use the rc.d script.
	o := baseOptions()
	o.FreeBSDKernel = true
	if err := testRunner(&out).Pair(context.Background(), [2]Session{other(), newFake("freebsd", "b", "203.0.113.11", false)}, o); err != nil {
		t.Errorf("kernel mode: %v", err)
	}

	out.Reset()
	err = testRunner(&out).Unpair(context.Background(), [2]Session{a, b}, Options{VIPs: baseOptions().VIPs, VHID: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !before.equal(snap(a)) {
		t.Errorf("unpair changed a: %v", a.log)
	}
	if !strings.Contains(out.String(), "a: left alone: its rc.d ucarp runs another group, vhid 5") {
		t.Errorf("unpair's output: %s", out.String())
	}
}

// TestAptNoRemove: apt-get never removes a package (Debian's ucarp,
// which ours conflicts with); when it refuses, the error says why.
func TestAptNoRemove(t *testing.T) {
	for _, pkg := range []string{"", "x.deb"} {
		a, b := newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false)
		o := baseOptions()
		if pkg != "" {
			o.Package, o.PackageData = pkg, []byte("DEB\n")
		}
		b.failOn = "apt-get install"
		var out bytes.Buffer
		err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, o)
		if err == nil || !strings.Contains(err.Error(), "if Debian's ucarp package is installed") {
			t.Fatalf("%q: got %v", pkg, err)
		}
		for _, c := range b.log {
			if strings.Contains(c, "apt-get install") && !strings.Contains(c, " --no-remove ") {
				t.Errorf("%q: without --no-remove: %s", pkg, c)
			}
		}
	}
}

// TestPrivateUpload: the package goes through a fresh directory of mode
// 700 that is gone afterwards, never a fixed name in /tmp.
func TestPrivateUpload(t *testing.T) {
	for _, kind := range []string{"debian", "rocky", "freebsd"} {
		f := Facts{Family: Debian, Interface: "eth0", Systemd: true}
		switch kind {
		case "rocky":
			f.Family = RHEL
		case "freebsd":
			f = Facts{Family: FreeBSD, Interface: "vtnet0"}
		}
		o := baseOptions()
		o.Package, o.PackageData = "p", []byte("PKG\n")
		p, err := NewPlan(f, o, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Upload == nil || len(p.Install) != 2 || !strings.HasPrefix(p.Install[0], "d=$(mktemp -d) && ") {
			t.Errorf("%s: %q", kind, p.Install)
		}
		for _, c := range p.Install {
			if strings.Contains(c, "/tmp") {
				t.Errorf("%s: %q", kind, c)
			}
		}
	}
	if _, err := exec.LookPath("stat"); err != nil {
		t.Skip(err)
	}
	cmd := privateUpload("x.deb", `printf '%s\n' "$d" && stat -c %a "$d" && cat`)
	sh := exec.Command("sh", "-c", cmd)
	sh.Stdin = strings.NewReader("PKG\n")
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	dir, rest, _ := strings.Cut(string(out), "\n")
	if rest != "700\nPKG\n" {
		t.Errorf("%s: %q", cmd, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is left: %v", dir, err)
		os.RemoveAll(dir)
	}
}

// TestRollbackAfterCancel: Ctrl-C during the run cancels its context;
// the rollback still runs, with a context of its own.
func TestRollbackAfterCancel(t *testing.T) {
	a, b := newFake("debian", "a", "203.0.113.10", true), newFake("debian", "b", "203.0.113.11", false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.cancelOn, b.cancel = "systemctl enable --now", cancel
	var out bytes.Buffer
	err := testRunner(&out).Pair(ctx, [2]Session{a, b}, baseOptions())
	if err == nil || !strings.Contains(err.Error(), "rolled back: both hosts are as they were") {
		t.Fatalf("got %v\n%s", err, out.String())
	}
	for _, f := range []*fake{a, b} {
		if f.installed || len(f.files) > 0 || f.active {
			t.Errorf("%s was left changed: %+v", f.name, snap(f))
		}
	}
}

// TestRedact: kernel mode's password is not printed, in a dry run or an
// error.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"ifconfig vtnet0 inet vhid 10 advskew 0 pass s3cret alias 203.0.113.100/32":                      "ifconfig vtnet0 inet vhid 10 advskew 0 pass **** alias 203.0.113.100/32",
		`ifconfig vtnet0 inet vhid 10 pass 'a b'\''c' alias 203.0.113.100/32`:                            "ifconfig vtnet0 inet vhid 10 pass **** alias 203.0.113.100/32",
		`sysrc -f /etc/rc.conf 'ifconfig_vtnet0_alias0=inet vhid 10 pass a'\''b alias 203.0.113.100/32'`: `sysrc -f /etc/rc.conf 'ifconfig_vtnet0_alias0=inet vhid 10 pass **** alias 203.0.113.100/32'`,
		"sysrc -f /etc/rc.conf ucarp_passfile=/usr/local/etc/ucarp.pass":                                 "sysrc -f /etc/rc.conf ucarp_passfile=/usr/local/etc/ucarp.pass",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	o := baseOptions()
	o.FreeBSDKernel = true
	a, b := newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
	var out bytes.Buffer
	r := testRunner(&out)
	r.DryRun = true
	if err := r.Pair(context.Background(), [2]Session{a, b}, o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "pass ****") {
		t.Errorf("the dry run:\n%s", out.String())
	}
	for _, failOn := range []string{"sysrc -f /etc/rc.conf 'ifconfig_", "ifconfig vtnet0 inet vhid"} {
		a, b = newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
		b.failOn = failOn
		out.Reset()
		err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, o)
		if err == nil || strings.Contains(err.Error()+out.String(), "s3cret") || !strings.Contains(err.Error(), "pass ****") {
			t.Errorf("%s: got %v\n%s", failOn, err, out.String())
		}
	}
}

// TestKernelUnpairKeepsShared: kernel-mode unpair keeps carp_load and
// the preempt line when rc.conf has another vhid's CARP address.
func TestKernelUnpairKeepsShared(t *testing.T) {
	o := baseOptions()
	o.FreeBSDKernel = true
	for _, other := range []bool{false, true} {
		a, b := newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
		if err := testRunner(&bytes.Buffer{}).Pair(context.Background(), [2]Session{a, b}, o); err != nil {
			t.Fatal(err)
		}
		const alias5 = "/etc/rc.conf ifconfig_vtnet0_alias1"
		const vhid5 = "inet vhid 5 advskew 0 pass x alias 203.0.113.50/32"
		if other {
			a.settings[alias5] = vhid5
		}
		var out bytes.Buffer
		if err := testRunner(&out).Unpair(context.Background(), [2]Session{a, b}, Options{VIPs: o.VIPs, VHID: 10, FreeBSDKernel: true}); err != nil {
			t.Fatal(err)
		}
		_, load := a.settings["/boot/loader.conf carp_load"]
		_, preempt := a.settings["/etc/sysctl.conf net.inet.carp.preempt=1"]
		// The other group's alias moves down into alias0: no gap.
		if load != other || preempt != other || other && (a.settings["/etc/rc.conf ifconfig_vtnet0_alias0"] != vhid5 || a.settings[alias5] != "") {
			t.Errorf("other group %v: carp_load kept %v, preempt kept %v\n%s", other, load, preempt, out.String())
		}
		if _, bload := b.settings["/boot/loader.conf carp_load"]; bload {
			t.Errorf("b has no other group, and kept carp_load")
		}
	}
}

// aliasGap is the first ifconfig_vtnet0_aliasN missing before one that
// is set in f's rc.conf (FreeBSD's rc ignores every alias after it), or "".
func aliasGap(f *fake) string {
	last := -1
	for k := range f.settings {
		if n, err := strconv.Atoi(strings.TrimPrefix(k, "/etc/rc.conf ifconfig_vtnet0_alias")); err == nil {
			last = max(last, n)
		}
	}
	for n := range last {
		if _, ok := f.settings["/etc/rc.conf ifconfig_vtnet0_alias"+strconv.Itoa(n)]; !ok {
			return "ifconfig_vtnet0_alias" + strconv.Itoa(n)
		}
	}
	return ""
}

// TestKernelAliasesNoGap: pairing again with other VIPs, and unpairing
// with another group's alias after ours, leave the aliases numbered
// from 0 without a gap.
func TestKernelAliasesNoGap(t *testing.T) {
	o := baseOptions()
	o.FreeBSDKernel = true
	multiVIP(&o)
	a, b := newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
	ctx := context.Background()
	var out bytes.Buffer
	check := func(what string) {
		t.Helper()
		for _, f := range []*fake{a, b} {
			if gap := aliasGap(f); gap != "" {
				t.Errorf("%s: %s: %s is missing: %v", what, f.name, gap, f.settings)
			}
		}
	}
	if err := testRunner(&out).Pair(ctx, [2]Session{a, b}, o); err != nil {
		t.Fatal(err)
	}
	check("pair")
	later := o
	later.VIPs = o.VIPs[1:]
	if err := testRunner(&out).Pair(ctx, [2]Session{a, b}, later); err != nil {
		t.Fatal(err)
	}
	check("pair without the first VIP")
	const vhid5 = "inet vhid 5 advskew 0 pass x alias 203.0.113.50/32"
	a.settings["/etc/rc.conf ifconfig_vtnet0_alias2"] = vhid5
	if err := testRunner(&out).Unpair(ctx, [2]Session{a, b}, Options{VIPs: later.VIPs, VHID: 10, FreeBSDKernel: true}); err != nil {
		t.Fatal(err)
	}
	check("unpair")
	if got := a.settings["/etc/rc.conf ifconfig_vtnet0_alias0"]; got != vhid5 {
		t.Errorf("unpair: alias0 is %q, want the other group's", got)
	}
}

// TestKernelRollbackUnloaded: a host whose carp.ko was not loaded
// (net.inet.carp.preempt unreadable) gets preempt back to 0 on a
// rollback, and an old alias that rc.conf writes without "alias" is put
// up again with it (FreeBSD's ifconfig without it replaces the
// interface's first address).
func TestKernelRollbackUnloaded(t *testing.T) {
	const old = "inet 203.0.113.100/32 vhid 10 advskew 50 pass old"
	a, b := newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
	a.active, a.unloaded = true, true
	a.files = map[string]File{}
	a.settings = map[string]string{"/etc/rc.conf ifconfig_vtnet0_alias0": old}
	o := baseOptions()
	o.FreeBSDKernel, o.Preempt = true, true
	b.failOn = "ifconfig vtnet0 inet vhid 10 advskew 100"
	var out bytes.Buffer
	err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, o)
	if err == nil || !strings.Contains(err.Error(), "rolled back: both hosts are as they were") {
		t.Fatalf("got %v\n%s", err, out.String())
	}
	if a.preempt != "0" {
		t.Errorf("a's live preempt is %q after the rollback, want 0:\n%s", a.preempt, strings.Join(a.log, "\n"))
	}
	last := lastCommand(a.log, "ifconfig vtnet0 inet")
	if want := "ifconfig vtnet0 inet 203.0.113.100/32 vhid 10 advskew 50 pass old alias"; last != want {
		t.Errorf("the last ifconfig on a is %q, want %q:\n%s", last, want, strings.Join(a.log, "\n"))
	}
}

// lastCommand is the last command of log that starts with prefix, or "".
func lastCommand(log []string, prefix string) string {
	for _, c := range slices.Backward(log) {
		if strings.HasPrefix(c, prefix) {
			return c
		}
	}
	return ""
}

// TestKernelRollbackLive: in kernel mode the rollback of a host whose
// vhid ran puts its old aliases up again, not the new ones, and the
// live preempt back as it was.
func TestKernelRollbackLive(t *testing.T) {
	const old = "inet vhid 10 advskew 50 pass old alias 203.0.113.100/32"
	a, b := newFake("freebsd", "a", "203.0.113.10", true), newFake("freebsd", "b", "203.0.113.11", false)
	a.active = true
	a.files = map[string]File{}
	a.settings = map[string]string{"/etc/rc.conf ifconfig_vtnet0_alias0": old, "/boot/loader.conf carp_load": "YES"}
	before := snap(a)
	o := baseOptions()
	o.FreeBSDKernel = true
	b.failOn = "ifconfig vtnet0 inet vhid 10 advskew 100"
	var out bytes.Buffer
	err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, o)
	if err == nil || !strings.Contains(err.Error(), "rolled back: both hosts are as they were") {
		t.Fatalf("got %v\n%s", err, out.String())
	}
	if !before.equal(snap(a)) {
		t.Errorf("a's files are not as they were:\n%+v\n%+v", before, snap(a))
	}
	last := lastCommand(a.log, "ifconfig vtnet0 inet")
	if want := "ifconfig vtnet0 inet vhid 10 advskew 50 pass old alias 203.0.113.100/32"; last != want {
		t.Errorf("the last ifconfig on a is %q, want the old alias %q:\n%s", last, want, strings.Join(a.log, "\n"))
	}
	if a.preempt == "1" {
		t.Errorf("a's live preempt is still 1 after the rollback:\n%s", strings.Join(a.log, "\n"))
	}
	// Without the failure, the restart of the running vhid turns the
	// live preempt on too, not only at the next boot.
	b.failOn = ""
	if err := testRunner(&out).Pair(context.Background(), [2]Session{a, b}, o); err != nil {
		t.Fatal(err)
	}
	if a.preempt != "1" {
		t.Errorf("a's live preempt is %q after pair --preempt:\n%s", a.preempt, strings.Join(a.log, "\n"))
	}
}

// TestLineCommands runs ensureLine's and the rollback's shell commands
// with /bin/sh on a real file: the line is added where it is not in
// effect (no file, no newline at the end, the key set again after it,
// commented out, CRLF), not where it is, and the rollback takes out only
// the line added.
func TestLineCommands(t *testing.T) {
	const x = "net.inet.carp.preempt=1"
	for _, tc := range []struct {
		name, before, added, after string // after: once the line is removed again
	}{
		{name: "no file", before: "-", added: x + "\n", after: ""},
		{name: "other lines", before: "a=1\n", added: "a=1\n" + x + "\n", after: "a=1\n"},
		{name: "no newline at the end", before: "a=1", added: "a=1\n" + x + "\n", after: "a=1\n"},
		{name: "there", before: "a=1\n" + x + "\n"},
		{name: "there with blanks and a comment", before: "  " + x + "\t# on\n"},
		{name: "set again after", before: x + "\nnet.inet.carp.preempt=0\n", added: x + "\nnet.inet.carp.preempt=0\n" + x + "\n"},
		{name: "commented out", before: "#" + x + "\n# " + x + "\n", added: "#" + x + "\n# " + x + "\n" + x + "\n"},
		{name: "another key that begins alike", before: "net.inet.carp.preempt=1x\nxnet.inet.carp.preempt=1\n", added: "net.inet.carp.preempt=1x\nxnet.inet.carp.preempt=1\n" + x + "\n"},
		{name: "CRLF", before: "a=1\r\n" + x + "\r\n", added: "a=1\r\n" + x + "\r\n" + x + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Line{File: filepath.Join(t.TempDir(), "sysctl.conf"), Text: x}
			if tc.before != "-" {
				if err := os.WriteFile(l.File, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sh := func(cmd string) error { return exec.Command("/bin/sh", "-c", cmd).Run() }
			read := func() string {
				b, _ := os.ReadFile(l.File)
				return string(b)
			}
			if tc.added == "" { // in effect: nothing to do
				if err := sh(inEffect(l)); err != nil {
					t.Fatalf("%q: the line is in effect, and %s says no", tc.before, inEffect(l))
				}
				return
			}
			if sh(inEffect(l)) == nil {
				t.Fatalf("%q: the line is not in effect, and %s says it is", tc.before, inEffect(l))
			}
			if err := sh(appendLine(l)); err != nil {
				t.Fatal(err)
			}
			if got := read(); got != tc.added {
				t.Fatalf("added: %q, want %q", got, tc.added)
			}
			if err := sh(inEffect(l)); err != nil {
				t.Errorf("%q: the line added is not in effect", read())
			}
			if err := sh(removeLine(l)); err != nil {
				t.Fatal(err)
			}
			want := tc.after
			if want == "" && tc.before != "-" {
				want = tc.before
			}
			if got := read(); got != want {
				t.Errorf("removed: %q, want %q", got, want)
			}
		})
	}
}
