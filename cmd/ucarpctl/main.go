package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// version is set at build time, as ucarp's: go build -ldflags "-X
// main.version=1.2.3".
var version = "0.1.0-dev"

// versionLine is what --version prints.
func versionLine() string { return "ucarpctl (ucarp-go) " + version }

const usage = `usage: ucarpctl [--socket=PATH] [--dir=DIR] COMMAND [ARGS]

commands:
  status [--json]   every group: a table, or JSON for scripts
  explain [GROUP]   why each group (or GROUP) is MASTER or BACKUP
  demote [GROUP] N  demote GROUP by N (0 to 255) until promote
  promote [GROUP]   take that demotion back
  maintenance on [GROUP] [--persistent] [--no-wait] [--timeout=D]
                    hand GROUP (every group without one) over to the peer,
                    make-before-break: the address goes once the peer is
                    MASTER and has announced it; waits and says how it went
                    (exit 1 if no peer took over: this host keeps it)
  maintenance off [GROUP]
                    take it out of maintenance (with --preempt it takes
                    the address back); off also forgets --persistent
  watch             stream events as JSON lines until interrupted
  reload            make the daemons read their configuration again
  pair A B          set up hosts A and B as a failover pair over SSH
                    (see pair --help)
  unpair A B        remove what pair added

GROUP is a name, IF:VHID or VHID. Without --socket, every *.sock in DIR
(/run/ucarp) is asked. In status, an address is "on" when it is
configured on the interface. Exit status: 0 ok, 1 error, 2 usage.

options:
  --socket=PATH     talk to this socket only
  --dir=DIR         the directory of the sockets (default /run/ucarp)
  --version         print the version and exit
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// cli is one run of the command.
type cli struct {
	stdout, stderr io.Writer
	socket, dir    string
	// failed is set when a socket could not be asked but others were:
	// what they said is printed, and the exit status is 1.
	failed bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("ucarpctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.socket, "socket", "", "talk to this socket only")
	fs.StringVar(&c.dir, "dir", control.Dir, "the directory of the sockets")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	var err error
	switch cmd, rest := fs.Arg(0), fs.Args()[1:]; cmd {
	case "status":
		err = c.status(rest)
	case "explain":
		err = c.explain(rest)
	case "demote", "promote":
		err = c.demote(cmd, rest)
	case "maintenance":
		err = c.maintenance(ctx, rest)
	case "watch":
		err = c.watch(ctx, rest)
	case "reload":
		err = c.reload(rest)
	case "pair", "unpair", "sniff":
		err = c.pairCommand(ctx, cmd, rest)
	case "help":
		fs.SetOutput(stdout)
		fs.Usage()
		return exitOK
	default:
		err = usagef("unknown command %q", cmd)
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ucarpctl: %s\n%s", ue.msg, strings.SplitN(usage, "\n\n", 2)[0]+"\n")
		return exitUsage
	case errors.Is(err, errReported):
		return exitError
	case err != nil:
		fmt.Fprintf(stderr, "ucarpctl: %v\n", err)
		return exitError
	case c.failed:
		return exitError
	}
	return exitOK
}

// sockets are the sockets to ask.
func (c *cli) sockets() ([]string, error) {
	if c.socket != "" {
		return []string{c.socket}, nil
	}
	paths, err := control.Sockets(c.dir)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no socket in %s: is a ucarp with a control socket running? (or use --socket)", c.dir)
	}
	return paths, nil
}

// each calls f with a client of every socket. A socket that fails is
// reported and the others asked; it is an error if none answered.
func (c *cli) each(f func(cl *control.Client) error) error {
	paths, err := c.sockets()
	if err != nil {
		return err
	}
	answered := 0
	for _, p := range paths {
		if err := c.one(p, f); err != nil {
			fmt.Fprintf(c.stderr, "ucarpctl: %v\n", err)
			c.failed = true
			continue
		}
		answered++
	}
	if answered == 0 {
		return errReported
	}
	return nil
}

// errReported is an error already printed: exit 1, and say no more.
var errReported = errors.New("reported")

// one calls f with a client of the socket path.
func (c *cli) one(path string, f func(cl *control.Client) error) error {
	cl, err := control.Dial(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer cl.Close()
	if err := f(cl); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// located is a group and the socket that serves it.
type located struct {
	control.Group
	socket string
}

// groups returns the groups of every socket, in the order of the sockets.
func (c *cli) groups() ([]located, error) {
	var all []located
	err := c.each(func(cl *control.Client) error {
		gs, err := cl.Status()
		for _, g := range gs {
			all = append(all, located{g, cl.Path()})
		}
		return err
	})
	return all, err
}

func (c *cli) status(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		return usagef("status: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("status takes no argument")
	}
	all, err := c.groups()
	if err != nil {
		return err
	}
	if *asJSON {
		gs := make([]control.Group, len(all))
		for i, g := range all {
			gs[i] = g.Group
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Groups []control.Group `json:"groups"`
		}{gs})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tINTERFACE\tVHID\tSTATE\tSINCE\tREASON\tADDRESSES\tPEERS\tDEMOTION\tPROBES")
	for _, g := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, g.Interface, vhidText(g.Group), g.State,
			since(g.Since), dash(g.Reason), addresses(g.Addresses), peers(g.Peers), demotionText(g.Group), probes(g.Probes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, g := range all {
		if g.Maintenance != nil {
			fmt.Fprintf(c.stdout, "%s: %s\n", g.Name, maintLine(g.Maintenance))
		}
		if k := g.LastConflict; k != nil {
			var n uint64
			for _, a := range g.Addresses {
				n += a.Conflicts
			}
			fmt.Fprintf(c.stdout, "%s: address conflicts %d, last %s claimed by %s at %s\n", g.Name, n, k.Address, k.MAC, since(k.Time))
		}
		if g.Auth != nil {
			fmt.Fprintf(c.stdout, "%s: %s\n", g.Name, authLine(g.Auth))
		}
		if g.VMACLost {
			fmt.Fprintf(c.stdout, "%s: virtual MAC interface %s set down or removed by someone else: the group stopped (a reload or restart makes it again)\n", g.Name, g.VMAC)
		}
	}
	for _, g := range all {
		if len(g.UnicastPeers) > 0 {
			fmt.Fprintf(c.stdout, "%s: unicast peers %s\n", g.Name, unicastPeers(g.UnicastPeers))
		}
	}
	return nil
}

// unicastPeers lists a group's configured unicast peers.
func unicastPeers(ps []netip.Addr) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// authLine says how a group runs --auth=hmac-sha256: its mode, its keys
// and the verdicts on the adverts it heard.
func authLine(a *control.Auth) string {
	var ids []string
	for _, id := range a.Keys {
		ids = append(ids, strconv.Itoa(int(id)))
	}
	s := fmt.Sprintf("auth hmac-sha256 %s, keys %s", a.Mode, strings.Join(ids, " "))
	if a.SendKey != nil {
		s += fmt.Sprintf(" (signing with %d)", *a.SendKey)
	} else {
		s += " (sending plain adverts)"
	}
	s += fmt.Sprintf(", replay window %gs; adverts", a.ReplayWindow)
	counts := func(what string, m map[string]uint64) string {
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(m)) {
			parts = append(parts, fmt.Sprintf("%s %d", r, m[r]))
		}
		if len(parts) == 0 {
			return " " + what + " none"
		}
		return " " + what + " " + strings.Join(parts, ", ")
	}
	return s + counts("accepted:", a.Accepted) + ";" + counts("dropped:", a.Dropped)
}

// vhidText is the VHID column: the vhid, and a VRRPv3 group's protocol
// ("51 vrrp3").
func vhidText(g control.Group) string {
	if g.Protocol == "" || g.Protocol == control.ProtocolCARP {
		return strconv.Itoa(int(g.VHID))
	}
	return fmt.Sprintf("%d %s", g.VHID, g.Protocol)
}

// demotionText is the DEMOTION column, with a VRRPv3 group's advertised
// priority after it.
func demotionText(g control.Group) string {
	if g.Protocol == "" || g.Protocol == control.ProtocolCARP {
		return demotion(g.Timing)
	}
	return fmt.Sprintf("%s (priority %d)", demotion(g.Timing), g.Timing.Priority)
}

func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func addresses(as []control.Address) string {
	var s []string
	for _, a := range as {
		on := "off"
		if a.Configured {
			on = "on"
		}
		s = append(s, a.Prefix.String()+" "+on)
	}
	return dash(strings.Join(s, ", "))
}

func peers(ps []control.Peer) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Source.String())
	}
	return dash(strings.Join(s, ", "))
}

// probes lists a group's probes with their state, and their last
// check's result and latency once they have one: "web up (ok 1.2ms),
// db down (failed 1s)".
func probes(ps []control.Probe) string {
	var s []string
	for _, p := range ps {
		t := p.Name + " " + p.State
		if p.LastResult != "" {
			t += fmt.Sprintf(" (%s %v)", p.LastResult, time.Duration(p.LatencyMS*float64(time.Millisecond)).Round(100*time.Microsecond))
		}
		s = append(s, t)
	}
	return dash(strings.Join(s, ", "))
}

// demotion is a group's demotion and the sources that make it: "0", or
// "255 (hold-down 255, health 100)", the largest first.
func demotion(t control.Timing) string {
	var srcs []string
	for src, l := range t.Demotions {
		if l > 0 {
			srcs = append(srcs, src)
		}
	}
	slices.SortFunc(srcs, func(a, b string) int {
		if c := t.Demotions[b] - t.Demotions[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if len(srcs) == 0 {
		return strconv.Itoa(t.Demotion)
	}
	parts := make([]string, len(srcs))
	for i, src := range srcs {
		parts[i] = fmt.Sprintf("%s %d", src, t.Demotions[src])
	}
	return fmt.Sprintf("%d (%s)", t.Demotion, strings.Join(parts, ", "))
}

func (c *cli) explain(args []string) error {
	if len(args) > 1 {
		return usagef("explain takes one GROUP at most")
	}
	sel := ""
	if len(args) == 1 {
		sel = args[0]
	}
	// Each socket explains what it has of sel; sockets without such a
	// group are no error, unless none has it.
	var found bool
	err := c.each(func(cl *control.Client) error {
		ex, err := cl.Explain(sel)
		if errors.Is(err, control.ErrNotFound) && sel != "" {
			return nil
		}
		for _, e := range ex {
			if found {
				fmt.Fprintln(c.stdout)
			}
			found = true
			fmt.Fprintf(c.stdout, "%s (%s:%d): %s\n", e.Group, e.Interface, e.VHID, e.Text)
		}
		return err
	})
	if err == nil && !found && sel != "" {
		return fmt.Errorf("no group %q", sel)
	}
	return err
}

func (c *cli) demote(cmd string, args []string) error {
	sel, level := "", 0
	switch {
	case cmd == "promote" && len(args) <= 1:
		if len(args) == 1 {
			sel = args[0]
		}
	case cmd == "demote" && (len(args) == 1 || len(args) == 2):
		n, err := strconv.Atoi(args[len(args)-1])
		if err != nil || n < 0 || n > control.MaxDemotion {
			return usagef("demote: N must be a number from 0 to %d, not %q", control.MaxDemotion, args[len(args)-1])
		}
		level = n
		if len(args) == 2 {
			sel = args[0]
		}
	case cmd == "demote":
		return usagef("usage: demote [GROUP] N")
	default:
		return usagef("usage: promote [GROUP]")
	}

	all, err := c.groups()
	if err != nil {
		return err
	}
	if c.failed {
		// The group meant may be behind the socket that did not answer,
		// and another of the same vhid answer for it: change nothing.
		return fmt.Errorf("%s: not every socket could be asked which group %q is (use --socket)", cmd, sel)
	}
	gs := make([]control.Group, len(all))
	for i, g := range all {
		gs[i] = g.Group
	}
	g, err := control.SelectOne(gs, sel)
	if err != nil {
		return err
	}
	socket := all[indexOf(all, g)].socket
	return c.one(socket, func(cl *control.Client) error {
		if cmd == "demote" {
			if err := cl.Demote(g.Name, level); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s (%s:%d): demoted by %d\n", g.Name, g.Interface, g.VHID, level)
			return nil
		}
		if err := cl.Promote(g.Name); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s (%s:%d): promoted\n", g.Name, g.Interface, g.VHID)
		return nil
	})
}

func indexOf(all []located, g control.Group) int {
	for i, l := range all {
		if l.Name == g.Name && l.Interface == g.Interface && l.VHID == g.VHID {
			return i
		}
	}
	return -1
}

func (c *cli) reload(args []string) error {
	if len(args) > 0 {
		return usagef("reload takes no argument")
	}
	var reloaded, unsupported int
	err := c.each(func(cl *control.Client) error {
		err := cl.Reload()
		switch {
		case errors.Is(err, control.ErrNotSupported) && c.socket == "":
			unsupported++ // a ucarp in command-line mode has no file to read
			return nil
		case err != nil:
			return err
		}
		reloaded++
		fmt.Fprintf(c.stdout, "%s: reloaded\n", cl.Path())
		return nil
	})
	if err == nil && reloaded == 0 && unsupported > 0 {
		return errors.New("no daemon here reads a configuration file: the sockets are all of ucarp in command-line mode")
	}
	return err
}

func (c *cli) watch(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("watch takes no argument")
	}
	paths, err := c.sockets()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(c.stdout)
	show := func(ev control.Event) error {
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(ev)
	}
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() {
			errs[i] = c.one(p, func(cl *control.Client) error { return cl.Watch(ctx, show) })
			if errs[i] == nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("%s: the daemon ended the watch", p)
			}
			if errs[i] != nil && ctx.Err() == nil && len(paths) > 1 {
				mu.Lock()
				fmt.Fprintf(c.stderr, "ucarpctl: %v\n", errs[i])
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil // interrupted: the way a watch ends
	}
	if len(paths) > 1 {
		c.failed = true // each said why
		return nil
	}
	return errs[0]
}
