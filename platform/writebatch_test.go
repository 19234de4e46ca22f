package platform

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// fakeFlush records each flush's packets (their first byte) and fails the
// packets whose second byte is 1, with an error that names the packet.
type fakeFlush struct {
	mu      sync.Mutex
	batches [][]byte
}

func (f *fakeFlush) flush(pkts [][]byte, errs []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b []byte
	for i, p := range pkts {
		b = append(b, p[0])
		if p[1] == 1 {
			errs[i] = fmt.Errorf("packet %d failed", p[0])
		}
	}
	f.batches = append(f.batches, b)
}

// The writers woken together (GOMAXPROCS=1, as the daemon runs) go in
// one flush, in the order they wrote, and each gets its own packet's
// error: the packets that fail are first, in the middle and last of
// the batch, and the others' writers see none.
func TestWriteBatcherOneFlushPerWakeUp(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f := &fakeFlush{}
	w := &writeBatcher{flush: f.flush}
	const n = 9
	fails := map[int]bool{0: true, 4: true, 8: true}
	start := make(chan struct{})
	var mu sync.Mutex
	var order []byte
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := []byte{byte(i), 0}
			if fails[i] {
				pkt[1] = 1
			}
			<-start
			mu.Lock()
			order = append(order, byte(i))
			mu.Unlock()
			errs[i] = w.write(pkt)
		}()
	}
	close(start)
	wg.Wait()
	if len(f.batches) != 1 {
		t.Fatalf("%d flushes %v, want 1 of the %d packets", len(f.batches), f.batches, n)
	}
	if !slices.Equal(f.batches[0], order) {
		t.Errorf("flushed %v, written in the order %v", f.batches[0], order)
	}
	for i, err := range errs {
		want := ""
		if fails[i] {
			want = fmt.Sprintf("packet %d failed", i)
		}
		if got := fmt.Sprint(err); err == nil && want != "" || err != nil && got != want {
			t.Errorf("writer %d: error %v, want %q", i, err, want)
		}
	}
}

// A lone writer's packet is a batch of one, sent before write returns;
// writes one after the other are batches one after the other, in order.
func TestWriteBatcherLoneWriter(t *testing.T) {
	f := &fakeFlush{}
	w := &writeBatcher{flush: f.flush}
	for i := range 3 {
		err := w.write([]byte{byte(i), byte(i % 2)})
		if (err != nil) != (i%2 == 1) {
			t.Errorf("write %d: %v", i, err)
		}
		if len(f.batches) != i+1 {
			t.Fatalf("write %d returned before its flush", i)
		}
	}
	if want := [][]byte{{0}, {1}, {2}}; !slices.EqualFunc(f.batches, want, slices.Equal) {
		t.Errorf("flushes %v, want %v", f.batches, want)
	}
}

// A batch holds at most maxWriteBatch packets: the writer after a full
// batch leads the next, and every writer still gets its answer.
func TestWriteBatcherFull(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f := &fakeFlush{}
	w := &writeBatcher{flush: f.flush}
	const n = maxWriteBatch + 3
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			errs <- w.write([]byte{byte(i), 0})
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, b := range f.batches {
		if len(b) > maxWriteBatch {
			t.Errorf("a flush of %d packets", len(b))
		}
		total += len(b)
	}
	if total != n || len(f.batches) < 2 {
		t.Errorf("%d packets in %d flushes, want %d in at least 2", total, len(f.batches), n)
	}
}
