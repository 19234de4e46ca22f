package platform

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/internal/netnstest"
	"github.com/ucarp-go/ucarp/vip"
	"github.com/ucarp-go/ucarp/vip/viptest"
)

// inThrowawayNamespace runs fn in a new network namespace holding a veth
// pair (eth0, peer0), both up; setLink sets a link of it up or down.
var (
	inThrowawayNamespace = netnstest.Run
	setLink              = netnstest.SetLink
)

// nextState waits for the next link state that satisfies ok.
func nextState(t *testing.T, ch <-chan LinkState, ok func(LinkState) bool) LinkState {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case st := <-ch:
			if ok(st) {
				return st
			}
		case <-deadline:
			t.Fatal("no such link state within 5 s")
		}
	}
}

// watchEth0 opens eth0 of the calling thread's namespace and watches its
// link until the test ends, having read the state at subscription (up
// and running).
func watchEth0(t *testing.T) (OS, <-chan LinkState) {
	t.Helper()
	sys, err := New("eth0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	ch, err := sys.WatchLink(done)
	if err != nil {
		t.Fatal(err)
	}
	nextState(t, ch, func(st LinkState) bool { return st.Up && st.Running })
	return sys, ch
}

func TestLinuxLinkEvents(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, ch := watchEth0(t)
		if _, err := New("nosuch0"); err == nil {
			t.Fatal("New of a missing interface")
		}
		running := func(st LinkState) bool { return st.Up && st.Running }
		setLink(t, "peer0", false) // the cable: carrier lost
		nextState(t, ch, func(st LinkState) bool { return st.Up && !st.Running })
		if st, _ := sys.LinkState(); !st.Up || st.Running {
			t.Fatalf("LinkState %+v", st)
		}
		setLink(t, "peer0", true)
		nextState(t, ch, running)
		setLink(t, "eth0", false) // ifdown
		nextState(t, ch, func(st LinkState) bool { return !st.Up })
		l, _ := netlink.LinkByName("eth0")
		netlink.LinkDel(l) // the interface goes (and its peer with it)
		nextState(t, ch, func(st LinkState) bool { return st.Gone })
		if st, _ := sys.LinkState(); !st.Gone {
			t.Fatalf("LinkState after removal %+v", st)
		}
	})
}

func TestLinuxAddresses(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		defer close(done)
		changes, err := sys.WatchAddresses(done)
		if err != nil {
			t.Fatal(err)
		}
		addrs := sys.Addresses()
		// next is the next event, as "new|del ADDRESS" (lifetime aside).
		next := func() string {
			t.Helper()
			select {
			case ev := <-changes:
				if ev.Resync {
					return "resync"
				}
				if ev.Deleted {
					return "del " + ev.Addr.String()
				}
				if ev.Addr.Lifetime > 4*time.Second {
					t.Errorf("event's lifetime %v", ev.Addr.Lifetime)
				} else if ev.Addr.Lifetime > 0 {
					return "new " + ev.Addr.String() + " with a lifetime"
				}
				return "new " + ev.Addr.String()
			case <-time.After(5 * time.Second):
				t.Fatal("no address event")
			}
			return ""
		}
		l, _ := netlink.LinkByName("eth0")
		// admin changes the table as "ip addr" would, on a socket of its
		// own: its events come; the daemon's own changes (through
		// sys.Addresses()) do not, since the daemon knows them. admin's
		// event after some of the daemon's changes shows that none of
		// theirs came before it.
		admin := func(add bool, p string) string {
			t.Helper()
			a, _ := netlink.ParseAddr(p)
			var err error
			if add {
				err = netlink.AddrAdd(l, a)
			} else {
				err = netlink.AddrDel(l, a)
			}
			if err != nil {
				t.Fatal(err)
			}
			if add {
				return "new " + p + " label eth0"
			}
			return "del " + p + " label eth0"
		}
		v := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/32"), Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 4 * time.Second}
		if err := addrs.AddAddress(v); err != nil {
			t.Fatal(err)
		}
		list, err := addrs.Addresses()
		if err != nil || !slices.ContainsFunc(list, func(a vip.Address) bool { return a.Prefix == v.Prefix && a.Label == v.Label }) {
			t.Fatalf("addresses %+v, %v", list, err)
		}
		kernel, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		if len(kernel) != 1 || kernel[0].ValidLft <= 0 || kernel[0].ValidLft > 4 {
			t.Fatalf("lifetime not set: %+v", kernel)
		}
		// Adding again renews the lifetime instead of failing with EEXIST.
		if err := addrs.AddAddress(v); err != nil {
			t.Fatalf("renewal: %v", err)
		}
		want := admin(true, "198.51.100.50/32")
		if got := next(); got != want {
			t.Fatalf("event %q, want %q: the daemon's own addition and renewal are not events", got, want)
		}
		// Deleting with another label deletes nothing: only our copy goes.
		if err := addrs.DeleteAddress(vip.Address{Prefix: v.Prefix, Label: "eth0:other"}); err == nil {
			t.Fatal("deleted an address by the wrong label")
		}
		if err := addrs.DeleteAddress(v); err != nil {
			t.Fatal(err)
		}
		// Another interface's addresses are not this one's events.
		other, _ := New("peer0")
		if err := other.Addresses().AddAddress(vip.Address{Prefix: netip.MustParsePrefix("198.51.100.102/32")}); err != nil {
			t.Fatal(err)
		}
		want = admin(false, "198.51.100.50/32")
		if got := next(); got != want {
			t.Fatalf("event %q, want %q: neither the daemon's removal nor peer0's address is an event of eth0", got, want)
		}
		// The administrator's copy of the daemon's address, with a
		// lifetime, is an event: the daemon must look at it.
		a, _ := netlink.ParseAddr("198.51.100.100/32")
		a.ValidLft, a.PreferedLft = 4, 4
		if err := netlink.AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
		if got, want := next(), "new 198.51.100.100/32 label eth0 with a lifetime"; got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
		if err := netlink.AddrDel(l, a); err != nil {
			t.Fatal(err)
		}
		if got, want := next(), "del 198.51.100.100/32 label eth0"; got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
		if list, _ := addrs.Addresses(); len(list) != 0 {
			t.Fatalf("left %+v", list)
		}
		// A lifetime makes the kernel remove the address by itself.
		short := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.101/32"), Label: "eth0:ucarp", Lifetime: time.Second}
		if err := addrs.AddAddress(short); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if list, _ := addrs.Addresses(); len(list) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the kernel did not expire the address")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestLinuxPrivileges(t *testing.T) {
	sys := &linuxOS{}
	caps, err := effectiveCaps()
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's own account of the set, in /proc, must agree.
	status, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		t.Skip(err)
	}
	var proc uint64
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			proc, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if caps != proc {
		t.Errorf("capget says %x, /proc says %x", caps, proc)
	}
	err = sys.CheckPrivileges(true)
	if full := caps&(1<<capNetRaw) != 0 && caps&(1<<capNetAdmin) != 0; full != (err == nil) {
		t.Fatalf("caps %x, error %v", caps, err)
	}
}

func TestEffectiveSet(t *testing.T) {
	for _, tt := range []struct {
		name string
		data [2]unix.CapUserData
		want uint64
	}{
		{"none", [2]unix.CapUserData{}, 0},
		{"CAP_NET_RAW", [2]unix.CapUserData{{Effective: 1 << capNetRaw}}, 1 << 13},
		{"CAP_NET_ADMIN and CAP_NET_RAW", [2]unix.CapUserData{{Effective: 1<<capNetAdmin | 1<<capNetRaw}}, 0x3000},
		{"only the effective set counts", [2]unix.CapUserData{{Permitted: 1 << capNetRaw, Inheritable: 1 << capNetRaw}}, 0},
		{"CAP_CHECKPOINT_RESTORE (40) in the second word", [2]unix.CapUserData{{}, {Effective: 1 << (40 - 32)}}, 1 << 40},
		{"root", [2]unix.CapUserData{{Effective: 0xffffffff}, {Effective: 0x000001ff}}, 0x1ffffffffff},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := effectiveSet(tt.data); got != tt.want {
				t.Errorf("effectiveSet = %x, want %x", got, tt.want)
			}
		})
	}
}

// TestFakeAgreesWithKernel runs one table of address operations against
// the kernel, in a throw-away namespace, and against viptest.Addrs, and
// checks that they agree on every result and every table: the fake that
// the daemon's tests use must follow the kernel's rules.
func TestFakeAgreesWithKernel(t *testing.T) {
	inThrowawayNamespace(t, func() {
		kernel, fake := kernelAndFake(t)
		if fake.Mark() != kernel.Mark() {
			t.Fatalf("marks: fake %v, kernel %v", fake.Mark(), kernel.Mark())
		}
		p32 := netip.MustParsePrefix("198.51.100.100/32")
		p24 := netip.MustParsePrefix("198.51.100.100/24")
		other := netip.MustParsePrefix("198.51.100.101/32")
		ours := vip.Address{Prefix: p32, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}
		agree(t, kernel, fake, []addrOp{
			{"vip-up's copy: no label, no protocol", "add", vip.Address{Prefix: p32}},
			{"ours on top: the address is taken", "add", ours},
			{"same with no label", "add", vip.Address{Prefix: p32, Proto: vip.ProtoCARP}},
			{"replace takes it over in place, label kept", "replace", ours},
			{"the same address with another prefix length is another address", "add", vip.Address{Prefix: p24, Label: "eth0:old"}},
			{"delete with a label that does not match", "del", vip.Address{Prefix: p32, Label: "eth0:ucarp"}},
			{"delete with the label it has", "del", vip.Address{Prefix: p32, Label: "eth0"}},
			{"delete the other prefix length without a label", "del", vip.Address{Prefix: p24}},
			{"delete what is not there", "del", vip.Address{Prefix: p24}},
			{"replace adds what is not there", "replace", vip.Address{Prefix: other, Label: "eth0:ucarp", Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}},
			{"replace without a protocol or lifetime clears both, label kept", "replace", vip.Address{Prefix: other, Label: "eth0:x"}},
			{"replace sets the protocol back and a lifetime", "replace", vip.Address{Prefix: other, Proto: vip.ProtoCARP, Lifetime: 30 * time.Second}},
			{"delete by address, whatever the protocol", "del", vip.Address{Prefix: other, Label: "eth0:ucarp"}},
		})
	})
}

// kernelAndFake are the kernel's address table of eth0 (in a throw-away
// namespace) and a viptest table with the kernel's mark.
func kernelAndFake(t *testing.T) (linuxAddrs, *viptest.Addrs) {
	t.Helper()
	sys, err := New("eth0")
	if err != nil {
		t.Fatal(err)
	}
	kernel := sys.Addresses().(linuxAddrs)
	fake := viptest.New("eth0")
	fake.NoProto = kernel.Mark() != vip.MarkProto
	return kernel, fake
}

// addrOp is an address operation of TestFakeAgreesWithKernel.
type addrOp struct {
	name string
	do   string // add ("ip addr add"), replace (AddAddress), del
	a    vip.Address
}

// agree runs ops against the kernel and the fake, and fails t at the
// first whose error (errno) or resulting table differs.
func agree(t *testing.T, kernel linuxAddrs, fake *viptest.Addrs, ops []addrOp) {
	t.Helper()
	for _, o := range ops {
		run := func(s vip.System, add func(vip.Address) error) error {
			switch o.do {
			case "add":
				return add(o.a)
			case "replace":
				return s.AddAddress(o.a)
			}
			return s.DeleteAddress(o.a)
		}
		kerr := run(kernel, kernel.add)
		ferr := run(fake, fake.Add)
		if errno(kerr) != errno(ferr) {
			t.Fatalf("%s: kernel %v, fake %v", o.name, kerr, ferr)
		}
		k, err := kernel.Addresses()
		if err != nil {
			t.Fatal(err)
		}
		f, _ := fake.Addresses()
		if ks, fs := table(k), table(f); !slices.Equal(ks, fs) {
			t.Fatalf("%s: kernel %q, fake %q", o.name, ks, fs)
		}
		t.Logf("%s: %v: %q", o.name, kerr, table(k))
	}
}

// errno is the errno an error carries, 0 for none and -1 for another.
func errno(err error) syscall.Errno {
	var e syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e
	}
	return ^syscall.Errno(0)
}

// table is the address table in a comparable form: sorted, with
// "lifetime" for a lifetime of any length (the kernel's counts down).
func table(as []vip.Address) []string {
	var s []string
	for _, a := range as {
		x := a.String()
		if a.Lifetime > 0 {
			x += " lifetime"
		}
		s = append(s, x)
	}
	slices.Sort(s)
	return s
}

func TestAddressMark(t *testing.T) {
	for _, tt := range []struct {
		release string
		want    vip.Mark
	}{
		{"6.18.44-fc-v1045", vip.MarkProto},
		{"5.18.0", vip.MarkProto},
		{"5.17.15-1-default", vip.MarkLabel},
		{"4.18.0-553.el8_10.x86_64", vip.MarkLabel},
		{"", vip.MarkLabel},
	} {
		if got := addressMark(tt.release); got != tt.want {
			t.Errorf("addressMark(%q) = %v, want %v", tt.release, got, tt.want)
		}
	}
}

// TestLock: a second holder in the same network namespace is refused
// while the first holds the lock, and gets it once the first closes it;
// another namespace has its own names.
func TestLock(t *testing.T) {
	name := fmt.Sprintf("ucarp-go-test/%d", os.Getpid())
	l, err := Lock(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(name); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	if os.Geteuid() == 0 {
		inThrowawayNamespace(t, func() {
			other, err := Lock(name)
			if err != nil {
				t.Fatalf("another namespace: %v", err)
			}
			other.Close()
		})
	}
	l.Close()
	l, err = Lock(name)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	l.Close()
}

// TestWatchNetlinkResubscribes loses a subscription, fails to renew it
// once, renews it, and checks that every update is handled, that the loss
// is reported once, after the renewal, and that done stops it all.
func TestWatchNetlinkResubscribes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		done := make(chan struct{})
		var subs []chan int
		fail := []bool{false, true, false} // the second subscription fails
		var events []string
		subscribe := func(ch chan int) error {
			if fail[len(subs)] {
				fail[len(subs)] = false
				events = append(events, "subscribe failed")
				return errors.New("no")
			}
			subs = append(subs, ch)
			events = append(events, "subscribed")
			return nil
		}
		handle := func(u int) bool { events = append(events, fmt.Sprint(u)); return true }
		lost := func() { events = append(events, "lost") }
		stop := func() { events = append(events, "stopped") }
		if err := watchNetlink(done, subscribe, handle, lost, stop); err != nil {
			t.Fatal(err)
		}
		subs[0] <- 1
		close(subs[0]) // an overrun
		synctest.Wait()
		time.Sleep(250 * time.Millisecond) // a failed renewal, then one that works
		synctest.Wait()
		if len(subs) != 2 {
			t.Fatalf("%d subscriptions, want 2 (events %q)", len(subs), events)
		}
		subs[1] <- 2
		synctest.Wait()
		close(done)
		close(subs[1]) // as netlink does when done is closed
		synctest.Wait()
		want := []string{"subscribed", "1", "subscribe failed", "subscribed", "lost", "2", "stopped"}
		if !slices.Equal(events, want) {
			t.Errorf("events %q, want %q", events, want)
		}
	})
}

// TestBroadcastWriteAddsNoAllocation sends packets through the
// --nomcast socket, which puts the Ethernet header in front of each: the
// header is built once and the buffer reused, so a packet costs no more
// allocations than the packet socket's own write of a ready frame.
func TestBroadcastWriteAddsNoAllocation(t *testing.T) {
	inThrowawayNamespace(t, func() {
		sys, err := New("eth0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := sys.OpenIP(IPOptions{Protocol: 112, Src: netip.MustParseAddr("192.0.2.1"), Group: netip.MustParseAddr("224.0.0.18"), Broadcast: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		pc := c.(*packetConn)
		pkt := make([]byte, 56)
		pkt[0], pkt[9] = 0x45, 112
		frame := append(slices.Clone(pc.buf[:ethLen]), pkt...)
		socket := testing.AllocsPerRun(100, func() {
			if _, err := pc.c.WriteTo(frame, pc.to); err != nil {
				t.Fatal(err)
			}
		})
		ours := testing.AllocsPerRun(100, func() {
			if err := c.WritePacket(pkt); err != nil {
				t.Fatal(err)
			}
		})
		if ours > socket {
			t.Errorf("%v allocations per packet, the socket's own write %v", ours, socket)
		}
	})
}

// TestLinuxSocketFilterAndBatch sends packets from peer0 to eth0's raw
// socket: a filter keeps those whose second payload byte is 7, and more
// of them than a batch holds all arrive, in order, whole.
// rawPair opens the raw sockets of eth0 (rx) and peer0 (tx), inside a
// throwaway namespace, such that tx's packets reach rx.
func rawPair(t *testing.T) (rx, tx IPConn) {
	for name, a := range map[string]string{"eth0": "198.51.100.1/24", "peer0": "198.51.100.2/24"} {
		l, _ := netlink.LinkByName(name)
		addr, _ := netlink.ParseAddr(a)
		if err := netlink.AddrAdd(l, addr); err != nil {
			t.Fatal(err)
		}
	}
	// Both ends are in this namespace: eth0 must take packets from
	// an address of its own host.
	for _, k := range []string{"all/accept_local", "eth0/accept_local", "all/rp_filter", "eth0/rp_filter"} {
		v := "1"
		if strings.HasSuffix(k, "rp_filter") {
			v = "0"
		}
		if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+k, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	group := netip.MustParseAddr("224.0.0.18")
	open := func(name, src string) IPConn {
		sys, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sys.OpenIP(IPOptions{Protocol: 112, Src: netip.MustParseAddr(src), Group: group})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return open("eth0", "198.51.100.1"), open("peer0", "198.51.100.2")
}

func TestLinuxSocketFilterAndBatch(t *testing.T) {
	inThrowawayNamespace(t, func() {
		group := netip.MustParseAddr("224.0.0.18")
		rx, tx := rawPair(t)
		if err := rx.(Filterer).SetFilter([]bpf.Instruction{
			bpf.LoadAbsolute{Off: 21, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 7, SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		}); err != nil {
			t.Fatal(err)
		}
		const n = 2*batchSize + 3
		for i := range n {
			for _, mark := range []byte{5, 7, 9} {
				pkt := make([]byte, 56)
				pkt[0], pkt[8], pkt[9] = 0x45, 255, 112
				copy(pkt[12:16], []byte{198, 51, 100, 2})
				copy(pkt[16:20], group.AsSlice())
				pkt[21], pkt[22] = mark, byte(i)
				if err := tx.WritePacket(pkt); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := make(chan []byte, 3*n)
		go func() {
			for {
				b := make([]byte, 2048)
				k, err := rx.ReadPacket(b)
				if err != nil {
					close(got)
					return
				}
				got <- b[:k]
			}
		}()
		deadline := time.After(5 * time.Second)
		for i := range n {
			select {
			case p := <-got:
				if len(p) != 56 || p[21] != 7 || p[22] != byte(i) {
					t.Fatalf("packet %d: % x", i, p)
				}
			case <-deadline:
				t.Fatalf("%d packets of %d within 5 s", i, n)
			}
		}
		select {
		case p := <-got:
			t.Fatalf("a packet the filter drops: % x", p)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

// testPacket4 is a CARP-like IPv4 packet of size bytes from src to
// 224.0.0.18 (protocol 112, TTL 255), marked by its byte 21.
func testPacket4(src [4]byte, mark byte, size int) []byte {
	p := make([]byte, size)
	p[0], p[8], p[9] = 0x45, 255, 112
	copy(p[12:16], src[:])
	copy(p[16:20], []byte{224, 0, 0, 18})
	p[21] = mark
	return p
}

// readMarks reads c until it is closed, and sends on the channel it
// returns (closed then) the mark of each packet of 56 bytes read.
func readMarks(c IPConn) <-chan byte {
	got := make(chan byte, 64)
	go func() {
		buf := make([]byte, 2048)
		for {
			k, err := c.ReadPacket(buf)
			if err != nil {
				close(got)
				return
			}
			if k == 56 {
				got <- buf[21]
			}
		}
	}()
	return got
}

// TestLinuxReadAllocatesNothing: a read that waits for its packet (a
// BACKUP's at each advert) allocates nothing beyond the sender's write.
// ReadPacket made a closure for each wait, which captured its error: two
// allocations a read, four per advert received (docs/PERF.md "The
// floor, measured in the tree").
func TestLinuxReadAllocatesNothing(t *testing.T) {
	inThrowawayNamespace(t, func() {
		rx, tx := rawPair(t)
		pkt := testPacket4([4]byte{198, 51, 100, 2}, 0, 56)
		buf := make([]byte, 2048)
		const runs = 50
		write := testing.AllocsPerRun(runs, func() {
			if err := tx.WritePacket(pkt); err != nil {
				t.Fatal(err)
			}
		})
		// runs+1 packets are queued (AllocsPerRun warms up once): read
		// them, so that each read below waits for its own.
		for range runs + 1 {
			if _, err := rx.ReadPacket(buf); err != nil {
				t.Fatal(err)
			}
		}
		both := testing.AllocsPerRun(runs, func() {
			if err := tx.WritePacket(pkt); err != nil {
				t.Fatal(err)
			}
			if _, err := rx.ReadPacket(buf); err != nil {
				t.Fatal(err)
			}
		})
		if both > write {
			t.Errorf("a write and a read: %v allocations, the write alone %v", both, write)
		}
	})
}

// TestLinuxBacklog: the raw socket's Backlog is true from a packet's
// arrival until its reader has come back for more and found none.
func TestLinuxBacklog(t *testing.T) {
	inThrowawayNamespace(t, func() {
		group := netip.MustParseAddr("224.0.0.18")
		rx, tx := rawPair(t)
		b := rx.(Backlogger)
		eventually := func(want bool, what string) {
			t.Helper()
			for deadline := time.Now().Add(5 * time.Second); b.Backlog() != want; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("Backlog not %v within 5 s: %s", want, what)
				}
			}
		}
		if b.Backlog() {
			t.Fatal("Backlog with nothing sent")
		}
		send := func(k int) {
			for range k {
				pkt := make([]byte, 56)
				pkt[0], pkt[8], pkt[9] = 0x45, 255, 112
				copy(pkt[12:16], []byte{198, 51, 100, 2})
				copy(pkt[16:20], group.AsSlice())
				if err := tx.WritePacket(pkt); err != nil {
					t.Fatal(err)
				}
			}
		}
		send(3)
		eventually(true, "3 packets queued in the socket")
		buf := make([]byte, 2048)
		for range 3 {
			if _, err := rx.ReadPacket(buf); err != nil {
				t.Fatal(err)
			}
			if !b.Backlog() {
				t.Fatal("no Backlog while the reader holds the packets it read")
			}
		}
		got := make(chan error, 2)
		go func() { _, err := rx.ReadPacket(buf); got <- err }()
		eventually(false, "the reader came back and waits")
		send(1)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		if !b.Backlog() {
			t.Fatal("no Backlog while the reader holds the packet it read")
		}
	})
}

// TestLinuxSendBatch sends batches on the raw socket (sendmmsg): whole,
// in order, in one system call; a packet that the kernel refuses (longer
// than the link's MTU: EMSGSIZE) first, in the middle or last fails
// alone, the others still go out in order, and each packet gets its own
// answer.
func TestLinuxSendBatch(t *testing.T) {
	inThrowawayNamespace(t, func() {
		rx, tx := rawPair(t)
		got := make(chan []byte, 64)
		go func() {
			for {
				b := make([]byte, 2048)
				k, err := rx.ReadPacket(b)
				if err != nil {
					close(got)
					return
				}
				got <- b[:k]
			}
		}()
		pkt := func(mark byte, size int) []byte { return testPacket4([4]byte{198, 51, 100, 2}, mark, size) }
		bc := tx.(*batchConn)
		for _, tc := range []struct {
			name  string
			sizes []int // 0: too long for the MTU
			calls int
		}{
			{"all good", []int{56, 60, 56, 64}, 1},
			{"first fails", []int{0, 56, 60}, 2},
			{"middle fails", []int{56, 0, 60, 64}, 3},
			{"last fails", []int{56, 60, 0}, 2},
			{"two fail", []int{56, 0, 0, 60}, 4},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var pkts [][]byte
				var want []byte
				for i, size := range tc.sizes {
					mark := byte(10 + i)
					if size == 0 {
						pkts = append(pkts, pkt(mark, 1600))
						continue
					}
					pkts = append(pkts, pkt(mark, size))
					want = append(want, mark)
				}
				errs := make([]error, len(pkts))
				calls := bc.sends
				bc.sendBatch(pkts, errs)
				if k := bc.sends - calls; k != tc.calls {
					t.Errorf("%d system calls, want %d", k, tc.calls)
				}
				for i, err := range errs {
					if tooLong := tc.sizes[i] == 0; tooLong != errors.Is(err, unix.EMSGSIZE) || !tooLong && err != nil {
						t.Errorf("packet %d (size %d): error %v", i, len(pkts[i]), err)
					}
				}
				deadline := time.After(5 * time.Second)
				for _, m := range want {
					select {
					case p := <-got:
						if p[21] != m || len(p) != len(pkts[m-10]) {
							t.Fatalf("received packet %d of %d bytes, want packet %d", p[21]-10, len(p), m-10)
						}
					case <-deadline:
						t.Fatalf("packet %d not received within 5 s", m-10)
					}
				}
			})
		}
	})
}

// TestLinuxWritesGathered: the raw socket's writers woken together
// (GOMAXPROCS=1, as the daemon runs) share one sendmmsg, and all their
// packets arrive.
func TestLinuxWritesGathered(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	inThrowawayNamespace(t, func() {
		rx, tx := rawPair(t)
		const n = 8
		start := make(chan struct{})
		errs := make(chan error, n)
		for i := range n {
			go func() {
				p := testPacket4([4]byte{198, 51, 100, 2}, byte(i), 56)
				<-start
				errs <- tx.WritePacket(p)
			}()
		}
		bc := tx.(*batchConn)
		close(start)
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		bc.wmu.Lock()
		calls := bc.sends
		bc.wmu.Unlock()
		if calls != 1 {
			t.Errorf("%d packets written at once took %d system calls, want 1", n, calls)
		}
		got := readMarks(rx)
		seen := map[byte]bool{}
		deadline := time.After(5 * time.Second)
		for len(seen) < n {
			select {
			case i := <-got:
				seen[i] = true
			case <-deadline:
				t.Fatalf("received %d of the %d packets within 5 s", len(seen), n)
			}
		}
	})
}

// TestLinuxNoLoopback: a raw socket's writes (a batch, sendmmsg) go out
// of its interface and are not looped back to the host: eth0's own raw
// socket, which hears the peer's packets, never reads its own.
func TestLinuxNoLoopback(t *testing.T) {
	inThrowawayNamespace(t, func() {
		eth0, peer0 := rawPair(t)
		at0, atPeer := readMarks(eth0), readMarks(peer0)
		send := func(c IPConn, src [4]byte, mark byte) {
			if err := c.WritePacket(testPacket4(src, mark, 56)); err != nil {
				t.Fatal(err)
			}
		}
		send(eth0, [4]byte{198, 51, 100, 1}, 1)
		send(peer0, [4]byte{198, 51, 100, 2}, 2)
		for _, w := range []struct {
			at   <-chan byte
			name string
			mark byte
		}{{atPeer, "peer0", 1}, {at0, "eth0", 2}} {
			select {
			case m := <-w.at:
				if m != w.mark {
					t.Errorf("%s read packet %d first, want %d: a packet looped back", w.name, m, w.mark)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s did not read packet %d within 5 s", w.name, w.mark)
			}
		}
		select {
		case m := <-at0:
			t.Errorf("eth0 read packet %d too: a packet looped back", m)
		case m := <-atPeer:
			t.Errorf("peer0 read packet %d too: a packet looped back", m)
		case <-time.After(200 * time.Millisecond):
		}
	})
}
