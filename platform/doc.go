// Package platform is what the daemon needs from the operating system for
// one network interface: its identity and link state, raw IP sockets for
// one protocol (the caller names it: CARP's 112), the socket that sends
// gratuitous ARP, and the management of its addresses. It knows no
// protocol; purity_test.go keeps it so. New returns the implementation of
// the running OS (platform_linux.go, platform_freebsd.go); other systems
// get ErrNotSupported.
package platform
