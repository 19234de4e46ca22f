//go:build linux

package packaging

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (chroot, mounts); CI runs as root")
	}
}

func need(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("skipped: %s is not installed (make test installs it)", c)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// built is the package that make just built for glob: the newest file,
// not the last name, since dist/ keeps the packages of earlier commits
// and their versions (0.1.0~gitHASH) do not sort by age.
func built(t *testing.T, glob string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "dist", glob))
	var newest string
	var at time.Time
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && (newest == "" || st.ModTime().After(at)) {
			newest, at = f, st.ModTime()
		}
	}
	if newest == "" {
		t.Fatalf("no %s built", glob)
	}
	return newest
}

// makeTarget runs a target of the project's Makefile.
func makeTarget(t *testing.T, args ...string) {
	t.Helper()
	run(t, "make", append([]string{"-C", "..", "--no-print-directory"}, args...)...)
}

// renderMan renders the man page file with man's warnings on (a warning
// fails t), in plain ASCII at 80 columns (MAN_KEEP_FORMATTING set to
// anything keeps overstrikes).
func renderMan(t *testing.T, file string) string {
	t.Helper()
	need(t, "man")
	cmd := exec.Command("man", "--warnings", "-l", file)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() != 0 {
		t.Fatalf("man -l %s: %v\n%s", file, err, stderr.String())
	}
	return stdout.String()
}

// mustMention checks that the rendered man page mentions each of words.
func mustMention(t *testing.T, page string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(page, w) {
			t.Errorf("the man page does not mention %s", w)
		}
	}
}

// TestManPage renders ucarp.8 with man's warnings on, and checks that it
// documents every option of --help, the signals, the scripts' environment
// and the configuration files.
func TestManPage(t *testing.T) {
	page := renderMan(t, "ucarp.8")
	bin := filepath.Join(t.TempDir(), "ucarp")
	run(t, "go", "build", "-o", bin, "../cmd/ucarp")
	help, _ := exec.Command(bin, "--help").Output()
	opts := regexp.MustCompile(`--[a-z-]+|\(-[a-zA-Z]`).FindAllString(string(help), -1)
	if len(opts) < 40 {
		t.Fatalf("only %d options in --help", len(opts))
	}
	for _, o := range opts {
		o = strings.TrimPrefix(o, "(")
		if o == "--mcast" {
			o = "--mcast=" // listed with its value
		}
		if !strings.Contains(page, o) {
			t.Errorf("the man page does not document %s", o)
		}
	}
	mustMention(t, page, "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGHUP", "CARP_STATE", "CARP_PREVIOUS_STATE", "CARP_VHID",
		"CARP_INTERFACE", "CARP_VIP", "CARP_REASON", "/etc/ucarp/NAME.conf", "vip-common.conf", "if-up.d/ucarp",
		"/usr/share/ucarp/vip-up", "DIFFERENCES FROM UCARP", "EXIT STATUS")
}

// TestCtlManPage renders ucarpctl.1 with man's warnings on, and checks
// that it documents every command and option of ucarpctl's usage, its
// exit status and its sockets.
func TestCtlManPage(t *testing.T) {
	page := renderMan(t, "ucarpctl.1")
	bin := filepath.Join(t.TempDir(), "ucarpctl")
	run(t, "go", "build", "-o", bin, "../cmd/ucarpctl")
	help, _ := exec.Command(bin, "help").Output()
	usage := string(help)
	opts := regexp.MustCompile(`--[a-z-]+`).FindAllString(usage, -1)
	_, cmds, _ := strings.Cut(usage, "commands:\n")
	cmds, _, _ = strings.Cut(cmds, "\n\n")
	verbs := regexp.MustCompile(`(?m)^  ([a-z]+)`).FindAllStringSubmatch(cmds, -1)
	if len(opts) < 4 || len(verbs) < 6 {
		t.Fatalf("only %d options and %d commands in the usage:\n%s", len(opts), len(verbs), usage)
	}
	for _, o := range opts {
		if !strings.Contains(page, o) {
			t.Errorf("the man page does not document %s", o)
		}
	}
	for _, v := range verbs {
		if !regexp.MustCompile(`(?m)^       ` + v[1] + `\b`).MatchString(page) {
			t.Errorf("the man page does not document the command %s", v[1])
		}
	}
	mustMention(t, page, "EXIT STATUS", "/run/ucarp/ucarp.sock", "/run/ucarp/IF-VHID.sock", "--control-group", "ucarp(8)")
}

// TestConfManPage renders ucarp.conf.5 with man's warnings on, and checks
// that it documents every key of the example that the packages install,
// the unit that runs the file, and where the example is.
func TestConfManPage(t *testing.T) {
	page := renderMan(t, "ucarp.conf.5")
	example, err := os.ReadFile(filepath.Join("examples", "ucarp-go.conf"))
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`(?m)^#?([a-z-]+) *=`).FindAllStringSubmatch(string(example), -1)
	if len(keys) < 10 {
		t.Fatalf("only %d keys in the example", len(keys))
	}
	for _, k := range keys {
		if !strings.Contains(page, k[1]) {
			t.Errorf("the man page does not document %s, a key of the example", k[1])
		}
	}
	mustMention(t, page, "/etc/ucarp-go.conf", "ucarp-go.service", "systemctl reload", "--check", "SIGHUP",
		"/usr/share/doc/ucarp-go/examples/ucarp-go.conf")
}

// TestRPMPackage builds the .rpm and checks what it provides and replaces.
func TestRPMPackage(t *testing.T) {
	need(t, "rpm")
	makeTarget(t, "rpm")
	pkg := built(t, "*.rpm")
	for query, want := range map[string]string{
		"--provides":  "ucarp",
		"--conflicts": "ucarp",
		"--obsoletes": "ucarp",
		"-l":          "/usr/sbin/ucarp\n",
	} {
		if out := run(t, "rpm", "-qp", query, pkg); !strings.Contains(out, want) {
			t.Errorf("rpm -qp %s: %q does not hold %q", query, out, want)
		}
	}
	files := run(t, "rpm", "-qpl", pkg)
	for _, f := range []string{"/usr/bin/ucarpctl", "/usr/lib/systemd/system/ucarp@.service", "/usr/libexec/ucarp-go/ucarp-instance",
		"/usr/lib/systemd/system/ucarp-go.service", "/usr/share/man/man5/ucarp.conf.5.gz",
		"/usr/share/doc/ucarp-go/examples/ucarp-go.conf", "/etc/init.d/ucarp", "/usr/share/man/man8/ucarp.8.gz",
		"/usr/share/man/man1/ucarpctl.1.gz"} {
		if !strings.Contains(files, f+"\n") {
			t.Errorf("rpm lacks %s", f)
		}
	}
	if conf := run(t, "rpm", "-qpc", pkg); !strings.Contains(conf, "/etc/init.d/ucarp") {
		t.Errorf("config files: %q", conf)
	}
}

// debRoot is a Debian bookworm root made by debootstrap, kept outside the
// repository between runs.
func debRoot(t *testing.T) string {
	dir := os.Getenv("UCARP_DEBOOTSTRAP_CACHE")
	if dir == "" {
		dir = "/var/cache/ucarp-go-test/bookworm"
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/bin/apt-get")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	os.MkdirAll(filepath.Dir(dir), 0o755)
	t.Logf("debootstrap into %s (once)", dir)
	run(t, "debootstrap", "--variant=minbase", "bookworm", dir, "http://deb.debian.org/debian")
	return dir
}

// TestDebPackage builds the .deb, checks it with lintian, installs it in a
// throw-away Debian root where Debian's ucarp package is installed, and
// checks that it replaced it: ucarp --help runs, dpkg -L lists what the
// README says, the conffiles are marked, nothing was enabled, and
// systemd-analyze verify accepts the installed units.
func TestDebPackage(t *testing.T) {
	needRoot(t)
	need(t, "debootstrap", "lintian", "systemd-analyze")
	makeTarget(t, "deb")
	deb, _ := filepath.Abs(built(t, "*.deb"))
	if out, err := exec.Command("lintian", "--fail-on", "error", "--tag-display-limit", "0", deb).CombinedOutput(); err != nil {
		t.Fatalf("lintian: %v\n%s", err, out)
	} else {
		t.Logf("lintian (no error):\n%s", out)
	}
	for _, bin := range []string{"../bin/ucarp", "../bin/ucarpctl"} {
		checkHardened(t, bin)
	}

	base := debRoot(t)
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	for _, d := range []string{"upper", "work", "root"} {
		os.MkdirAll(filepath.Join(tmp, d), 0o755)
	}
	run(t, "mount", "-t", "overlay", "overlay", "-o",
		"lowerdir="+base+",upperdir="+filepath.Join(tmp, "upper")+",workdir="+filepath.Join(tmp, "work"), root)
	var mounts = []string{root}
	t.Cleanup(func() {
		slices.Reverse(mounts)
		for _, m := range mounts {
			if err := exec.Command("umount", m).Run(); err != nil {
				exec.Command("umount", "-l", m).Run()
			}
		}
	})
	run(t, "mount", "-t", "proc", "proc", filepath.Join(root, "proc"))
	mounts = append(mounts, filepath.Join(root, "proc"))
	run(t, "mount", "--bind", "/dev", filepath.Join(root, "dev"))
	mounts = append(mounts, filepath.Join(root, "dev"))
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	os.WriteFile(filepath.Join(root, "etc/resolv.conf"), resolv, 0o644)
	// No service starts in the chroot.
	os.WriteFile(filepath.Join(root, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755)
	chroot := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("chroot", append([]string{root}, args...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("chroot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	chroot("apt-get", "update", "-q")
	// A server root: systemd (for systemd-analyze verify) and Debian's ucarp.
	chroot("apt-get", "install", "-y", "-q", "--no-install-recommends", "systemd", "ucarp")
	if out := chroot("ucarp", "--help"); !strings.Contains(out, "ucarp 1.5.2") {
		t.Fatalf("Debian's ucarp is not installed in the root:\n%s", out)
	}
	run(t, "cp", deb, filepath.Join(root, "tmp", "ucarp-go.deb"))
	chroot("apt-get", "install", "-y", "-q", "--no-install-recommends", "/tmp/ucarp-go.deb")

	status := chroot("dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", "ucarp", "ucarp-go")
	if !strings.Contains(status, "ucarp-go ii") || strings.Contains(status, "ucarp ii") {
		t.Fatalf("packages after install:\n%s", status)
	}
	if out := chroot("ucarp", "--help"); !strings.Contains(out, "ucarp-go") || !strings.Contains(out, "--interface=<if>") {
		t.Fatalf("ucarp --help in the root:\n%s", out)
	}
	// ucarp-go.service reloads with /bin/kill (procps, not essential).
	chroot("test", "-x", "/bin/kill")
	files := chroot("dpkg", "-L", "ucarp-go")
	for _, f := range []string{"/usr/sbin/ucarp", "/usr/bin/ucarpctl", "/lib/systemd/system/ucarp@.service", "/lib/systemd/system/ucarp.service",
		"/usr/libexec/ucarp-go/ucarp-instance", "/etc/init.d/ucarp", "/etc/network/if-up.d/ucarp", "/etc/network/if-down.d/ucarp",
		"/usr/share/ucarp/vip-up", "/usr/share/ucarp/vip-down", "/usr/share/man/man8/ucarp.8.gz",
		"/usr/share/doc/ucarp-go/copyright", "/usr/share/doc/ucarp-go/examples/example.conf",
		"/usr/share/doc/ucarp-go/examples/unrestricted.conf", "/usr/share/doc/ucarp-go/examples/vip-001.conf",
		"/lib/systemd/system/ucarp-go.service", "/usr/share/man/man5/ucarp.conf.5.gz",
		"/usr/share/doc/ucarp-go/examples/ucarp-go.conf", "/usr/share/man/man1/ucarpctl.1.gz"} {
		if !strings.Contains(files, f+"\n") {
			t.Errorf("dpkg -L ucarp-go lacks %s", f)
		}
	}
	conffiles := chroot("dpkg-query", "-W", "-f=${Conffiles}", "ucarp-go")
	for _, f := range []string{"/etc/init.d/ucarp", "/etc/network/if-up.d/ucarp", "/etc/network/if-down.d/ucarp"} {
		if !strings.Contains(conffiles, f) {
			t.Errorf("%s is not a conffile: %q", f, conffiles)
		}
	}
	if mode := strings.TrimSpace(chroot("stat", "-c", "%a", "/etc/ucarp")); mode != "700" {
		t.Errorf("/etc/ucarp is %s, want 700: it holds passwords", mode)
	}
	// Nothing enabled by surprise.
	for _, glob := range []string{"etc/systemd/system/*.wants/ucarp*", "etc/rc?.d/*ucarp*"} {
		if m, _ := filepath.Glob(filepath.Join(root, glob)); len(m) > 0 {
			t.Errorf("enabled at install: %v", m)
		}
	}
	// Documentation= is checked with the host's man: point it at the
	// root's pages, which the package installed.
	verify := exec.Command("systemd-analyze", "verify", "--root="+root, "ucarp@lan.service", "ucarp.service", "ucarp-go.service")
	verify.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man"))
	out, err := verify.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestConfDirMode: /etc/ucarp holds passwords, so the packages ship it
// 0700 as RHEL does, and the Debian postinst tightens the 0755 of an
// upgraded installation (dpkg keeps an existing directory's mode), but
// not on a fresh install nor a mode the administrator chose.
func TestConfDirMode(t *testing.T) {
	for _, tt := range []struct {
		args       []string
		mode, want os.FileMode
	}{
		{[]string{"configure", "0.1.0~git1a2b3c4"}, 0o755, 0o700},
		{[]string{"configure", ""}, 0o755, 0o755},
		{[]string{"configure", "0.1.0~git1a2b3c4"}, 0o750, 0o750},
		{[]string{"abort-upgrade", "0.1.0"}, 0o755, 0o755},
	} {
		root := t.TempDir()
		dir := filepath.Join(root, "etc", "ucarp")
		os.MkdirAll(dir, 0o755)
		os.Chmod(dir, tt.mode)
		cmd := exec.Command("sh", append([]string{filepath.Join("scripts", "postinst")}, tt.args...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "DPKG_ROOT=" + root}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("postinst %q: %v\n%s", tt.args, err, out)
		}
		if st, _ := os.Stat(dir); st.Mode().Perm() != tt.want {
			t.Errorf("postinst %q on a %o directory: %o, want %o", tt.args, tt.mode, st.Mode().Perm(), tt.want)
		}
	}
	// The packages themselves.
	need(t, "dpkg-deb", "rpm")
	makeTarget(t, "deb", "rpm")
	if out := run(t, "dpkg-deb", "-c", built(t, "*.deb")); !regexp.MustCompile(`(?m)^drwx------ root/root .* \./etc/ucarp/$`).MatchString(out) {
		t.Errorf("deb: /etc/ucarp is not 0700:\n%s", out)
	}
	if out := run(t, "rpm", "-qplv", built(t, "*.rpm")); !regexp.MustCompile(`(?m)^drwx------ .* /etc/ucarp$`).MatchString(out) {
		t.Errorf("rpm: /etc/ucarp is not 0700:\n%s", out)
	}
}

// checkHardened fails unless the packaged binary is what Debian asks of a
// daemon and lintian does not check: a PIE (ET_DYN with an interpreter or
// a static PIE), full RELRO (PT_GNU_RELRO and BIND_NOW).
func checkHardened(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		t.Errorf("%s: %v, want a PIE (ET_DYN)", path, f.Type)
	}
	relro := false
	for _, p := range f.Progs {
		relro = relro || p.Type == elf.PT_GNU_RELRO
	}
	if !relro {
		t.Errorf("%s: no PT_GNU_RELRO", path)
	}
	now := false
	if v, err := f.DynValue(elf.DT_FLAGS); err == nil && len(v) > 0 && v[0]&uint64(elf.DF_BIND_NOW) != 0 {
		now = true
	}
	if v, err := f.DynValue(elf.DT_FLAGS_1); err == nil && len(v) > 0 && v[0]&uint64(elf.DF_1_NOW) != 0 {
		now = true
	}
	if !now {
		t.Errorf("%s: no BIND_NOW (DT_FLAGS or DT_FLAGS_1)", path)
	}
}
