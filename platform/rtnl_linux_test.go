package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/vip"
)

// nlMsg is a netlink message of typ with seq and payload, padded.
func nlMsg(typ uint16, seq uint32, payload []byte) []byte {
	l := unix.NLMSG_HDRLEN + len(payload)
	b := make([]byte, nlAlign(l))
	binary.NativeEndian.PutUint32(b, uint32(l))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	copy(b[unix.NLMSG_HDRLEN:], payload)
	return b
}

func errno32(e int32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(e))
	return b
}

// TestRTNLParse reads the kernel's answers as they come: an answer to an
// earlier request given up on is skipped, a dump's parts are handed over
// until its end, and the kernel's errors are errnos.
func TestRTNLParse(t *testing.T) {
	cat := func(ms ...[]byte) []byte {
		var b []byte
		for _, m := range ms {
			b = append(b, m...)
		}
		return b
	}
	for _, tt := range []struct {
		name  string
		in    []byte
		done  bool
		err   error
		parts string
	}{
		{"acknowledgement", nlMsg(unix.NLMSG_ERROR, 7, errno32(0)), true, nil, ""},
		{"error", nlMsg(unix.NLMSG_ERROR, 7, errno32(-int32(syscall.EEXIST))), true, syscall.EEXIST, ""},
		{"stale answer, then ours", cat(nlMsg(unix.NLMSG_ERROR, 6, errno32(-int32(syscall.EEXIST))), nlMsg(unix.NLMSG_ERROR, 7, errno32(0))), true, nil, ""},
		{"stale answer only", nlMsg(unix.NLMSG_ERROR, 6, errno32(0)), false, nil, ""},
		{"dump parts", cat(nlMsg(unix.RTM_NEWADDR, 7, []byte("a")), nlMsg(unix.RTM_NEWADDR, 7, []byte("bc"))), false, nil, "a,bc,"},
		{"dump end", cat(nlMsg(unix.RTM_NEWADDR, 7, []byte("a")), nlMsg(unix.NLMSG_DONE, 7, errno32(0))), true, nil, "a,"},
		{"dump end with an error", nlMsg(unix.NLMSG_DONE, 7, errno32(-int32(syscall.EINTR))), true, syscall.EINTR, ""},
		{"other types are skipped", nlMsg(unix.RTM_NEWLINK, 7, []byte("x")), false, nil, ""},
		{"short error", nlMsg(unix.NLMSG_ERROR, 7, nil), true, fmt.Errorf("platform: a short netlink error"), ""},
		{"length beyond the datagram", nlMsg(unix.NLMSG_ERROR, 7, errno32(0))[:18], true, fmt.Errorf("platform: a malformed netlink answer"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &rtnl{seq: 7}
			var parts string
			done, err := r.parse(tt.in, unix.RTM_NEWADDR, func(b []byte) { parts += string(b) + "," })
			if done != tt.done || fmt.Sprint(err) != fmt.Sprint(tt.err) || parts != tt.parts {
				t.Errorf("done %v, err %v, parts %q; want %v, %v, %q", done, err, parts, tt.done, tt.err, tt.parts)
			}
		})
	}
}

// sendBatch sends msgs in one batch and returns the kernel's answers.
func sendBatch(r *rtnl, msgs [][]byte) []error {
	b := &renewBatch{}
	for _, m := range msgs {
		b.offs = append(b.offs, len(b.out))
		b.out = append(b.out, m...)
	}
	r.sendBatch(b, 0, len(msgs))
	return b.errs
}

// TestRTNLRenewBatch sends renewals to the kernel in one datagram without
// NLM_F_ACK: each request gets its own answer (a failure among
// successes is that request's alone), the successes take effect, and
// renewals made at once by several goroutines go out together.
func TestRTNLRenewBatch(t *testing.T) {
	inThrowawayNamespace(t, func() {
		a, gone := eth0AndGone(t)
		v := func(s string, life time.Duration) vip.Address {
			return vip.Address{Prefix: netip.MustParsePrefix(s), Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: life}
		}
		for _, s := range []string{"198.51.100.1/32", "198.51.100.2/32"} {
			if err := a.add(v(s, 20*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		newAddr := func(a linuxAddrs, s string) []byte {
			return a.appendAddrRequest(nil, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, v(s, 100*time.Second))
		}
		exclusive := a.appendAddrRequest(nil, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, v("198.51.100.2/32", 0))
		errs := sendBatch(a.rtnl, [][]byte{
			newAddr(a, "198.51.100.1/32"),
			newAddr(gone, "198.51.100.3/32"),
			exclusive,
			newAddr(a, "198.51.100.2/32"),
			newAddr(a, "198.51.100.4/32"),
		})
		want := []syscall.Errno{0, syscall.ENODEV, syscall.EEXIST, 0, 0}
		for i := range want {
			if errno(errs[i]) != want[i] {
				t.Errorf("request %d: %v, want %v", i, errs[i], want[i])
			}
		}
		l, _ := netlink.LinkByName("eth0")
		kernel, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		var got []string
		for _, k := range kernel {
			got = append(got, fmt.Sprintf("%s %v", k.IPNet, k.ValidLft > 20))
		}
		slices.Sort(got)
		if w := []string{"198.51.100.1/32 true", "198.51.100.2/32 true", "198.51.100.4/32 true"}; !slices.Equal(got, w) {
			t.Errorf("kernel's table %q, want %q (renewed lifetimes)", got, w)
		}
		// The groups of one wake-up, one processor as in the daemon: one
		// datagram. The one whose interface is gone alone fails.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		before := a.rtnl.batches
		start := make(chan struct{})
		const n = 8
		res := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				sys := a
				if i == 5 {
					sys = gone
				}
				res[i] = sys.AddAddress(v(fmt.Sprintf("198.51.100.%d/32", 10+i), 30*time.Second))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range res {
			if (i == 5) != (errno(err) == syscall.ENODEV) || i != 5 && err != nil {
				t.Errorf("renewal %d: %v", i, err)
			}
		}
		if sent := a.rtnl.batches - before; sent >= n/2 {
			t.Errorf("%d renewals at once took %d datagrams", n, sent)
		} else {
			t.Logf("%d renewals at once took %d datagrams", n, sent)
		}
		if list, _ := a.Addresses(); len(list) != 3+n-1 {
			t.Errorf("table %v", table(list))
		}
	})
}

// TestRTNLRenewBatchOverrun: a batch whose failures do not all fit in
// the socket's buffer (the kernel drops an answer and reports ENOBUFS):
// each request still gets its own answer, the ones whose answers may
// have been lost being sent again alone; before, every request of the
// batch failed with ENOBUFS, the successes among them too.
func TestRTNLRenewBatchOverrun(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		a := sys.Addresses().(linuxAddrs)
		a.rtnl.portID() // opens the socket in this namespace
		// The smallest buffer the kernel allows: a few answers.
		if err := unix.SetsockoptInt(a.rtnl.fd.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1); err != nil {
			t.Fatal(err)
		}
		gone := linuxAddrs{ifi: &net.Interface{Index: 1 << 30, Name: "gone"}, mark: a.mark, rtnl: a.rtnl}
		v := func(i int) vip.Address {
			return vip.Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32),
				Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 100 * time.Second}
		}
		var msgs [][]byte
		for i := range maxBatch {
			sys := gone // most fail: ENODEV
			if i%8 == 7 {
				sys = a
			}
			msgs = append(msgs, sys.appendAddrRequest(nil, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, v(i)))
		}
		errs := sendBatch(a.rtnl, msgs)
		for i, err := range errs {
			if want := syscall.ENODEV; i%8 == 7 && err != nil || i%8 != 7 && errno(err) != want {
				t.Errorf("request %d: %v", i, err)
			}
		}
		if a.rtnl.resent == 0 {
			t.Fatal("no answer was lost: the buffer was not small enough to test the overrun")
		}
		t.Logf("%d of %d requests sent again after the overrun", a.rtnl.resent, maxBatch)
		list, _ := a.Addresses()
		if len(list) != maxBatch/8 {
			t.Errorf("table %v, want the %d addresses of eth0", table(list), maxBatch/8)
		}
	})
}

// BenchmarkRenew is one MASTER's lifetime renewal through the platform
// (a replace of an address that is there, posted to the renewer as a
// group posts it), on a real kernel: its time and its allocations, which
// were most of the process's garbage.
func BenchmarkRenew(b *testing.B) {
	inThrowawayNamespace(b, func() {
		sys, err := New("eth0")
		if err != nil {
			b.Fatal(err)
		}
		a := sys.Addresses().(linuxAddrs)
		v := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 3 * time.Second}
		if err := a.AddAddress(v); err != nil {
			b.Fatal(err)
		}
		res := make(chan error, 1)
		done := func(err error) { res <- err }
		b.ReportAllocs()
		for b.Loop() {
			a.PostAddress(v, done)
			if err := <-res; err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRTNLPostOneRenewer: the renewals posted in one wake-up, from one
// goroutine as a group posts its addresses' or from several, go out in one
// datagram (more than maxBatch in several), each poster gets its own
// answer, and no goroutine is made for them: the handle's one renewer
// makes them all, and stays. A goroutine per renewal mapped back, at each
// renewal, the runtime's tables that the release of the executable's
// pages had dropped (docs/PERF.md, "What one group maps back").
func TestRTNLPostOneRenewer(t *testing.T) {
	inThrowawayNamespace(t, func() {
		a, gone := eth0AndGone(t)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the daemon's
		v := func(i int) vip.Address {
			return vip.Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), 32),
				Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: time.Duration(10+i%50) * time.Second}
		}
		created := func() uint64 {
			s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
			metrics.Read(s)
			return s[0].Value.Uint64()
		}
		// round posts n renewals from this goroutine, every third on the
		// interface that is gone, and checks each answer and the datagrams.
		round := func(n int) {
			t.Helper()
			res := make([]error, n)
			left := make(chan struct{}, n)
			before := a.rtnl.batches
			for i := range n {
				sys := a
				if i%3 == 1 {
					sys = gone
				}
				sys.PostAddress(v(i), func(err error) { res[i] = err; left <- struct{}{} })
			}
			for range n {
				<-left
			}
			for i, err := range res {
				if fails := i%3 == 1; fails != (errno(err) == syscall.ENODEV) || !fails && err != nil {
					t.Fatalf("renewal %d of %d: %v", i, n, err)
				}
			}
			if sent, want := a.rtnl.batches-before, (n+maxBatch-1)/maxBatch; sent != want {
				t.Fatalf("%d renewals posted at once took %d datagrams, want %d", n, sent, want)
			}
		}
		round(12)    // the handle's renewer starts
		runtime.GC() // and the collector's workers
		from := created()
		for range 40 {
			round(12)
		}
		round(2*maxBatch + 5)
		if n := created() - from; n != 0 {
			t.Errorf("%d goroutines made for %d renewals", n, 40*12+2*maxBatch+5)
		}
		l, _ := netlink.LinkByName("eth0")
		kernel, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		for _, k := range kernel {
			i := int(k.IP.To4()[3]) - 10
			if k.ValidLft > 10+i%50 { // each request's own lifetime, not another's
				t.Errorf("%s: valid %d s, want at most %d", k.IPNet, k.ValidLft, 10+i%50)
			}
		}
		if want := 2*maxBatch + 5 - (2*maxBatch+5+1)/3; len(kernel) != want {
			t.Errorf("%d addresses in the kernel's table, want %d", len(kernel), want)
		}
	})
}

// refAddrRequest is the request appendAddrRequest builds, built the way
// it was before, through vishvananda/netlink's types, as iproute2 builds
// "ip addr add|replace|del".
func refAddrRequest(a linuxAddrs, typ uint16, flags int, v vip.Address) []byte {
	req := nl.NewNetlinkRequest(int(typ), flags|unix.NLM_F_ACK)
	req.Seq = 0
	msg := nl.NewIfAddrmsg(familyOf(v.Prefix.Addr()))
	msg.Index = uint32(a.ifi.Index)
	msg.Prefixlen = uint8(v.Prefix.Bits())
	if v.Prefix.Addr().Is6() && typ != unix.RTM_DELADDR {
		msg.Flags = unix.IFA_F_NODAD
	}
	req.AddData(msg)
	ip := v.Prefix.Addr().AsSlice()
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, ip))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, ip))
	tail := func() {
		if v.Proto != 0 {
			req.AddData(nl.NewRtAttr(ifaProto, []byte{v.Proto}))
		}
		if v.Lifetime > 0 {
			secs := uint32((v.Lifetime + time.Second - 1) / time.Second)
			ci := &nl.IfaCacheInfo{IfaCacheinfo: unix.IfaCacheinfo{Prefered: secs, Valid: secs}}
			req.AddData(nl.NewRtAttr(unix.IFA_CACHEINFO, ci.Serialize()))
		}
	}
	if v.Prefix.Addr().Is6() {
		if typ != unix.RTM_DELADDR {
			req.AddData(nl.NewRtAttr(unix.IFA_FLAGS, nl.Uint32Attr(unix.IFA_F_NODAD)))
			tail()
		}
		return req.Serialize()
	}
	if v.Label != "" {
		req.AddData(nl.NewRtAttr(unix.IFA_LABEL, nl.ZeroTerminated(v.Label)))
	}
	if typ == unix.RTM_DELADDR {
		return req.Serialize()
	}
	if v.Prefix.Bits() < 31 {
		brd := v.Prefix.Masked().Addr().As4()
		for i, m := range net.CIDRMask(v.Prefix.Bits(), 32) {
			brd[i] |= ^m
		}
		req.AddData(nl.NewRtAttr(unix.IFA_BROADCAST, brd[:]))
	}
	tail()
	return req.Serialize()
}

// TestAddrRequestBytes: the requests built byte by byte are those the
// netlink package built, for every kind of address and request, also
// appended after another (a batch), and a renewal's allocates nothing.
func TestAddrRequestBytes(t *testing.T) {
	a := linuxAddrs{ifi: &net.Interface{Index: 7, Name: "eth0"}}
	var addrs []vip.Address
	for _, p := range []string{"198.51.100.10/32", "198.51.100.10/31", "198.51.100.10/24", "198.51.100.130/25",
		"198.51.100.10/13", "203.0.113.9/0", "198.51.100.10/30", "2001:db8::10/128", "2001:db8::10/64"} {
		for _, label := range []string{"", "eth0:ucarp", "eth0:1", "eth0:abcdefghij"} {
			for _, proto := range []uint8{0, vip.ProtoCARP} {
				for _, life := range []time.Duration{0, 3 * time.Second, 2500 * time.Millisecond, 100 * time.Second} {
					addrs = append(addrs, vip.Address{Prefix: netip.MustParsePrefix(p), Label: label, Proto: proto, Lifetime: life})
				}
			}
		}
	}
	kinds := []struct {
		typ   uint16
		flags int
	}{
		{unix.RTM_NEWADDR, unix.NLM_F_CREATE | unix.NLM_F_REPLACE},
		{unix.RTM_NEWADDR, unix.NLM_F_CREATE | unix.NLM_F_EXCL},
		{unix.RTM_DELADDR, 0},
	}
	for _, k := range kinds {
		var batch []byte
		for _, v := range addrs {
			want := refAddrRequest(a, k.typ, k.flags, v)
			if got := a.appendAddrRequest(nil, k.typ, k.flags, v); !slices.Equal(got, want) {
				t.Errorf("%d %#x %+v:\n got %x\nwant %x", k.typ, k.flags, v, got, want)
			}
			off := len(batch)
			batch = a.appendAddrRequest(batch, k.typ, k.flags, v)
			if !slices.Equal(batch[off:], want) {
				t.Errorf("%d %#x %+v appended: %x, want %x", k.typ, k.flags, v, batch[off:], want)
			}
		}
	}
	v := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 3 * time.Second}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		buf = a.appendAddrRequest(buf[:0], unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, v)
	}); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

// TestRTNLRenewBatchReuse: the batches' buffers are used again from one
// wake-up to the next (rtnl.spare); over many rounds of renewals made at
// once, on one processor and on two (where batches overlap: one is sent
// while the next fills), each caller still gets its own answer and the
// kernel its own request.
func TestRTNLRenewBatchReuse(t *testing.T) {
	inThrowawayNamespace(t, func() {
		a, gone := eth0AndGone(t) // the socket opened in this namespace, not the callers' threads'
		const n = 12
		for _, procs := range []int{1, 2} {
			prev := runtime.GOMAXPROCS(procs)
			for round := range 40 {
				res := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						sys := a
						if (i+round)%3 == 0 {
							sys = gone // ENODEV: the answer is this caller's
						}
						life := time.Duration(10+i) * time.Second
						res[i] = sys.AddAddress(vip.Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), 32),
							Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: life})
					})
				}
				wg.Wait()
				for i, err := range res {
					if fails := (i+round)%3 == 0; fails != (errno(err) == syscall.ENODEV) || !fails && err != nil {
						t.Fatalf("GOMAXPROCS %d, round %d, renewal %d: %v", procs, round, i, err)
					}
				}
			}
			runtime.GOMAXPROCS(prev)
		}
		l, _ := netlink.LinkByName("eth0")
		kernel, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		for _, k := range kernel {
			i := int(k.IP.To4()[3]) - 10
			if k.ValidLft > 10+i { // each request's own lifetime, not another's
				t.Errorf("%s: valid %d s, want at most %d", k.IPNet, k.ValidLft, 10+i)
			}
		}
		if len(kernel) != n {
			t.Errorf("table %v", kernel)
		}
	})
}

// TestRTNLReopenOnlyInItsNamespace: a handle whose socket was closed
// after an error (reset) is not opened again by the renewer while the
// renewer's thread is in another network namespace than the one the
// handle was made in: the renewal fails with errOtherNetNS and no socket
// is opened; a request from a thread of the handle's namespace opens it
// again, and the renewer then uses it. Before, the renewer opened it in
// its own thread's namespace (the host's), whose kernel answered the
// renewal for an interface 1<<30 with ENODEV, and the handle's later
// requests went to the host's tables.
func TestRTNLReopenOnlyInItsNamespace(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		a := sys.Addresses().(linuxAddrs)
		if a.rtnl.portID() == 0 {
			t.Fatal("no socket")
		}
		if threadNetNS() == (netNS{}) {
			t.Skip("no /proc/thread-self/ns/net: the namespace is unknown, and the check skipped")
		}
		gone := linuxAddrs{ifi: &net.Interface{Index: 1 << 30, Name: "gone"}, mark: a.mark, rtnl: a.rtnl}
		v := func(s string) vip.Address {
			return vip.Address{Prefix: netip.MustParsePrefix(s), Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}
		}
		a.rtnl.mu.Lock()
		a.rtnl.reset() // as after an error
		a.rtnl.mu.Unlock()
		// This goroutine keeps its thread (in the test's namespace): the
		// renewer runs on another, in the host's.
		res := make(chan error, 1)
		gone.PostAddress(v("198.51.100.1/32"), func(err error) { res <- err })
		select {
		case err := <-res:
			if !errors.Is(err, errOtherNetNS) {
				t.Errorf("renewal posted after a reset: %v, want %v", err, errOtherNetNS)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no answer to the renewal within 20 s")
		}
		a.rtnl.mu.Lock()
		fd := a.rtnl.fd.fd
		a.rtnl.mu.Unlock()
		if fd >= 0 {
			t.Fatalf("the renewer opened a socket (%d) on its thread, in another namespace", fd) // and would add to its tables
		}
		// From this thread it opens, in the test's namespace.
		if a.rtnl.portID() == 0 {
			t.Fatal("the socket did not open again on the handle's thread")
		}
		if err := a.AddAddress(v("198.51.100.1/32")); err != nil {
			t.Errorf("renewal once opened again: %v", err)
		}
		if list, err := a.Addresses(); err != nil || len(list) != 1 {
			t.Errorf("eth0's addresses %v (%v), want 198.51.100.1/32", table(list), err)
		}
	})
}

// TestRTNLRenewalsOfTwoHandles: two handles that share a renewer, one
// renewal posted to each in the same wake-up, on one processor as in the
// daemon: the renewer sends both handles' and each poster gets its
// answer. (A renewer that flushed only the first handle of a wake-up
// passed every other test, and left the second's posters waiting for
// ever.)
func TestRTNLRenewalsOfTwoHandles(t *testing.T) {
	inThrowawayNamespace(t, func() {
		var rs Renewals
		var addrs []linuxAddrs
		for _, name := range []string{"eth0", "peer0"} {
			sys, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			sys.(Renewer).ShareRenewals(&rs)
			addrs = append(addrs, sys.Addresses().(linuxAddrs))
		}
		if addrs[0].rtnl.renewals.Load() != addrs[1].rtnl.renewals.Load() || addrs[0].rtnl.renewals.Load() == nil {
			t.Fatal("the two handles do not share one renewer") // the test would be of two renewers
		}
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the daemon's
		for round := range 3 {
			res := make(chan string, len(addrs))
			for i, a := range addrs {
				v := vip.Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}), 32),
					Label: a.ifi.Name + ":ucarp", Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}
				a.PostAddress(v, func(err error) { res <- fmt.Sprintf("%s: %v", a.ifi.Name, err) })
			}
			deadline := time.After(20 * time.Second) // a renewal takes milliseconds, even loaded
			for range addrs {
				select {
				case got := <-res:
					if !strings.HasSuffix(got, ": <nil>") {
						t.Errorf("round %d: %s", round, got)
					}
				case <-deadline:
					t.Fatalf("round %d: a renewal posted to each of two handles in one wake-up got no answer within 20 s", round)
				}
			}
		}
		for _, a := range addrs {
			if list, err := a.Addresses(); err != nil || len(list) != 1 {
				t.Errorf("%s's addresses %v (%v), want one", a.ifi.Name, table(list), err)
			}
		}
	})
}

// eth0AndGone are the address tables of eth0 in the test's namespace, its
// netlink socket opened there, and of an interface that does not exist
// (index 1<<30) on the same handle, whose requests the kernel refuses.
func eth0AndGone(t *testing.T) (a, gone linuxAddrs) {
	t.Helper()
	sys, err := New("eth0")
	if err != nil {
		t.Fatal(err)
	}
	a = sys.Addresses().(linuxAddrs)
	a.rtnl.portID() // opens the socket in this namespace
	return a, linuxAddrs{ifi: &net.Interface{Index: 1 << 30, Name: "gone"}, mark: a.mark, rtnl: a.rtnl}
}
