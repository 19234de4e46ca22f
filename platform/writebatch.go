package platform

import (
	"runtime"
	"sync"
)

// writeBatcher gathers the packets that goroutines woken together write
// to one socket, so that flush sends them in one system call (Linux:
// sendmmsg), each writer still getting its own packet's error.
//
// Why: the MASTERs of a grid slot send their adverts in the same
// wake-up, one system call each; on a paravirtualised machine a system
// call is tens of microseconds before it does anything (docs/PERF.md).
//
// How: a group commit, as the renewals' (rtnl.renew). The first writer
// leads: it yields the processor (runtime.Gosched), so that the other
// goroutines woken by the same timers run first and queue their packets
// behind it, until a yield finds that the batch did not grow, and at
// least twice (one time in 61 the scheduler lets a yielded goroutine back
// in before those already waiting, never twice in a row); then it
// flushes the batch and hands each writer its answer. With GOMAXPROCS=1
// (the daemon's setting) the others run while it yields; otherwise a
// batch may be smaller, never wrong. A lone writer pays for two Goscheds,
// a fraction of a microsecond. The packets stay the writers' own: each
// waits until its packet was sent, as a plain write does.
type writeBatcher struct {
	// flush sends pkts in order and sets errs[i], nil on entry, to the
	// error of pkts[i]. Calls are serialized (fmu).
	flush func(pkts [][]byte, errs []error)

	mu   sync.Mutex
	open *writeBatch // the batch that takes packets, nil when none
	fmu  sync.Mutex  // one flush at a time
}

// writeBatch is the packets of one wake-up.
type writeBatch struct {
	pkts [][]byte
	errs []error
	done chan struct{}
}

// maxWriteBatch bounds the packets of one flush: the adverts of one grid
// slot of one interface are at most 255/carp.AlignSlots.
const maxWriteBatch = 64

// write sends pkt in one flush with the packets of the other writers of
// the same wake-up and returns its error.
func (w *writeBatcher) write(pkt []byte) error {
	w.mu.Lock()
	b := w.open
	leader := b == nil
	if leader {
		b = &writeBatch{pkts: make([][]byte, 0, 8), done: make(chan struct{})}
		w.open = b
	}
	i := len(b.pkts)
	b.pkts = append(b.pkts, pkt)
	if len(b.pkts) == maxWriteBatch {
		w.open = nil // full: the next writer leads another
	}
	w.mu.Unlock()
	if !leader {
		<-b.done
		return b.errs[i]
	}
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
	b.errs = make([]error, len(b.pkts))
	w.fmu.Lock()
	w.flush(b.pkts, b.errs)
	w.fmu.Unlock()
	close(b.done)
	return b.errs[0]
}
