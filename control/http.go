package control

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHandler serves /metrics (the registry of NewRegistry) and, at /, the
// status page of b's groups.
func NewHandler(b Backend) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(NewRegistry(b), promhttp.HandlerOpts{
		// A partial scrape beats none: a failing collector is reported
		// in the response, the others still served.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	mux.Handle("GET /{$}", statusPage{b})
	return mux
}

// Timeouts of NewHTTPServer: a client cannot hold a connection open by
// sending or reading slowly.
const (
	HTTPReadHeaderTimeout = 5 * time.Second
	HTTPReadTimeout       = 10 * time.Second
	HTTPWriteTimeout      = 30 * time.Second
	HTTPIdleTimeout       = time.Minute
	HTTPMaxHeaderBytes    = 16 << 10
)

// NewHTTPServer returns a server of h on addr (--metrics-listen), with
// timeouts; the caller runs ListenAndServe and Shutdown.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: HTTPReadHeaderTimeout,
		ReadTimeout:       HTTPReadTimeout,
		WriteTimeout:      HTTPWriteTimeout,
		IdleTimeout:       HTTPIdleTimeout,
		MaxHeaderBytes:    HTTPMaxHeaderBytes,
	}
}
