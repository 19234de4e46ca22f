package platformtest

import (
	"fmt"
	"io"
	"sync"

	"github.com/ucarp-go/ucarp/platform"
)

// Locks fakes platform.Lock for one process: a name is held by one
// holder at a time, another Lock of it returns platform.ErrLocked, and
// closing the holder's io.Closer frees it. The zero value holds nothing.
type Locks struct {
	mu   sync.Mutex
	held map[string]bool
}

// Lock takes the lock called name, as platform.Lock does.
func (l *Locks) Lock(name string) (io.Closer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]bool{}
	}
	if l.held[name] {
		return nil, fmt.Errorf("%w: %s", platform.ErrLocked, name)
	}
	l.held[name] = true
	return unlocker(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, name)
	}), nil
}

// Held is how many locks are held.
func (l *Locks) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}

type unlocker func()

func (u unlocker) Close() error { u(); return nil }
