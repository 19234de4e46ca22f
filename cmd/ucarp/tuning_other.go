//go:build !linux

package main

import "fmt"

// setRealtime is not implemented here (FreeBSD has rtprio(2)): the daemon
// goes on with the ordinary scheduler.
func setRealtime(int, map[int]bool) error {
	return fmt.Errorf("%w: not implemented on this operating system", errRefused)
}

// lockMemory is not implemented here.
func lockMemory() error {
	return fmt.Errorf("%w: not implemented on this operating system", errRefused)
}
