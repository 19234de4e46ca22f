//go:build !linux

package health

// interfaceCheck is healthy when the interface name is up and running.
func interfaceCheck(name string) Check { return flagsCheck(name) }
