package platform

import (
	"testing"

	"github.com/ucarp-go/ucarp/internal/puritytest"
)

// TestPurity keeps the platform free of protocols: on every OS it
// implements, nothing it depends on may be a protocol or engine package
// of this module. It speaks of raw IP sockets by protocol number; the
// caller says which.
func TestPurity(t *testing.T) {
	puritytest.NoModuleDeps(t, "github.com/ucarp-go/ucarp", []string{"carp", "vrrp", "election", "group", "node", "config"},
		[]string{"linux", "freebsd"}, ".", "./...")
}
