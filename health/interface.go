package health

import (
	"context"
	"fmt"
	"net"
)

// flagsCheck is healthy when the interface name is up and running, as the
// system's interface flags say (IFF_UP and IFF_RUNNING, which FreeBSD
// reports as IFF_DRV_RUNNING, the platform package's link state).
func flagsCheck(name string) Check {
	return func(context.Context) error {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return fmt.Errorf("no interface %s: %w", name, err)
		}
		switch {
		case ifi.Flags&net.FlagUp == 0:
			return fmt.Errorf("%s is down", name)
		case ifi.Flags&net.FlagRunning == 0:
			return fmt.Errorf("%s has no carrier", name)
		}
		return nil
	}
}
