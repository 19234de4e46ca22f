package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// controlSettings are --control, --control-group and --metrics-listen, or
// the control, control-group and metrics-listen keys.
type controlSettings struct {
	// socket is a path, "none", or "" for the mode's default.
	socket, group, metrics string
}

// listenControl makes the control socket (control.Listen); realStartDeps
// use it, tests leave it nil and serve nothing.
type listenControl func(path, group string) (*net.UnixListener, error)

func realListenControl(path, group string) (*net.UnixListener, error) {
	return control.Listen(path, group)
}

// metricsShutdownTimeout bounds the wait for scrapes in flight at stop.
const metricsShutdownTimeout = 2 * time.Second

// serveControl serves b on the control socket (def when cs.socket is
// empty) and, if asked, /metrics and the status page on cs.metrics. A
// socket or listener that cannot be made is logged as a WARNING and the
// daemon runs on without it: the failover matters more than the API. With
// quietDefault (ucarp's command line, where the lines stay ucarp's), the
// default socket is served without a word, and its failure too. stop ends
// both and waits for them; it may be called again.
func serveControl(log *logger, listen listenControl, b control.Backend, cs controlSettings, def string, quietDefault bool) (stop func()) {
	return newControlPlane(log, listen, b, cs, def, quietDefault).Stop
}

// controlPlane is what serveControl serves: the control socket and the
// metrics listener, as the settings ask. Reconfigure applies a reload's
// settings.
type controlPlane struct {
	log *logger
	b   control.Backend

	mu      sync.Mutex
	cs      controlSettings // as asked at start, and metrics as it runs
	cancel  func()          // ends the control socket
	sock    sync.WaitGroup
	metrics *metricsServer // nil: none
	stopped bool           // Stop has run: a late reload starts nothing
	once    sync.Once
}

func newControlPlane(log *logger, listen listenControl, b control.Backend, cs controlSettings, def string, quietDefault bool) *controlPlane {
	ctx, cancel := context.WithCancel(context.Background())
	p := &controlPlane{log: log, b: b, cs: cs, cancel: cancel}
	path, quiet := cs.socket, false
	if path == "" {
		path, quiet = def, quietDefault
	}
	if path != "none" && listen != nil {
		ln, err := listen(path, cs.group)
		switch {
		case err != nil && !quiet:
			log.Warnf("Control socket %s: %s: running without it", path, err)
		case err == nil:
			if !quiet {
				log.Infof("Control socket on %s", path)
			}
			p.sock.Add(1)
			go func() {
				defer p.sock.Done()
				if err := control.Serve(ctx, ln, b, control.Options{AdminGroup: cs.group}); err != nil && !quiet {
					log.Warnf("Control socket %s: %s", path, err)
				}
			}()
		}
	}
	if cs.metrics != "" {
		m, err := p.listenMetrics(cs.metrics)
		if err != nil {
			log.Warnf("Metrics on %s: %s: running without them", cs.metrics, err)
			p.cs.metrics = "" // a reload may try again
		}
		p.metrics = m
	}
	return p
}

// metricsServer is /metrics and the status page on one address.
type metricsServer struct {
	addr string
	srv  *http.Server
	done chan struct{}
}

// listenMetrics serves /metrics and the status page on addr.
func (p *controlPlane) listenMetrics(addr string) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p.log.Infof("Metrics and status page on http://%s/", ln.Addr())
	m := &metricsServer{addr: addr, srv: control.NewHTTPServer(addr, control.NewHandler(p.b)), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Warnf("Metrics on %s: %s", addr, err)
		}
	}()
	return m, nil
}

// stop ends the server, letting scrapes in flight finish for a while.
func (m *metricsServer) stop() {
	if m == nil {
		return
	}
	ctx, done := context.WithTimeout(context.Background(), metricsShutdownTimeout)
	if m.srv.Shutdown(ctx) != nil {
		m.srv.Close()
	}
	done()
	<-m.done
}

// Reconfigure applies a reload's control, control-group and
// metrics-listen. A new metrics-listen takes effect at once: the listener
// starts, stops or moves, and the groups are not touched; if the new
// address cannot be listened on, the old one is kept, and the ERROR names
// the key. The control socket is not moved and its group not changed by a
// reload: the socket carries the very request of ucarpctl reload and the
// streams of ucarpctl watch, which a new socket would cut; a changed
// control or control-group is refused with a WARNING that names the key,
// and takes effect at the next start.
func (p *controlPlane) Reconfigure(cs controlSettings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if cs.socket != p.cs.socket {
		p.log.Warnf("Reload: control changed from %s to %s: the control socket stays as it is until the daemon restarts",
			orDefault(p.cs.socket), orDefault(cs.socket))
	}
	if cs.group != p.cs.group {
		p.log.Warnf("Reload: control-group changed from %s to %s: the control socket keeps its group until the daemon restarts",
			orNone(p.cs.group), orNone(cs.group))
	}
	if cs.metrics == p.cs.metrics {
		return
	}
	old := p.metrics
	if cs.metrics == "" {
		old.stop()
		p.log.Infof("Metrics on %s stopped", p.cs.metrics)
		p.metrics, p.cs.metrics = nil, ""
		return
	}
	m, err := p.listenMetrics(cs.metrics)
	if err != nil && old != nil {
		// The new address may need the old one's port (":9342" after
		// "127.0.0.1:9342"): free it, and try again.
		old.stop()
		if m, err = p.listenMetrics(cs.metrics); err != nil {
			p.log.Errorf("Reload: metrics-listen %s: %s: keeping %s", cs.metrics, err, p.cs.metrics)
			if p.metrics, err = p.listenMetrics(p.cs.metrics); err != nil {
				p.log.Warnf("Metrics on %s: %s: running without them", p.cs.metrics, err)
				p.cs.metrics = ""
			}
			return
		}
	} else if err != nil {
		p.log.Errorf("Reload: metrics-listen %s: %s: running without metrics", cs.metrics, err)
		return
	} else {
		old.stop()
	}
	p.metrics, p.cs.metrics = m, cs.metrics
}

func orDefault(s string) string {
	if s == "" {
		return "the default"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Stop ends the control socket and the metrics server, letting scrapes
// in flight finish for a while, and waits for both. It may be called
// again.
func (p *controlPlane) Stop() {
	p.once.Do(func() {
		p.cancel()
		p.mu.Lock()
		p.metrics.stop()
		p.metrics, p.stopped = nil, true
		p.mu.Unlock()
		p.sock.Wait()
	})
}
