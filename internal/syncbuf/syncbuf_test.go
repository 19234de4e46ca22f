package syncbuf

import (
	"fmt"
	"sync"
	"testing"
)

// TestBuffer: lines written from many goroutines while the test reads
// are all there, whole (go test -race checks the locking).
func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "[INFO] writer %d line %d\n", i, j)
				_ = b.Count("[INFO]")
			}
		})
	}
	wg.Wait()
	if n := b.Count("[INFO] writer "); n != 800 {
		t.Fatalf("%d lines, want 800:\n%s", n, b.String())
	}
	if n := b.Count("writer 7 line 99\n"); n != 1 {
		t.Fatalf("writer 7's last line %d times", n)
	}
}
