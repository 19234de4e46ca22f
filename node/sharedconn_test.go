package node

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/platform"
)

type plainConn struct{ platform.IPConn }

type backlogConn struct {
	plainConn
	behind bool
}

func (c *backlogConn) Backlog() bool { return c.behind }

// The interface's shared socket passes on its reader's backlog, which a
// group whose dead timer is due waits for (group.catchUp), and says none
// for a socket that cannot tell.
func TestSharedConnBacklog(t *testing.T) {
	b := &backlogConn{behind: true}
	s, ok := newSharedConn(b).(platform.Backlogger)
	if !ok || !s.Backlog() {
		t.Fatal("the shared socket hides its reader's backlog")
	}
	b.behind = false
	if s.Backlog() {
		t.Fatal("a backlog the socket does not have")
	}
	if p, ok := newSharedConn(plainConn{}).(platform.Backlogger); ok && p.Backlog() {
		t.Fatal("a backlog for a socket that cannot tell")
	}
}

// barrierConn is a platform.Batcher whose WritePacket returns once two
// writers are in it at the same time, or fails after 10 s.
type barrierConn struct {
	plainConn
	mu  sync.Mutex
	n   int
	all chan struct{}
}

func (c *barrierConn) ShareBatches(*platform.WriteBatches) {}

func (c *barrierConn) WritePacket([]byte) error {
	c.mu.Lock()
	if c.n++; c.n == 2 {
		close(c.all)
	}
	c.mu.Unlock()
	select {
	case <-c.all:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("alone in WritePacket for 10 s")
	}
}

// The groups of an interface write a socket that gathers the writes of a
// wake-up (platform.Batcher) without the shared socket's lock, which
// would let one writer at a time into it: a batch of one.
func TestSharedConnBatcherUnlocked(t *testing.T) {
	s := newSharedConn(&barrierConn{all: make(chan struct{})})
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- s.WritePacket(nil) }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("the writers of a Batcher went in one at a time: %v", err)
		}
	}
}
