package platform

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeSocket is a batchWriter that records each flush's packets (their
// mark: the first byte of the payload) on a log shared by the sockets of
// a test, and fails the packets whose second payload byte is 1, with an
// error that names the packet.
type fakeSocket struct {
	index int
	log   *flushLog
	// full: the socket takes no packet now (errWouldBlock), and
	// pollWrite waits until release is closed, then records the packet
	// in polled and fails it as sendBatch would.
	full    bool
	release chan struct{}
	polled  chan byte
}

// flushLog is what the fake sockets of a test were asked to send: one
// entry per sendBatch, in order.
type flushLog struct {
	mu      sync.Mutex
	batches []sent
}

type sent struct {
	index int
	marks []byte
}

func (f *fakeSocket) batchIndex() int { return f.index }

func (f *fakeSocket) sendBatch(pkts [][]byte, errs []error) {
	f.log.mu.Lock()
	defer f.log.mu.Unlock()
	s := sent{index: f.index}
	for i, p := range pkts {
		s.marks = append(s.marks, p[20])
		if f.full {
			errs[i] = errWouldBlock
		} else if p[21] == 1 {
			errs[i] = fmt.Errorf("packet %d failed", p[20])
		}
	}
	f.log.batches = append(f.log.batches, s)
}

func (f *fakeSocket) pollWrite(p []byte) error {
	<-f.release
	f.polled <- p[20]
	if p[21] == 1 {
		return fmt.Errorf("packet %d failed", p[20])
	}
	return nil
}

// testPacket is an IPv4 packet of a 20-byte header whose payload starts
// with mark, then 1 if its send is to fail.
func testPacket(mark byte, fail bool) []byte {
	p := make([]byte, 24)
	p[0] = 0x45
	p[20] = mark
	if fail {
		p[21] = 1
	}
	return p
}

// The writers woken together (GOMAXPROCS=1, as the daemon runs) go in
// one flush, whatever the order they wrote in, in the order of their
// payloads, and each gets its own packet's error: the packets that fail
// are first, in the middle and last of the batch, and the others'
// writers see none.
func TestWriteBatcherOneFlushPerWakeUp(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	log := &flushLog{}
	s := &fakeSocket{index: 3, log: log}
	w := &writeBatcher{}
	const n = 9
	fails := map[int]bool{0: true, 4: true, 8: true}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for _, i := range []int{5, 0, 8, 2, 7, 4, 1, 6, 3} { // started out of order
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := testPacket(byte(i), fails[i])
			<-start
			errs[i] = w.write(s, pkt)
		}()
	}
	close(start)
	wg.Wait()
	want := []sent{{3, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8}}}
	if !slices.EqualFunc(log.batches, want, equalSent) {
		t.Fatalf("flushes %v, want %v", log.batches, want)
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

// The writers of a wake-up to several sockets go in one flush, socket by
// socket in the order of their indexes, each socket's packets in the
// order of their payloads, whatever the order of the writes; each writer
// gets its own packet's error.
func TestWriteBatcherSocketsInOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for run := range 20 {
		log := &flushLog{}
		socks := []*fakeSocket{{index: 7, log: log}, {index: 2, log: log}, {index: 4, log: log}}
		w := &writeBatcher{}
		type write struct {
			s    *fakeSocket
			mark byte
			fail bool
		}
		writes := []write{
			{socks[0], 9, false}, {socks[1], 3, true}, {socks[2], 5, false}, {socks[0], 1, true},
			{socks[1], 8, false}, {socks[2], 2, false}, {socks[0], 4, false}, {socks[1], 6, false},
		}
		// Each run starts the writers in another order.
		r := uint(run*7 + 1)
		for i := len(writes) - 1; i > 0; i-- {
			r = r*1103515245 + 12345
			j := int(r>>16) % (i + 1)
			writes[i], writes[j] = writes[j], writes[i]
		}
		start := make(chan struct{})
		errs := make([]error, len(writes))
		var wg sync.WaitGroup
		for i, wr := range writes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pkt := testPacket(wr.mark, wr.fail)
				<-start
				errs[i] = w.write(wr.s, pkt)
			}()
		}
		close(start)
		wg.Wait()
		want := []sent{{2, []byte{3, 6, 8}}, {4, []byte{2, 5}}, {7, []byte{1, 4, 9}}}
		if !slices.EqualFunc(log.batches, want, equalSent) {
			t.Fatalf("run %d: flushes %v, want %v", run, log.batches, want)
		}
		for i, wr := range writes {
			if got, want := fmt.Sprint(errs[i]), fmt.Sprintf("packet %d failed", wr.mark); wr.fail != (errs[i] != nil) || wr.fail && got != want {
				t.Errorf("run %d: packet %d: error %v", run, wr.mark, errs[i])
			}
		}
	}
}

func equalSent(a, b sent) bool { return a.index == b.index && slices.Equal(a.marks, b.marks) }

// A lone writer's packet is a batch of one, sent before write returns;
// writes one after the other are batches one after the other, in order.
func TestWriteBatcherLoneWriter(t *testing.T) {
	log := &flushLog{}
	s := &fakeSocket{index: 1, log: log}
	w := &writeBatcher{}
	for i := range 3 {
		err := w.write(s, testPacket(byte(i), i%2 == 1))
		if (err != nil) != (i%2 == 1) {
			t.Errorf("write %d: %v", i, err)
		}
		if len(log.batches) != i+1 {
			t.Fatalf("write %d returned before its flush", i)
		}
	}
	if want := []sent{{1, []byte{0}}, {1, []byte{1}}, {1, []byte{2}}}; !slices.EqualFunc(log.batches, want, equalSent) {
		t.Errorf("flushes %v, want %v", log.batches, want)
	}
}

// A batch holds at most maxWriteBatch packets: the writer after a full
// batch leads the next, and every writer still gets its answer.
func TestWriteBatcherFull(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	log := &flushLog{}
	s := &fakeSocket{index: 1, log: log}
	w := &writeBatcher{}
	const n = maxWriteBatch + 3
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			pkt := testPacket(byte(i), false)
			<-start
			errs <- w.write(s, pkt)
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, b := range log.batches {
		if len(b.marks) > maxWriteBatch {
			t.Errorf("a flush of %d packets", len(b.marks))
		}
		total += len(b.marks)
	}
	if total != n || len(log.batches) < 2 {
		t.Errorf("%d packets in %d flushes, want %d in at least 2", total, len(log.batches), n)
	}
}

// A socket that cannot take its packets now (a full buffer: EAGAIN) holds
// up no other: the packets of the other sockets in the same flush are
// sent and their writers answered while its writers wait, each then
// sending its own packet the poller's way and getting that answer.
func TestWriteBatcherFullSocketHoldsNoOther(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	log := &flushLog{}
	full := &fakeSocket{index: 1, log: log, full: true, release: make(chan struct{}), polled: make(chan byte, 8)}
	ok := &fakeSocket{index: 2, log: log}
	w := &writeBatcher{}
	start := make(chan struct{})
	fullDone, okDone := make(chan error, 3), make(chan error, 3)
	for i := range 3 {
		go func() {
			pkt := testPacket(byte(10+i), i == 1)
			<-start
			fullDone <- w.write(full, pkt)
		}()
		go func() {
			pkt := testPacket(byte(20+i), false)
			<-start
			okDone <- w.write(ok, pkt)
		}()
	}
	close(start)
	for range 3 {
		select {
		case err := <-okDone:
			if err != nil {
				t.Errorf("a writer of the other socket: %v", err)
			}
		case <-time.After(5 * time.Second):
			close(full.release)
			t.Fatal("the writers of the other socket waited for the full one's")
		}
	}
	select {
	case err := <-fullDone:
		t.Fatalf("a writer of the full socket returned before it could send: %v", err)
	default:
	}
	close(full.release)
	var failed int
	for range 3 {
		if err := <-fullDone; err != nil {
			if err.Error() != "packet 11 failed" {
				t.Errorf("a writer of the full socket: %v", err)
			}
			failed++
		}
	}
	close(full.polled)
	var polled []byte
	for m := range full.polled {
		polled = append(polled, m)
	}
	slices.Sort(polled)
	if failed != 1 || !slices.Equal(polled, []byte{10, 11, 12}) {
		t.Errorf("the full socket's writers: %d failed, polled %v; want 1 failed, 10 11 12 polled", failed, polled)
	}
}

// quietSocket is a batchWriter that sends nothing and allocates nothing:
// it counts its flushes and packets.
type quietSocket struct {
	index         int
	flushes, pkts int
}

func (q *quietSocket) batchIndex() int                       { return q.index }
func (q *quietSocket) sendBatch(pkts [][]byte, errs []error) { q.flushes++; q.pkts += len(pkts) }
func (q *quietSocket) pollWrite([]byte) error                { return nil }

// A wake-up's writes allocate nothing once the batcher has run one: the
// batch and its buffers are kept for the next (writeBatcher.spare), for
// a lone writer as for several writers woken together, to two sockets.
// (A batch made anew for each wake-up was five allocations: the batch,
// its three slices and its channel.)
func TestWriteBatcherNoAllocs(t *testing.T) {
	t.Run("lone", func(t *testing.T) {
		s := &quietSocket{index: 1}
		w := &writeBatcher{}
		pkt := testPacket(1, false)
		if n := testing.AllocsPerRun(100, func() { _ = w.write(s, pkt) }); n != 0 {
			t.Errorf("%v allocations per write, want 0", n)
		}
	})
	t.Run("together", func(t *testing.T) {
		const writers = 8
		socks := []*quietSocket{{index: 1}, {index: 2}}
		w := &writeBatcher{}
		var starts [writers]chan struct{}
		done := make(chan struct{}, writers)
		stop := make(chan struct{})
		defer close(stop)
		for i := range writers {
			starts[i] = make(chan struct{})
			go func() {
				pkt := testPacket(byte(i), false)
				for {
					select {
					case <-starts[i]:
					case <-stop:
						return
					}
					_ = w.write(socks[i%2], pkt)
					done <- struct{}{}
				}
			}()
		}
		wake := func() {
			for i := range writers {
				starts[i] <- struct{}{}
			}
			for range writers {
				<-done
			}
		}
		const runs = 100
		n := testing.AllocsPerRun(runs, wake) // GOMAXPROCS=1, as the daemon runs
		if n != 0 {
			t.Errorf("%v allocations per wake-up of %d writers, want 0", n, writers)
		}
		// Each wake-up's writes went in one flush: one sendBatch per socket.
		if f := socks[0].flushes + socks[1].flushes; f != 2*(runs+1) {
			t.Errorf("%d flushes in %d wake-ups to 2 sockets, want one per socket and wake-up", f, runs+1)
		}
	})
}

// TestLinuxWriteNoAllocs: a write to a real raw socket, its flush and
// its sendmmsg(2) included, allocates nothing (the batch made anew and
// the sendmmsg's closure were ten allocations a write).
func TestLinuxWriteNoAllocs(t *testing.T) {
	inThrowawayNamespace(t, func() {
		_, tx := rawPair(t)
		p := testPacket4([4]byte{198, 51, 100, 2}, 0, 56)
		if n := testing.AllocsPerRun(100, func() {
			if err := tx.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%v allocations per write, want 0", n)
		}
	})
}

// TestWriteBatcherOverlapOwnAnswer has writers that write again at once,
// so that a wake-up's batch fills while the last one's writers are still
// taking their answers: a batch put back for reuse (spare) before every
// writer has its answer hands one writer another's (the "together" tests
// wait for every writer between wake-ups, and pass with that bug).
func TestWriteBatcherOverlapOwnAnswer(t *testing.T) {
	w := &writeBatcher{}
	s := &fakeSocket{index: 1, log: &flushLog{}}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for k := range 1000 {
				mark := byte(g*16 + k%16)
				err := w.write(s, testPacket(mark, true))
				if want := fmt.Sprintf("packet %d failed", mark); err == nil || err.Error() != want {
					t.Errorf("writer %d: %v, want %s", g, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
