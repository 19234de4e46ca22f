package platform

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Interfaces lists the host's interfaces: net.Interfaces.
func Interfaces() ([]net.Interface, error) { return net.Interfaces() }

// interfaceByName finds the interface called name. An interface that
// does not exist is ErrNoInterface with ENODEV, the errno that ucarp's
// SIOCGIFHWADDR reports; a failure to list the interfaces wraps its own
// cause.
func interfaceByName(name string) (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("platform: listing the interfaces: %w", err)
	}
	for i := range ifs {
		if ifs[i].Name == name {
			return &ifs[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s: %w", ErrNoInterface, name, unix.ENODEV)
}
