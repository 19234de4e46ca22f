package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stubRCSubr stands in for FreeBSD's /etc/rc.subr: it loads the test's
// rc.conf, and "start" runs start_precmd then prints the command line
// word by word after the same eval that rc.subr does.
const stubRCSubr = `
load_rc_config() { . "$RC_CONF"; }
checkyesno() {
	eval "_v=\${$1}"
	case "$_v" in [Yy][Ee][Ss]|[Tt][Rr][Uu][Ee]|[Oo][Nn]|1) return 0 ;; esac
	return 1
}
warn() { echo "$name: WARNING: $*" >&2; }
err() { echo "$name: ERROR: $*" >&2; exit 1; }
# FreeBSD's stat -f %Lp FILE prints the permission bits in octal.
stat() { [ "$1" = "-f" ] && [ "$2" = "%Lp" ] && command stat -c %a "$3"; }
run_rc_command() {
	[ "$1" = start ] || return 0
	if ! checkyesno "$rcvar"; then
		echo "Cannot 'start' $name. Set $rcvar to YES in /etc/rc.conf" >&2
		return 1
	fi
	eval "rc_flags=\${${name}_flags}"
	if [ -n "$start_precmd" ]; then $start_precmd || return 1; fi
	eval "set -- $command $rc_flags $command_args"
	for a; do printf '%s\n' "$a"; done
}
`

func runRCD(t *testing.T, rcconf string, passMode os.FileMode) (argv []string, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join("freebsd", "ucarp"))
	if err != nil {
		t.Fatal(err)
	}
	subr := filepath.Join(dir, "rc.subr")
	os.WriteFile(subr, []byte(stubRCSubr), 0o644)
	rcd := filepath.Join(dir, "ucarp")
	os.WriteFile(rcd, []byte(strings.Replace(string(script), ". /etc/rc.subr", ". "+subr, 1)), 0o755)
	pass := filepath.Join(dir, "pass file")
	os.WriteFile(pass, []byte("secret\n"), passMode)
	os.Chmod(pass, passMode)
	conf := filepath.Join(dir, "rc.conf")
	os.WriteFile(conf, []byte(strings.ReplaceAll(rcconf, "$PASS", pass)), 0o644)
	cmd := exec.Command("sh", rcd, "start")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "RC_CONF=" + conf}
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if l != "" {
			argv = append(argv, strings.ReplaceAll(l, pass, "$PASS"))
		}
	}
	return argv, errb.String(), err
}

const baseConf = `ucarp_enable="YES"
ucarp_interface="vtnet0"
ucarp_src="192.0.2.10"
ucarp_vhid="7"
ucarp_passfile="$PASS"
ucarp_addr="192.0.2.100"
`

func TestRCDSyntax(t *testing.T) {
	if out, err := exec.Command("sh", "-n", filepath.Join("freebsd", "ucarp")).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v %s", err, out)
	}
}

func TestRCDCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		mode   os.FileMode
		want   []string
		refuse string
	}{
		{name: "minimal", conf: baseConf, mode: 0o600, want: []string{
			"/usr/local/sbin/ucarp", "--interface=vtnet0", "--srcip=192.0.2.10", "--vhid=7", "--passfile=$PASS",
			"--addr=192.0.2.100", "--advbase=1", "--advskew=0", "--shutdown", "--daemonize", "--pidfile=/var/run/ucarp.pid"}},
		{name: "everything, quoted", mode: 0o400, conf: baseConf + `ucarp_advbase="2"
ucarp_advskew="100"
ucarp_preempt="YES"
ucarp_upscript="/usr/local/etc/ucarp/vip up.sh"
ucarp_downscript="/usr/local/etc/ucarp/it's down.sh"
ucarp_flags="--deadratio=4 --xparam=x"
ucarp_pidfile="/var/run/ucarp-7.pid"
`, want: []string{
			"/usr/local/sbin/ucarp", "--deadratio=4", "--xparam=x", "--interface=vtnet0", "--srcip=192.0.2.10", "--vhid=7",
			"--passfile=$PASS", "--addr=192.0.2.100", "--advbase=2", "--advskew=100", "--preempt",
			"--upscript=/usr/local/etc/ucarp/vip up.sh", "--downscript=/usr/local/etc/ucarp/it's down.sh",
			"--shutdown", "--daemonize", "--pidfile=/var/run/ucarp-7.pid"}},
		{name: "more addresses", mode: 0o600, conf: baseConf + `ucarp_vips="192.0.2.101/24  2001:db8::100/64 *"
`, want: []string{
			"/usr/local/sbin/ucarp", "--interface=vtnet0", "--srcip=192.0.2.10", "--vhid=7", "--passfile=$PASS",
			"--addr=192.0.2.100", "--vip=192.0.2.101/24", "--vip=2001:db8::100/64", "--vip=*", "--advbase=1", "--advskew=0",
			"--shutdown", "--daemonize", "--pidfile=/var/run/ucarp.pid"}},
		{name: "passfile readable by others", conf: baseConf, mode: 0o644, refuse: "is readable by group or others (mode 644): chmod 600 it"},
		{name: "passfile readable by the group", conf: baseConf, mode: 0o640, refuse: "readable by group or others"},
		{name: "password in the flags", conf: baseConf + `ucarp_flags="-p secret"`, mode: 0o600, refuse: "do not put the password in ucarp_flags"},
		{name: "password in the flags, long", conf: baseConf + `ucarp_flags="--pass=secret"`, mode: 0o600, refuse: "do not put the password"},
		{name: "missing vhid", conf: strings.Replace(baseConf, `ucarp_vhid="7"`, "", 1), mode: 0o600, refuse: "ucarp_vhid is not set"},
		{name: "missing passfile", conf: strings.Replace(baseConf, "$PASS", "/nonexistent", 1), mode: 0o600,
			refuse: "ucarp_passfile /nonexistent does not exist"},
		{name: "not enabled", conf: strings.Replace(baseConf, "YES", "NO", 1), mode: 0o600, refuse: "Set ucarp_enable to YES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, stderr, err := runRCD(t, tt.conf, tt.mode)
			if tt.refuse != "" {
				if err == nil || !strings.Contains(stderr, tt.refuse) || len(argv) != 0 {
					t.Fatalf("not refused: err %v, stderr %q, argv %q", err, stderr, argv)
				}
				return
			}
			if err != nil || !slices.Equal(argv, tt.want) {
				t.Fatalf("err %v stderr %q\nargv %q\nwant %q", err, stderr, argv, tt.want)
			}
			for _, a := range argv {
				if strings.Contains(a, "secret") {
					t.Fatal("the password is on the command line")
				}
			}
		})
	}
}
