package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runInstance runs libexec/ucarp-instance NAME with the configuration files
// conf (name: content) and a stub daemon that records its arguments. It
// returns them (nil if nothing was started), the runtime directory, and
// the script's error and stderr. It runs in a directory holding files, so
// that a glob expansion would show.
func runInstance(t *testing.T, name string, conf map[string]string) (argv []string, rundir string, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	confdir, rundir, cwd := filepath.Join(dir, "conf"), filepath.Join(dir, "run"), filepath.Join(dir, "cwd")
	for _, d := range []string{confdir, cwd} {
		os.MkdirAll(d, 0o700)
	}
	os.WriteFile(filepath.Join(cwd, "a-file"), nil, 0o644)
	for f, c := range conf {
		os.WriteFile(filepath.Join(confdir, f), []byte(c), 0o600)
	}
	args := filepath.Join(dir, "args")
	stub := filepath.Join(dir, "ucarp")
	os.WriteFile(stub, []byte("#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done > "+args+"\n"), 0o755)
	script, _ := filepath.Abs(filepath.Join("libexec", "ucarp-instance"))
	cmd := exec.Command("sh", script, name)
	cmd.Dir = cwd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "UCARP_CONFDIR=" + confdir, "UCARP_RUNDIR=" + rundir, "UCARP_DAEMON=" + stub}
	var errb strings.Builder
	cmd.Stderr = &errb
	err = cmd.Run()
	if out, rerr := os.ReadFile(args); rerr == nil {
		for _, a := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			argv = append(argv, strings.ReplaceAll(a, rundir, "$RUNDIR"))
		}
	}
	return argv, rundir, errb.String(), err
}

const rhelCommon = "PASSWORD=\"love\"\nBIND_INTERFACE=\"eth0\"\nSOURCE_ADDRESS=\"192.0.2.11\"\nOPTIONS=\"--shutdown --preempt\"\n"
const rhelVIP = "VIP_ADDRESS=\"192.0.2.100\"\n"

// TestInstanceRHELVhid: RHEL's script checks the file's number in decimal
// (bash's test) and hands it to ucarp as written (--vhid=${ID}), which reads
// it with strtoul(ID, NULL, 0): 010 is 8 there, 019 is 1, 08 is refused.
// So the instance must pass the number as written, for the daemon (which
// parses -v as ucarp does) to reach the same vhid as a RHEL peer; reading it
// in decimal gave vhid 10 against RHEL's 8, and two masters.
func TestInstanceRHELVhid(t *testing.T) {
	for _, tt := range []struct {
		instance, file string
		vhid           string // the --vhid argument; "" if nothing may start
	}{
		{"001", "vip-001.conf", "001"},
		{"010", "vip-010.conf", "010"},     // ucarp: octal, 8
		{"vip-010", "vip-010.conf", "010"}, // EPEL's instance name
		{"08", "vip-08.conf", "08"},        // ucarp: 0, "vhid must be between 1 and 255", exit 1
		{"009", "vip-009.conf", "009"},     // ucarp: 0, refused
		{"019", "vip-019.conf", "019"},     // ucarp: 1, strtoul stops at the 9
		{"0100", "vip-0100.conf", "0100"},  // ucarp: 64
		{"0255", "vip-0255.conf", "0255"},  // 255 in decimal for RHEL's check; ucarp: 173
		{"255", "vip-255.conf", "255"},     //
		{"000", "vip-000.conf", ""},        // RHEL's check: 0, skipped
		{"256", "vip-256.conf", ""},        // RHEL's check: out of range
		{"0256", "vip-0256.conf", ""},      // decimal 256 for RHEL's check, though octal 174
		{"99999999999999999999", "vip-99999999999999999999.conf", ""},
	} {
		t.Run(tt.instance, func(t *testing.T) {
			argv, _, stderr, err := runInstance(t, tt.instance, map[string]string{"vip-common.conf": rhelCommon, tt.file: rhelVIP})
			if tt.vhid == "" {
				if err == nil || argv != nil {
					t.Fatalf("started %q, want a refusal", argv)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			if !slices.Contains(argv, "--vhid="+tt.vhid) {
				t.Fatalf("argv %q, want --vhid=%s", argv, tt.vhid)
			}
		})
	}
	// The files are read after RHEL's script sets ID from the file's name,
	// so an ID they set wins there; VID is ours, for names that are not
	// numbers.
	argv, _, stderr, err := runInstance(t, "012", map[string]string{"vip-012.conf": rhelCommon + rhelVIP + "ID=12\n"})
	if err != nil || !slices.Contains(argv, "--vhid=12") {
		t.Fatalf("ID in the file: %q %v %s", argv, err, stderr)
	}
	argv, _, stderr, err = runInstance(t, "lan", map[string]string{"vip-lan.conf": rhelCommon + rhelVIP + "VID=7\n"})
	if err != nil || !slices.Contains(argv, "--vhid=7") {
		t.Fatalf("VID: %q %v %s", argv, err, stderr)
	}
}

// TestInstanceRHELPassword: RHEL passes --pass=${PASSWORD} unquoted, so a
// PASSWORD with white space is its first word, the other words being more
// arguments; the instance writes that word to its private file. OPTIONS and
// UCARP_OPTIONS are split on white space but never glob-expanded.
func TestInstanceRHELPassword(t *testing.T) {
	for _, tt := range []struct {
		password, file string
		extra          []string
	}{
		{"love", "love\n", nil},
		{"two words", "two\n", []string{"words"}},
		{"  padded\t", "padded\n", nil},
		{"*", "*\n", nil},
	} {
		common := strings.Replace(rhelCommon, `PASSWORD="love"`, "PASSWORD='"+tt.password+"'", 1)
		common = strings.Replace(common, `OPTIONS="--shutdown --preempt"`, `OPTIONS="--shutdown  *"`, 1)
		argv, rundir, stderr, err := runInstance(t, "001", map[string]string{"vip-common.conf": common, "vip-001.conf": rhelVIP})
		if err != nil {
			t.Fatalf("PASSWORD %q: %v %s", tt.password, err, stderr)
		}
		want := append([]string{"--interface=eth0", "--srcip=192.0.2.11", "--vhid=001", "--passfile=$RUNDIR/vip-001.pass"}, tt.extra...)
		want = append(want, "--addr=192.0.2.100", "--shutdown", "*")
		if !slices.Equal(argv, want) {
			t.Errorf("PASSWORD %q: argv\n %q\nwant\n %q", tt.password, argv, want)
		}
		pf := filepath.Join(rundir, "vip-001.pass")
		b, _ := os.ReadFile(pf)
		st, serr := os.Stat(pf)
		if string(b) != tt.file || serr != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("PASSWORD %q: password file %q (%v %v), want %q, mode 600", tt.password, b, st.Mode(), serr, tt.file)
		}
	}
	// A password that is only white space is none, as on RHEL (--pass=).
	common := strings.Replace(rhelCommon, `PASSWORD="love"`, `PASSWORD="   "`, 1)
	if argv, _, _, err := runInstance(t, "001", map[string]string{"vip-common.conf": common, "vip-001.conf": rhelVIP}); err == nil {
		t.Errorf("blank PASSWORD started %q", argv)
	}

	own := "UCARP_INTERFACE=eth0\nUCARP_SRCIP=192.0.2.11\nUCARP_VHID=3\nUCARP_PASSFILE=/dev/null\nUCARP_ADDR=192.0.2.100\nUCARP_OPTIONS='-P *'\n"
	argv, _, stderr, err := runInstance(t, "lan", map[string]string{"lan.conf": own})
	if err != nil || !slices.Equal(argv[len(argv)-3:], []string{"--shutdown", "-P", "*"}) {
		t.Fatalf("UCARP_OPTIONS: %q %v %s", argv, err, stderr)
	}
}
