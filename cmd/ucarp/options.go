package main

import (
	"errors"
	"fmt"
	conffile "github.com/ucarp-go/ucarp/config"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/internal/syserr"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// ucarp's long options in the order of its table (src/ucarp_p.h), which is
// the order in which getopt lists ambiguous possibilities, then ours.
var optionTable = []option{
	{long: "interface", short: 'i', hasArg: true},
	{long: "srcip", short: 's', hasArg: true},
	{long: "mcastip", short: 'm', hasArg: true}, // ucarp forgot 'm' in its optstring; here -m works
	{long: "vhid", short: 'v', hasArg: true},
	{long: "pass", short: 'p', hasArg: true},
	{long: "preempt", short: 'P'},
	{long: "neutral", short: 'n'},
	{long: "addr", short: 'a', hasArg: true},
	{long: "help", short: 'h'},
	{long: "advbase", short: 'b', hasArg: true},
	{long: "advskew", short: 'k', hasArg: true},
	{long: "upscript", short: 'u', hasArg: true},
	{long: "downscript", short: 'd', hasArg: true},
	{long: "deadratio", short: 'r', hasArg: true},
	{long: "debug", short: 'D'},
	{long: "shutdown", short: 'z'},
	{long: "facility", short: 'f', hasArg: true},
	{long: "daemonize", short: 'B'},
	{long: "ignoreifstate", short: 'S'},
	{long: "nomcast", short: 'M'},
	{long: "passfile", short: 'o', hasArg: true},
	{long: "xparam", short: 'x', hasArg: true},

	{long: "pidfile", hasArg: true, ext: true},
	{long: "script-timeout", hasArg: true, ext: true},
	{long: "manage-vip", ext: true},
	{long: "no-manage-vip", ext: true},
	{long: "garp-count", hasArg: true, ext: true},
	{long: "garp-interval", hasArg: true, ext: true},
	{long: "version", ext: true},
	{long: "config", hasArg: true, ext: true},
	{long: "check", ext: true},
	{long: "control", hasArg: true, ext: true},
	{long: "control-group", hasArg: true, ext: true},
	{long: "metrics-listen", hasArg: true, ext: true},
	{long: "probe", hasArg: true, ext: true},
	{long: "hold-down", hasArg: true, ext: true},
	{long: "hold-down-until-healthy", ext: true},
	{long: "sync-group", hasArg: true, ext: true},
	{long: "log-format", hasArg: true, ext: true},
	{long: "demote", hasArg: true, ext: true},
	{long: "vip", hasArg: true, ext: true},
	{long: "realtime", optArg: true, ext: true},
	{long: "lock-memory", ext: true},
	{long: "no-conflict-detect", ext: true},
	{long: "peer", hasArg: true, ext: true},
	// --auth=hmac-sha256 and its settings (docs/AUTH.md).
	{long: "auth", hasArg: true, ext: true},
	{long: "keyfile", hasArg: true, ext: true},
	{long: "auth-mode", hasArg: true, ext: true},
	{long: "replay-window", hasArg: true, ext: true},
	{long: "relax-ttl", ext: true},
	// VRRPv3 (issue 18).
	{long: "protocol", hasArg: true, ext: true},
	{long: "priority", hasArg: true, ext: true},
	{long: "advert-interval", hasArg: true, ext: true},
	{long: "vrrp-checksum", hasArg: true, ext: true},
	{long: "no-preempt", ext: true},
	{long: "preempt-delay", hasArg: true, ext: true},
	// The virtual MAC (issue 18): --vmac[=IFNAME].
	{long: "vmac", optArg: true, ext: true},
}

// config is the validated command line: the group it configures, as a
// group of a config file (the same settings, defaults and meaning: the
// command line is one way to write a config with one group), and the
// process's options.
type config struct {
	conffile.Group

	debug     bool
	daemonize bool
	facility  int  // syslog facility code (already shifted), see conffile.Facility
	noSyslog  bool // -f none
	pidfile   string
	// configFile is --config: the groups come from this file (config
	// mode), and check is --check: validate it and exit.
	configFile string
	check      bool
	// control is --control, --control-group and --metrics-listen.
	control controlSettings
	// probes are the --probe options, in their order: the group's health
	// probes.
	probes []health.Spec
	// tuning is --realtime and --lock-memory.
	tuning tuning
	// auth is --auth, --keyfile, --auth-mode, --replay-window and
	// --relax-ttl, as written: validate turns them into Group.Auth.
	auth conffile.AuthSettings
}

// parseResult says how parsing ended: with a config, or with an exit code.
type parseResult struct {
	cfg  *config
	exit int
	done bool // exit now with code exit
}

// defaultGroup is ucarp's multicast group.
var defaultGroup = netip.MustParseAddr("224.0.0.18")

// parseCommandLine reads args as ucarp does (src/ucarp.c main): options take
// effect in the order given, so the first bad one decides the message; a
// getopt error or -h prints the usage and exits 0; then the checks run in
// ucarp's order and exit 1. Messages go to log; the usage to stdout.
func parseCommandLine(prog string, args []string, posix bool, log *logger, stdout io.Writer) parseResult {
	if len(args) == 0 {
		usage(stdout)
		return parseResult{done: true}
	}
	// The defaults of a group of a config file, which are ucarp's.
	c := &config{facility: facility(conffile.DefaultFacility), Group: conffile.Group{McastIP: defaultGroup,
		AdvBase: conffile.DefaultAdvBase, DeadRatio: conffile.DefaultDeadRatio, ScriptTimeout: conffile.DefaultScriptTimeout,
		GARPCount: conffile.DefaultGARPCount, GARPInterval: conffile.DefaultGARPInterval}}
	opts, _, gerr := getoptLong(prog, args, optionTable, posix)
	fail := parseResult{exit: 1, done: true}
	others := 0 // options besides --config and --check
	var vips []vipArg
	for _, p := range opts {
		v := p.value
		if p.opt.long != "config" && p.opt.long != "check" {
			others++
		}
		switch p.opt.long {
		case "config":
			c.configFile = v
		case "check":
			c.check = true
		case "help":
			usage(stdout)
			return parseResult{done: true}
		case "version":
			fmt.Fprintln(stdout, versionLine())
			return parseResult{done: true}
		case "interface":
			c.Interface = v
		case "srcip", "mcastip":
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() {
				log.Errorf("Invalid address: [%s]", v)
				return fail
			}
			if p.opt.long == "srcip" {
				c.SrcIP = a
			} else {
				c.McastIP = a
			}
		case "vhid":
			if u, _ := strtoul(v); u > 255 || strtol(v) < 1 {
				log.Errorf("vhid must be between 1 and 255.")
				return fail
			}
			u, _ := strtoul(v)
			c.VHID = uint8(u)
		case "pass":
			c.Password = []byte(v)
		case "passfile":
			pw, err := readPassfile(v, log)
			if err != nil {
				log.Errorf("%s", err)
				return fail
			}
			c.Password = pw
		case "preempt":
			c.Preempt = true
		case "neutral":
			c.Neutral = true
		case "addr":
			// ucarp's -a: given again, the last one wins, as in ucarp.
			pfx, arg, ok := conffile.ParseAddr(v)
			if !ok {
				log.Errorf("Invalid address: [%s]", v)
				return fail
			}
			if pfx.Addr().Is6() && pfx.Addr().IsLinkLocalUnicast() {
				log.Errorf("Invalid address: [%s]: %s", v, conffile.CheckVIP(pfx, nil))
				return fail
			}
			c.Addr, c.AddrArg = pfx, arg
		case "vip":
			// One more address of the group, after -a (or the first, without
			// one): checked once every option is read.
			pfx, arg, ok := conffile.ParseAddr(v)
			if !ok {
				log.Errorf("Invalid address: [%s]", v)
				return fail
			}
			vips = append(vips, vipArg{pfx, arg, v})
		case "advbase":
			c.AdvBase = byteOption(log, p.name, v)
		case "advskew":
			c.AdvSkew = byteOption(log, p.name, v)
		case "upscript":
			c.UpScript = v
		case "downscript":
			c.DownScript = v
		case "deadratio":
			u, _ := strtoul(v)
			c.DeadRatio = uint32(u)
		case "debug":
			c.debug = true
			log.SetDebug(true)
		case "shutdown":
			c.Shutdown = true
		case "daemonize":
			c.daemonize = true
			log.SetConsole(consoleErrors)
		case "ignoreifstate":
			c.IgnoreIfState = true
		case "nomcast":
			c.NoMcast = true
		case "facility":
			if strings.EqualFold(v, "none") {
				c.noSyslog = true
			} else if f, ok := conffile.Facility(v); ok {
				c.facility = f
			} else {
				log.Errorf("Unknown syslog facility: [%s]", v)
			}
		case "xparam":
			x := v
			c.XParam = &x
		case "pidfile":
			c.pidfile = v
		case "script-timeout":
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil || !(secs >= 0) || secs > 86400*365 {
				log.Errorf("Invalid script timeout: [%s] (seconds; 0 for none)", v)
				return fail
			}
			c.ScriptTimeout = time.Duration(secs * float64(time.Second))
		case "manage-vip", "no-manage-vip":
			on := p.opt.long == "manage-vip"
			c.ManageVIP = &on
		case "demote":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 255 {
				log.Errorf("Invalid demote level: [%s] (0 to 255)", v)
				return fail
			}
			c.Demote = uint8(n)
		case "garp-count":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				log.Errorf("Invalid gratuitous ARP count: [%s] (0 to 100)", v)
				return fail
			}
			c.GARPCount = n
		case "control":
			if msg := conffile.ControlPath(v); msg != "" {
				log.Errorf("Invalid control socket: %s", msg)
				return fail
			}
			c.control.socket = v
		case "control-group":
			if v == "" {
				log.Errorf("Invalid control group: must not be empty")
				return fail
			}
			c.control.group = v
		case "probe":
			spec, err := health.ParseFlag(v)
			if err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					log.Errorf("Invalid probe: %s", strings.TrimPrefix(line, "health: "))
				}
				return fail
			}
			for _, prev := range c.probes {
				if prev.Name == spec.Name {
					log.Errorf("Invalid probe: [%s]: a probe named %q is given twice (name= tells them apart)", v, spec.Name)
					return fail
				}
			}
			c.probes = append(c.probes, spec)
		case "hold-down":
			secs, err := strconv.ParseFloat(v, 64)
			d, msg := conffile.HoldDown(secs)
			if err != nil || msg != "" {
				log.Errorf("Invalid hold-down: [%s] (seconds, 0 to %d)", v, conffile.MaxHoldDown)
				return fail
			}
			c.HoldDown = d
		case "hold-down-until-healthy":
			c.HoldDownUntilHealthy = true
		case "no-conflict-detect":
			c.NoConflictDetect = true
		case "sync-group":
			if msg := conffile.SyncGroupName(v); msg != "" {
				log.Errorf("Invalid sync group: %s", msg)
				return fail
			}
			c.SyncGroup = v
		case "log-format":
			json, ok := logFormat(v)
			if !ok {
				log.Errorf("Invalid log format: [%s] (text or json)", v)
				return fail
			}
			// At once: the lines that check the command line are JSON too.
			log.SetJSON(json)
		case "realtime":
			prio, ok := parseRealtime(v)
			if !ok {
				log.Errorf("Invalid realtime priority: [%s] (1 to 99)", v)
				return fail
			}
			c.tuning.realtime = prio
		case "lock-memory":
			c.tuning.lockMemory = true
		case "metrics-listen":
			if msg := conffile.ListenAddr(v); msg != "" {
				log.Errorf("Invalid metrics address: %s", msg)
				return fail
			}
			c.control.metrics = v
		case "peer":
			// A unicast peer; repeatable. Checked against the group once
			// every option is read (validate).
			a, msg := conffile.ParsePeer(v)
			if msg != "" {
				log.Errorf("Invalid peer: %s", msg)
				return fail
			}
			c.Peers = append(c.Peers, a)
		case "protocol":
			proto, msg := conffile.ParseProtocol(v)
			if msg != "" {
				log.Errorf("Invalid protocol: [%s] (carp or vrrp3)", v)
				return fail
			}
			c.Protocol = proto
		case "priority":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				log.Errorf("Invalid priority: [%s] (1 to 254; 255 for the owner of the addresses)", v)
				return fail
			}
			c.Priority = uint8(n)
		case "advert-interval":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || conffile.AdvertInterval(n) != "" {
				log.Errorf("Invalid advertisement interval: [%s] (centiseconds, 1 to 4095)", v)
				return fail
			}
			c.AdvertInterval = uint16(n)
		case "vrrp-checksum":
			form, msg := conffile.ParseChecksum(v)
			if msg != "" {
				log.Errorf("Invalid VRRP checksum mode: [%s] (auto, message-only or pseudo-header)", v)
				return fail
			}
			c.VRRPChecksum = form
		case "no-preempt":
			c.NoPreempt = true
		case "vmac":
			if msg := conffile.SetVMAC(&c.Group, v); msg != "" {
				log.Errorf("Invalid --vmac: %s", msg)
				return fail
			}
		case "preempt-delay":
			secs, err := strconv.ParseFloat(v, 64)
			d, msg := conffile.PreemptDelay(secs)
			if err != nil || msg != "" {
				log.Errorf("Invalid preempt delay: [%s] (seconds, 0 to %d)", v, conffile.MaxPreemptDelay)
				return fail
			}
			c.PreemptDelay = d
		case "garp-interval":
			ms, err := strconv.Atoi(v)
			if err != nil || ms < 1 || ms > 60000 {
				log.Errorf("Invalid gratuitous ARP interval: [%s] (milliseconds, 1 to 60000)", v)
				return fail
			}
			c.GARPInterval = time.Duration(ms) * time.Millisecond
		case "auth":
			if msg := conffile.AuthName(v); msg != "" {
				log.Errorf("Invalid auth: %s", msg)
				return fail
			}
			c.auth.Auth = v
		case "keyfile":
			if v == "" {
				log.Errorf("Invalid key file: must not be empty")
				return fail
			}
			c.auth.KeyFile = v
		case "auth-mode":
			if _, msg := conffile.AuthMode(v); msg != "" {
				log.Errorf("Invalid auth mode: %s", msg)
				return fail
			}
			c.auth.Mode = v
		case "replay-window":
			secs, err := strconv.ParseFloat(v, 64)
			d, msg := conffile.ReplayWindow(secs)
			if err != nil || msg != "" {
				log.Errorf("Invalid replay window: [%s] (seconds, 1 to %d)", v, conffile.MaxReplayWindow)
				return fail
			}
			c.auth.Window = d
		case "relax-ttl":
			c.auth.RelaxTTL = true
		}
	}
	if gerr == nil && !addVIPs(c, vips, log) {
		return fail
	}
	if gerr != nil {
		// glibc prints getopt's diagnostics on stderr, even for daemons.
		fmt.Fprintln(log.Stderr(), gerr)
		usage(stdout)
		return parseResult{done: true}
	}
	switch {
	case c.configFile != "" && others > 0:
		log.Errorf("With --config every setting comes from the file: give no other option")
		return fail
	case c.configFile != "":
		return parseResult{cfg: c}
	case c.check:
		log.Errorf("--check goes with --config=FILE")
		return fail
	}
	return validate(c, log)
}

// vipArg is one --vip as given.
type vipArg struct {
	pfx      netip.Prefix
	arg, opt string
}

// addVIPs adds the --vip addresses to the group: after ucarp's -a, or the
// first of them in its place when there is no -a (the scripts' second
// argument). Each address may be listed once.
func addVIPs(c *config, vips []vipArg, log *logger) bool {
	if len(vips) > 0 && !c.Addr.IsValid() {
		c.Addr, c.AddrArg = vips[0].pfx, vips[0].arg
		if msg := conffile.CheckVIP(c.Addr, nil); msg != "" {
			log.Errorf("Invalid address: [%s]: %s", vips[0].opt, msg)
			return false
		}
		vips = vips[1:]
	}
	for _, v := range vips {
		if msg := conffile.CheckVIP(v.pfx, c.Addrs()); msg != "" {
			log.Errorf("Invalid address: [%s]: %s", v.opt, msg)
			return false
		}
		c.MoreAddrs = append(c.MoreAddrs, v.pfx)
	}
	return true
}

// validate makes ucarp's checks in ucarp's order, then ours.
func validate(c *config, log *logger) parseResult {
	fail := parseResult{exit: 1, done: true}
	if c.Interface == "" {
		name, err := defaultInterface()
		if err != nil {
			log.Errorf("You must supply a network interface")
			return fail
		}
		c.Interface = name
		log.Infof("Using [%s] as a network interface", name)
	}
	if c.Protocol == group.ProtocolVRRP3 {
		return validateVRRP3(c, log)
	}
	if c.Priority != 0 || c.AdvertInterval != 0 || c.NoPreempt || c.VRRPChecksum != 0 || c.PreemptDelay != 0 {
		log.Errorf("--priority, --advert-interval, --vrrp-checksum, --no-preempt and --preempt-delay go with --protocol=vrrp3")
		return fail
	}
	switch {
	case c.VHID == 0:
		log.Errorf("You must supply a valid virtual host id")
		return fail
	case len(c.Password) == 0:
		log.Errorf("You must supply a password")
		return fail
	case c.AdvBase == 0 && c.AdvSkew == 0:
		log.Errorf("You must supply an advertisement time base")
		return fail
	case !c.SrcIP.IsValid() || c.SrcIP.IsUnspecified():
		log.Errorf("You must supply a persistent source address")
		return fail
	case !c.Addr.IsValid() || c.Addr.Addr().IsUnspecified():
		log.Errorf("You must supply a virtual host address")
		return fail
	}
	if c.UpScript == "" {
		log.Warnf("Warning: no script called when going up")
	}
	if c.DownScript == "" {
		log.Warnf("Warning: no script called when going down")
	}
	if c.DeadRatio == 0 {
		log.Errorf("Dead ratio can't be zero")
		return fail
	}
	if c.AdvBase == 255 && c.AdvSkew == 255 {
		log.Warnf("advbase 255 with advskew 255 is the bow-out advert: every peer will take over from this node at once")
	}
	if msg := conffile.CheckPeers(c.Group); msg != "" {
		log.Errorf("Invalid peer: %s", msg)
		return fail
	}
	ac, key, msg := c.auth.Build()
	if msg != "" {
		if key == "keyfile" && c.auth.KeyFile == "" {
			key = "auth"
		}
		log.Errorf("Invalid --%s: %s", key, msg)
		return fail
	}
	c.Auth = ac
	if msg := conffile.ResolveVMAC(&c.Group); msg != "" {
		log.Errorf("Invalid --vmac: %s", msg)
		return fail
	}
	if c.ManagesVIP() && c.UpScript == "" && c.DownScript == "" {
		log.Infof("No up or down script: the daemon adds and removes %s on %s itself", c.Addr, c.Interface)
	}
	return parseResult{cfg: c}
}

// validateVRRP3 checks the command line of a VRRPv3 group: ucarp's checks
// that apply (interface, vhid, source, address), one family of addresses,
// and a warning for what has no effect.
func validateVRRP3(c *config, log *logger) parseResult {
	fail := parseResult{exit: 1, done: true}
	switch {
	case c.VHID == 0:
		log.Errorf("You must supply a valid virtual host id")
		return fail
	case !c.SrcIP.IsValid() || c.SrcIP.IsUnspecified():
		log.Errorf("You must supply a persistent source address")
		return fail
	case !c.Addr.IsValid() || c.Addr.Addr().IsUnspecified():
		log.Errorf("You must supply a virtual host address")
		return fail
	}
	for _, p := range c.MoreAddrs {
		if p.Addr().Is6() != c.Addr.Addr().Is6() {
			log.Errorf("A VRRPv3 virtual router is IPv4 or IPv6: give the addresses of one family, and run a second group with the same vhid for the other")
			return fail
		}
	}
	// An IPv6 router's peers are link-local; --auth is CARP's (as in config files).
	msg := conffile.CheckPeers(c.Group)
	if msg == "" {
		msg = conffile.VRRP3Peers(c.Peers)
	}
	if msg != "" {
		log.Errorf("Invalid peer: %s", msg)
		return fail
	}
	if c.auth.Auth == conffile.AuthHMAC || c.auth.KeyFile != "" || c.auth.RelaxTTL || c.auth.Mode != "" || c.auth.Window != 0 {
		log.Errorf("Invalid --auth: hmac-sha256 and its settings are CARP's extension, not for --protocol=vrrp3")
		return fail
	}
	if len(c.Password) > 0 {
		log.Warnf("VRRPv3 has no authentication: the password is not used")
	}
	if c.Priority == 0 {
		c.Priority = conffile.DefaultPriority
	}
	if c.AdvertInterval == 0 {
		c.AdvertInterval = conffile.DefaultAdvertInterval
	}
	// -P is CARP's; VRRPv3 preempts unless --no-preempt.
	c.Preempt = false
	if msg := conffile.ResolveVMAC(&c.Group); msg != "" {
		log.Errorf("Invalid --vmac: %s", msg)
		return fail
	}
	if c.UpScript == "" {
		log.Warnf("Warning: no script called when going up")
	}
	if c.DownScript == "" {
		log.Warnf("Warning: no script called when going down")
	}
	if c.ManagesVIP() && c.UpScript == "" && c.DownScript == "" {
		log.Infof("No up or down script: the daemon adds and removes %s on %s itself", c.Addr, c.Interface)
	}
	return parseResult{cfg: c}
}

// byteOption reads -b and -k as ucarp does, (unsigned char) strtoul(arg,
// NULL, 0), so 256 is 0, 300 is 44 and -1 is 255; it warns when that is
// not the number written, because it surprises people.
func byteOption(log *logger, name, v string) uint8 {
	u, rest := strtoul(v)
	b := uint8(u)
	if u > 255 || rest != "" || strings.ContainsRune(v, '-') {
		log.Warnf("%s [%s] is read as %d, as ucarp reads it (a number modulo 256)", name, v, b)
	}
	return b
}

// readPassfile reads the first line of a password file as ucarp does: at
// most 511 bytes, only the first "\n" removed (a "\r" stays), the password
// ending at a NUL byte. It warns when others can read the file.
func readPassfile(path string, log *logger) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unable to open passfile %s for reading: %s", path, syserr.Strerror(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o044 != 0 {
		log.Warnf("Warning: passfile [%s] can be read by other users (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	buf := make([]byte, conffile.MaxPassfileLine)
	n, err := io.ReadFull(f, buf)
	switch {
	case n == 0 && (err == nil || errors.Is(err, io.EOF)):
		return nil, fmt.Errorf("error reading passfile %s: unexpected end of file", path)
	case n == 0 || err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("error reading passfile %s: %s", path, syserr.Strerror(err))
	}
	return conffile.PasswordLine(buf[:n]), nil
}

// facility is the code of a syslog facility that exists.
func facility(name string) int {
	code, ok := conffile.Facility(name)
	if !ok {
		panic("no syslog facility " + name)
	}
	return code
}

// logFormat reads --log-format and the log-format key: whether lines are
// JSON, and whether the value is text or json.
func logFormat(v string) (json, ok bool) {
	switch v {
	case "text":
		return false, true
	case "json":
		return true, true
	}
	return false, false
}
