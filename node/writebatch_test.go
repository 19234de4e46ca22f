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

// batchingOS hands out sockets that record the write batches they are
// told to share, as Linux's raw sockets take them.
type batchingOS struct {
	platform.OS
	mu     *sync.Mutex
	shared *[]*platform.WriteBatches
}

func (b batchingOS) OpenIP(o platform.IPOptions) (platform.IPConn, error) {
	c, err := b.OS.OpenIP(o)
	if err != nil {
		return nil, err
	}
	return batchingConn{c, b}, nil
}

type batchingConn struct {
	platform.IPConn
	os batchingOS
}

func (c batchingConn) ShareBatches(w *platform.WriteBatches) {
	c.os.mu.Lock()
	defer c.os.mu.Unlock()
	*c.os.shared = append(*c.os.shared, w)
}

// TestInterfacesShareOneWriteBatch: the raw sockets of a node's
// interfaces share one write batch, so that the adverts of a wake-up go
// out in one flush, in the order of the interfaces (docs/PERF.md, "256
// groups: the adverts of a wake-up in one sendmmsg, in a fixed order").
func TestInterfacesShareOneWriteBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var shared []*platform.WriteBatches
		logs := runTwoInterfaces(t, func(h platform.OS) platform.OS { return batchingOS{h, &mu, &shared} })
		mu.Lock()
		defer mu.Unlock()
		if len(shared) != 2 || shared[0] == nil || shared[0] != shared[1] {
			t.Errorf("the sockets of eth0 and eth1 were given %v, want one batch for both; logs:\n%s", shared, logs)
		}
	})
}

// runTwoInterfaces runs, in the caller's synctest bubble, a node of two
// groups on two interfaces (eth0 and eth1, each on a LAN of its own),
// each interface's OS wrapped by wrap, for 5 s, and returns its logs.
func runTwoInterfaces(t *testing.T, wrap func(platform.OS) platform.OS) *logBuf {
	var lan0, lan1 platformtest.LAN
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
				return wrap(h), nil
			}
			return nil, fmt.Errorf("no interface %s", name)
		},
	})
	tn := &testNode{Node: n, src: netip.MustParseAddr("198.51.100.11"), logs: logs}
	s0, s1 := tn.spec(1, 0), tn.spec(2, 0)
	s1.Config.Interface, s1.Config.Src = "eth1", netip.MustParseAddr("203.0.113.11")
	tn.run(t, s0, s1)
	settle(5 * time.Second)
	return logs
}
