//go:build !linux && !freebsd

package platform

import "io"

// New fails on systems that have no implementation yet.
func New(string) (OS, error) { return nil, ErrNotSupported }

// Lock fails on systems that have no implementation yet.
func Lock(string) (io.Closer, error) { return nil, ErrNotSupported }
