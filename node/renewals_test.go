package node

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ucarp-go/ucarp/platform"
)

// renewingOS records the renewers it is told to share, as Linux's
// platform takes them (platform.Renewer).
type renewingOS struct {
	platform.OS
	mu     *sync.Mutex
	shared *[]*platform.Renewals
}

func (r renewingOS) ShareRenewals(rs *platform.Renewals) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.shared = append(*r.shared, rs)
}

// TestInterfacesShareOneRenewals: a node's interfaces share one renewer
// (platform.Renewals), one goroutine for the address renewals of all
// of them rather than one per interface (docs/PERF.md, "One renewer for
// the process").
func TestInterfacesShareOneRenewals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var shared []*platform.Renewals
		logs := runTwoInterfaces(t, func(h platform.OS) platform.OS { return renewingOS{h, &mu, &shared} })
		mu.Lock()
		defer mu.Unlock()
		if len(shared) != 2 || shared[0] == nil || shared[0] != shared[1] {
			t.Errorf("eth0 and eth1 were given the renewers %v, want one for both; logs:\n%s", shared, logs)
		}
	})
}
