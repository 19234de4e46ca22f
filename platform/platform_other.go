//go:build !linux && !freebsd

package platform

import (
	"io"
	"net"
)

// New fails on systems that have no implementation yet.
func New(string) (OS, error) { return nil, ErrNotSupported }

// Lock fails on systems that have no implementation yet.
func Lock(string) (io.Closer, error) { return nil, ErrNotSupported }

// Interfaces lists the host's interfaces: net.Interfaces.
func Interfaces() ([]net.Interface, error) { return net.Interfaces() }
