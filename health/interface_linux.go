package health

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// interfaceCheck is healthy when the interface name has a carrier, as
// /sys/class/net/NAME/carrier says: one read of a small file, where the
// interface flags would cost a dump of every link.
func interfaceCheck(name string) Check { return carrierCheck("/sys/class/net", name) }

// carrierCheck reads DIR/NAME/carrier: "1" with a carrier, "0" without,
// EINVAL while the interface is down.
func carrierCheck(dir, name string) Check {
	path := dir + "/" + name + "/carrier"
	return func(context.Context) error {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("no interface %s", name)
		case errors.Is(err, syscall.EINVAL):
			return fmt.Errorf("%s is down", name)
		case err != nil:
			return err
		case strings.TrimSpace(string(b)) != "1":
			return fmt.Errorf("%s has no carrier", name)
		}
		return nil
	}
}
