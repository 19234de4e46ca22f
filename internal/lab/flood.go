//go:build linux

package lab

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/ucarp-go/ucarp/carp"
)

// Partition stops the bridge from forwarding to and from h, while h keeps
// its carrier: h and the others can no longer hear each other, and
// nothing tells them so.
func (h *Host) Partition() error { return h.bridgePortState("0") }

// Heal lets the bridge forward to and from h again.
func (h *Host) Heal() error { return h.bridgePortState("3") }

// bridgePortState sets the STP state of h's bridge port: 0 disabled, 3
// forwarding. ("ip link set ... type bridge_slave state" is accepted but
// ignored on a bridge without STP; bridge(8) does it.)
func (h *Host) bridgePortState(state string) error {
	out, err := exec.Command("bridge", "-n", h.lab.sw, "link", "set", "dev", h.port, "state", state).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: bridge link set %s state %s: %v: %s", h.port, state, err, out)
	}
	return nil
}

// FloodKind is one kind of bad packet.
type FloodKind string

// The kinds of bad packets, and the drop reason each must be counted as.
const (
	FloodBadDigest   FloodKind = "bad-digest"   // a forged digest
	FloodWrongPass   FloodKind = "wrong-pass"   // advskew 0 (would win), signed with another password
	FloodOtherVHID   FloodKind = "other-vhid"   // a valid advert of vhid 2
	FloodBadTTL      FloodKind = "bad-ttl"      // TTL 254
	FloodBadChecksum FloodKind = "bad-checksum" // a wrong CARP checksum
	FloodTruncated   FloodKind = "truncated"    // 20 CARP bytes instead of 36
	FloodRandom      FloodKind = "random"       // 36 random bytes
)

// AllFloodKinds is every kind, in the order the flood cycles through them.
var AllFloodKinds = []FloodKind{FloodBadDigest, FloodWrongPass, FloodOtherVHID, FloodBadTTL, FloodBadChecksum, FloodTruncated, FloodRandom}

// Reason is the drop reason a receiver counts for k (vhid 1, password
// carplab); FloodRandom has none of its own.
func (k FloodKind) Reason() carp.DropReason {
	switch k {
	case FloodBadDigest, FloodWrongPass:
		return carp.DropBadDigest
	case FloodOtherVHID:
		return carp.DropOtherVHID
	case FloodBadTTL:
		return carp.DropBadTTL
	case FloodBadChecksum:
		return carp.DropBadChecksum
	case FloodTruncated:
		return carp.DropBogusSize
	}
	return carp.DropNone
}

// Flood sends bad protocol-112 packets from h to 224.0.0.18 at rate per
// second for d, cycling through AllFloodKinds, and returns how many of each
// it sent.
func (h *Host) Flood(rate int, d time.Duration) (map[FloodKind]int, error) {
	var c net.PacketConn
	if err := h.Do(func() (err error) {
		c, err = net.ListenPacket("ip4:112", h.Addr.String())
		return err
	}); err != nil {
		return nil, fmt.Errorf("lab: flood socket in %s: %w", h.Name, err)
	}
	defer c.Close()
	rc, err := ipv4.NewRawConn(c)
	if err != nil {
		return nil, err
	}
	ifi, err := interfaceIn(h)
	if err != nil {
		return nil, err
	}
	rc.SetMulticastInterface(ifi)
	good, _ := carp.NewAuth([]byte("carplab"), 1, []netip.Addr{VIP})
	other, _ := carp.NewAuth([]byte("carplab"), 2, []netip.Addr{VIP})
	wrong, _ := carp.NewAuth([]byte("not-carplab"), 1, []netip.Addr{VIP})
	group := net.IPv4(224, 0, 0, 18)
	sent := map[FloodKind]int{}
	payload := func(k FloodKind, i int) (ttl int, b []byte) {
		hd := carp.Header{Version: 2, Type: 1, VHID: 1, AdvBase: 1, AdvSkew: 0, AuthLen: 7, Counter: uint64(i)}
		ttl = 255
		switch k {
		case FloodBadDigest:
			rand.Read(hd.Digest[:])
		case FloodWrongPass:
			wrong.Sign(&hd)
		case FloodOtherVHID:
			hd.VHID = 2
			other.Sign(&hd)
		case FloodBadTTL:
			good.Sign(&hd)
			ttl = 254
		case FloodBadChecksum:
			good.Sign(&hd)
			b, _ = hd.MarshalBinary()
			b[6] ^= 0xff
			return ttl, b
		case FloodTruncated:
			good.Sign(&hd)
			b, _ = hd.MarshalBinary()
			return ttl, b[:20]
		case FloodRandom:
			b = make([]byte, carp.HeaderLen)
			rand.Read(b)
			return ttl, b
		}
		b, _ = hd.MarshalBinary()
		return ttl, b
	}
	// The packets are built beforehand, whole (the socket has
	// IP_HDRINCL), so that sending is all the loop does: sendmmsg(2), up
	// to a batch a call, keeping up with rate by the elapsed time, in
	// bursts of 1 ms. (One WriteTo a packet topped out near 40,000 a
	// second here.)
	type pkt struct {
		kind FloodKind
		b    []byte
	}
	var pkts []pkt
	for i := 0; i < 64*len(AllFloodKinds); i++ {
		k := AllFloodKinds[i%len(AllFloodKinds)]
		ttl, b := payload(k, i)
		hdr := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TOS: carp.TOS, TotalLen: ipv4.HeaderLen + len(b),
			ID: i & 0xffff, Flags: ipv4.DontFragment, TTL: ttl, Protocol: carp.IPProtocol, Src: h.Addr.AsSlice(), Dst: group}
		hb, err := hdr.Marshal()
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, pkt{k, append(hb, b...)})
	}
	sc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, err
	}
	to := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{224, 0, 0, 18}}
	const batch = 64
	var iovs [batch]unix.Iovec
	var msgs [batch]mmsghdr
	begin := time.Now()
	for n := 0; ; {
		elapsed := time.Since(begin)
		if elapsed >= d {
			break
		}
		for target := int(elapsed.Seconds() * float64(rate)); n < target; {
			k := min(target-n, batch)
			for j := range k {
				b := pkts[(n+j)%len(pkts)].b
				iovs[j].Base = &b[0]
				iovs[j].SetLen(len(b))
				msgs[j] = mmsghdr{hdr: unix.Msghdr{Name: (*byte)(unsafe.Pointer(&to)), Namelen: unix.SizeofSockaddrInet4, Iov: &iovs[j]}}
				msgs[j].hdr.SetIovlen(1)
			}
			var m int
			sc.Control(func(fd uintptr) {
				r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(k), 0, 0, 0)
				if e == 0 {
					m = int(r)
				}
			})
			for j := range m {
				sent[pkts[(n+j)%len(pkts)].kind]++
			}
			n += k // what the kernel did not take (a full buffer) is lost, as on a wire
		}
		time.Sleep(time.Millisecond)
	}
	return sent, nil
}

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

func interfaceIn(h *Host) (*net.Interface, error) {
	var ifi *net.Interface
	err := h.Do(func() (err error) {
		ifi, err = net.InterfaceByName(h.IfName)
		return err
	})
	return ifi, err
}
