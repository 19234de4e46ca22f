package vrrp

import (
	"testing"

	"github.com/ucarp-go/ucarp/internal/puritytest"
)

// TestPurity keeps the protocol package free of I/O, as carp's is: none of
// its own imports may reach the network, the OS or processes, and nothing
// it depends on may bring in net (beyond net/netip), os/exec or x/sys. The
// clock is kept out by the tests of the Machine, which run on a simulated
// one; no time.Now or time.Sleep may appear in the package's own code
// either.
func TestPurity(t *testing.T) {
	puritytest.NoIO(t, ".")
	puritytest.NoClock(t, ".")
}
