package node

import (
	"testing"

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
