package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ucarpBin is the binary under test, built once by TestMain.
var ucarpBin string

// realUcarp is Debian's ucarp, the reference; tests that need it skip
// when it is missing (make test installs it).
const realUcarp = "/usr/sbin/ucarp"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ucarp-cli-")
	if err != nil {
		panic(err)
	}
	ucarpBin = filepath.Join(dir, "ucarp")
	if out, err := exec.Command("go", "build", "-o", ucarpBin, ".").CombinedOutput(); err != nil {
		panic("building the binary: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var timestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}: `)

// runCLI runs bin with args in an empty environment (no syslog, no
// NOTIFY_SOCKET) and returns exit code, stdout and stderr lines with the
// console timestamps removed.
func runCLI(t *testing.T, bin string, args []string) (int, []string, []string) {
	t.Helper()
	// Run as "ucarp", as from PATH: glibc prefixes getopt messages with argv[0].
	cmd := &exec.Cmd{Path: bin, Args: append([]string{"ucarp"}, args...)}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, lines(stdout.String()), lines(stderr.String())
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if l != "" {
			out = append(out, timestamp.ReplaceAllString(l, ""))
		}
	}
	return out
}

// containsInOrder reports whether want is a subsequence of got.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

type cliCase struct {
	name   string
	args   []string
	files  map[string]string // passfiles to create; "$DIR" in args is their directory
	mode   os.FileMode       // for the files (default 0600)
	code   int
	stdout []string // lines expected on stdout, in order (others may come between)
	stderr []string // lines expected on stderr, in order
	absent []string // lines that must not appear anywhere
	usage  bool     // stdout is the usage text
	ucarp  bool     // Debian's ucarp gives the same exit code and lines
}

const (
	noUp   = "[WARNING] Warning: no script called when going up"
	noDown = "[WARNING] Warning: no script called when going down"
)

func cliCases() []cliCase {
	base := []string{"-v", "1", "-p", "x", "-s", "198.51.100.1", "-a", "198.51.100.2"}
	with := func(extra ...string) []string { return append(append([]string{}, extra...), base...) }
	pw19 := "1234567890123456789"
	return []cliCase{
		// Usage and getopt: usage on stdout, exit 0, as ucarp.
		{name: "no arguments", args: nil, usage: true, ucarp: true},
		{name: "--help", args: []string{"--help"}, usage: true, ucarp: true},
		{name: "-h", args: []string{"-h"}, usage: true, ucarp: true},
		{name: "--he prefix", args: []string{"--he"}, usage: true, ucarp: true},
		{name: "-h after an error-free option", args: []string{"-P", "-h", "-v", "0"}, usage: true, ucarp: true},
		{name: "unknown long", args: []string{"--foo"}, usage: true, ucarp: true, stderr: []string{"ucarp: unrecognized option '--foo'"}},
		{name: "unknown long with value", args: []string{"--foo=bar"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: unrecognized option '--foo=bar'"}},
		{name: "unknown short", args: []string{"-y"}, usage: true, ucarp: true, stderr: []string{"ucarp: invalid option -- 'y'"}},
		{name: "ambiguous --p", args: []string{"--p", "x"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option '--p' is ambiguous; possibilities: '--pass' '--preempt' '--passfile'"}},
		{name: "ambiguous --de", args: []string{"--de"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option '--de' is ambiguous; possibilities: '--deadratio' '--debug'"}},
		{name: "ambiguous --d", args: []string{"--d"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option '--d' is ambiguous; possibilities: '--downscript' '--deadratio' '--debug' '--daemonize'"}},
		{name: "ambiguous --a", args: []string{"--a=1"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option '--a=1' is ambiguous; possibilities: '--addr' '--advbase' '--advskew'"}},
		{name: "missing short value", args: []string{"-i", "lo", "-v"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option requires an argument -- 'v'"}},
		{name: "missing long value", args: []string{"--vhid"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option '--vhid' requires an argument"}},
		{name: "value to a flag", args: []string{"--preempt=1"}, usage: true, ucarp: true,
			stderr: []string{"ucarp: option '--preempt' doesn't allow an argument"}},
		{name: "error before a later unknown option", args: []string{"-s", "bad", "--foo"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] Invalid address: [bad]"}},

		// vhid.
		{name: "vhid 0", args: []string{"-v", "0"}, code: 1, ucarp: true, stderr: []string{"[ERROR] vhid must be between 1 and 255."}},
		{name: "vhid 256", args: []string{"--vhid=256"}, code: 1, ucarp: true, stderr: []string{"[ERROR] vhid must be between 1 and 255."}},
		{name: "vhid -1", args: []string{"-v", "-1"}, code: 1, ucarp: true, stderr: []string{"[ERROR] vhid must be between 1 and 255."}},
		{name: "vhid with trailing garbage", args: []string{"-i", "lo", "-v", "10abc"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a password"}},
		{name: "vhid in hex, attached", args: []string{"-i", "lo", "-v0x0a"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a password"}},
		{name: "no vhid", args: []string{"-i", "lo"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},

		// Validation order: interface, vhid, password, time base, srcip, addr, scripts, deadratio.
		{name: "no password", args: []string{"-i", "lo", "-v", "1"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a password"}},
		{name: "no source, clustered and attached", args: []string{"-i", "lo", "-PzS", "-v1", "-pxx"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a persistent source address"}},
		{name: "no time base", args: with("-i", "lo", "-b", "0", "-k", "0"), code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply an advertisement time base"}},
		{name: "advbase 256 wraps to 0", args: with("-i", "lo", "-b", "256"), code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply an advertisement time base"}},
		{name: "advbase 256 warns", args: with("-i", "lo", "-b", "256"), code: 1,
			stderr: []string{"[WARNING] -b [256] is read as 0, as ucarp reads it (a number modulo 256)"}},
		{name: "advskew 300 is 44", args: with("-i", "lo", "-b", "0", "-k", "300", "-r", "0"), code: 1, ucarp: true,
			stderr: []string{noUp, noDown, "[ERROR] Dead ratio can't be zero"}},
		{name: "source 0.0.0.0 is none", args: []string{"-i", "lo", "-v", "1", "-p", "x", "-s", "0.0.0.0"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a persistent source address"}},
		{name: "short source", args: []string{"-s", "1.2.3"}, code: 1, ucarp: true, stderr: []string{"[ERROR] Invalid address: [1.2.3]"}},
		{name: "leading zero", args: []string{"-s", "01.2.3.4"}, code: 1, ucarp: true, stderr: []string{"[ERROR] Invalid address: [01.2.3.4]"}},
		{name: "IPv6 source", args: []string{"--srcip=2001:db8::1"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] Invalid address: [2001:db8::1]"}},
		{name: "no address", args: []string{"-i", "lo", "-v", "1", "-p", "x", "-s", "198.51.100.1"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a virtual host address"}},
		{name: "bad address", args: []string{"-a", "1.2.3.4.5"}, code: 1, ucarp: true, stderr: []string{"[ERROR] Invalid address: [1.2.3.4.5]"}},
		{name: "dead ratio 0", args: with("-i", "lo", "-r", "0"), code: 1, ucarp: true,
			stderr: []string{noUp, noDown, "[ERROR] Dead ratio can't be zero"}},
		{name: "dead ratio 2^32 wraps to 0", args: with("-i", "lo", "-r", "4294967296"), code: 1, ucarp: true,
			stderr: []string{"[ERROR] Dead ratio can't be zero"}},
		{name: "unknown facility continues", args: with("-f", "bogus", "-i", "lo", "-r", "0"), code: 1, ucarp: true,
			stderr: []string{"[ERROR] Unknown syslog facility: [bogus]", noUp, noDown, "[ERROR] Dead ratio can't be zero"}},
		{name: "facility NONE", args: with("-f", "NONE", "-i", "lo", "-r", "0"), code: 1, ucarp: true,
			absent: []string{"[ERROR] Unknown syslog facility: [NONE]"}},
		{name: "permutation and stray words", args: []string{"stray", "-i", "lo", "word", "-v", "1"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a password"}},
		{name: "-- ends the options", args: []string{"-i", "lo", "--", "-v", "1"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},
		{name: "--m is --mcastip", args: []string{"--m", "bad"}, code: 1, ucarp: true, stderr: []string{"[ERROR] Invalid address: [bad]"}},
		{name: "--no is --nomcast", args: []string{"--no", "-i", "lo"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},
		{name: "--int is --interface", args: []string{"--int", "lo"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},

		// Passwords: 19 bytes at most, checked at start-up (exit 2).
		{name: "19-byte password", args: []string{"-i", "nosuch0", "-v", "1", "-p", pw19, "-s", "198.51.100.1", "-a", "198.51.100.2"},
			code: 2, ucarp: true, stderr: []string{"[ERROR] Unable to get hardware info about an interface: No such device",
				"[ERROR] Unable to find MAC address of [nosuch0]"}},
		{name: "20-byte password", args: []string{"-i", "nosuch0", "-v", "1", "-p", pw19 + "0", "-s", "198.51.100.1", "-a", "198.51.100.2"},
			code: 2, ucarp: true, stderr: []string{"[ERROR] Password too long"}},
		{name: "passfile of 19 bytes", args: []string{"-i", "nosuch0", "-o", "$DIR/pw", "-v", "1", "-s", "198.51.100.1", "-a", "198.51.100.2"},
			files: map[string]string{"pw": pw19 + "\nsecond line\n"}, code: 2, ucarp: true,
			stderr: []string{"[ERROR] Unable to find MAC address of [nosuch0]"}},
		{name: "passfile keeps a CR: 20 bytes", args: []string{"-i", "nosuch0", "-o", "$DIR/pw", "-v", "1", "-s", "198.51.100.1", "-a", "198.51.100.2"},
			files: map[string]string{"pw": pw19 + "\r\n"}, code: 2, ucarp: true, stderr: []string{"[ERROR] Password too long"}},
		{name: "empty passfile", args: []string{"-o", "$DIR/pw"}, files: map[string]string{"pw": ""}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] error reading passfile $DIR/pw: unexpected end of file"}},
		{name: "passfile with an empty first line", args: []string{"-o", "$DIR/pw", "-i", "lo", "-v", "1"},
			files: map[string]string{"pw": "\nsecret\n"}, code: 1, ucarp: true, stderr: []string{"[ERROR] You must supply a password"}},
		{name: "missing passfile", args: []string{"-o", "$DIR/none"}, files: map[string]string{}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] unable to open passfile $DIR/none for reading: No such file or directory"}},
		{name: "passfile is a directory", args: []string{"-o", "$DIR"}, files: map[string]string{}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] error reading passfile $DIR: Is a directory"}},
		{name: "last password wins: -p after -o", args: []string{"-o", "$DIR/pw", "-p", pw19 + "0", "-i", "nosuch0", "-v", "1",
			"-s", "198.51.100.1", "-a", "198.51.100.2"}, files: map[string]string{"pw": "short\n"}, code: 2, ucarp: true,
			stderr: []string{"[ERROR] Password too long"}},
		{name: "last password wins: -o after -p", args: []string{"-p", pw19 + "0", "-o", "$DIR/pw", "-i", "nosuch0", "-v", "1",
			"-s", "198.51.100.1", "-a", "198.51.100.2"}, files: map[string]string{"pw": "short\n"}, code: 2, ucarp: true,
			stderr: []string{"[ERROR] Unable to find MAC address of [nosuch0]"}},
		{name: "passfile readable by others warns", args: []string{"-o", "$DIR/pw", "-i", "lo", "-v", "1"},
			files: map[string]string{"pw": "secret\n"}, mode: 0o644, code: 1,
			stderr: []string{"[WARNING] Warning: passfile [$DIR/pw] can be read by other users (mode 0644): chmod 600 it"}},

		// Interfaces (start-up, exit 2).
		{name: "interface name too long", args: with("-i", "averyveryverylongname"), code: 2, ucarp: true,
			stderr: []string{"[ERROR] Interface name too long", "[ERROR] Unable to find MAC address of [averyveryverylongname]"}},
		{name: "no such interface", args: with("-i", "nosuch0"), code: 2, ucarp: true,
			stderr: []string{noUp, noDown, "[ERROR] Unable to get hardware info about an interface: No such device",
				"[ERROR] Unable to find MAC address of [nosuch0]"}},

		// Deliberate differences.
		{name: "-m works (ucarp: invalid option)", args: []string{"-m", "bad"}, code: 1, stderr: []string{"[ERROR] Invalid address: [bad]"}},
		{name: "-B still reports errors on stderr", args: []string{"-B", "-v", "0"}, code: 1,
			stderr: []string{"[ERROR] vhid must be between 1 and 255."}},
		{name: "address with a prefix", args: with("-i", "nosuch0", "-a", "198.51.100.2/24"), code: 2,
			stderr: []string{"[ERROR] Unable to find MAC address of [nosuch0]"}},
		// A prefix length is our extension; ucarp refuses every one with
		// this line, and so do we when it is absurd.
		{name: "bad prefix", args: []string{"-a", "198.51.100.2/33"}, code: 1, ucarp: true, stderr: []string{"[ERROR] Invalid address: [198.51.100.2/33]"}},
		{name: "prefix /0", args: with("-i", "nosuch0", "-a", "198.51.100.2/0"), code: 1, ucarp: true,
			stderr: []string{"[ERROR] Invalid address: [198.51.100.2/0]"}, absent: []string{"[ERROR] Unable to find MAC address of [nosuch0]"}},
		{name: "negative prefix", args: []string{"--addr=198.51.100.2/-1"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] Invalid address: [198.51.100.2/-1]"}},
		{name: "IPv6 link-local -a", args: []string{"-a", "fe80::1"}, code: 1,
			stderr: []string{"[ERROR] Invalid address: [fe80::1]: the virtual address fe80::1 is IPv6 link-local (fe80::/10): a virtual address must not be link-local"}},
		{name: "IPv6 link-local --vip", args: with("-i", "nosuch0", "--vip", "fe80::1"), code: 1,
			stderr: []string{"[ERROR] Invalid address: [fe80::1]: the virtual address fe80::1 is IPv6 link-local (fe80::/10): a virtual address must not be link-local"},
			absent: []string{"[ERROR] Unable to find MAC address of [nosuch0]"}},
		{name: "--version", args: []string{"--version"}, stdout: []string{versionLine()}},
		{name: "extension by prefix", args: []string{"--script-t=-1"}, code: 1,
			stderr: []string{"[ERROR] Invalid script timeout: [-1] (seconds; 0 for none)"}},
		{name: "ucarp prefix wins over extension: --no", args: []string{"--no", "--no-manage", "-i", "lo"}, code: 1,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},
		{name: "bad gratuitous ARP count", args: []string{"--garp-count=x"}, code: 1,
			stderr: []string{"[ERROR] Invalid gratuitous ARP count: [x] (0 to 100)"}},
		{name: "bad gratuitous ARP interval", args: []string{"--garp-interval", "0"}, code: 1,
			stderr: []string{"[ERROR] Invalid gratuitous ARP interval: [0] (milliseconds, 1 to 60000)"}},
		{name: "control socket not absolute", args: []string{"--control=ucarp.sock"}, code: 1,
			stderr: []string{`[ERROR] Invalid control socket: "ucarp.sock" is not an absolute path (or "none")`}},
		{name: "--control exact beats --control-group", args: []string{"--control", "none", "--control-group="}, code: 1,
			stderr: []string{"[ERROR] Invalid control group: must not be empty"}},
		{name: "bad probe", args: []string{"--probe=tcp:127.0.0.1:80,fall=0"}, code: 1,
			stderr: []string{`[ERROR] Invalid probe: probe "tcp:127.0.0.1:80,fall=0": fall: 0 is out of range 1-100`}},
		{name: "probe given twice", args: []string{"--probe=file:/run/ok", "--probe", "file:/run/ok,weight=1"}, code: 1,
			stderr: []string{`[ERROR] Invalid probe: [file:/run/ok,weight=1]: a probe named "file:/run/ok" is given twice (name= tells them apart)`}},
		{name: "bad hold-down", args: []string{"--hold-down=-1"}, code: 1,
			stderr: []string{"[ERROR] Invalid hold-down: [-1] (seconds, 0 to 86400)"}},
		{name: "bad sync group", args: []string{"--sync-group=a/b"}, code: 1,
			stderr: []string{`[ERROR] Invalid sync group: "a/b": a sync group's name is made of letters, digits, '.', '_' and '-'`}},
		{name: "--h is still ucarp's --help", args: []string{"--h"}, stdout: []string{"--hold-down=<seconds>: after the start, take MASTER from no running peer"}},
		{name: "--pr is still ucarp's --preempt", args: []string{"--pr", "-i", "lo"}, code: 1, ucarp: true,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},
		{name: "bad metrics address", args: []string{"--metrics-listen=9342"}, code: 1,
			stderr: []string{`[ERROR] Invalid metrics address: "9342" is not ADDR:PORT`}},
		{name: "bad realtime priority", args: []string{"--realtime=100"}, code: 1,
			stderr: []string{"[ERROR] Invalid realtime priority: [100] (1 to 99)"}},
		{name: "--realtime takes no separate argument", args: []string{"--realtime", "5", "-i", "lo"}, code: 1,
			stderr: []string{"[ERROR] You must supply a valid virtual host id"}},
		{name: "--lock-memory takes no argument", args: []string{"--lock-memory=yes"}, code: 0,
			stderr: []string{"ucarp: option '--lock-memory' doesn't allow an argument"}},
		{name: "control options go in the file with --config", args: []string{"--config=/x.conf", "--control=none"}, code: 1,
			stderr: []string{"[ERROR] With --config every setting comes from the file: give no other option"}},
		{name: "bad log format", args: []string{"--log-format=xml"}, code: 1,
			stderr: []string{"[ERROR] Invalid log format: [xml] (text or json)"}},
	}
}

func TestCommandLine(t *testing.T) {
	_, haveUcarp := os.Stat(realUcarp)
	for _, tc := range cliCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				mode := tc.mode
				if mode == 0 {
					mode = 0o600
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(filepath.Join(dir, name), mode)
			}
			subst := func(ss []string) []string {
				var out []string
				for _, s := range ss {
					out = append(out, strings.ReplaceAll(s, "$DIR", dir))
				}
				return out
			}
			args, wantOut, wantErr, absent := subst(tc.args), subst(tc.stdout), subst(tc.stderr), subst(tc.absent)
			check := func(bin string, code int, stdout, stderr []string) {
				t.Helper()
				if code != tc.code {
					t.Errorf("%s: exit %d, want %d\nstdout %q\nstderr %q", bin, code, tc.code, stdout, stderr)
				}
				if tc.usage && (len(stdout) < 3 || stdout[len(stdout)-1] != "Please report bugs to "+bugURL+"." &&
					!strings.HasPrefix(stdout[len(stdout)-1], "Please report bugs to")) {
					t.Errorf("%s: no usage on stdout: %q", bin, stdout)
				}
				if !containsInOrder(stdout, wantOut) {
					t.Errorf("%s: stdout %q\nwant in order %q", bin, stdout, wantOut)
				}
				if !containsInOrder(stderr, wantErr) {
					t.Errorf("%s: stderr %q\nwant in order %q", bin, stderr, wantErr)
				}
				for _, a := range absent {
					if containsInOrder(stdout, []string{a}) || containsInOrder(stderr, []string{a}) {
						t.Errorf("%s: %q printed", bin, a)
					}
				}
			}
			code, stdout, stderr := runCLI(t, ucarpBin, args)
			check("ucarp-go", code, stdout, stderr)
			if tc.ucarp && haveUcarp == nil {
				code, stdout, stderr := runCLI(t, realUcarp, args)
				check(realUcarp, code, stdout, stderr)
			}
		})
	}
	if n := len(cliCases()); n < 40 {
		t.Fatalf("only %d vectors", n)
	}
}

// TestHelpGolden compares --help with testdata/help.golden (regenerate
// with UPDATE_GOLDEN=1), and checks that every line of Debian's ucarp help
// but its version line is in ours, in the same order.
func TestHelpGolden(t *testing.T) {
	_, stdout, _ := runCLI(t, ucarpBin, []string{"--help"})
	var buf bytes.Buffer
	usage(&buf)
	if got := lines(buf.String()); !equalLines(got, stdout) {
		t.Fatalf("binary and usage() differ")
	}
	golden := filepath.Join("testdata", "help.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("--help changed:\n%s\nwant:\n%s", buf.Bytes(), want)
	}
	if _, err := os.Stat(realUcarp); err != nil {
		t.Skipf("%s not installed: the comparison with ucarp's help is skipped", realUcarp)
	}
	out, _ := exec.Command(realUcarp, "--help").Output()
	theirs := strings.Split(string(out), "\n")
	ours := strings.Split(buf.String(), "\n")
	var keep []string
	for i, l := range theirs {
		if i == 1 || strings.HasPrefix(l, "Please report bugs") {
			continue // version line and bug address are ours
		}
		keep = append(keep, l)
	}
	if !containsInOrder(ours, keep) {
		t.Fatalf("ucarp's help lines are not all in ours, in order")
	}
	if len(ours) != len(theirs)+strings.Count(extensionsHelp, "\n") {
		t.Fatalf("%d lines, ucarp %d plus %d of ours", len(ours), len(theirs), strings.Count(extensionsHelp, "\n"))
	}
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCommandLineJSON: after --log-format=json, the command line's own
// errors are JSON lines too, and with --config the option is refused as
// every other is.
func TestCommandLineJSON(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--log-format=json", "-v", "0"}, "vhid must be between 1 and 255."},
		{[]string{"--config=/x.conf", "--log-format=json"}, "With --config every setting comes from the file: give no other option"},
	} {
		code, _, stderr := runCLI(t, ucarpBin, tc.args)
		if code != 1 || len(stderr) != 1 {
			t.Fatalf("%q: exit %d, stderr %q", tc.args, code, stderr)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(stderr[0]), &m); err != nil || m["level"] != "ERROR" || m["msg"] != tc.msg || m["time"] == "" {
			t.Errorf("%q: stderr %q (%v)", tc.args, stderr[0], err)
		}
	}
}
