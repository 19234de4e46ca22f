//go:build unix && !linux && !freebsd

package main

import "syscall"

// setDefaultAction relies on signal.Reset alone on other systems.
func setDefaultAction(syscall.Signal) {}
