// Package platform is what the daemon needs from the operating system for
// one network interface: its identity and link state, the socket that
// carries CARP adverts, the socket that sends gratuitous ARP, and the
// management of its addresses. New returns the implementation of the
// running OS (platform_linux.go, platform_freebsd.go); other systems get
// ErrNotSupported.
package platform
