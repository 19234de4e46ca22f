package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/ucarp-go/ucarp/pair"
)

const pairUsage = `usage: ucarpctl pair [options] HOST_A HOST_B
       ucarpctl unpair [options] HOST_A HOST_B

pair installs ucarp-go on two hosts over SSH (HOST is [USER@]HOST[:PORT]),
configures one CARP group for the VIPs on both, starts it, and checks that
one host holds them. unpair removes what pair added: give it the same
--vhid (and --vip).

options:
  --vip=ADDR[/PREFIX]   a shared address (required); repeatable, all in the
                        one group: at least one IPv4, every IPv4 one in a
                        subnet of one interface, IPv6 ones need a link-local
                        address on it
  --vhid=N              the group's vhid, 1 to 255 (required)
  --passfile=FILE       the CARP password's file (default: asked twice)
  --preferred=HOST      the host with advskew 0 (default HOST_A; the other 100)
  --preempt             the preferred host takes the VIP back when it returns
  --advbase=N           seconds between adverts (default 1)
  --interface=IF        the interface, when the VIP's subnet does not tell
  --package=FILE        install this .deb, .rpm or FreeBSD .pkg (default:
                        ucarp-go from each host's repositories)
  --freebsd=MODE        ours (default): our daemon and rc.d script;
                        kernel: FreeBSD's own CARP, in rc.conf
  --login=USER          the SSH login when HOST has none (default root;
                        another login needs sudo without a password)
  --identity=FILE       a private key (repeatable; default: the agent,
                        ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
  --known-hosts=FILE    known_hosts (default ~/.ssh/known_hosts)
  --ask-password        also try password authentication (asked)
  --dry-run             print every command that would change a host
  --verify-failover     move the VIP to the other host and back
`

type vipFlag []string

func (v *vipFlag) String() string     { return strings.Join(*v, ",") }
func (v *vipFlag) Set(s string) error { *v = append(*v, s); return nil }

// pairCommand is "ucarpctl pair", "ucarpctl unpair" and the hidden
// "ucarpctl sniff" that pair runs on each host.
func (c *cli) pairCommand(ctx context.Context, cmd string, args []string) error {
	if cmd == "sniff" {
		return c.sniff(ctx, args)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		vips                           vipFlag
		err                            error
		identities                     vipFlag
		vhid, advbase                  int
		passfile, preferred, iface     string
		pkg, freebsd, login, knownHost string
		preempt, dryRun, verify, ask   bool
	)
	fs.Var(&vips, "vip", "")
	fs.IntVar(&vhid, "vhid", 0, "")
	fs.StringVar(&passfile, "passfile", "", "")
	fs.StringVar(&preferred, "preferred", "", "")
	fs.BoolVar(&preempt, "preempt", false, "")
	fs.IntVar(&advbase, "advbase", 1, "")
	fs.StringVar(&iface, "interface", "", "")
	fs.StringVar(&pkg, "package", "", "")
	fs.StringVar(&freebsd, "freebsd", "ours", "")
	fs.StringVar(&login, "login", "", "")
	fs.Var(&identities, "identity", "")
	fs.StringVar(&knownHost, "known-hosts", "", "")
	fs.BoolVar(&ask, "ask-password", false, "")
	fs.BoolVar(&dryRun, "dry-run", false, "")
	fs.BoolVar(&verify, "verify-failover", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.stdout, pairUsage)
			return nil
		}
		return usagef("%s: %v", cmd, err)
	}
	if fs.NArg() != 2 {
		return usagef("%s needs two hosts: HOST_A HOST_B (see ucarpctl %s --help)", cmd, cmd)
	}
	hosts := [2]string{fs.Arg(0), fs.Arg(1)}
	var o pair.Options
	if len(vips) == 0 {
		return usagef("%s: --vip is required", cmd)
	}
	for _, v := range vips {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return usagef("%s: --vip=%s: not ADDR or ADDR/PREFIX", cmd, v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		o.VIPs = append(o.VIPs, p)
	}
	o.VHID, o.Preempt, o.Interface, o.AdvBase = vhid, preempt, iface, advbase
	if vhid < 1 || vhid > 255 {
		return usagef("%s: --vhid is required, 1 to 255", cmd)
	}
	if advbase < 1 || advbase > 255 {
		return usagef("%s: --advbase=%d: 1 to 255", cmd, advbase)
	}
	if err := o.Check(); err != nil {
		return usagef("%s: %v", cmd, strings.TrimPrefix(err.Error(), "pair: "))
	}
	switch freebsd {
	case "ours":
	case "kernel":
		o.FreeBSDKernel = true
	default:
		return usagef("%s: --freebsd=%s: ours or kernel", cmd, freebsd)
	}
	switch preferred {
	case "", hosts[0]:
		o.Preferred = 0
	case hosts[1]:
		o.Preferred = 1
	default:
		return usagef("%s: --preferred=%s is neither host", cmd, preferred)
	}
	if cmd == "pair" {
		if o.Password, err = password(passfile); err != nil {
			return err
		}
		if pkg != "" {
			if o.PackageData, err = os.ReadFile(pkg); err != nil {
				return fmt.Errorf("pair: --package: %w", err)
			}
			o.Package = filepath.Base(pkg)
		}
	}
	cfg := pair.SSHConfig{User: login, KeyFiles: identities}
	if knownHost != "" {
		cfg.KnownHosts = []string{knownHost}
	}
	if ask {
		cfg.Password = func(user, host string) (string, error) {
			return prompt(fmt.Sprintf("%s@%s's password: ", user, host))
		}
	}
	var ss [2]pair.Session
	for i, h := range hosts {
		s, err := pair.Dial(ctx, h, cfg)
		if err != nil {
			return err
		}
		defer s.Close()
		ss[i] = s
	}
	r := &pair.Runner{Out: c.stdout, DryRun: dryRun, VerifyFailover: verify}
	if cmd == "unpair" {
		return r.Unpair(ctx, ss, o)
	}
	return r.Pair(ctx, ss, o)
}

// password reads the CARP password from its file, or asks it twice.
func password(passfile string) (string, error) {
	var pw string
	if passfile != "" {
		b, err := os.ReadFile(passfile)
		if err != nil {
			return "", fmt.Errorf("pair: --passfile: %w", err)
		}
		pw, _, _ = strings.Cut(string(b), "\n")
	} else {
		a, err := prompt("CARP password: ")
		if err != nil {
			return "", err
		}
		b, err := prompt("again: ")
		if err != nil {
			return "", err
		}
		if a != b {
			return "", errors.New("pair: the passwords differ")
		}
		pw = a
	}
	switch {
	case pw == "":
		return "", errors.New("pair: the CARP password is empty")
	case len(pw) > 19:
		// ucarp and CARP keep 20 bytes of key, the last one a NUL.
		return "", fmt.Errorf("pair: the CARP password has %d bytes; ucarp keeps 19", len(pw))
	case strings.ContainsAny(pw, " \t'\"\\$`"):
		// It goes into rc.conf and ifconfig's command line on FreeBSD.
		return "", errors.New("pair: the CARP password must not hold blanks, quotes, \\, $ or `")
	}
	return pw, nil
}

// prompt asks on the terminal without echo.
func prompt(msg string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("pair: no terminal to ask on (%v): use --passfile", err)
	}
	defer tty.Close()
	fmt.Fprint(tty, msg)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	return string(b), err
}

// sniff prints the source address of each CARP or VRRP advert of a vhid
// heard on an interface within some seconds, once each: how pair finds
// a vhid already in use on a segment.
func (c *cli) sniff(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sniff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	iface := fs.String("interface", "", "")
	vhid := fs.Int("vhid", 0, "")
	secs := fs.Int("seconds", 3, "")
	if err := fs.Parse(args); err != nil {
		return usagef("sniff: %v", err)
	}
	if *iface == "" || *vhid < 1 || *vhid > 255 || *secs < 1 || fs.NArg() > 0 {
		return usagef("usage: ucarpctl sniff --interface=IF --vhid=N [--seconds=N]")
	}
	srcs, err := sniffAdverts(ctx, *iface, uint8(*vhid), *secs)
	for _, s := range srcs {
		fmt.Fprintln(c.stdout, s)
	}
	return err
}
