package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	conffile "github.com/ucarp-go/ucarp/config"
	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/internal/logfield"
	"github.com/ucarp-go/ucarp/node"
	"github.com/ucarp-go/ucarp/platform"
)

// Exit codes of config mode beyond ucarp's.
const exitConfig = 1 // the file is not valid (also for --check)

// specs turns a config file's groups into what a node runs. Unlike the
// command line's group, whose process exits as ucarp does, a file's group
// waits for its interface when it is set down: the others go on.
func specs(f *conffile.File) []node.Spec {
	out := make([]node.Spec, 0, len(f.Groups))
	probes := map[string]health.Spec{}
	for _, p := range f.Probes {
		probes[p.Name] = p
	}
	for _, g := range f.Groups {
		c := g.GroupConfig()
		c.WaitWhenDown = true
		c.AlignAdverts = true // many groups wake the process together
		s := node.Spec{ManageVIP: g.ManagesVIP(), Config: c, Name: g.Name, SyncGroup: g.SyncGroup,
			HoldDown: g.HoldDown, HoldDownUntilHealthy: g.HoldDownUntilHealthy}
		for _, name := range g.Probes {
			s.Probes = append(s.Probes, probes[name]) // Parse checked that it is there
		}
		out = append(out, s)
	}
	return out
}

// logWarnings logs the file's warnings (conffile.File.Warnings).
func logWarnings(log *logger, f *conffile.File) {
	for _, w := range f.Warnings {
		log.Warnf("%s", w)
	}
}

// logErrors logs each line of err as an ERROR.
func logErrors(log *logger, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		log.Errorf("%s", line)
	}
}

// checkConfig is --check: it validates the file and says so, without
// starting anything.
func checkConfig(path string, log *logger, stdout io.Writer) exitPlan {
	f, err := conffile.Load(path)
	if err != nil {
		logErrors(log, err)
		return exitPlan{code: exitConfig}
	}
	logWarnings(log, f)
	fmt.Fprintf(stdout, "%s: %d groups, valid\n", path, len(f.Groups))
	return exitPlan{}
}

// runConfig is config mode: a node runs the file's groups. SIGHUP reads
// the file again and applies only what changed; a file that fails to
// parse or validate changes nothing and is logged. USR1 reports every
// group, USR2 demotes every MASTER, TERM, INT and QUIT stop every group as
// its shutdown key says (the address the daemon manages goes in any case),
// and the daemon exits 0.
func runConfig(path string, log *logger, sigs <-chan os.Signal) exitPlan {
	f, err := conffile.Load(path)
	if err != nil {
		logErrors(log, err)
		return exitPlan{code: exitConfig}
	}
	log.SetDebug(f.Debug)
	log.SetJSON(f.LogFormat == "json")
	logWarnings(log, f)
	if f.Facility == "none" {
		log.SetSyslog(nil)
	} else {
		log.SetSyslog(newSyslog("ucarp", os.Getpid(), facility(f.Facility)))
	}
	log.Async()
	reapOrphans(log)
	if f.PIDFile != "" {
		if err := writePidfile(f.PIDFile); err != nil {
			log.Errorf("Unable to write the pid file: %s", err)
			return exitPlan{code: exitStartup}
		}
		defer removePidfile(f.PIDFile)
	}
	defer applyTuning(log, tuning{realtime: f.Realtime, lockMemory: f.LockMemory})()
	started := tuning{realtime: f.Realtime, lockMemory: f.LockMemory}
	rng := newRand()
	var n *node.Node
	var cp *controlPlane
	// SIGHUP and the control socket's reload, one at a time.
	var reloading sync.Mutex
	reload := func() error {
		reloading.Lock()
		defer reloading.Unlock()
		f, err := conffile.Load(path)
		if err != nil {
			log.eventf(logfield.Reload, levelError, "Reloading %s failed; nothing changed:", path)
			logErrors(log, err)
			n.Publish(control.Event{Time: time.Now(), Kind: control.EventReload, Message: err.Error()})
			return err
		}
		logWarnings(log, f)
		if err := n.Apply(specs(f)); err != nil {
			log.eventf(logfield.Reload, levelError, "Reloading %s:", path)
			logErrors(log, err)
			n.Publish(control.Event{Time: time.Now(), Kind: control.EventReload, Message: err.Error()})
			return err
		}
		log.SetJSON(f.LogFormat == "json")
		if f.Realtime != started.realtime || f.LockMemory != started.lockMemory {
			log.Warnf("realtime and lock-memory changed in %s: they take effect at the next start", path)
		}
		cp.Reconfigure(controlSettings{socket: f.Control, group: f.ControlGroup, metrics: f.MetricsListen})
		msg := fmt.Sprintf("Reloaded %s: %d groups", path, len(f.Groups))
		log.eventf(logfield.Reload, levelInfo, "%s", msg)
		n.Publish(control.Event{Time: time.Now(), Kind: control.EventReload, Message: msg})
		sdNotify(fmt.Sprintf("%d groups from %s", len(f.Groups), path))
		return nil
	}
	n = node.New(node.Deps{Log: log.Logger, Open: platform.New, Random: rng.Uint64, Lock: platform.Lock, Reload: reload,
		StateDir: stateDir(), NewTimer: newLoopTimer})
	if err := n.Apply(specs(f)); err != nil {
		logErrors(log, err)
		n.Stop(syscall.SIGTERM)
		return exitPlan{code: exitStartup}
	}
	<-n.Ready()
	// Under the reload's lock: a reload through the new socket waits until
	// cp is set.
	reloading.Lock()
	cp = newControlPlane(log, realListenControl, n,
		controlSettings{socket: f.Control, group: f.ControlGroup, metrics: f.MetricsListen}, control.NodeSocket(), false)
	reloading.Unlock()
	stopControl := cp.Stop
	defer stopControl()
	stopSync := syncPeers(n, specs(f), f.Control, control.NodeSocket())
	defer stopSync()
	log.eventf(logfield.Start, levelInfo, "Running %d groups from %s", len(f.Groups), path)
	sdReady(fmt.Sprintf("%d groups from %s", len(f.Groups), path))
	for sig := range sigs {
		switch sig {
		case syscall.SIGUSR1:
			n.Report()
		case syscall.SIGUSR2:
			n.DemoteMasters()
		case syscall.SIGHUP:
			reload()
		default:
			log.eventf(logfield.Stop, levelInfo, "Signal %v: stopping every group", sig)
			sdNotify("STOPPING")
			stopControl()
			n.Stop(sig)
			return exitPlan{}
		}
	}
	return exitPlan{}
}
