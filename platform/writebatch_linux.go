package platform

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"sync"
)

// WriteBatches gathers the packets that goroutines woken together write
// to the sockets that share it (Batcher.ShareBatches: a process's raw
// IPv4 sockets, one per interface), so that one flush sends them all, in
// one system call per socket (Linux: sendmmsg), each writer still
// getting its own packet's error. Its zero value is ready to use.
type WriteBatches struct {
	w writeBatcher
}

// batchWriter is a socket whose packets a writeBatcher gathers.
type batchWriter interface {
	// batchIndex is the socket's place in a flush: its interface's
	// index.
	batchIndex() int
	// sendBatch sends pkts in order, in as few system calls as it can,
	// and sets errs[i], nil on entry, to the error of pkts[i]: for a
	// packet that the socket cannot take now, errWouldBlock, and nothing
	// waits. Calls are serialized by the writeBatcher.
	sendBatch(pkts [][]byte, errs []error)
	// pollWrite sends pkt, waiting in the poller while the socket cannot
	// take it.
	pollWrite(pkt []byte) error
}

// errWouldBlock is sendBatch's answer for a packet that the socket
// cannot take now (its buffer full: a stalled queue). The packet's writer
// sends it the poller's way after the flush, so that one socket's wait
// holds up no other socket's packets, nor the next wake-up's batch.
var errWouldBlock = errors.New("platform: socket buffer full")

// writeBatcher gathers the packets that goroutines woken together write
// to one or more sockets, so that flush sends them in one system call
// per socket, each writer still getting its own packet's error.
//
// Why: the MASTERs of a grid slot send their adverts in the same
// wake-up, one system call each; on a paravirtualised machine a system
// call is tens of microseconds before it does anything (docs/PERF.md).
//
// How: a group commit (the renewals, rtnl.post, are gathered the same
// way by the node's one renewer, Renewals). The first writer leads: it yields
// the processor (runtime.Gosched), so that the other goroutines woken by
// the same timers run first and queue their packets behind it, until a yield finds that the batch did not grow, and at
// least twice (one time in 61 the scheduler lets a yielded goroutine back
// in before those already waiting, never twice in a row); then it
// flushes the batch and hands each writer its answer. With GOMAXPROCS=1
// (the daemon's setting) the others run while it yields; otherwise a
// batch may be smaller, never wrong. A lone writer pays for two Goscheds,
// a fraction of a microsecond. The packets stay the writers' own: each
// waits until its packet was sent, as a plain write does.
//
// The order on the wire is fixed, whatever the order in which the
// scheduler ran the writers: a flush sends socket by socket in the order
// of their interfaces' indexes, and each socket's packets in the order of
// their payloads' bytes (for CARP and VRRP, which start with the version
// and type, by vhid). With the order of the writers, which changed from
// one second to the next, an advert's place in its wake-up's sends
// changed too, and so its interval (docs/PERF.md).
type writeBatcher struct {
	mu    sync.Mutex
	sent  sync.Cond   // on mu: a batch was flushed (its sent is set)
	open  *writeBatch // the batch that takes packets, nil when none
	spare *writeBatch // a batch whose writers all have their answers, for the next

	fmu sync.Mutex // one flush at a time; guards the buffers below
	idx []int      // the batch's packets in the order of the wire
	out [][]byte   // one socket's packets, in that order
	oer []error    // their errors
}

// writeBatch is the packets of one wake-up. Its buffers are kept from
// one batch to the next (writeBatcher.spare), as the renewals' are
// (rtnl.spare): a wake-up's writes allocate nothing.
type writeBatch struct {
	to      []batchWriter
	pkts    [][]byte
	errs    []error
	sent    bool // errs is in (writeBatcher.mu)
	waiting int  // writers yet to take their answer (writeBatcher.mu)
}

// take returns writer i's answer and, when it is the last writer to take
// one, keeps the batch for the next wake-up: cleared, so that it holds on
// to no packet, socket or error. Under w.mu.
func (w *writeBatcher) take(b *writeBatch, i int) error {
	err := b.errs[i]
	if b.waiting--; b.waiting == 0 {
		clear(b.to)
		clear(b.pkts)
		clear(b.errs)
		b.to, b.pkts, b.errs, b.sent = b.to[:0], b.pkts[:0], b.errs[:0], false
		w.spare = b
	}
	return err
}

// maxWriteBatch bounds the packets of one flush, of all its sockets
// together: the adverts of one grid slot are at most 255/carp.AlignSlots
// per interface; a larger wake-up makes several batches.
const maxWriteBatch = 64

// write sends pkt, an IPv4 packet of at least a header, to the socket
// to, in one flush with the packets of the other writers of the same
// wake-up, and returns its error.
func (w *writeBatcher) write(to batchWriter, pkt []byte) error {
	w.mu.Lock()
	if w.sent.L == nil {
		w.sent.L = &w.mu // the zero value is ready to use
	}
	b := w.open
	leader := b == nil
	if leader {
		if b = w.spare; b != nil {
			w.spare = nil
		} else {
			b = &writeBatch{to: make([]batchWriter, 0, 8), pkts: make([][]byte, 0, 8)}
		}
		w.open = b
	}
	i := len(b.pkts)
	b.to = append(b.to, to)
	b.pkts = append(b.pkts, pkt)
	b.waiting++
	if len(b.pkts) == maxWriteBatch {
		w.open = nil // full: the next writer leads another
	}
	if !leader {
		for !b.sent {
			w.sent.Wait()
		}
		err := w.take(b, i)
		w.mu.Unlock()
		return answer(to, pkt, err)
	}
	w.mu.Unlock()
	for yields, n := 0, 1; ; yields++ {
		runtime.Gosched()
		w.mu.Lock()
		k := len(b.pkts)
		last := k == maxWriteBatch || k == n && yields > 0
		if last && w.open == b {
			w.open = nil
		}
		w.mu.Unlock()
		if last {
			break
		}
		n = k
	}
	// No writer adds to b now, and none reads b.errs before b.sent.
	b.errs = slices.Grow(b.errs[:0], len(b.pkts))[:len(b.pkts)]
	w.fmu.Lock()
	w.flush(b)
	w.fmu.Unlock()
	w.mu.Lock()
	b.sent = true
	w.sent.Broadcast()
	err := w.take(b, 0)
	w.mu.Unlock()
	return answer(to, pkt, err)
}

// answer is the error of a write whose flush answered err: a packet that
// the socket could not take is sent now, the poller's way.
func answer(to batchWriter, pkt []byte, err error) error {
	if err == errWouldBlock {
		return to.pollWrite(pkt)
	}
	return err
}

// flush sends b's packets in the order of the wire (see writeBatcher),
// one sendBatch per socket, and sets b.errs (under fmu).
func (w *writeBatcher) flush(b *writeBatch) {
	w.idx = w.idx[:0]
	for i := range b.pkts {
		w.idx = append(w.idx, i)
	}
	slices.SortFunc(w.idx, func(i, j int) int {
		if d := b.to[i].batchIndex() - b.to[j].batchIndex(); d != 0 {
			return d
		}
		return bytes.Compare(payload(b.pkts[i]), payload(b.pkts[j]))
	})
	for s := 0; s < len(w.idx); {
		to := b.to[w.idx[s]]
		e := s
		w.out = w.out[:0]
		for e < len(w.idx) && b.to[w.idx[e]] == to {
			w.out = append(w.out, b.pkts[w.idx[e]])
			e++
		}
		w.oer = slices.Grow(w.oer[:0], e-s)[:e-s]
		clear(w.oer)
		to.sendBatch(w.out, w.oer)
		for k, err := range w.oer {
			b.errs[w.idx[s+k]] = err
		}
		s = e
	}
	clear(w.out) // the packets are the writers' again
}

// payload is what follows the IPv4 header of pkt, as its header length
// says (nothing if pkt is shorter).
func payload(pkt []byte) []byte {
	hl := int(pkt[0]&0x0f) * 4
	if hl > len(pkt) {
		return nil
	}
	return pkt[hl:]
}
