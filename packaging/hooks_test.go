package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianHook is the if-up.d hook of Debian's ucarp package, the reference.
const debianHook = "/etc/network/if-up.d/ucarp"

// runHook runs an if-up.d hook with ifupdown's variables and a stub daemon
// (its path substituted for /usr/sbin/ucarp, its pid directory for
// /run/ucarp) that records its arguments, one per line. It returns them,
// nil if the hook started nothing.
func runHook(t *testing.T, hook string, vars map[string]string) []string {
	t.Helper()
	argv, _ := runHookIn(t, hook, vars)
	return argv
}

// runHookIn is runHook that also returns the stub's directory, which holds
// the pid directory's files and "env", the daemon's environment.
func runHookIn(t *testing.T, hook string, vars map[string]string) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	stub := filepath.Join(dir, "ucarp")
	os.WriteFile(stub, []byte("#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done > "+args+"\nenv > "+dir+"/env\n"), 0o755)
	b, err := os.ReadFile(hook)
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	s := strings.Replace(string(b), "UCARP=/usr/sbin/ucarp", "UCARP="+stub, 1)
	s = strings.Replace(s, "RUNDIR=/run/ucarp", "RUNDIR="+dir, 1)
	script := filepath.Join(dir, "hook")
	os.WriteFile(script, []byte(s), 0o755)
	cmd := exec.Command("sh", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "MODE=start", "PHASE=post-up", "IFACE=eth0", "IF_ADDRESS=192.0.2.11"}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hook: %v\n%s", err, out)
	}
	out, err := os.ReadFile(args)
	if err != nil {
		return nil, dir
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, a := range got {
		got[i] = strings.ReplaceAll(a, dir, "$RUNDIR")
	}
	return got, dir
}

var debianStanzas = map[string]string{
	"IF_UCARP_VID": "3", "IF_UCARP_VIP": "192.0.2.100", "IF_UCARP_PASSWORD": "secret",
	"IF_UCARP_UPSCRIPT": "/etc/ucarp/up", "IF_UCARP_DOWNSCRIPT": "/etc/ucarp/down",
	"IF_UCARP_ADVSKEW": "50", "IF_UCARP_ADVBASE": "2", "IF_UCARP_MASTER": "yes",
	"IF_UCARP_DEADRATIO": "4", "IF_UCARP_NOMCAST": "true", "IF_UCARP_XPARAM": "x1",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func TestIfUpHook(t *testing.T) {
	ours := filepath.Join("debian", "if-up.d", "ucarp")
	pidfile := "--pidfile=$RUNDIR/ifup-eth0.pid"
	passfile := "$RUNDIR/ifup-eth0.pass"
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"Debian's 11 stanzas", debianStanzas, []string{"-i", "eth0", "-s", "192.0.2.11", "-B", "-z", "-v", "3", "-o", passfile,
			"-a", "192.0.2.100", "-u", "/etc/ucarp/up", "-d", "/etc/ucarp/down", "-P", "-k", "50", "-b", "2", "-r", "4", "-M", "-x", "x1", pidfile}},
		{"defaults: Debian's scripts", map[string]string{"IF_UCARP_VID": "3", "IF_UCARP_VIP": "192.0.2.100", "IF_UCARP_PASSWORD": "secret"},
			[]string{"-i", "eth0", "-s", "192.0.2.11", "-B", "-z", "-v", "3", "-o", passfile, "-a", "192.0.2.100",
				"-u", "/usr/share/ucarp/vip-up", "-d", "/usr/share/ucarp/vip-down", pidfile}},
		{"values with spaces and quotes stay whole", with(debianStanzas, "IF_UCARP_PASSWORD", "quotes'\"", "IF_UCARP_XPARAM", "a b"),
			[]string{"-i", "eth0", "-s", "192.0.2.11", "-B", "-z", "-v", "3", "-o", passfile, "-a", "192.0.2.100",
				"-u", "/etc/ucarp/up", "-d", "/etc/ucarp/down", "-P", "-k", "50", "-b", "2", "-r", "4", "-M", "-x", "a b", pidfile}},
		// Debian's -p $IF_UCARP_PASSWORD is unquoted: the password is the
		// first word, the others more arguments (never globbed here).
		{"a password with spaces: its first word, as Debian's", with(debianStanzas, "IF_UCARP_PASSWORD", " two  words *", "IF_UCARP_XPARAM", ""),
			[]string{"-i", "eth0", "-s", "192.0.2.11", "-B", "-z", "-v", "3", "-o", passfile, "words", "*", "-a", "192.0.2.100",
				"-u", "/etc/ucarp/up", "-d", "/etc/ucarp/down", "-P", "-k", "50", "-b", "2", "-r", "4", "-M", pidfile}},
		{"a blank password: nothing", with(debianStanzas, "IF_UCARP_PASSWORD", "   "), nil},
		{"passfile instead of password", with(debianStanzas, "IF_UCARP_PASSWORD", "", "IF_UCARP_PASSFILE", "/etc/ucarp/p",
			"IF_UCARP_MASTER", "", "IF_UCARP_NOMCAST", "", "IF_UCARP_ADVSKEW", "", "IF_UCARP_ADVBASE", "", "IF_UCARP_DEADRATIO", "",
			"IF_UCARP_XPARAM", ""),
			[]string{"-i", "eth0", "-s", "192.0.2.11", "-B", "-z", "-v", "3", "-o", "/etc/ucarp/p", "-a", "192.0.2.100",
				"-u", "/etc/ucarp/up", "-d", "/etc/ucarp/down", pidfile}},
		{"ucarp-go's stanzas", with(debianStanzas, "IF_UCARP_NEUTRAL", "yes", "IF_UCARP_FACILITY", "local3", "IF_UCARP_IGNOREIFSTATE", "on"),
			[]string{"-i", "eth0", "-s", "192.0.2.11", "-B", "-z", "-v", "3", "-o", passfile, "-a", "192.0.2.100",
				"-u", "/etc/ucarp/up", "-d", "/etc/ucarp/down", "-P", "-k", "50", "-b", "2", "-r", "4", "-M", "-x", "x1",
				"-n", "-f", "local3", "-S", pidfile}},
		{"no vid: nothing", with(debianStanzas, "IF_UCARP_VID", ""), nil},
		{"no password: nothing", with(debianStanzas, "IF_UCARP_PASSWORD", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dir := runHookIn(t, ours, tt.vars)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("argv\n %q\nwant\n %q", got, tt.want)
			}
			if tt.want != nil {
				checkPassword(t, dir, tt.vars)
			} else if _, err := os.Stat(filepath.Join(dir, "ifup-eth0.pass")); err == nil {
				t.Fatal("password file written, nothing started")
			}
		})
	}
	// Debian's boolean test: false when the value starts with no, off,
	// false or 0; true otherwise.
	for v, on := range map[string]bool{"yes": true, "true": true, "on": true, "1": true, "Y": true,
		"no": false, "off": false, "false": false, "0": false, "nope": false, "offline": false, "01": false} {
		got := runHook(t, ours, with(debianStanzas, "IF_UCARP_MASTER", v))
		if slices.Contains(got, "-P") != on {
			t.Errorf("ucarp-master %q: -P %v, want %v", v, !on, on)
		}
	}
}

// checkPassword: the hook hands a password over in a file of mode 600 in
// its pid directory, and leaves it out of the daemon's environment.
func checkPassword(t *testing.T, dir string, vars map[string]string) {
	t.Helper()
	pass := vars["IF_UCARP_PASSWORD"]
	if env, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
		if strings.Contains(string(env), "IF_UCARP_PASSWORD") || pass != "" && strings.Contains(string(env), pass) {
			t.Errorf("the password is in the daemon's environment:\n%s", env)
		}
	}
	pf := filepath.Join(dir, "ifup-eth0.pass")
	if pass == "" || vars["IF_UCARP_PASSFILE"] != "" {
		if _, err := os.Stat(pf); err == nil {
			t.Errorf("password file written without ucarp-password")
		}
		return
	}
	want := strings.Fields(pass)[0] + "\n"
	b, err := os.ReadFile(pf)
	st, _ := os.Stat(pf)
	if err != nil || string(b) != want || st.Mode().Perm() != 0o600 {
		t.Errorf("password file: %q %v (%v), want %q, mode 600", b, err, st, want)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("pid directory mode %o, want 700", st.Mode().Perm())
	}
}

// TestIfUpHookAsDebian runs Debian's hook and ours on the same stanzas:
// ours gives the same arguments, plus its pid file, except that the
// password is in a file (-o FILE for -p PASSWORD).
func TestIfUpHookAsDebian(t *testing.T) {
	if _, err := os.Stat(debianHook); err != nil {
		t.Skipf("skipped: Debian's ucarp is not installed (make test installs it)")
	}
	for _, vars := range []map[string]string{
		debianStanzas,
		with(debianStanzas, "IF_UCARP_MASTER", "off", "IF_UCARP_NOMCAST", "0"),
		{"IF_UCARP_VID": "9", "IF_UCARP_VIP": "192.0.2.9", "IF_UCARP_PASSWORD": "pw"},
		{"IF_UCARP_VID": "9", "IF_UCARP_VIP": "192.0.2.9", "IF_UCARP_PASSWORD": "two words"},
	} {
		theirs := runHook(t, debianHook, vars)
		ours, dir := runHookIn(t, filepath.Join("debian", "if-up.d", "ucarp"), vars)
		if i := slices.Index(ours, "-o"); i >= 0 && i+1 < len(ours) && ours[i+1] == "$RUNDIR/ifup-eth0.pass" {
			b, _ := os.ReadFile(filepath.Join(dir, "ifup-eth0.pass"))
			ours[i], ours[i+1] = "-p", strings.TrimSuffix(string(b), "\n")
		}
		if len(ours) == 0 || !slices.Equal(ours[:len(ours)-1], theirs) {
			t.Errorf("stanzas %v:\n ours   %q\n Debian %q", vars, ours, theirs)
		}
	}
}

// TestIfDownHook: the hook sends TERM to the daemon of the interface and
// waits for it; without a pid file it does nothing. A stale pid file,
// whose pid now belongs to an unrelated process, is removed and that
// process left alone.
func TestIfDownHook(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile(filepath.Join("debian", "if-down.d", "ucarp"))
	hook := filepath.Join(dir, "hook")
	os.WriteFile(hook, []byte(strings.Replace(string(b), "RUNDIR=/run/ucarp", "RUNDIR="+dir, 1)), 0o755)
	pidfile := filepath.Join(dir, "ifup-eth0.pid")
	ifdown := func(ifaces ...string) {
		t.Helper()
		for _, iface := range ifaces {
			cmd := exec.Command("sh", hook)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "IFACE=" + iface, "MODE=stop", "PHASE=pre-down"}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", iface, err, out)
			}
		}
	}

	other := startUnrelated(t)
	os.WriteFile(pidfile, []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o644)
	ifdown("eth0")
	if !running(other.Process.Pid) {
		t.Fatal("the hook killed an unrelated process named by a stale pid file")
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Fatal("stale pid file left")
	}

	// The daemon, as if-up.d started it: --pidfile=FILE on its command line.
	daemon := exec.Command("sh", "-c", "while :; do sleep 1; done", "ucarp", "--pidfile="+pidfile)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan *os.ProcessState, 1)
	go func() { daemon.Wait(); ended <- daemon.ProcessState }()
	os.WriteFile(pidfile, []byte(strconv.Itoa(daemon.Process.Pid)+"\n"), 0o644)
	passfile := filepath.Join(dir, "ifup-eth0.pass")
	os.WriteFile(passfile, []byte("secret\n"), 0o600)
	ifdown("eth0:ucarp", "eth0") // the alias has no daemon
	if _, err := os.Stat(passfile); err == nil {
		t.Error("password file left")
	}
	select {
	case st := <-ended:
		if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
			t.Fatalf("daemon ended with %v", st)
		}
	case <-time.After(5 * time.Second):
		daemon.Process.Kill()
		t.Fatal("the daemon was not stopped")
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Fatal("pid file left")
	}
}
