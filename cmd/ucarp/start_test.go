package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	conffile "github.com/ucarp-go/ucarp/config"
	"github.com/ucarp-go/ucarp/node"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
	"github.com/ucarp-go/ucarp/vip"
)

// daemon is the command line's daemon started on a platformtest host.
type daemon struct {
	host      *platformtest.Host
	locks     *platformtest.Locks // startDeps.lock
	out, errs syncBuffer          // the console streams, which the daemon's goroutines write
	sigs      chan os.Signal
	plan      chan exitPlan
}

var hostAddr = netip.MustParsePrefix("198.51.100.11/24")

func newDaemon(lan *platformtest.LAN) *daemon {
	return &daemon{host: lan.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 11}, hostAddr), locks: &platformtest.Locks{},
		sigs: make(chan os.Signal, 8), plan: make(chan exitPlan, 1)}
}

// start runs start with the command line args (the interface, vhid,
// password, source and address are given) in the background.
func (d *daemon) start(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.11", "-a", "198.51.100.101"}, args...)
	res := parseCommandLine("ucarp", args, false, newLogger(io.Discard, io.Discard, nil), io.Discard)
	if res.done {
		t.Fatalf("command line %q: exit %d", args, res.exit)
	}
	log := newLogger(&d.out, &d.errs, nil)
	log.SetDebug(res.cfg.debug)
	sd := startDeps{lock: d.locks.Lock, open: func(name string) (platform.OS, error) {
		if name != "eth0" {
			return nil, fmt.Errorf("%w: %s: %w", platform.ErrNoInterface, name, syscall.ENODEV)
		}
		return d.host, nil
	}}
	go func() { d.plan <- start(res.cfg, log, nil, d.sigs, sd) }()
}

// end waits for start's exit plan, and stops the signal handler.
func (d *daemon) end(t *testing.T) exitPlan {
	t.Helper()
	defer close(d.sigs)
	select {
	case p := <-d.plan:
		return p
	case <-time.After(time.Minute):
		t.Fatalf("still running:\nstdout %q\nstderr %q", lines(d.out.String()), lines(d.errs.String()))
	}
	return exitPlan{}
}

// check compares the console with stdout and stderr, line by line; a
// wanted line that ends in "*" is a prefix.
func (d *daemon) check(t *testing.T, stdout, stderr []string) {
	t.Helper()
	match := func(got, want []string) bool {
		return slices.EqualFunc(got, want, func(g, w string) bool {
			if p, ok := strings.CutSuffix(w, "*"); ok {
				return strings.HasPrefix(g, p)
			}
			return g == w
		})
	}
	if got := lines(d.out.String()); !match(got, stdout) {
		t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(stdout, "\n"))
	}
	if got := lines(d.errs.String()); !match(got, stderr) {
		t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(stderr, "\n"))
	}
}

// TestStartRunsAndEnds: the command line's group runs through a node
// with ucarp's lines (the same as before it did, in the same order), and
// the process ends as the group does: it dies of TERM or HUP without -z,
// exits 0 with -z or when the interface is set down, and 2 when the
// interface disappears.
func TestStartRunsAndEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		end    func(d *daemon)
		plan   exitPlan
		stdout []string // after the USR1 report
		stderr []string // after the transitions to MASTER
	}{
		{name: "TERM", end: func(d *daemon) { d.sigs <- syscall.SIGTERM }, plan: exitPlan{reraise: syscall.SIGTERM}},
		{name: "HUP stops", end: func(d *daemon) { d.sigs <- syscall.SIGHUP }, plan: exitPlan{reraise: syscall.SIGHUP}},
		{name: "TERM -z", args: []string{"-z"}, end: func(d *daemon) { d.sigs <- syscall.SIGTERM }},
		{name: "set down", end: func(d *daemon) { d.host.SetLink(false, false) },
			stdout: []string{"[INFO] Interface [eth0] was set down administratively"},
			stderr: []string{"[ERROR] exiting: pfds[0].revents = 8", "[WARNING] write() has failed: Network is down"}},
		{name: "gone", end: func(d *daemon) { d.host.Remove() }, plan: exitPlan{code: 2},
			stderr: []string{"[ERROR] Interface [eth0] is gone: exiting", "[WARNING] write() has failed: No such device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				d := newDaemon(&lan)
				d.start(t, tc.args...)
				time.Sleep(5500 * time.Millisecond) // between two adverts
				d.sigs <- syscall.SIGUSR1
				synctest.Wait()
				tc.end(d)
				if p := d.end(t); p != tc.plan {
					t.Errorf("exit plan %+v, want %+v", p, tc.plan)
				}
				stdout := append([]string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]",
					"[INFO] Added 198.51.100.101/32 to eth0", "[INFO] MASTER on eth0 id 1",
					"[INFO] Counters: adverts sent 3 (errors 0), valid adverts received 0, packets dropped 0, " +
						"gratuitous ARPs 2 (errors 0), transitions 2, scripts 0 (failed 0, timed out 0), " +
						"steps superseded 0, adverts of lesser masters 0 (answered 0)"}, tc.stdout...)
				stdout = append(stdout, "[INFO] Removed 198.51.100.101/32 from eth0")
				stderr := append([]string{"[WARNING] Switching to state: BACKUP", "[WARNING] Switching to state: MASTER"}, tc.stderr...)
				d.check(t, stdout, stderr)
				if d.host.Addrs().Has(netip.MustParseAddr("198.51.100.101")) {
					t.Error("the address stayed")
				}
				if d.locks.Held() != 0 {
					t.Error("the lock stayed")
				}
			})
		})
	}
}

// TestStartFailures: each step's failure is worded as ucarp words it,
// exit 2, and nothing is left running.
func TestStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		setup  func(d *daemon)
		stdout []string
		stderr []string
	}{
		{name: "no interface", args: []string{"-i", "eth1"}, stderr: []string{
			"[ERROR] Unable to get hardware info about an interface: No such device",
			"[ERROR] Unable to find MAC address of [eth1]"}},
		{name: "privileges", setup: func(d *daemon) { d.host.DenyPrivileges(false, true) },
			stderr: []string{"[ERROR] platformtest: missing capability [CAP_NET_ADMIN]"}},
		{name: "privileges without managing", args: []string{"--no-manage-vip"}, setup: func(d *daemon) { d.host.DenyPrivileges(true, true) },
			stderr: []string{"[ERROR] platformtest: missing capability [CAP_NET_RAW]"}},
		{name: "source not local", args: []string{"-s", "198.51.100.12"},
			stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]"},
			stderr: []string{"[ERROR] Source address 198.51.100.12 is not configured on any interface",
				"[ERROR] Can't do IP_ADD_MEMBERSHIP errno=No such device (19)"}},
		{name: "join", setup: func(d *daemon) {
			d.host.FailOpenIP(fmt.Errorf("%w 198.51.100.50 on eth0: %w", platform.ErrJoin, syscall.EINVAL))
		}, stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]"},
			stderr: []string{"[ERROR] Can't do IP_ADD_MEMBERSHIP errno=Invalid argument (22)"}},
		{name: "socket", setup: func(d *daemon) { d.host.FailOpenIP(fmt.Errorf("socket: %w", syscall.EPERM)) },
			stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]"},
			stderr: []string{"[ERROR] Error opening socket for interface [eth0]: Operation not permitted"}},
		{name: "arp", setup: func(d *daemon) { d.host.FailOpenARP(fmt.Errorf("packet: %w", syscall.EPERM)) },
			stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]"},
			stderr: []string{"[ERROR] Unable to open interface [eth0]: Operation not permitted"}},
		{name: "locked", setup: func(d *daemon) { d.locks.Lock("ucarp-go/2/1") },
			stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]"},
			stderr: []string{"[ERROR] Another ucarp-go already manages vhid 1 on eth0 (platform: locked by another process: ucarp-go/2/1): not starting"}},
		{name: "stale copy", setup: func(d *daemon) {
			d.host.Addrs().NoProto = true
			d.host.Addrs().Fail(errors.New("netlink: boom"))
		}, stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]",
			"[INFO] This kernel has no address protocol (IFA_PROTO, Linux 5.18): the daemon's copy of 198.51.100.101/32 is told by its label eth0:ucarp"},
			stderr: []string{"[ERROR] Unable to remove a stale virtual address: netlink: boom"}},
		{name: "pid file", args: []string{"--pidfile=/nonexistent/dir/ucarp.pid"},
			stdout: []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]"},
			stderr: []string{"[ERROR] Unable to write the pid file: open /nonexistent/dir/*"}},
		{name: "password", args: []string{"-p", "123456789012345678901"}, stderr: []string{"[ERROR] Password too long"}},
		{name: "long name", args: []string{"-i", "averyveryverylongname"}, stderr: []string{
			"[ERROR] Interface name too long", "[ERROR] Unable to find MAC address of [averyveryverylongname]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var lan platformtest.LAN
				d := newDaemon(&lan)
				if tc.setup != nil {
					tc.setup(d)
				}
				d.start(t, tc.args...)
				if p := d.end(t); p != (exitPlan{code: exitStartup}) {
					t.Errorf("exit plan %+v, want exit 2", p)
				}
				d.check(t, tc.stdout, tc.stderr)
				if n := d.locks.Held(); n != 0 && tc.name != "locked" {
					t.Errorf("%d locks held", n)
				}
			})
		})
	}
}

// TestStartStaleCopy: a copy of the address left by a killed daemon is
// removed before the first election, after the lines that say how the
// daemon's copies are told (here: by their label).
func TestStartStaleCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		d := newDaemon(&lan)
		d.host.Addrs().NoProto = true
		if err := d.host.Addrs().Add(vip.Address{Prefix: netip.MustParsePrefix("198.51.100.101/32"), Label: "eth0:ucarp"}); err != nil {
			t.Fatal(err)
		}
		d.start(t, "--advskew=100")
		time.Sleep(time.Second)
		d.sigs <- syscall.SIGTERM
		d.end(t)
		d.check(t, []string{"[INFO] Local advertised ethernet address is [02:00:00:00:00:0b]",
			"[INFO] This kernel has no address protocol (IFA_PROTO, Linux 5.18): the daemon's copy of 198.51.100.101/32 is told by its label eth0:ucarp"},
			[]string{"[WARNING] Removed 198.51.100.101/32 left on eth0 by a previous run", "[WARNING] Switching to state: BACKUP"})
	})
}

// TestStartPidFile: the pid file is there before the group runs, and
// goes when it ends.
func TestStartPidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ucarp.pid")
	synctest.Test(t, func(t *testing.T) {
		var lan platformtest.LAN
		d := newDaemon(&lan)
		d.start(t, "--pidfile="+path)
		time.Sleep(time.Second)
		if b, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
			t.Errorf("pid file: %q, %v", b, err)
		}
		d.sigs <- syscall.SIGTERM
		d.end(t)
		if _, err := os.Stat(path); err == nil {
			t.Error("the pid file stayed")
		}
	})
}

// TestStartupLines: the words of each step's failure, as ucarp's.
func TestStartupLines(t *testing.T) {
	cfg := &config{Group: conffile.Group{Interface: "eth0", VHID: 7}}
	fail := func(step node.Step, err error) error {
		return errors.Join(&node.StartError{ID: node.ID{Interface: "eth0", VHID: 7}, Step: step, Err: err})
	}
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{fail(node.StepInterface, platform.ErrNotSupported), []string{"ucarp-go is not supported on this operating system: platform: not supported on " + runtimeGOOS()}},
		{fail(node.StepInterface, fmt.Errorf("%w: eth0: %w", platform.ErrNoInterface, syscall.ENODEV)),
			[]string{"Unable to get hardware info about an interface: No such device", "Unable to find MAC address of [eth0]"}},
		{fail(node.StepInterface, fmt.Errorf("route ip+net: %w", syscall.EACCES)),
			[]string{"Unable to get hardware info about an interface: Permission denied", "Unable to find MAC address of [eth0]"}},
		{fail(node.StepPrivileges, errors.New("missing capability CAP_NET_RAW")), []string{"missing capability CAP_NET_RAW"}},
		{fail(node.StepSocket, fmt.Errorf("%w 198.51.100.50 on eth0: %w", platform.ErrJoin, syscall.EINVAL)),
			[]string{"Can't do IP_ADD_MEMBERSHIP errno=Invalid argument (22)"}},
		{fail(node.StepSocket, fmt.Errorf("platform: raw socket: %w", syscall.EPERM)),
			[]string{"Error opening socket for interface [eth0]: Operation not permitted"}},
		{fail(node.StepARP, fmt.Errorf("packet: %w", syscall.ENETDOWN)), []string{"Unable to open interface [eth0]: Network is down"}},
		{fail(node.StepWatch, errors.New("platform: netlink: boom")), []string{"platform: netlink: boom"}},
		{fail(node.StepLock, fmt.Errorf("%w: ucarp-go/2/7", platform.ErrLocked)),
			[]string{"Another ucarp-go already manages vhid 7 on eth0 (platform: locked by another process: ucarp-go/2/7): not starting"}},
		{fail(node.StepLock, errors.New("platform: lock ucarp-go/2/7: too many open files")), []string{"platform: lock ucarp-go/2/7: too many open files"}},
		{fail(node.StepStale, errors.New("netlink: boom")), []string{"Unable to remove a stale virtual address: netlink: boom"}},
		{fail(node.StepGroup, errors.New("carp: bad")), []string{"carp: bad"}},
		{fail(node.StepRun, &ucarpWords{[]string{"Unable to write the pid file: x"}}), []string{"Unable to write the pid file: x"}},
	} {
		if got := startupLines(cfg, tc.err); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

func runtimeGOOS() string { return runtime.GOOS }

// TestCommandLineIsAConfig: the command line is one way to write a config
// with one group: its group runs with the settings (group.Config, and who
// manages the address) of a file's group with the same keys.
func TestCommandLineIsAConfig(t *testing.T) {
	base := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1", "-a", "198.51.100.2"}
	const file = "interface = \"eth0\"\nvhid = 1\npass = \"carplab\"\nsrcip = \"198.51.100.1\"\n"
	for _, tc := range []struct {
		args []string
		toml string
	}{
		{nil, `addr = "198.51.100.2"`},
		{[]string{"-P", "-n", "-b", "2", "-k", "10", "-r", "4", "-u", "/up", "-d", "/down", "-z", "-S", "-M", "-x", "extra",
			"--mcastip=224.0.0.19", "--script-timeout=5", "--garp-count=3", "--garp-interval=200", "--no-manage-vip", "-a", "198.51.100.2/24"},
			`addr = "198.51.100.2/24"
preempt = true
neutral = true
advbase = 2
advskew = 10
deadratio = 4
upscript = "/up"
downscript = "/down"
shutdown = true
ignoreifstate = true
nomcast = true
xparam = "extra"
mcastip = "224.0.0.19"
script-timeout = 5
garp-count = 3
garp-interval = 200
manage-vip = false`},
		{[]string{"-u", "/up", "--no-manage-vip", "--manage-vip"}, "addr = \"198.51.100.2\"\nupscript = \"/up\"\nmanage-vip = true"},
		{[]string{"-u", "/up"}, "addr = \"198.51.100.2\"\nupscript = \"/up\""},
	} {
		res := parseCommandLine("ucarp", append(slices.Clone(base), tc.args...), false, newLogger(io.Discard, io.Discard, nil), io.Discard)
		if res.done {
			t.Fatalf("%q: exit %d", tc.args, res.exit)
		}
		f, err := conffile.Parse("test.conf", []byte(file+tc.toml+"\n[[group]]\n"), nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.toml, err)
		}
		g := f.Groups[0]
		if got, want := res.cfg.GroupConfig(), g.GroupConfig(); !reflect.DeepEqual(got, want) || res.cfg.ManagesVIP() != g.ManagesVIP() {
			t.Errorf("%q:\ncommand line %+v (manages %v)\nfile         %+v (manages %v)", tc.args, got, res.cfg.ManagesVIP(), want, g.ManagesVIP())
		}
		// Config mode runs its groups on the shared advert grid and keeps
		// them through an administrative down; the command line keeps
		// ucarp's timing and exit.
		if c := specs(f)[0].Config; !c.AlignAdverts || !c.WaitWhenDown {
			t.Errorf("config mode's group: AlignAdverts %v, WaitWhenDown %v", c.AlignAdverts, c.WaitWhenDown)
		}
	}
}

// TestHoldDownAndSyncOptions: --hold-down, --hold-down-until-healthy and
// --sync-group give the group what the keys of the same names give a
// file's group.
func TestHoldDownAndSyncOptions(t *testing.T) {
	args := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1", "-a", "198.51.100.2",
		"--hold-down=2.5", "--hold-down-until-healthy", "--sync-group=router"}
	res := parseCommandLine("ucarp", args, false, newLogger(io.Discard, io.Discard, nil), io.Discard)
	if res.done {
		t.Fatalf("exit %d", res.exit)
	}
	const file = "interface = \"eth0\"\nvhid = 1\npass = \"carplab\"\nsrcip = \"198.51.100.1\"\naddr = \"198.51.100.2\"\n" +
		"hold-down = 2.5\nhold-down-until-healthy = true\nsync-group = \"router\"\n[[group]]\n"
	f, err := conffile.Parse("test.conf", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := specs(f)[0]
	if c := res.cfg; c.HoldDown != s.HoldDown || c.HoldDownUntilHealthy != s.HoldDownUntilHealthy || c.SyncGroup != s.SyncGroup ||
		s.HoldDown != 2500*time.Millisecond || !s.HoldDownUntilHealthy || s.SyncGroup != "router" {
		t.Errorf("command line %v %v %q, file %v %v %q", c.HoldDown, c.HoldDownUntilHealthy, c.SyncGroup,
			s.HoldDown, s.HoldDownUntilHealthy, s.SyncGroup)
	}
}

// TestProbeOptionIsAProbeTable: --probe gives the group the probe that a
// [probe.NAME] table and the probes key give a file's group.
func TestProbeOptionIsAProbeTable(t *testing.T) {
	args := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1", "-a", "198.51.100.2",
		"--probe=tcp:127.0.0.1:8080,interval=200ms,timeout=100ms,weight=100,name=web", "--probe", "file:/run/ok"}
	res := parseCommandLine("ucarp", args, false, newLogger(io.Discard, io.Discard, nil), io.Discard)
	if res.done {
		t.Fatalf("exit %d", res.exit)
	}
	const file = `interface = "eth0"
vhid = 1
pass = "carplab"
srcip = "198.51.100.1"
addr = "198.51.100.2"
probes = ["web", "file:/run/ok"]

[probe.web]
type = "tcp"
target = "127.0.0.1:8080"
interval = "200ms"
timeout = "100ms"
weight = 100

[probe."file:/run/ok"]
type = "file"
target = "/run/ok"

[[group]]
`
	f, err := conffile.Parse("test.conf", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.cfg.probes, specs(f)[0].Probes; !reflect.DeepEqual(got, want) {
		t.Errorf("command line %+v\nfile         %+v", got, want)
	}
}
