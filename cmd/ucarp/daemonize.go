package main

import (
	"bufio"
	"fmt"
	"github.com/ucarp-go/ucarp/internal/syserr"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// daemonEnv tells a re-executed child that it is the daemon of a -B start,
// and on which descriptor it reports its start-up.
const daemonEnv = "UCARP_GO_DAEMON_STATUS_FD"

// statusPipe is how the background daemon of a -B start tells the
// process that started it (and waits in daemonize) how its start-up
// went: one line, READY or FAIL with the exit code and the message. A nil
// *statusPipe is a daemon that was not started by -B; its methods do
// nothing.
type statusPipe struct {
	f *os.File // nil once the line is written
}

// daemonChild returns the status pipe of the background daemon of a -B
// start, taken from the descriptor its parent named, or nil when this
// process is not one.
func daemonChild() *statusPipe {
	v, ok := os.LookupEnv(daemonEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(daemonEnv) // the scripts must not see it
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return &statusPipe{f: os.NewFile(uintptr(fd), "daemon-status")}
}

// ready reports that the daemon listens: its parent exits 0.
func (p *statusPipe) ready() { p.report("READY") }

// failed reports a start-up failure: its parent prints msg and exits code.
func (p *statusPipe) failed(code int, msg string) {
	p.report(fmt.Sprintf("FAIL %d %s", code, strings.ReplaceAll(msg, "\n", " ")))
}

// report writes the one line, once.
func (p *statusPipe) report(line string) {
	if p == nil || p.f == nil {
		return
	}
	fmt.Fprintln(p.f, line)
	p.f.Close()
	p.f = nil
}

// daemonize is -B. Go cannot fork, so the daemon is this program run
// again in a new session, with / as working directory and /dev/null as
// stdin, stdout and stderr. Unlike ucarp, the caller waits until the
// daemon is listening: it exits 0 then, or with the daemon's exit code
// and its error on stderr when start-up fails.
func daemonize(log *logger, sigs <-chan os.Signal) exitPlan {
	fail := func(format string, args ...any) exitPlan {
		log.Errorf(format, args...)
		return exitPlan{code: exitStartup}
	}
	exe, err := os.Executable()
	if err != nil {
		return fail("Unable to get in background: [%s]", syserr.Strerror(err))
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail("Unable to get in background: [pipe: %s]", syserr.Strerror(err))
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return fail("Unable to detach: /dev/null can't be duplicated")
	}
	p, err := os.StartProcess(exe, os.Args, &os.ProcAttr{
		Dir:   "/",
		Env:   append(os.Environ(), daemonEnv+"=3"),
		Files: []*os.File{null, null, null, w},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close()
	null.Close()
	if err != nil {
		return fail("Unable to get in background: [fork: %s]", syserr.Strerror(err))
	}
	status := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		status <- strings.TrimSpace(line)
	}()
	var line string
wait:
	for {
		select {
		case line = <-status:
			break wait
		case sig := <-sigs:
			// An exit signal ends the caller while it waits, as before it
			// caught them; the daemon, in its own session, goes on. USR1
			// and USR2 are meant for the daemon: ignored here.
			if sig != syscall.SIGUSR1 && sig != syscall.SIGUSR2 {
				p.Release()
				return exitPlan{reraise: sig}
			}
		}
	}
	switch {
	case line == "READY":
		p.Release()
		return exitPlan{code: 0}
	case strings.HasPrefix(line, "FAIL "):
		p.Wait()
		codeText, msg, _ := strings.Cut(strings.TrimPrefix(line, "FAIL "), " ")
		code, err := strconv.Atoi(codeText)
		if err != nil || code == 0 {
			code = exitStartup
		}
		// The daemon already logged it to syslog; the caller sees it here.
		log.Flush(flushTimeout)
		fmt.Fprintf(os.Stderr, "ucarp: %s\n", msg)
		return exitPlan{code: code}
	}
	st, _ := p.Wait()
	log.Flush(flushTimeout)
	fmt.Fprintf(os.Stderr, "ucarp: the daemon ended during start-up (%v)\n", st)
	return exitPlan{code: exitStartup}
}
