package platform

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
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

// TestRTNLRenewBatch sends renewals to the kernel in one datagram without
// NLM_F_ACK: each request gets its own answer (a failure among
// successes is that request's alone), the successes take effect, and
// renewals made at once by several goroutines go out together.
func TestRTNLRenewBatch(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		a := sys.Addresses().(linuxAddrs)
		a.rtnl.portID() // opens the socket in this namespace
		gone := linuxAddrs{ifi: &net.Interface{Index: 1 << 30, Name: "gone"}, mark: a.mark, rtnl: a.rtnl}
		v := func(s string, life time.Duration) vip.Address {
			return vip.Address{Prefix: netip.MustParsePrefix(s), Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: life}
		}
		for _, s := range []string{"198.51.100.1/32", "198.51.100.2/32"} {
			if err := a.add(v(s, 20*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		newAddr := func(a linuxAddrs, s string) []byte {
			return a.addrRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, v(s, 100*time.Second)).Serialize()
		}
		exclusive := a.addrRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, v("198.51.100.2/32", 0)).Serialize()
		errs := a.rtnl.sendBatch([][]byte{
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
			msgs = append(msgs, sys.addrRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, v(i)).Serialize())
		}
		errs := a.rtnl.sendBatch(msgs)
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
