package carpauth

import (
	"testing"

	"github.com/ucarp-go/ucarp/internal/puritytest"
)

// TestPurity keeps the package free of I/O, as carp's TestPurity keeps
// carp: it imports nothing that reaches the network, the OS or processes
// (it reads a key file through an fs.FS that the caller opens), and
// depends on no net package beyond net/netip, no os/exec and no x/sys.
func TestPurity(t *testing.T) { puritytest.NoIO(t, ".") }
