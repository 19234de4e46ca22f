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
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/internal/logfield"
	"github.com/ucarp-go/ucarp/internal/syserr"
	"github.com/ucarp-go/ucarp/node"
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
	setGCPercent(os.Getenv)
	watchGC()
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
	// Under systemd, the journal takes each line once: through its native
	// protocol with structured fields where its socket answers, else as
	// syslog's copy (see sink); without a syslog daemon to take it, the
	// console's copy is the one.
	if out, errs := journalStreams(os.Getenv("JOURNAL_STREAM"), os.Stdout, os.Stderr); out || errs {
		switch {
		case journal.Enabled():
			log.SetJournal(out, errs)
			log.SetNativeJournal(journal.Send)
		case syslogReachable():
			log.SetJournal(out, errs)
		}
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
	return start(cfg, log, status, sigs, realStartDeps), log
}

// startDeps is what start opens: an interface's platform and a group's
// lock (platform.New and platform.Lock; tests give fakes).
type startDeps struct {
	open func(ifname string) (platform.OS, error)
	lock func(name string) (io.Closer, error)
	// listen makes the control socket; nil serves none.
	listen listenControl
	// newTimer makes the groups' loop timers (newLoopTimer); nil:
	// time.Timers, which testing/synctest drives.
	newTimer func() (platform.Timer, error)
}

var realStartDeps = startDeps{open: platform.New, lock: platform.Lock, listen: realListenControl, newTimer: newLoopTimer}

// errDetached stops the start in the caller of -B, once the background
// daemon has reported how its own start went.
var errDetached = errors.New("the daemon runs in the background")

// ucarpWords is a start-up failure already in ucarp's words: the lines
// to log as errors, the last of which a -B caller prints.
type ucarpWords struct{ lines []string }

func (w *ucarpWords) Error() string { return strings.Join(w.lines, "; ") }

// start runs the group of the command line through a node, as config
// mode runs a file's: flags become a config, then a node runs it. The
// node takes the steps of the start, in ucarp's order where ucarp has
// one; start adds ucarp's lines between them (Deps.Before), words their
// failures as ucarp does (exit 2), and ends as the group ends. status is
// nil unless this is the background daemon of a -B start.
func start(cfg *config, log *logger, status *statusPipe, sigs chan os.Signal, sd startDeps) exitPlan {
	report := func(lines ...string) exitPlan {
		for _, l := range lines {
			log.Errorf("%s", l)
		}
		status.failed(exitStartup, lines[len(lines)-1])
		return exitPlan{code: exitStartup}
	}
	if len(cfg.Password) > carp.MaxPasswordLen {
		return report("Password too long")
	}
	if len(cfg.Interface) >= 16 {
		return report("Interface name too long", fmt.Sprintf("Unable to find MAC address of [%s]", cfg.Interface))
	}
	var detached *exitPlan // how the caller of -B ends
	pidfile := false
	stopTuning := func() {}
	defer func() { stopTuning() }()
	before := func(_ node.ID, step node.Step, sys platform.OS) error {
		switch step {
		case node.StepSocket: // the interface is found, the privileges are there
			if cfg.daemonize && status == nil {
				p := daemonize(log, sigs)
				detached = &p
				return errDetached
			}
			if mac := sys.Interface().HardwareAddr; len(mac) == 6 {
				log.eventf(logfield.Start, levelInfo, "Local advertised ethernet address is [%s]", mac)
			} else {
				log.Warnf("Interface [%s] has no Ethernet address: no gratuitous ARP will be sent", cfg.Interface)
			}
			if !cfg.NoMcast && !sys.Local(cfg.SrcIP) {
				// ucarp joins the group on the interface that holds
				// --srcip, and fails exactly so when no interface does.
				return &ucarpWords{[]string{fmt.Sprintf("Source address %s is not configured on any interface", cfg.SrcIP),
					fmt.Sprintf("Can't do IP_ADD_MEMBERSHIP errno=%s (%d)", syserr.Strerror(syscall.ENODEV), int(syscall.ENODEV))}}
			}
		case node.StepStale: // the lock is taken; the address is untouched
			label := vip.Label(cfg.Interface, cfg.VHID)
			switch sys.Addresses().Mark() {
			case vip.MarkLabel:
				if label == "" {
					log.Warnf("This kernel has no address protocol (IFA_PROTO, Linux 5.18) and %s is too long for a label: any copy of %s counts as the daemon's", cfg.Interface, cfg.Addr)
				} else {
					log.Infof("This kernel has no address protocol (IFA_PROTO, Linux 5.18): the daemon's copy of %s is told by its label %s", cfg.Addr, label)
				}
			case vip.MarkNone:
				log.Infof("Addresses carry no label or protocol here: any copy of %s counts as the daemon's", cfg.Addr)
			}
		case node.StepRun:
			// In the process that runs the group (the background one of
			// -B), once its threads have started.
			stopTuning = applyTuning(log, cfg.tuning)
			if cfg.pidfile != "" {
				if err := writePidfile(cfg.pidfile); err != nil {
					return &ucarpWords{[]string{fmt.Sprintf("Unable to write the pid file: %s", err)}}
				}
				pidfile = true
			}
		}
		return nil
	}
	n := node.New(node.Deps{
		Log: log.Plain(), Open: sd.open, Lock: sd.lock, Random: newRand().Uint64,
		CheckPrivileges: true, Unclaimed: true, Before: before, StateDir: stateDir(),
		Degraded: func(_ node.ID, _ node.Step, err error) {
			log.Warnf("Gratuitous ARP is left to the kernel, which announces the address when it is added: %s", err)
		},
		Ready: func(_ node.ID, state string) {
			status.ready()
			sdReady(fmt.Sprintf("%s on %s id %d", state, cfg.Interface, cfg.VHID))
		},
		Notify:   func(_ node.ID, s string) { sdNotify(s) },
		NewTimer: sd.newTimer,
	})
	spec := node.Spec{Config: cfg.GroupConfig(), ManageVIP: cfg.ManagesVIP(), Probes: cfg.probes,
		SyncGroup: cfg.SyncGroup, HoldDown: cfg.HoldDown, HoldDownUntilHealthy: cfg.HoldDownUntilHealthy}
	if err := n.Apply([]node.Spec{spec}); err != nil {
		if detached != nil {
			return *detached
		}
		return report(startupLines(cfg, err)...)
	}
	// The socket is served without a word unless asked for: ucarp's lines
	// stay ucarp's.
	sock := control.GroupSocket(cfg.Interface, cfg.VHID)
	if cfg.Protocol != group.ProtocolCARP {
		// IF-vrrp3-VHID.sock: beside a CARP process of the same vhid.
		sock = filepath.Join(control.Dir, spec.GroupName()+".sock")
	}
	stopControl := serveControl(log, sd.listen, n, cfg.control, sock, true)
	stopSync := syncPeers(n, []node.Spec{spec}, cfg.control.socket, sock)
	defer stopSync()
	go handleSignals(n, sigs)
	end := <-n.Done(spec.ID())
	stopControl()
	if pidfile {
		removePidfile(cfg.pidfile)
	}
	n.Apply(nil) // the group has ended: this frees its lock, socket and watches
	return exitPlan{code: end.Code, reraise: end.Reraise}
}

// startupLines words a failed start as ucarp does: the lines to log as
// errors, the last of which a -B caller prints.
func startupLines(cfg *config, err error) []string {
	var words *ucarpWords
	if errors.As(err, &words) {
		return words.lines
	}
	var se *node.StartError
	if !errors.As(err, &se) {
		return []string{err.Error()}
	}
	cause := se.Err
	switch se.Step {
	case node.StepInterface:
		noMAC := fmt.Sprintf("Unable to find MAC address of [%s]", cfg.Interface)
		switch {
		case errors.Is(cause, platform.ErrNotSupported):
			return []string{fmt.Sprintf("ucarp-go is not supported on this operating system: %s", cause)}
		case errors.Is(cause, platform.ErrNoInterface):
			// ucarp's SIOCGIFHWADDR fails with ENODEV.
			return []string{"Unable to get hardware info about an interface: " + syserr.Strerror(syscall.ENODEV), noMAC}
		}
		return []string{"Unable to get hardware info about an interface: " + syserr.Strerror(cause), noMAC}
	case node.StepSocket:
		if errors.Is(cause, platform.ErrJoin) {
			return []string{fmt.Sprintf("Can't do IP_ADD_MEMBERSHIP errno=%s (%d)", syserr.Strerror(cause), syserr.Errno(cause))}
		}
		return []string{fmt.Sprintf("Error opening socket for interface [%s]: %s", cfg.Interface, syserr.Strerror(cause))}
	case node.StepARP:
		return []string{fmt.Sprintf("Unable to open interface [%s]: %s", cfg.Interface, syserr.Strerror(cause))}
	case node.StepLock:
		if errors.Is(cause, platform.ErrLocked) {
			// One daemon per (interface, vhid) in a network namespace
			// manages the address: a second one would remove the first's.
			return []string{fmt.Sprintf("Another ucarp-go already manages vhid %d on %s (%s): not starting", cfg.VHID, cfg.Interface, cause)}
		}
	case node.StepStale:
		return []string{fmt.Sprintf("Unable to remove a stale virtual address: %s", cause)}
	}
	// The privileges, the watches, the group: the cause says it all.
	return []string{cause.Error()}
}

// handleSignals gives the group ucarp's signals: USR1 reports, USR2
// demotes, and TERM, INT, QUIT and HUP stop, without waiting, so that a
// second one reaches a group that waits for its script.
func handleSignals(n *node.Node, sigs <-chan os.Signal) {
	for sig := range sigs {
		switch sig {
		case syscall.SIGUSR1:
			n.Report()
		case syscall.SIGUSR2:
			n.DemoteMasters()
		default:
			n.Interrupt(sig)
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
// interface that is up and is not a loopback. platform's listing reads
// each link's message whole: net.Interfaces leaves out a link whose
// message exceeds a page.
func defaultInterface() (string, error) {
	ifs, err := platform.Interfaces()
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
