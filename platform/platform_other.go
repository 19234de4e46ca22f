//go:build !linux && !freebsd

package platform

// New fails on systems that have no implementation yet.
func New(string) (OS, error) { return nil, ErrNotSupported }
