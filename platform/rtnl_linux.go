package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

// rtnl is a route netlink socket for requests (add, replace, delete and
// list addresses), kept open from one request to the next, with one
// receive buffer. vishvananda/netlink opens a socket and allocates a
// 64 KiB buffer for every request; with a MASTER renewing its address's
// lifetime every second, hundreds of groups made that garbage most of the
// daemon's idle cost. One request at a time; the socket opens when the
// rtnl is made (newRTNL), or failing that on first use, and closes when
// the rtnl is collected.
type rtnl struct {
	mu   sync.Mutex
	fd   *rtnlFD
	seq  uint32
	buf  []byte
	port uint32 // the socket's netlink port, kept when it is opened again

	// ns is the network namespace of the thread that made the rtnl
	// (newRTNL), zero when unknown: the socket is opened again only on a
	// thread of that namespace (open).
	ns netNS

	// renewals is the renewer of the rtnl's renewals (post): the one
	// shared with the other interfaces' (share), or else one of its own,
	// made at its first renewal.
	renewals atomic.Pointer[renewer]

	bmu     sync.Mutex
	pending *renewBatch // the renewals posted since the renewer took the last (post)
	spare   *renewBatch // a batch sent and answered, for the next
	batches int         // datagrams of renewals sent (r.mu)
	resent  int         // renewals sent again alone after an overrun (r.mu)
}

type rtnlFD struct{ fd int }

// newRTNL makes an rtnl whose renewals go to rs; nil: a renewer of its
// own.
func newRTNL(rs *renewer) *rtnl {
	r := &rtnl{fd: &rtnlFD{fd: -1}}
	if rs != nil {
		r.renewals.Store(rs)
	}
	runtime.AddCleanup(r, func(f *rtnlFD) {
		if f.fd >= 0 {
			unix.Close(f.fd)
		}
	}, r.fd)
	// Opened here, on the caller's thread, in its network namespace: the
	// renewals are sent by the renewer, whose thread could be any
	// (tests move threads into namespaces of their own). A failure is
	// the first request's.
	runtime.LockOSThread()
	r.ns = threadNetNS()
	r.mu.Lock()
	r.open()
	r.mu.Unlock()
	runtime.UnlockOSThread()
	return r
}

// netNS is a network namespace: the device and inode of its
// /proc/thread-self/ns/net.
type netNS struct{ dev, ino uint64 }

// threadNetNS is the network namespace of the calling thread (the caller
// keeps its goroutine on it), zero when unknown.
func threadNetNS() netNS {
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) != nil {
		return netNS{}
	}
	return netNS{uint64(st.Dev), st.Ino}
}

// errOtherNetNS is the answer of an rtnl whose socket, closed after an
// error, would be opened again on a thread of another network namespace
// than the one it was made in: its requests would go to that
// namespace's interfaces and addresses.
var errOtherNetNS = errors.New("platform: netlink handle of another network namespace")

// rtnlTimeout bounds the wait for the kernel's answer.
const rtnlTimeout = 5 * time.Second

// open opens the socket if it is closed (reset), on the calling thread,
// if that thread is in the rtnl's network namespace: the caller may be
// the renewer, whose thread need not be in the namespace of the thread
// that made the rtnl (newRTNL).
func (r *rtnl) open() error {
	if r.fd.fd >= 0 {
		return nil
	}
	// The same thread from the check to the socket's creation.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if r.ns != (netNS{}) {
		if ns := threadNetNS(); ns != (netNS{}) && ns != r.ns {
			return errOtherNetNS
		}
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	// The port is the kernel's choice the first time, then the same: the
	// address subscriptions drop the events of this socket's requests by
	// it (see filterEvents).
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: r.port}); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if nl, ok := sa.(*unix.SockaddrNetlink); err == nil && ok {
		r.port = nl.Pid
	}
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("connect", err)
	}
	r.fd.fd = fd
	if r.buf == nil {
		r.buf = make([]byte, 64<<10)
	}
	return nil
}

// portID is the socket's netlink port, opening it if need be; 0 when it
// cannot be opened.
func (r *rtnl) portID() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open() != nil {
		return 0
	}
	return r.port
}

// reset closes the socket after a failure that may leave an answer in
// it; the next request opens another.
func (r *rtnl) reset() {
	if r.fd.fd >= 0 {
		unix.Close(r.fd.fd)
		r.fd.fd = -1
	}
}

// execute sends req and reads the kernel's answer: each message of type
// resType (a dump's parts) is handed to each, whose data is only valid
// during the call. It returns the kernel's error, as a syscall.Errno.
func (r *rtnl) execute(req *nl.NetlinkRequest, resType uint16, each func(data []byte)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return err
	}
	r.seq++
	req.Seq = r.seq
	req.Pid = 0
	return r.roundTrip(req.Serialize(), resType, each)
}

// executeMsg sends msg, one serialized request that expects no data
// (an addition, a deletion), and returns the kernel's answer as execute.
func (r *rtnl) executeMsg(msg []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return err
	}
	r.seq++
	binary.NativeEndian.PutUint32(msg[8:], r.seq)
	binary.NativeEndian.PutUint32(msg[12:], 0)
	return r.roundTrip(msg, 0, nil)
}

// roundTrip sends b, a request whose sequence number is r.seq, and reads
// the kernel's answer as execute does. r.mu is held, the socket open.
func (r *rtnl) roundTrip(b []byte, resType uint16, each func(data []byte)) error {
	// The socket is bound to the kernel (port 0) by connect. Neither the
	// send nor the reads are raw (rtnlSendto, rtnlRecv): the send waits
	// for the kernel's rtnl lock, and so do a dump's reads after the
	// first. The kernel handles a route request in sendto and queues its
	// answer before returning, so the answer is read at once; poll waits
	// only if it is not.
	if err := rtnlSendto(r.fd.fd, b); err != nil {
		r.reset()
		return os.NewSyscallError("sendto", err)
	}
	for {
		n, err := rtnlRecv(r.fd.fd, r.buf)
		if err == unix.EAGAIN {
			fds := []unix.PollFd{{Fd: int32(r.fd.fd), Events: unix.POLLIN}}
			switch k, perr := unix.Poll(fds, int(rtnlTimeout/time.Millisecond)); {
			case perr == unix.EINTR:
				continue
			case perr != nil:
				err = perr
			case k == 0:
				err = unix.ETIMEDOUT
			default:
				continue
			}
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			r.reset()
			return os.NewSyscallError("recvfrom", err)
		}
		done, err := r.parse(r.buf[:n], resType, each)
		if done || err != nil {
			return err
		}
	}
}

// renewBatch is the address renewals of one wake-up, sent together
// (datagrams of maxBatch requests at most). Its buffers are kept from one
// batch to the next (rtnl.spare): a renewal allocates nothing.
type renewBatch struct {
	out  []byte      // the requests one after the other
	offs []int       // where each request starts in out
	errs []error     // the kernel's answer to each, once sent
	reqs []renewDone // who waits for each answer
}

// renewDone is who posted a renewal, and what its answer is about.
type renewDone struct {
	done   func(error)
	prefix netip.Prefix
	ifname string
}

// msg is the i-th request of the batch.
func (b *renewBatch) msg(i int) []byte {
	end := len(b.out)
	if i+1 < len(b.offs) {
		end = b.offs[i+1]
	}
	return b.out[b.offs[i]:end]
}

// maxBatch bounds the messages of one datagram (about 100 bytes each).
// At most 64: sendBatch keeps a bit per request in a uint64.
const maxBatch = 64

var _ [64 - maxBatch]struct{} // fails to compile if maxBatch > 64

// Renewals is a renewer: a goroutine that sends the address renewals
// (post) of the handles that share it (Renewer.ShareRenewals: a node's
// interfaces and their virtual MACs' macvlans), started by the first
// renewal and kept from then on. Its zero value is ready to use. A
// handle that was given none (platform tests, tools) makes one of its
// own at its first renewal.
//
// One for the node rather than one per handle: the kernel's rtnl lock,
// which is what a renewal waits for, is one for the whole kernel, so that
// handles' renewals made on goroutines of their own would wait for it
// one after the other anyway; one stack, whatever the number of
// interfaces; and the goroutine keeps no handle reachable between its
// wake-ups (a handle's socket is still closed when the handle is
// collected). The other side of it: one renewer serves every interface,
// so a handle whose kernel stops answering (a listing polling its 5 s
// timeout, a resend) delays the other interfaces' renewals too; the rtnl
// lock is the kernel's anyway.
//
// Why a goroutine that stays: a goroutine per renewal, as before, made the
// runtime read its tables (.gopclntab) at each start, exit and stack
// growth, pages of the executable that a lone MASTER otherwise leaves
// unmapped after cmd/ucarp releases them (docs/PERF.md, "What one group
// maps back"). It need not stop: asleep, it holds its stack and its
// queue (a few words), no handle, no socket, not the node. But it stays
// for the process's life, also past its node's: a daemon, which makes one
// node, has one; a program that makes node after node, or handles of their
// own that renew (tools, tests), keeps one per node or handle, as many as
// it made.
type Renewals struct {
	r atomic.Pointer[renewer] // made at the first share
}

// renewer is a Renewals' goroutine and its queue, apart so that the
// goroutine keeps no more than this reachable (not the Renewals' node).
type renewer struct {
	mu     sync.Mutex
	queued []*rtnl       // the handles with renewals posted, in the order of their first
	wake   chan struct{} // to loop, which post makes at the first renewal
	posts  atomic.Uint64 // renewals posted, to every handle
}

// renewer is rs's renewer, made now if need be.
func (rs *Renewals) renewer() *renewer {
	if q := rs.r.Load(); q != nil {
		return q
	}
	rs.r.CompareAndSwap(nil, new(renewer))
	return rs.r.Load()
}

// share makes r's renewals go to rs's renewer from its next renewal on.
func (r *rtnl) share(rs *Renewals) { r.renewals.Store(rs.renewer()) }

// renewer is r's renewer: the one it shares, or its own, made now if need
// be.
func (r *rtnl) renewer() *renewer {
	if q := r.renewals.Load(); q != nil {
		return q
	}
	r.renewals.CompareAndSwap(nil, new(renewer))
	return r.renewals.Load()
}

// post queues the renewal of v on a's interface (an RTM_NEWADDR that
// replaces) and returns; the renewer sends it with the other renewals
// posted in the same wake-up, in one datagram, and calls done with the
// kernel's answer, on its goroutine.
//
// Why one datagram: the kernel answers each renewal of an address's
// lifetime by waking its address-lifetime worker (inet_rtm_newaddr queues
// check_lifetime at once), which preempts the daemon at the end of the
// system call: a context switch there and back per renewal, the largest
// share of a renewal's cost on this kind of machine (docs/PERF.md). The
// MASTERs of a grid slot renew in the same wake-up; in one datagram the
// kernel handles them all in one system call, and the daemon is
// preempted at most once.
//
// How: the first renewal posted to a handle queues it for the renewer and
// wakes it. Before it takes what was posted, the renewer yields the
// processor (runtime.Gosched), so that the other goroutines woken by the
// same timers run first and post theirs, until a yield finds that nothing
// more was posted, and at least twice (one time in 61 the scheduler lets
// a yielded goroutine back in before those already waiting, never twice
// in a row), as the adverts' write batch does. With GOMAXPROCS=1 (the
// daemon's setting) the others run while it yields; otherwise a batch may
// be smaller, never wrong. No poster waits for the renewer: while the
// kernel holds it (its rtnl lock taken by another process), the renewals
// posted meanwhile wait for the next batch, and their groups go on.
func (r *rtnl) post(a linuxAddrs, v vip.Address, done func(error)) {
	r.bmu.Lock()
	b := r.pending
	first := b == nil
	if first {
		if b = r.spare; b != nil {
			r.spare = nil
		} else {
			b = &renewBatch{}
		}
		r.pending = b
	}
	b.offs = append(b.offs, len(b.out))
	b.out = a.appendAddrRequest(b.out, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, v)
	b.reqs = append(b.reqs, renewDone{done: done, prefix: v.Prefix, ifname: a.ifi.Name})
	rs := r.renewer()
	rs.posts.Add(1)
	r.bmu.Unlock()
	if !first {
		return // queued already, and not taken yet
	}
	rs.mu.Lock()
	if rs.wake == nil {
		rs.wake = make(chan struct{}, 1)
		go rs.loop(rs.wake)
	}
	rs.queued = append(rs.queued, r)
	rs.mu.Unlock()
	select {
	case rs.wake <- struct{}{}:
	default: // awake already: it looks at the queue again before it sleeps
	}
}

// renew is post for a caller that waits for the answer.
func (r *rtnl) renew(a linuxAddrs, v vip.Address) error {
	ch := make(chan error, 1)
	r.post(a, v, func(err error) { ch <- err })
	return <-ch
}

// loop is the renewer: at each wake-up, once the other goroutines of the
// wake-up have run, it sends the renewals posted to each handle queued,
// until none is left.
func (rs *renewer) loop(wake <-chan struct{}) {
	var hs []*rtnl
	for range wake {
		for n, yields := rs.posts.Load(), 0; ; yields++ {
			runtime.Gosched()
			if m := rs.posts.Load(); m != n || yields == 0 {
				n = m
				continue
			}
			break
		}
		for {
			rs.mu.Lock()
			hs = append(hs, rs.queued...)
			clear(rs.queued)
			rs.queued = rs.queued[:0]
			rs.mu.Unlock()
			if len(hs) == 0 {
				break
			}
			for _, r := range hs {
				r.flush()
			}
			clear(hs) // no handle kept reachable while asleep
			hs = hs[:0]
		}
	}
}

// flush sends the renewals posted to r, in datagrams of maxBatch at
// most, and hands each poster its answer.
func (r *rtnl) flush() {
	r.bmu.Lock()
	b := r.pending
	r.pending = nil
	r.bmu.Unlock()
	if b == nil {
		return
	}
	for lo := 0; lo < len(b.offs); lo += maxBatch {
		r.sendBatch(b, lo, min(lo+maxBatch, len(b.offs)))
	}
	for i, q := range b.reqs {
		err := b.errs[i]
		if err != nil {
			err = fmt.Errorf("platform: adding %s to %s: %w", q.prefix, q.ifname, err)
		}
		q.done(err)
	}
	clear(b.reqs) // the posters' callbacks
	clear(b.errs)
	b.out, b.offs, b.errs, b.reqs = b.out[:0], b.offs[:0], b.errs[:0], b.reqs[:0]
	r.bmu.Lock()
	r.spare = b
	r.bmu.Unlock()
}

// sendBatch sends b's requests lo to hi (at most maxBatch), without
// NLM_F_ACK, in one datagram and puts in b.errs the kernel's answer to
// each. The kernel handles a route request within the sendto that carries
// it and, without NLM_F_ACK, answers only a failure, queued before sendto
// returns: so what the socket holds once sendto has returned is every
// error there is, and a request without one succeeded. Should an answer not fit (ENOBUFS: the
// kernel could not queue it, the socket's buffer full of the batch's
// other errors), the lost one could be any request without an answer:
// each of those is sent again alone, acknowledged (resend). A renewal is
// a replace, which does the same thing twice: one that had succeeded
// gives the lifetime again, a moment later.
func (r *rtnl) sendBatch(b *renewBatch, lo, hi int) {
	for len(b.errs) < hi {
		b.errs = append(b.errs, nil)
	}
	errs := b.errs[lo:hi]
	clear(errs)
	n := hi - lo
	failAll := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		failAll(err)
		return
	}
	first := r.seq + 1
	for i := lo; i < hi; i++ {
		m := b.msg(i)
		r.seq++
		binary.NativeEndian.PutUint16(m[6:], binary.NativeEndian.Uint16(m[6:])&^unix.NLM_F_ACK)
		binary.NativeEndian.PutUint32(m[8:], r.seq)
		binary.NativeEndian.PutUint32(m[12:], 0)
	}
	r.batches++
	end := len(b.out)
	if hi < len(b.offs) {
		end = b.offs[hi]
	}
	if err := rtnlSendto(r.fd.fd, b.out[b.offs[lo]:end]); err != nil { // it may wait for the rtnl lock
		r.reset()
		failAll(os.NewSyscallError("sendto", err))
		return
	}
	var answered uint64 // a bit per request: maxBatch is 64
	overrun := false
	for {
		k, err := rawRecv(r.fd.fd, r.buf)
		switch err {
		case nil:
		case unix.EAGAIN:
			if overrun {
				r.resend(b, lo, hi, answered)
			}
			return // every error is in
		case unix.EINTR:
			continue
		case unix.ENOBUFS:
			// An answer was dropped; those queued before and after it
			// are still to be read.
			overrun = true
			continue
		default:
			r.reset()
			failAll(os.NewSyscallError("recvfrom", err))
			return
		}
		for p := r.buf[:k]; len(p) >= unix.NLMSG_HDRLEN; {
			h := nlHeader(p)
			l := int(h.Len)
			if l < unix.NLMSG_HDRLEN || l > len(p) {
				r.reset()
				failAll(errors.New("platform: a malformed netlink answer"))
				return
			}
			data := p[unix.NLMSG_HDRLEN:l]
			p = p[min(nlAlign(l), len(p)):]
			if i := h.Seq - first; h.Type == unix.NLMSG_ERROR && i < uint32(n) && len(data) >= 4 {
				answered |= 1 << i
				if e := int32(binary.NativeEndian.Uint32(data)); e != 0 {
					errs[i] = syscall.Errno(-e)
				}
			}
		}
	}
}

// resend sends again, one at a time and acknowledged, the requests lo
// to hi of batch b whose answers may have been lost (no bit in answered,
// whose bit 0 is lo's), and records their answers in b.errs. r.mu is
// held.
func (r *rtnl) resend(b *renewBatch, lo, hi int, answered uint64) {
	for i := lo; i < hi; i++ {
		if answered&(1<<(i-lo)) != 0 {
			continue
		}
		if err := r.open(); err != nil {
			b.errs[i] = err
			continue
		}
		m := b.msg(i)
		r.seq++
		binary.NativeEndian.PutUint16(m[6:], binary.NativeEndian.Uint16(m[6:])|unix.NLM_F_ACK)
		binary.NativeEndian.PutUint32(m[8:], r.seq)
		r.resent++
		b.errs[i] = r.roundTrip(m, 0, nil)
	}
}

// parse goes through one datagram of the answer; done is true when the
// answer is complete (an acknowledgement, an error, a dump's end).
func (r *rtnl) parse(b []byte, resType uint16, each func([]byte)) (done bool, err error) {
	for len(b) >= unix.NLMSG_HDRLEN {
		h := nlHeader(b)
		l := int(h.Len)
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true, errors.New("platform: a malformed netlink answer")
		}
		data := b[unix.NLMSG_HDRLEN:l]
		b = b[min(nlAlign(l), len(b)):]
		if h.Seq != r.seq {
			continue // the answer to an earlier request, given up on
		}
		switch h.Type {
		case unix.NLMSG_ERROR:
			if len(data) < 4 {
				return true, errors.New("platform: a short netlink error")
			}
			if e := int32(binary.NativeEndian.Uint32(data)); e != 0 {
				return true, syscall.Errno(-e)
			}
			return true, nil // the acknowledgement
		case unix.NLMSG_DONE:
			if len(data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(data)); e < 0 {
					return true, syscall.Errno(-e)
				}
			}
			return true, nil
		case resType:
			if each != nil {
				each(data)
			}
		}
	}
	return false, nil
}

// nlHeader is a netlink message's header, from at least NLMSG_HDRLEN bytes.
func nlHeader(b []byte) unix.NlMsghdr {
	return unix.NlMsghdr{
		Len: binary.NativeEndian.Uint32(b), Type: binary.NativeEndian.Uint16(b[4:]),
		Flags: binary.NativeEndian.Uint16(b[6:]), Seq: binary.NativeEndian.Uint32(b[8:]), Pid: binary.NativeEndian.Uint32(b[12:]),
	}
}

func nlAlign(l int) int { return (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// subscribeAddrs subscribes to the kernel's IPv4 address events of the
// interface index, read with one buffer, and sends each to ch. It closes
// ch when done is closed or the subscription is lost (an overrun: events
// were dropped), which watchNetlink then renews.
func subscribeAddrs(done <-chan struct{}, index int, own uint32, ch chan AddrEvent) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	// Room for a flush of many addresses at once; as root, beyond rmem_max.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 1<<20) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	}
	if err := filterEvents(fd, index, own); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: addrGroups}); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("bind", err)
	}
	f := os.NewFile(uintptr(fd), "rtnetlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return err
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-stop:
		}
		f.Close()
	}()
	go func() {
		defer close(ch)
		defer close(stop)
		buf := make([]byte, 64<<10)
		for {
			var n int
			var rerr error
			err := rc.Read(func(fd uintptr) bool {
				n, rerr = rawRecv(int(fd), buf) // see rawSendto
				return rerr != unix.EAGAIN
			})
			if err != nil || rerr != nil {
				return // closed, or an overrun (ENOBUFS)
			}
			for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
				h := nlHeader(b)
				l := int(h.Len)
				if l < unix.NLMSG_HDRLEN || l > len(b) {
					break
				}
				if ev, ok := addrEvent(h.Type, b[unix.NLMSG_HDRLEN:l], index); ok {
					select {
					case ch <- ev:
					case <-done:
						return
					}
				}
				b = b[min(nlAlign(l), len(b)):]
			}
		}
	}()
	return nil
}

// filterEvents makes the kernel drop, before they reach the socket, the
// address events that the daemon does not need: those of other interfaces
// (each interface of a node has its subscription, and each would
// otherwise be woken by all of them), and those of the changes requested
// on the socket whose netlink port is own (0: none), which the daemon
// knows already: a MASTER's renewal each advert interval would otherwise
// wake the process once more for nothing. The kernel puts the port of the
// socket that asked for a change in the header of its event.
//
// Offsets: nlmsg_pid is at 12 in the netlink header; ifa_index at 20,
// after the 16-byte header and 4 bytes of family, prefix length, flags
// and scope. Both are in host byte order, and classic BPF loads words
// big-endian.
func filterEvents(fd, index int, own uint32) error {
	var prog []bpf.Instruction
	if own != 0 {
		prog = append(prog,
			bpf.LoadAbsolute{Off: 12, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: bpfWord(own), SkipTrue: 3})
	}
	prog = append(prog,
		bpf.LoadAbsolute{Off: unix.NLMSG_HDRLEN + 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: bpfWord(uint32(index)), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffffffff},
		bpf.RetConstant{Val: 0})
	return attachFilter(fd, prog)
}

// bpfWord is v in host byte order as classic BPF loads it (big-endian).
func bpfWord(v uint32) uint32 {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	return binary.BigEndian.Uint32(b[:])
}

// attachFilter attaches the classic BPF program prog to the socket fd.
func attachFilter(fd int, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	f := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		f[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}); err != nil {
		return os.NewSyscallError("setsockopt SO_ATTACH_FILTER", err)
	}
	return nil
}

// addrEvent is the event of an RTM_NEWADDR or RTM_DELADDR message about
// an IPv4 address of interface index.
func addrEvent(typ uint16, data []byte, index int) (AddrEvent, bool) {
	if typ != unix.RTM_NEWADDR && typ != unix.RTM_DELADDR {
		return AddrEvent{}, false
	}
	a, ok := parseAddr(data, index)
	return AddrEvent{Addr: a, Deleted: typ == unix.RTM_DELADDR}, ok
}
