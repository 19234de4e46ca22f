package controltest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// Serve serves b on a control socket at path until t ends or stop is
// called (stop may be called again). An error of control.Serve fails t,
// and so does a Serve that has not returned 5 s after it was stopped.
func Serve(t testing.TB, path string, b control.Backend, opts control.Options) (stop func()) {
	t.Helper()
	return ServeWith(t, path, control.Serve, b, opts)
}

// ServeWith is Serve with serve in the place of control.Serve (a
// control.ServeAs, for instance).
func ServeWith(t testing.TB, path string, serve func(context.Context, net.Listener, control.Backend, control.Options) error,
	b control.Backend, opts control.Options) (stop func()) {
	t.Helper()
	ln, err := control.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, b, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("control.Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("control.Serve did not return 5 s after its context was done")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
