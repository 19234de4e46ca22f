package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/node"
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
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := control.Serve(ctx, ln, b, control.Options{AdminGroup: cs.group}); err != nil && !quiet {
					log.Warnf("Control socket %s: %s", path, err)
				}
			}()
		}
	}
	var srv *http.Server
	if cs.metrics != "" {
		ln, err := net.Listen("tcp", cs.metrics)
		if err != nil {
			log.Warnf("Metrics on %s: %s: running without them", cs.metrics, err)
		} else {
			log.Infof("Metrics and status page on http://%s/", ln.Addr())
			srv = control.NewHTTPServer(cs.metrics, control.NewHandler(b))
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Warnf("Metrics on %s: %s", cs.metrics, err)
				}
			}()
		}
	}
	var once sync.Once
	return func() { once.Do(func() { stopServing(cancel, srv, &wg) }) }
}

// stopServing ends the control socket (cancel) and the metrics server,
// letting scrapes in flight finish for a while, and waits for both.
func stopServing(cancel func(), srv *http.Server, wg *sync.WaitGroup) {
	cancel()
	if srv != nil {
		sctx, done := context.WithTimeout(context.Background(), metricsShutdownTimeout)
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		done()
	}
	wg.Wait()
}

// syncPeers shares the sync groups of specs with the other daemons whose
// sockets are beside this one's (socket, or def when it is empty or
// "none": the directory of the sockets all the same), until stop. A
// process without a sync group asks nobody. A reload that adds the first
// sync group of a config file takes a restart to be shared.
func syncPeers(n *node.Node, specs []node.Spec, socket, def string) (stop func()) {
	if !slices.ContainsFunc(specs, func(s node.Spec) bool { return s.SyncGroup != "" }) {
		return func() {}
	}
	self := socket
	if self == "" || self == "none" {
		self = def
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.SyncPeers(ctx, filepath.Dir(self), self, node.DefaultSyncInterval)
	}()
	return func() {
		cancel()
		<-done
	}
}
