package node

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/platform/platformtest"
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
		var lan0, lan1 platformtest.LAN
		var mu sync.Mutex
		var shared []*platform.Renewals
		hosts := map[string]platform.OS{
			"eth0": lan0.Host("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 11}, netip.MustParsePrefix("198.51.100.11/24")),
			"eth1": lan1.Host("eth1", net.HardwareAddr{2, 0, 0, 0, 1, 11}, netip.MustParsePrefix("203.0.113.11/24")),
		}
		logs := &logBuf{}
		seq := uint64(11) << 32
		n := New(Deps{
			Random: func() uint64 { seq++; return seq },
			Log:    slog.New(handler{w: logs}),
			Open: func(name string) (platform.OS, error) {
				if h, ok := hosts[name]; ok {
					return renewingOS{h, &mu, &shared}, nil
				}
				return nil, fmt.Errorf("no interface %s", name)
			},
		})
		tn := &testNode{Node: n, src: netip.MustParseAddr("198.51.100.11"), logs: logs}
		s0, s1 := tn.spec(1, 0), tn.spec(2, 0)
		s1.Config.Interface, s1.Config.Src = "eth1", netip.MustParseAddr("203.0.113.11")
		tn.run(t, s0, s1)
		settle(5 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		if len(shared) != 2 || shared[0] == nil || shared[0] != shared[1] {
			t.Errorf("eth0 and eth1 were given the renewers %v, want one for both; logs:\n%s", shared, logs)
		}
	})
}
