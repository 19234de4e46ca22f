package pair

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Runner runs Pair and Unpair.
type Runner struct {
	// Out receives progress lines, the dry run's commands and the summary.
	Out io.Writer
	// DryRun: commands that change a host are printed, not run; those
	// that only look are run.
	DryRun bool
	// VerifyFailover: after the pair converges, demote the holder, check
	// that the other host took the address, and undo it.
	VerifyFailover bool
	// Sleep and Now are time.Sleep and time.Now unless a test sets them.
	Sleep func(time.Duration)
	Now   func() time.Time
}

func (r *Runner) sleep(d time.Duration) {
	if r.Sleep != nil {
		r.Sleep(d)
		return
	}
	time.Sleep(d)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) printf(format string, args ...any) {
	if r.Out != nil {
		fmt.Fprintf(r.Out, format, args...)
	}
}

// host is one host during a run: its session, plan, and the journal of
// what this run changed, each with its undo.
type host struct {
	s       Session
	p       *Plan
	changed []string
	undo    []undo
}

type undo struct {
	what string // what is undone, for "what is left"
	cmds []string
	file *File // written back (nil: cmds only)
}

// rePass is the CARP password in a command of kernel mode (ifconfig or
// sysrc): "pass WORD", WORD bare, quoted, or with quotes inside.
var rePass = regexp.MustCompile(`\bpass ('(?:[^']|'\\'')*'|(?:[^\s']|'\\'')+)`)

// redact hides the CARP password of a command that is printed.
func redact(s string) string { return rePass.ReplaceAllString(s, "pass ****") }

// redacted is an error whose message is redacted; errors.Is and As
// still see the one it wraps.
type redacted struct{ err error }

func (e redacted) Error() string { return redact(e.err.Error()) }
func (e redacted) Unwrap() error { return e.err }

// change runs a command that changes the host (or prints it in a dry run).
// What it prints and returns has no password (redact).
func (r *Runner) change(ctx context.Context, h *host, cmd string, stdin []byte) error {
	if r.DryRun {
		if stdin != nil {
			r.printf("%s: would run: %s   (with %d bytes on stdin)\n", h.s.Host(), redact(cmd), len(stdin))
		} else {
			r.printf("%s: would run: %s\n", h.s.Host(), redact(cmd))
		}
		return nil
	}
	_, err := h.s.Run(ctx, cmd, stdin)
	if err != nil {
		return fmt.Errorf("pair: %s: %s: %w", h.s.Host(), redact(cmd), redacted{err})
	}
	return nil
}

func (r *Runner) changeAll(ctx context.Context, h *host, cmds []string) error {
	for _, c := range cmds {
		if err := r.change(ctx, h, c, nil); err != nil {
			return err
		}
	}
	return nil
}

// look runs a command that changes nothing: also in a dry run.
func look(ctx context.Context, h *host, cmd string) (string, error) {
	return h.s.Run(ctx, cmd, nil)
}

func (h *host) freebsd() bool { return h.p.Facts.Family == FreeBSD }

// readFile returns the file's content and mode, or ok false if absent.
func readFile(ctx context.Context, h *host, path string) (data string, mode fs.FileMode, ok bool, err error) {
	stat := "stat -c %a "
	if h.freebsd() {
		stat = "stat -f %Lp "
	}
	q := Quote(path)
	out, err := look(ctx, h, "if [ -e "+q+" ]; then "+stat+q+" && cat "+q+"; else echo absent; fi")
	if err != nil {
		return "", 0, false, fmt.Errorf("pair: %s: reading %s: %w", h.s.Host(), path, err)
	}
	if out == "absent\n" {
		return "", 0, false, nil
	}
	first, rest, _ := strings.Cut(out, "\n")
	m, err := strconv.ParseUint(strings.TrimSpace(first), 8, 32)
	if err != nil {
		return "", 0, false, fmt.Errorf("pair: %s: the mode of %s: %q", h.s.Host(), path, first)
	}
	return rest, fs.FileMode(m), true, nil
}

// writeCmd writes stdin to path with mode, atomically.
func writeCmd(f File) string {
	q, tmp := Quote(f.Path), Quote(f.Path+".ucarpctl-tmp")
	return fmt.Sprintf("umask 077 && cat > %s && chmod %04o %s && mv -f %s %s", tmp, f.Mode, tmp, tmp, q)
}

// ensureFile writes f unless it is there with its content and mode.
func (r *Runner) ensureFile(ctx context.Context, h *host, f File) error {
	old, mode, ok, err := readFile(ctx, h, f.Path)
	if err != nil {
		return err
	}
	if ok && old == f.Data && mode == f.Mode {
		return nil
	}
	if err := r.change(ctx, h, writeCmd(f), []byte(f.Data)); err != nil {
		return err
	}
	h.changed = append(h.changed, fmt.Sprintf("wrote %s (mode %04o)", f.Path, f.Mode))
	if ok {
		h.undo = append(h.undo, undo{what: "the old " + f.Path, file: &File{Path: f.Path, Mode: mode, Data: old}})
	} else {
		h.undo = append(h.undo, undo{what: f.Path, cmds: []string{"rm -f " + Quote(f.Path)}})
	}
	return nil
}

func sysrc(s Setting, args ...string) string {
	return join(append([]string{"sysrc", "-f", s.File}, args...)...)
}

// ensureSetting sets an rc.conf variable unless it has the value; an
// empty value removes it.
func (r *Runner) ensureSetting(ctx context.Context, h *host, s Setting) error {
	old, err := look(ctx, h, sysrc(s, "-n", "-q", s.Name)+" || true")
	if err != nil {
		return fmt.Errorf("pair: %s: sysrc: %w", h.s.Host(), err)
	}
	old = strings.TrimSuffix(old, "\n")
	if old == s.Value {
		return nil
	}
	if s.Value == "" { // one that a run with other options left
		if err := r.change(ctx, h, sysrc(s, "-x", s.Name), nil); err != nil {
			return err
		}
		h.changed = append(h.changed, fmt.Sprintf("removed %s from %s", s.Name, s.File))
		h.undo = append(h.undo, undo{what: s.Name + " in " + s.File, cmds: []string{sysrc(s, s.Name+"="+old)}})
		return nil
	}
	if err := r.change(ctx, h, sysrc(s, s.Name+"="+s.Value), nil); err != nil {
		return err
	}
	h.changed = append(h.changed, fmt.Sprintf("set %s in %s", s.Name, s.File))
	u := sysrc(s, "-x", s.Name)
	if old != "" {
		u = sysrc(s, s.Name+"="+old)
	}
	h.undo = append(h.undo, undo{what: s.Name + " in " + s.File, cmds: []string{u}})
	return nil
}

// removeLine removes the last line that is l.Text, the one ensureLine
// appended: an earlier copy (with another value of the key between) was
// there before; CRLF lines and the others are kept as they are.
func removeLine(l Line) string {
	f, tmp := Quote(l.File), Quote(l.File+".ucarpctl-tmp")
	return fmt.Sprintf("T=%s awk 'NR == FNR { if ($0 == ENVIRON[\"T\"]) n = FNR; next } FNR != n' %s %s > %s && cat %s > %s; rm -f %s",
		Quote(l.Text), f, f, tmp, tmp, f, tmp)
}

// hasLine exits 0 when the file has the line as it is.
func hasLine(l Line) string { return "grep -qxF " + Quote(l.Text) + " " + Quote(l.File) }

// inEffect exits 0 when a KEY=VALUE line is in effect as sysctl.conf(5)
// reads it: the last line whose first word sets KEY sets it to VALUE
// (one after it with another value wins; a commented-out one, or a CRLF
// one whose value ends in CR, does not count). A line that is no
// KEY=VALUE must be there as it is.
func inEffect(l Line) string {
	k, v, ok := strings.Cut(l.Text, "=")
	if !ok {
		return hasLine(l)
	}
	return "K=" + Quote(k) + " V=" + Quote(v) + ` awk 'index($1, ENVIRON["K"] "=") == 1 { v = substr($1, length(ENVIRON["K"]) + 2) } END { exit !(v == ENVIRON["V"]) }' ` + Quote(l.File)
}

// appendLine appends the line, after a newline if the file does not end
// with one.
func appendLine(l Line) string {
	f := Quote(l.File)
	return "{ [ ! -s " + f + ` ] || [ -z "$(tail -c 1 ` + f + `)" ] || echo; echo ` + Quote(l.Text) + "; } >> " + f
}

func (r *Runner) ensureLine(ctx context.Context, h *host, l Line) error {
	if _, err := look(ctx, h, inEffect(l)); err == nil {
		return nil
	}
	if err := r.change(ctx, h, appendLine(l), nil); err != nil {
		return err
	}
	h.changed = append(h.changed, fmt.Sprintf("added %q to %s", l.Text, l.File))
	h.undo = append(h.undo, undo{what: l.Text + " in " + l.File, cmds: []string{removeLine(l)}})
	return nil
}

// install puts the package on the host unless it is there.
func (r *Runner) install(ctx context.Context, h *host) error {
	p := h.p
	if p.Kernel || p.Facts.Installed {
		return nil
	}
	h.undo = append(h.undo, undo{what: "the package " + PackageName, cmds: p.Uninstall})
	err := func() error {
		for i, c := range p.Install {
			var stdin []byte
			if i == 0 && p.Upload != nil { // the upload and its install, in one command
				stdin = []byte(p.Upload.Data)
			}
			if err := r.change(ctx, h, c, stdin); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		if p.Facts.Family == Debian {
			// apt-get --no-remove: ucarp-go conflicts with Debian's
			// ucarp, which pair would not put back.
			return fmt.Errorf("%w\n(pair never lets apt-get remove a package: if Debian's ucarp package is installed, "+
				"it conflicts with %s; remove it yourself first if you mean to replace it)", err, PackageName)
		}
		return err
	}
	h.changed = append(h.changed, "installed "+PackageName)
	return nil
}

// sniff listens for the vhid on the host's segment and refuses it if a
// host other than the two of the pair advertises it.
func (r *Runner) sniff(ctx context.Context, h *host, pair [2]netip.Addr, vhid int) error {
	if r.DryRun && !h.p.Kernel && !h.p.Facts.Installed {
		r.printf("%s: would run: %s\n", h.s.Host(), h.p.Sniff)
		return nil
	}
	out, err := look(ctx, h, h.p.Sniff)
	if err != nil {
		return fmt.Errorf("pair: %s: listening for the vhid: %w", h.s.Host(), err)
	}
	var others []string
	for _, w := range strings.Fields(out) {
		a, err := netip.ParseAddr(w)
		if err != nil || a == pair[0] || a == pair[1] {
			continue
		}
		others = append(others, a.String())
	}
	if len(others) > 0 {
		return fmt.Errorf("pair: %s: vhid %d is in use on %s's segment (adverts from %s): choose another --vhid",
			h.s.Host(), vhid, h.p.Facts.Interface, strings.Join(others, ", "))
	}
	return nil
}

// configure writes the files and settings and starts the service, or
// restarts it when it ran with other settings.
func (r *Runner) configure(ctx context.Context, h *host) error {
	p := h.p
	_, err := look(ctx, h, p.Active)
	active := err == nil && (p.Facts.Installed || p.Kernel)
	if active {
		// Undone last: after the old files are back.
		revert := p.Revert
		if revert == nil {
			revert = p.Restart
		}
		h.undo = append(h.undo, undo{what: "the restart of " + p.Instance, cmds: revert})
	}
	for _, kv := range p.Sysctls {
		name, value, _ := strings.Cut(kv, "=")
		out, err := look(ctx, h, "sysctl -n "+name)
		switch old := strings.TrimSpace(out); {
		case err != nil && value != "0":
			// Not there yet (carp.ko not loaded): Start loads the module,
			// whose default is 0, and sets it.
			h.undo = append(h.undo, undo{what: "the live " + name, cmds: []string{"sysctl " + name + "=0"}})
		case err == nil && old != "" && old != value:
			h.undo = append(h.undo, undo{what: "the live " + name, cmds: []string{"sysctl " + name + "=" + old}})
		}
	}
	if !active && len(p.StopLast) > 0 {
		// Undone after the files' removal: what Start enabled for every
		// instance (update-rc.d, chkconfig), when no instance is left.
		h.undo = append(h.undo, undo{what: "the init script's links", cmds: p.StopLast})
	}
	before := len(h.changed)
	for _, f := range p.Files {
		if err := r.ensureFile(ctx, h, f); err != nil {
			return err
		}
	}
	for _, s := range p.Settings {
		if err := r.ensureSetting(ctx, h, s); err != nil {
			return err
		}
	}
	for _, l := range p.Lines {
		if err := r.ensureLine(ctx, h, l); err != nil {
			return err
		}
	}
	switch {
	case !active:
		h.undo = append(h.undo, undo{what: "the service " + p.Instance, cmds: p.Stop})
		if err := r.changeAll(ctx, h, p.Start); err != nil {
			return err
		}
		h.changed = append(h.changed, "enabled and started "+p.Instance)
	case len(h.changed) > before:
		if err := r.changeAll(ctx, h, p.Restart); err != nil {
			return err
		}
		h.changed = append(h.changed, "restarted "+p.Instance)
	}
	return nil
}

// RollbackTimeout bounds the rollback, which runs even when the run's
// context was cancelled (Ctrl-C).
const RollbackTimeout = 2 * time.Minute

// rollback undoes what this run changed on the hosts, last change first,
// on both hosts at once, and returns what could not be undone.
func (r *Runner) rollback(ctx context.Context, hosts []*host) []string {
	done := make([][]string, len(hosts))
	left := make([][]string, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			for j := len(h.undo) - 1; j >= 0; j-- {
				u := h.undo[j]
				var err error
				if u.file != nil {
					_, err = h.s.Run(ctx, writeCmd(*u.file), []byte(u.file.Data))
				}
				for _, c := range u.cmds {
					if err == nil {
						_, err = h.s.Run(ctx, c, nil)
					}
				}
				if err != nil {
					left[i] = append(left[i], redact(fmt.Sprintf("%s: %s (%v)", h.s.Host(), u.what, err)))
				} else {
					done[i] = append(done[i], fmt.Sprintf("%s: undid %s\n", h.s.Host(), u.what))
				}
			}
			h.undo = nil
		})
	}
	wg.Wait()
	for _, lines := range done {
		for _, l := range lines {
			r.printf("%s", l)
		}
	}
	return slices.Concat(left...)
}

// prepare detects both hosts and plans them.
func (r *Runner) prepare(ctx context.Context, ss [2]Session, o Options) ([]*host, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	var hosts []*host
	for i, s := range ss {
		f, err := Detect(ctx, s, o.Addrs(), o.Interface)
		if err != nil {
			return nil, err
		}
		p, err := NewPlan(f, o, i)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, &host{s: s, p: p})
	}
	a, b := hosts[0].p.Facts, hosts[1].p.Facts
	if a.Source == b.Source {
		return nil, fmt.Errorf("pair: %s and %s are one host (both %s)", a.Host, b.Host, a.Source)
	}
	if a.Subnet != b.Subnet {
		return nil, fmt.Errorf("pair: %s (%s on %s) and %s (%s on %s) are not on one subnet", a.Host, a.Source, a.Subnet, b.Host, b.Source, b.Subnet)
	}
	for _, h := range hosts {
		f := h.p.Facts
		init := "sysv"
		if f.Systemd {
			init = "systemd"
		}
		if f.Family == FreeBSD {
			init = yesno(h.p.Kernel, "kernel CARP", "rc.d")
		}
		r.printf("%s: %s (%s), %s, %s on %s, advskew %d\n", f.Host, f.OS, f.Family, init, f.Source, f.Interface, h.p.Skew)
	}
	if (a.Family == FreeBSD) != (b.Family == FreeBSD) {
		r.printf("a mixed pair (Linux and FreeBSD): the same CARP on the wire, so they form one group\n")
	}
	return hosts, nil
}

// Pair makes the two hosts of ss a failover pair for o.VIPs.
func (r *Runner) Pair(ctx context.Context, ss [2]Session, o Options) error {
	hosts, err := r.prepare(ctx, ss, o)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if v := h.p.OtherVHID; v != "" {
			return fmt.Errorf("pair: %s: its rc.d ucarp already runs vhid %s (ucarp_vhid in /etc/rc.conf), and it runs one group: "+
				"unpair vhid %s first, or pair this host with --vhid=%s or --freebsd=kernel", h.s.Host(), v, v, v)
		}
	}
	srcs := [2]netip.Addr{hosts[0].p.Facts.Source, hosts[1].p.Facts.Source}
	err = func() error {
		// Both hosts install, then listen for some adverts' time, at once.
		errs := make([]error, len(hosts))
		var wg sync.WaitGroup
		for i, h := range hosts {
			prepare := func() {
				if errs[i] = r.install(ctx, h); errs[i] == nil {
					errs[i] = r.sniff(ctx, h, srcs, o.VHID)
				}
			}
			if r.DryRun { // prints, in order
				prepare()
				continue
			}
			wg.Go(prepare)
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for _, h := range hosts {
			if err := r.configure(ctx, h); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		if r.DryRun {
			return err
		}
		// Ctrl-C or SIGTERM cancelled ctx: the undo must still run, for
		// a while.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RollbackTimeout)
		defer cancel()
		if left := r.rollback(rctx, hosts); len(left) > 0 {
			return fmt.Errorf("%w\nrolled back, except (left as it is):\n  %s", err, strings.Join(left, "\n  "))
		}
		return fmt.Errorf("%w\nrolled back: both hosts are as they were", err)
	}
	changed := false
	for _, h := range hosts {
		for _, c := range h.changed {
			changed = true
			if !r.DryRun {
				r.printf("%s: %s\n", h.s.Host(), c)
			}
		}
	}
	if r.DryRun {
		if !changed {
			r.printf("nothing would change: the pair is configured as asked\n")
		}
		return nil
	}
	if !changed {
		r.printf("nothing to change: the pair is configured as asked\n")
	}
	master, err := r.converge(ctx, hosts, o)
	if err != nil {
		return err
	}
	if r.VerifyFailover {
		if err := r.failover(ctx, hosts, master, o); err != nil {
			return err
		}
		if master, err = r.converge(ctx, hosts, o); err != nil {
			return err
		}
	}
	r.printf("pair %s vhid %d: %s is MASTER, %s is BACKUP\n", vipList(o), o.VHID, hosts[master].s.Host(), hosts[1-master].s.Host())
	r.printf("status: ssh %s %s\n", hosts[master].s.Host(), Quote(hosts[master].p.Status))
	return nil
}

// vipList is the VIPs for a message: "A", or "A, B and C".
func vipList(o Options) string {
	a := o.Addrs()
	if len(a) == 1 {
		return a[0].String()
	}
	var w []string
	for _, x := range a[:len(a)-1] {
		w = append(w, x.String())
	}
	return strings.Join(w, ", ") + " and " + a[len(a)-1].String()
}

// state asks a host for its state in the group: MASTER, BACKUP, INIT, or
// "" if it cannot tell.
func state(ctx context.Context, h *host, vhid int) string {
	out, err := look(ctx, h, h.p.Status)
	if err != nil {
		return ""
	}
	if h.p.Kernel {
		return ParseIfconfigCARP(out, vhid)
	}
	return ParseStatusJSON(out, h.p.Facts.Interface, vhid)
}

// ParseStatusJSON reads "ucarpctl status --json": the state of the group
// with this vhid on the interface (any interface if iface is "").
func ParseStatusJSON(s, iface string, vhid int) string {
	var st struct {
		Groups []struct {
			Interface string `json:"interface"`
			VHID      int    `json:"vhid"`
			State     string `json:"state"`
		} `json:"groups"`
	}
	if json.Unmarshal([]byte(s), &st) != nil {
		return ""
	}
	for _, g := range st.Groups {
		if g.VHID == vhid && (iface == "" || g.Interface == iface) {
			return g.State
		}
	}
	return ""
}

// ParseIfconfigCARP reads FreeBSD's "carp: MASTER vhid 1 advbase 1 advskew 0".
func ParseIfconfigCARP(s string, vhid int) string {
	for _, line := range strings.Split(s, "\n") {
		w := strings.Fields(line)
		if len(w) >= 4 && w[0] == "carp:" && w[2] == "vhid" && w[3] == strconv.Itoa(vhid) {
			return w[1]
		}
	}
	return ""
}

// converge waits until one host is MASTER and the other BACKUP, and
// returns the MASTER's index.
func (r *Runner) converge(ctx context.Context, hosts []*host, o Options) (int, error) {
	adv := max(o.AdvBase, 1)
	deadline := r.now().Add(time.Duration(4*adv+10) * time.Second)
	var a, b string
	for {
		a, b = state(ctx, hosts[0], o.VHID), state(ctx, hosts[1], o.VHID)
		// With preempt, the preferred host takes the VIP (back): wait
		// for it.
		switch {
		case a == "MASTER" && b == "BACKUP" && (!o.Preempt || o.Preferred == 0):
			return 0, nil
		case a == "BACKUP" && b == "MASTER" && (!o.Preempt || o.Preferred == 1):
			return 1, nil
		}
		if r.now().After(deadline) || ctx.Err() != nil {
			return 0, fmt.Errorf("pair: the pair did not settle: %s is %q, %s is %q", hosts[0].s.Host(), a, hosts[1].s.Host(), b)
		}
		r.sleep(500 * time.Millisecond)
	}
}

// failover moves the address away from the MASTER and back.
func (r *Runner) failover(ctx context.Context, hosts []*host, master int, o Options) error {
	h := hosts[master]
	demote, promote := h.p.Demote, h.p.Promote
	how := "demoted"
	if !h.p.Kernel {
		if _, err := look(ctx, h, h.p.MaintenanceProbe); err == nil {
			g := Quote(h.p.Facts.Interface + ":" + strconv.Itoa(o.VHID))
			demote, promote = []string{"ucarpctl maintenance on " + g}, []string{"ucarpctl maintenance off " + g}
			how = "in maintenance"
		} else if !o.Preempt {
			// Without preempt the BACKUP never takes over from a live,
			// demoted MASTER: stop it, which hands the address over.
			demote, promote = h.p.Stop, h.p.Start
			how = "stopped"
		}
	}
	for _, c := range demote {
		if _, err := h.s.Run(ctx, c, nil); err != nil {
			return fmt.Errorf("pair: %s: %s: %w", h.s.Host(), c, err)
		}
	}
	other := hosts[1-master]
	deadline := r.now().Add(time.Duration(4*max(o.AdvBase, 1)+10) * time.Second)
	var err error
	for state(ctx, other, o.VHID) != "MASTER" {
		if r.now().After(deadline) || ctx.Err() != nil {
			err = fmt.Errorf("pair: failover: %s did not take the address while %s was %s", other.s.Host(), h.s.Host(), how)
			break
		}
		r.sleep(200 * time.Millisecond)
	}
	if err == nil {
		r.printf("failover: %s took the address while %s was %s\n", other.s.Host(), h.s.Host(), how)
	}
	for _, c := range promote {
		if _, perr := h.s.Run(ctx, c, nil); perr != nil {
			return errors.Join(err, fmt.Errorf("pair: %s: %s: %w (undo it by hand)", h.s.Host(), c, perr))
		}
	}
	return err
}

// Unpair removes from both hosts what Pair added: the service, the files
// and settings, and the package if Pair installed it.
func (r *Runner) Unpair(ctx context.Context, ss [2]Session, o Options) error {
	hosts, err := r.prepare(ctx, ss, o)
	if err != nil {
		return err
	}
	var errs []error
	changed := false
	for _, h := range hosts {
		if err := r.unpairHost(ctx, h); err != nil {
			errs = append(errs, err)
		}
		for _, c := range h.changed {
			changed = true
			if !r.DryRun {
				r.printf("%s: %s\n", h.s.Host(), c)
			}
		}
	}
	if !changed && len(errs) == 0 {
		r.printf("nothing to remove: neither host has this pair\n")
	}
	return errors.Join(errs...)
}

func (r *Runner) unpairHost(ctx context.Context, h *host) error {
	p := h.p
	if p.OtherVHID != "" {
		r.printf("%s: left alone: its rc.d ucarp runs another group, vhid %s\n", h.s.Host(), p.OtherVHID)
		return nil
	}
	if _, err := look(ctx, h, p.Active); err == nil {
		if err := r.changeAll(ctx, h, p.Stop); err != nil {
			return err
		}
		h.changed = append(h.changed, "stopped and disabled "+p.Instance)
	}
	for _, f := range p.Files {
		if _, _, ok, err := readFile(ctx, h, f.Path); err != nil {
			return err
		} else if ok {
			if err := r.change(ctx, h, "rm -f "+Quote(f.Path), nil); err != nil {
				return err
			}
			h.changed = append(h.changed, "removed "+f.Path)
		}
	}
	for _, s := range p.Settings {
		if p.Kernel && strings.HasPrefix(s.Name, "ifconfig_") {
			continue // the aliases: UnpairAliases below
		}
		out, _ := look(ctx, h, sysrc(s, "-n", "-q", s.Name)+" || true")
		old := strings.TrimSuffix(out, "\n")
		// Ours: the rc.d script's variables, or the value pair set.
		ours := strings.HasPrefix(s.Name, "ucarp_") || old == s.Value
		if old == "" || !ours {
			continue
		}
		if p.OtherGroups && s.Name == "carp_load" {
			r.printf("%s: kept carp_load in %s: other CARP groups are in /etc/rc.conf\n", h.s.Host(), s.File)
			continue
		}
		if err := r.change(ctx, h, sysrc(s, "-x", s.Name), nil); err != nil {
			return err
		}
		h.changed = append(h.changed, fmt.Sprintf("removed %s from %s", s.Name, s.File))
	}
	for _, s := range p.UnpairAliases {
		// The others' aliases move down into the places the vhid's
		// leave, so that none is after a gap.
		out, _ := look(ctx, h, sysrc(s, "-n", "-q", s.Name)+" || true")
		if old := strings.TrimSuffix(out, "\n"); old == s.Value {
			continue
		}
		if s.Value == "" {
			if err := r.change(ctx, h, sysrc(s, "-x", s.Name), nil); err != nil {
				return err
			}
			h.changed = append(h.changed, fmt.Sprintf("removed %s from %s", s.Name, s.File))
			continue
		}
		if err := r.change(ctx, h, sysrc(s, s.Name+"="+s.Value), nil); err != nil {
			return err
		}
		h.changed = append(h.changed, fmt.Sprintf("moved another alias to %s in %s", s.Name, s.File))
	}
	for _, l := range p.UnpairLines {
		if _, err := look(ctx, h, hasLine(l)); err != nil {
			continue
		}
		if p.OtherGroups {
			r.printf("%s: kept %q in %s: other CARP groups are in /etc/rc.conf\n", h.s.Host(), l.Text, l.File)
			continue
		}
		if err := r.change(ctx, h, removeLine(l), nil); err != nil {
			return err
		}
		h.changed = append(h.changed, fmt.Sprintf("removed %q from %s", l.Text, l.File))
	}
	if len(h.changed) > 0 {
		if err := r.changeAll(ctx, h, p.StopLast); err != nil {
			return err
		}
	}
	if p.Marker != "" {
		if _, err := look(ctx, h, "test -e "+Quote(p.Marker)); err == nil {
			// Only when no other instance needs it.
			if !p.Kernel && p.Facts.Family != FreeBSD {
				if out, _ := look(ctx, h, "ls /etc/ucarp/*.conf 2>/dev/null || true"); strings.TrimSpace(out) != "" {
					h.changed = append(h.changed, "kept "+PackageName+": other instances use it")
					return nil
				}
			}
			if err := r.changeAll(ctx, h, p.Uninstall); err != nil {
				return err
			}
			h.changed = append(h.changed, "removed "+PackageName+" (pair installed it)")
		}
	}
	return nil
}
