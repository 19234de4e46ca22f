package pair

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// fake is a Session over a pretend host: it keeps the files, rc.conf
// settings, package and service that the commands of a plan change, so
// that a second run sees what the first did; and it records every
// command, with what it wrote, for the golden transcripts.
type fake struct {
	name      string
	kernel    string // uname -s
	osRelease string
	systemd   bool
	addrs     string // ip -j -4 addr, or FreeBSD's ifconfig
	addrs6    string // ip -j -6 addr
	installed bool
	active    bool
	master    bool     // what status says once active
	heard     []string // sources that sniff hears
	maint     bool     // ucarpctl has the maintenance verb
	failOn    string   // a command holding this fails
	cancelOn  string   // a command holding this calls cancel and fails
	cancel    func()
	preempt   string // the live net.inet.carp.preempt ("" is 0)
	unloaded  bool   // carp.ko not loaded yet: its sysctls fail until kldload
	files     map[string]File
	settings  map[string]string // FILE NAME -> value
	log       []string
}

var errExit = errors.New("exit status 1")

var (
	reWrite = regexp.MustCompile(`^umask 077 && cat > \S+ && chmod (\d+) \S+ && mv -f \S+ (\S+)$`)
	reRead  = regexp.MustCompile(`^if \[ -e (\S+) \]; then stat`)
	reSysrc = regexp.MustCompile(`^sysrc -f (\S+) (.*)$`)
)

func (f *fake) Host() string { return f.name }

func (f *fake) Run(ctx context.Context, cmd string, stdin []byte) (string, error) {
	if err := ctx.Err(); err != nil { // as SSHSession: a cancelled command fails
		f.log = append(f.log, "cancelled: "+cmd)
		return "", err
	}
	if f.cancelOn != "" && strings.Contains(cmd, f.cancelOn) {
		f.log = append(f.log, "cancelled: "+cmd)
		f.cancel()
		return "", ctx.Err()
	}
	if stdin != nil {
		f.log = append(f.log, fmt.Sprintf("%s <<EOF\n%sEOF", cmd, stdin))
	} else {
		f.log = append(f.log, cmd)
	}
	if f.failOn != "" && strings.Contains(cmd, f.failOn) {
		return "", fmt.Errorf("%w: injected failure", errExit)
	}
	ok := func(b bool) (string, error) {
		if b {
			return "", nil
		}
		return "", errExit
	}
	if f.files == nil {
		f.files = map[string]File{}
		f.settings = map[string]string{}
	}
	switch {
	case cmd == "uname -s":
		return f.kernel + "\n", nil
	case strings.HasPrefix(cmd, "cat /etc/os-release"):
		return f.osRelease, nil
	case strings.Contains(cmd, "/run/systemd/system"):
		if f.systemd {
			return "systemd\n", nil
		}
		return "sysv\n", nil
	case strings.HasPrefix(cmd, "dpkg-query"):
		if f.installed {
			return "ii ", nil
		}
		return "", nil
	case cmd == "rpm -q ucarp-go", cmd == "pkg info -e ucarp-go":
		return ok(f.installed)
	case cmd == "freebsd-version":
		return "14.1-RELEASE\n", nil
	case strings.HasPrefix(cmd, "ip -j -6"):
		return f.addrs6, nil
	case strings.HasPrefix(cmd, "ip -j"), cmd == "ifconfig":
		return f.addrs, nil
	case cmd == "sysrc -a":
		var b strings.Builder
		for k, v := range f.settings {
			if file, name, _ := strings.Cut(k, " "); file == "/etc/rc.conf" {
				fmt.Fprintf(&b, "%s: %s\n", name, v)
			}
		}
		return b.String(), nil
	}
	if m := reWrite.FindStringSubmatch(cmd); m != nil {
		mode, _ := strconv.ParseUint(m[1], 8, 32)
		f.files[m[2]] = File{Path: m[2], Mode: fs.FileMode(mode), Data: string(stdin)}
		return "", nil
	}
	if m := reRead.FindStringSubmatch(cmd); m != nil {
		file, ok := f.files[strings.Trim(m[1], "'")]
		if !ok {
			return "absent\n", nil
		}
		return fmt.Sprintf("%o\n%s", file.Mode, file.Data), nil
	}
	if m := reSysrc.FindStringSubmatch(cmd); m != nil {
		file, args := m[1], m[2]
		switch {
		case strings.HasPrefix(args, "-n -q "):
			return f.settings[file+" "+strings.TrimSuffix(strings.TrimPrefix(args, "-n -q "), " || true")] + "\n", nil
		case strings.HasPrefix(args, "-x "):
			delete(f.settings, file+" "+strings.TrimPrefix(args, "-x "))
		default:
			k, v, _ := strings.Cut(strings.Trim(args, "'"), "=")
			f.settings[file+" "+k] = v
		}
		return "", nil
	}
	switch {
	case strings.HasPrefix(cmd, "rm -f "):
		delete(f.files, strings.Trim(strings.TrimPrefix(cmd, "rm -f "), "'"))
	case strings.HasPrefix(cmd, "touch "):
		p := strings.TrimPrefix(cmd, "touch ")
		f.files[p] = File{Path: p, Mode: 0o644}
	case strings.HasPrefix(cmd, "test -e "):
		_, there := f.files[strings.Trim(strings.TrimPrefix(cmd, "test -e "), "'")]
		return ok(there)
	case strings.HasPrefix(cmd, "grep -qxF "):
		w := strings.Fields(cmd)
		_, there := f.settings[w[3]+" "+strings.Trim(w[2], "'")]
		return ok(there)
	case strings.HasPrefix(cmd, "K="): // inEffect: KEY=VALUE lines only
		w := strings.Fields(cmd)
		k, v := strings.TrimPrefix(w[0], "K="), strings.TrimPrefix(w[1], "V=")
		_, there := f.settings[w[len(w)-1]+" "+k+"="+v]
		return ok(there)
	case strings.HasPrefix(cmd, "{ [ ! -s "): // appendLine
		w := strings.Fields(cmd)
		f.settings[w[len(w)-1]+" "+strings.Trim(w[len(w)-4], "';")] = "line"
	case strings.HasPrefix(cmd, "T="): // removeLine
		w := strings.Fields(cmd)
		file := w[slices.Index(w, "n'")+1]
		delete(f.settings, file+" "+strings.Trim(strings.TrimPrefix(w[0], "T="), "'"))
	case strings.Contains(cmd, "apt-get install"), strings.Contains(cmd, "dnf install"),
		strings.Contains(cmd, "pkg add"), strings.Contains(cmd, "pkg install"):
		f.installed = true
	case strings.Contains(cmd, "apt-get purge"), strings.Contains(cmd, "dnf remove"), strings.HasPrefix(cmd, "pkg delete"):
		f.installed = false
	case strings.Contains(cmd, "is-enabled"), strings.Contains(cmd, "/etc/init.d/ucarp status"),
		strings.HasPrefix(cmd, "service ucarp enabled"), strings.Contains(cmd, "grep -Eq 'carp:"):
		return ok(f.active)
	case strings.HasPrefix(cmd, "systemctl enable --now"), strings.HasPrefix(cmd, "/etc/init.d/ucarp start"),
		cmd == "service ucarp start", strings.Contains(cmd, " alias "):
		f.active = true
	case strings.HasPrefix(cmd, "systemctl disable --now"), strings.HasPrefix(cmd, "/etc/init.d/ucarp stop"),
		cmd == "service ucarp stop", strings.Contains(cmd, " -alias"):
		f.active = false
	case strings.HasPrefix(cmd, "ucarpctl sniff"), strings.HasPrefix(cmd, "timeout "):
		return strings.Join(f.heard, "\n") + "\n", nil
	case cmd == "ucarpctl status --json":
		if !f.active {
			return "", errExit
		}
		// Another group of the same vhid on another interface, which
		// pair must not take for its own.
		return fmt.Sprintf(`{"groups":[{"interface":"eth9","vhid":10,"state":"INIT"},{"interface":%q,"vhid":10,"state":%q}]}`, f.facts().Interface, f.state()), nil
	case strings.HasPrefix(cmd, "ifconfig ") && !strings.Contains(cmd, "alias"):
		if !f.active {
			return "", nil
		}
		return fmt.Sprintf("\tinet 203.0.113.10 netmask 0xffffff00\n\tcarp: %s vhid 10 advbase 1 advskew 0\n", f.state()), nil
	case strings.HasPrefix(cmd, "ls /etc/ucarp/*.conf"):
		var names []string
		for p := range f.files {
			if strings.HasPrefix(p, "/etc/ucarp/") && strings.HasSuffix(p, ".conf") {
				names = append(names, p)
			}
		}
		sort.Strings(names)
		if len(names) == 0 && !strings.Contains(cmd, "||") {
			return "", errExit
		}
		return strings.Join(names, "\n"), nil
	case cmd == "sysctl -n net.inet.carp.preempt" && f.unloaded:
		return "sysctl: unknown oid 'net.inet.carp.preempt'\n", errExit
	case cmd == "kldload -n carp":
		f.unloaded = false
	case cmd == "sysctl -n net.inet.carp.preempt":
		return max(f.preempt, "0") + "\n", nil
	case strings.HasPrefix(cmd, "sysctl net.inet.carp.preempt="):
		f.preempt = strings.TrimPrefix(cmd, "sysctl net.inet.carp.preempt=")
	case strings.HasPrefix(cmd, "ucarpctl help"):
		return ok(f.maint)
	}
	return "", nil
}

// facts are what NewPlan needs of the fake in a test.
func (f *fake) facts() Facts {
	if f.kernel == "FreeBSD" {
		return Facts{Family: FreeBSD, Interface: "vtnet0"}
	}
	fam := Debian
	if strings.Contains(f.osRelease, "rhel") {
		fam = RHEL
	}
	return Facts{Family: fam, Interface: "eth0", Systemd: f.systemd}
}

func (f *fake) state() string {
	if f.master {
		return "MASTER"
	}
	return "BACKUP"
}
