package carp

import (
	"testing"

	"github.com/ucarp-go/ucarp/internal/puritytest"
)

// TestPurity keeps the protocol package free of I/O: none of its own
// imports may reach the network, the OS or processes, and nothing it
// depends on may bring in net (beyond net/netip), os/exec or x/sys.
func TestPurity(t *testing.T) { puritytest.NoIO(t, ".", "./carptest") }
