//go:build linux || freebsd

package platform

import (
	"errors"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNewInterface(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Skipf("no interface to look up: %v", err)
	}
	sys, err := New(ifs[0].Name)
	if err != nil {
		t.Fatalf("New(%q): %v", ifs[0].Name, err)
	}
	if got := sys.Interface(); got.Name != ifs[0].Name || got.Index != ifs[0].Index {
		t.Errorf("New(%q).Interface() = %s (%d), want index %d", ifs[0].Name, got.Name, got.Index, ifs[0].Index)
	}

	_, err = New("nosuch0")
	if !errors.Is(err, ErrNoInterface) || !errors.Is(err, unix.ENODEV) {
		t.Errorf("New(nosuch0) = %v, want ErrNoInterface and ENODEV", err)
	}
}
