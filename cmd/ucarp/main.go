package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/internal/syserr"
	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// Exit codes, as ucarp's.
const (
	exitUsage   = 0 // help, usage, and a clean exit
	exitArgs    = 1 // a bad command line
	exitStartup = 2 // the daemon could not start (or, here, could not go on)
)

// daemonSignals are the signals the loop acts on.
var daemonSignals = []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP}

func main() {
	// Before anything else: a signal sent while the daemon starts (a USR1
	// from a monitoring script, a USR2 from an operator, a TERM) waits in
	// this channel until the loop takes it, instead of being dropped by
	// the runtime (USR1, USR2) or ending the process at once (TERM).
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, daemonSignals...)
	if os.Getenv("GOMAXPROCS") == "" {
		// One goroutine at a time has work here, and little: a single P
		// spares the scheduler's spinning and wake-ups (a sixth less CPU
		// under a flood of packets). Blocking calls still hand it over.
		runtime.GOMAXPROCS(1)
	}
	// A console whose reader has gone must not end the daemon: with
	// SIGPIPE caught, a write to it fails with EPIPE instead (see guard).
	// Caught rather than ignored, since scripts would inherit SIG_IGN.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	plan, log := run(sigs)
	// Nothing logged is lost at exit, unless a destination is stalled.
	log.Flush(flushTimeout)
	if plan.reraise != nil {
		reraise(plan.reraise)
	}
	os.Exit(plan.code)
}

func run(sigs chan os.Signal) (exitPlan, *logger) {
	closeInheritedDescriptors()
	prog := os.Args[0]
	status := daemonChild()
	child := status != nil

	// Until the command line is read, messages go to syslog as glibc's
	// syslog(3) sends them before openlog: program name, no pid, user.
	log := newLogger(os.Stdout, os.Stderr, newSyslog(filepath.Base(prog), 0, facility("user")))
	// Under systemd, syslog's copy of a line is the journal's (see sink);
	// without a syslog daemon to take it, the console's is.
	if out, errs := journalStreams(os.Getenv("JOURNAL_STREAM"), os.Stdout, os.Stderr); (out || errs) && syslogReachable() {
		log.SetJournal(out, errs)
	}
	if child {
		// The parent has parsed and reported the command line already.
		log = newLogger(io.Discard, io.Discard, nil)
	}
	res := parseCommandLine(prog, os.Args[1:], os.Getenv("POSIXLY_CORRECT") != "", log, os.Stdout)
	if res.done {
		return exitPlan{code: res.exit}, log
	}
	cfg := res.cfg
	switch {
	case cfg.configFile != "" && cfg.check:
		return checkConfig(cfg.configFile, log, os.Stdout), log
	case cfg.configFile != "":
		return runConfig(cfg.configFile, log, sigs), log
	}
	if child {
		log = newLogger(io.Discard, io.Discard, nil)
		log.SetConsole(consoleNone)
	}
	log.SetDebug(cfg.debug)
	if cfg.noSyslog {
		log.SetSyslog(nil)
	} else {
		log.SetSyslog(newSyslog("ucarp", os.Getpid(), cfg.facility))
	}
	// From here on no log line waits for its destination.
	log.Async()
	reapOrphans(log)
	return start(cfg, log, status, sigs), log
}

// start opens everything the daemon needs, in ucarp's order where ucarp
// has one, then runs the loop. Start-up failures exit 2, as ucarp's.
// status is nil unless this is the background daemon of a -B start.
func start(cfg *config, log *logger, status *statusPipe, sigs chan os.Signal) exitPlan {
	report := func(code int, format string, args ...any) exitPlan {
		msg := fmt.Sprintf(format, args...)
		log.Errorf("%s", msg)
		status.failed(code, msg)
		return exitPlan{code: code}
	}
	if len(cfg.password) > carp.MaxPasswordLen {
		return report(exitStartup, "Password too long")
	}
	if len(cfg.iface) >= 16 {
		log.Errorf("Interface name too long")
		return report(exitStartup, "Unable to find MAC address of [%s]", cfg.iface)
	}
	sys, err := platform.New(cfg.iface)
	switch {
	case errors.Is(err, platform.ErrNotSupported):
		return report(exitStartup, "ucarp-go is not supported on this operating system: %s", err)
	case errors.Is(err, platform.ErrNoInterface):
		// ucarp's SIOCGIFHWADDR fails with ENODEV.
		log.Errorf("Unable to get hardware info about an interface: %s", syserr.Strerror(syscall.ENODEV))
		return report(exitStartup, "Unable to find MAC address of [%s]", cfg.iface)
	case err != nil:
		log.Errorf("Unable to get hardware info about an interface: %s", syserr.Strerror(err))
		return report(exitStartup, "Unable to find MAC address of [%s]", cfg.iface)
	}
	manage := cfg.managesVIP()
	if err := sys.CheckPrivileges(manage); err != nil {
		return report(exitStartup, "%s", err)
	}
	if cfg.daemonize && status == nil {
		return daemonize(log, sigs)
	}

	ifi := sys.Interface()
	if len(ifi.HardwareAddr) == 6 {
		log.Infof("Local advertised ethernet address is [%s]", ifi.HardwareAddr)
	} else {
		log.Warnf("Interface [%s] has no Ethernet address: no gratuitous ARP will be sent", cfg.iface)
	}
	if !cfg.nomcast && !sys.Local(cfg.src) {
		// ucarp joins the group on the interface that holds --srcip, and
		// fails exactly so when no interface does.
		log.Errorf("Source address %s is not configured on any interface", cfg.src)
		return report(exitStartup, "Can't do IP_ADD_MEMBERSHIP errno=%s (%d)", syserr.Strerror(syscall.ENODEV), int(syscall.ENODEV))
	}
	conn, err := sys.OpenIP(platform.IPOptions{Protocol: carp.IPProtocol, Src: cfg.src, Group: cfg.group, Broadcast: cfg.nomcast})
	switch {
	case errors.Is(err, platform.ErrJoin):
		return report(exitStartup, "Can't do IP_ADD_MEMBERSHIP errno=%s (%d)", syserr.Strerror(err), syserr.Errno(err))
	case err != nil:
		return report(exitStartup, "Error opening socket for interface [%s]: %s", cfg.iface, syserr.Strerror(err))
	}
	defer conn.Close()
	var arp platform.FrameConn
	if len(ifi.HardwareAddr) == 6 {
		arp, err = sys.OpenARP()
		switch {
		case errors.Is(err, platform.ErrNoARP):
			log.Warnf("Gratuitous ARP is left to the kernel, which announces the address when it is added: %s", err)
		case err != nil:
			return report(exitStartup, "Unable to open interface [%s]: %s", cfg.iface, syserr.Strerror(err))
		default:
			defer arp.Close()
		}
	}

	done := make(chan struct{})
	defer close(done)
	initial, err := sys.LinkState()
	if err != nil {
		return report(exitStartup, "%s", err)
	}
	link, err := sys.WatchLink(done)
	if err != nil {
		return report(exitStartup, "%s", err)
	}
	var addrs vip.System
	var addrChg <-chan struct{}
	if manage {
		// One daemon per (interface, vhid) in a network namespace manages
		// the address: a second one would remove the first's live copy.
		lock, err := platform.Lock(fmt.Sprintf("ucarp-go/%d/%d", ifi.Index, cfg.vhid))
		switch {
		case errors.Is(err, platform.ErrLocked):
			return report(exitStartup, "Another ucarp-go already manages vhid %d on %s (%s): not starting", cfg.vhid, cfg.iface, err)
		case err != nil:
			return report(exitStartup, "%s", err)
		}
		defer lock.Close()
		addrs = sys.Addresses()
		events, err := sys.WatchAddresses(done)
		if err != nil {
			return report(exitStartup, "%s", err)
		}
		addrChg = changes(events)
		label := vip.Label(cfg.iface, cfg.vhid)
		switch addrs.Mark() {
		case vip.MarkLabel:
			if label == "" {
				log.Warnf("This kernel has no address protocol (IFA_PROTO, Linux 5.18) and %s is too long for a label: any copy of %s counts as the daemon's", cfg.iface, cfg.vip)
			} else {
				log.Infof("This kernel has no address protocol (IFA_PROTO, Linux 5.18): the daemon's copy of %s is told by its label %s", cfg.vip, label)
			}
		case vip.MarkNone:
			log.Infof("Addresses carry no label or protocol here: any copy of %s counts as the daemon's", cfg.vip)
		}
		// A copy left by a killed predecessor goes before the first election;
		// one someone else configured is for the first state to decide.
		m := vip.NewManager(addrs, cfg.vip, label, 0)
		if removed, err := m.RemoveOurs(); err != nil {
			return report(exitStartup, "Unable to remove a stale virtual address: %s", err)
		} else if removed {
			log.Warnf("Removed %s left on %s by a previous run", cfg.vip, cfg.iface)
		}
	}

	rng := newRand()
	g, err := group.New(cfg.groupConfig(), group.Deps{
		Log: log.Logger, MAC: ifi.HardwareAddr, Conn: conn, ARP: arp, Addrs: addrs,
		Link: link, AddrChanged: addrChg, Initial: initial, Random: rng.Uint64,
		Notify: func(status string) { sdNotify(status) },
		Ready: func(state string) {
			status.ready()
			sdReady(fmt.Sprintf("%s on %s id %d", state, cfg.iface, cfg.vhid))
		},
	})
	if err != nil {
		return report(exitStartup, "%s", err)
	}
	if cfg.pidfile != "" {
		if err := writePidfile(cfg.pidfile); err != nil {
			return report(exitStartup, "Unable to write the pid file: %s", err)
		}
		defer removePidfile(cfg.pidfile)
	}
	go handleSignals(g, sigs)
	end := g.Run()
	return exitPlan{code: end.Code, reraise: end.Reraise}
}

// changes signals each address event (the group lists the addresses
// again on each), one pending at most.
func changes(events <-chan platform.AddrEvent) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		for range events {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}

// handleSignals gives the group ucarp's signals: USR1 reports, USR2
// demotes, and TERM, INT, QUIT and HUP stop.
func handleSignals(g *group.Group, sigs <-chan os.Signal) {
	for sig := range sigs {
		switch sig {
		case syscall.SIGUSR1:
			g.Report()
		case syscall.SIGUSR2:
			g.Demote()
		default:
			g.Stop(sig)
		}
	}
}

// exitPlan is how the process ends: an exit code, or a signal to die of
// (re-raised after cleanup, for the exit status ucarp has without -z).
type exitPlan struct {
	code    int
	reraise os.Signal
}

// newRand is the source of counters and IP IDs: ChaCha8 seeded from the
// system's random generator, as ucarp uses arc4random.
func newRand() *rand.Rand {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		binary.LittleEndian.PutUint64(seed[:], uint64(os.Getpid()))
	}
	return rand.New(rand.NewChaCha8(seed))
}

// defaultInterface is what ucarp's pcap_lookupdev returns: the first
// interface that is up and is not a loopback.
func defaultInterface() (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 {
			return ifi.Name, nil
		}
	}
	return "", errors.New("no interface")
}
