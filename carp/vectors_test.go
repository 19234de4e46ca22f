package carp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// vector is one advert of the spec's §12 or of a capture: the parameters
// ucarp sent it with, and the full Ethernet frame it put on the wire.
type vector struct {
	name     string
	password string
	vhid     uint8
	vip      string
	src      string
	group    string
	nomcast  bool
	advbase  uint8
	advskew  uint8
	counter  uint64
	id       uint16
	frame    string
	digest   string // the HMAC alone, where the spec gives it
	message  string // the 15-byte HMAC message, where the spec gives it
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// captureLine returns the value of a "key: hex" line of a capture file.
func captureLine(t *testing.T, path, key string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), key+": "); ok {
			return v
		}
	}
	t.Fatalf("%s: no %q line", path, key)
	return ""
}

func vectors(t *testing.T) []vector {
	return []vector{
		{
			// §12.1: captured from Debian's ucarp, first advert after takeover.
			name: "spec-12.1-capture", password: "secret", vhid: 10, vip: "10.1.1.252", src: "10.1.1.1",
			group: "224.0.0.18", advbase: 1, advskew: 0, counter: 0xeb503b38d7261357, id: 0x019e,
			frame: "01005e00001200005e00000a080045100038019e4000ff708e930a010101e0000012210a00070001317aeb503b38d7261357cd587869b90cebacf9c8834115d5fecc2073ffd0",
		},
		{
			// testdata/ucarp-advert-1.hex: captured in this project's lab.
			name: "lab-capture", password: "carplab", vhid: 1, vip: "198.51.100.100", src: "198.51.100.11",
			group: "224.0.0.18", advbase: 1, advskew: 0, counter: 2367873038286485874, id: 16454,
			frame: captureLine(t, "testdata/ucarp-advert-1.hex", "frame"),
		},
		{
			name: "spec-V1", password: "secret", vhid: 10, vip: "10.1.1.252", src: "10.1.1.1",
			group: "224.0.0.18", advbase: 1, advskew: 0, counter: 0x0123456789abcdef, id: 0x1234,
			message: "02010a0a0101fc0123456789abcdef",
			digest:  "eb90f254d0dc5c74827ac8bd46b8d5b306588610",
			frame:   "01005e00001200005e00000a08004510003812344000ff707dfd0a010101e0000012210a0007000141840123456789abcdefeb90f254d0dc5c74827ac8bd46b8d5b306588610",
		},
		{
			name: "spec-V2-mcast-group", password: "mypassword", vhid: 1, vip: "192.168.1.100", src: "192.168.1.10",
			group: "239.192.0.1", advbase: 3, advskew: 100, counter: 0, id: 0,
			message: "020101c0a801640000000000000000",
			digest:  "adae42732d5a69d3b0d90ccc89cd2e4ec474017e",
			frame:   "01005e40000100005e00000108004510003800004000ff70c9d1c0a8010aefc00001210164070003b7f00000000000000000adae42732d5a69d3b0d90ccc89cd2e4ec474017e",
		},
		{
			name: "spec-V3-nomcast-max", password: "1234567890123456789", vhid: 255, vip: "172.16.0.1", src: "172.16.0.2",
			group: "224.0.0.18", nomcast: true, advbase: 1, advskew: 255, counter: 0xffffffffffffffff, id: 0xffff,
			message: "0201ffac100001ffffffffffffffff",
			digest:  "6140df59f2f6904e0649713d24ea515ffc2126ff",
			frame:   "ffffffffffff00005e0000ff080045100038ffff4000ff70ef20ac100002e000001221ffff0700010a27ffffffffffffffff6140df59f2f6904e0649713d24ea515ffc2126ff",
		},
	}
}

// The Ethernet header of ucarp's frames, for the vectors: the adverts
// themselves are IP packets, framed by the platform.
const ethernetHeaderLen = 14

// multicastMAC is the Ethernet address that carries IPv4 multicast group
// g: 01:00:5e followed by the low 23 bits of the group.
func multicastMAC(g netip.Addr) [6]byte {
	a := g.As4()
	return [6]byte{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
}

// broadcastMAC is the destination of adverts sent with --nomcast.
func broadcastMAC() [6]byte { return [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }

// appendEthernet appends an Ethernet II header for an IPv4 payload to b.
func appendEthernet(b []byte, dst, src [6]byte) []byte {
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	return binary.BigEndian.AppendUint16(b, 0x0800)
}

// ucarpFrame builds the frame as ucarp does, with its pseudo-MAC
// 00:00:5e:00:00:<vhid> as Ethernet source.
func ucarpFrame(t *testing.T, v vector) []byte {
	t.Helper()
	vip, src, group := netip.MustParseAddr(v.vip), netip.MustParseAddr(v.src), netip.MustParseAddr(v.group)
	auth, err := NewAuth([]byte(v.password), v.vhid, []netip.Addr{vip})
	if err != nil {
		t.Fatal(err)
	}
	h := Header{Version: Version, Type: TypeAdvertisement, VHID: v.vhid, AdvBase: v.advbase,
		AdvSkew: v.advskew, AuthLen: AuthLen, Counter: v.counter}
	auth.Sign(&h)
	p := NewPacket(src, group, v.id, h)
	dst := multicastMAC(group)
	if v.nomcast {
		dst = broadcastMAC()
	}
	b := appendEthernet(nil, dst, [6]byte{0, 0, 0x5e, 0, 0, v.vhid})
	b, err = p.AppendBinary(b)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectorsEncode(t *testing.T) {
	for _, v := range vectors(t) {
		t.Run(v.name, func(t *testing.T) {
			want := mustHex(t, v.frame)
			if got := ucarpFrame(t, v); !bytes.Equal(got, want) {
				t.Fatalf("frame mismatch\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestVectorsDecode(t *testing.T) {
	for _, v := range vectors(t) {
		t.Run(v.name, func(t *testing.T) {
			frame := mustHex(t, v.frame)
			pkt := frame[ethernetHeaderLen:]
			var p Packet
			if err := p.UnmarshalBinary(pkt); err != nil {
				t.Fatal(err)
			}
			want := Packet{
				TOS: TOS, Length: PacketLen, ID: v.id, Flags: FlagDF, TTL: TTL, Protocol: IPProtocol,
				Checksum: p.Checksum, // checked below through re-encoding
				Src:      netip.MustParseAddr(v.src), Dst: netip.MustParseAddr(v.group), Options: pkt[20:20],
				Header: Header{Version: 2, Type: 1, VHID: v.vhid, AdvSkew: v.advskew, AuthLen: 7,
					AdvBase: v.advbase, Checksum: p.Header.Checksum, Counter: v.counter, Digest: p.Header.Digest},
			}
			if !packetsEqual(p, want) {
				t.Fatalf("decoded %+v\nwant    %+v", p, want)
			}
			again, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, pkt) {
				t.Fatalf("re-encoded\n got %x\nwant %x", again, pkt)
			}
			if v.digest != "" && hex.EncodeToString(p.Header.Digest[:]) != v.digest {
				t.Fatalf("digest %x, want %s", p.Header.Digest, v.digest)
			}
			if v.nomcast != (frame[0] == 0xff) {
				t.Fatalf("Ethernet destination %x for nomcast=%v", frame[:6], v.nomcast)
			}

			// The receiving ucarp accepts it.
			vip := netip.MustParseAddr(v.vip)
			auth, _ := NewAuth([]byte(v.password), v.vhid, []netip.Addr{vip})
			val := NewValidator(netip.MustParseAddr("198.18.0.1"), p.Dst, v.vhid, auth)
			var h Header
			if d := val.Check(pkt, &h); !d.Accepted() {
				t.Fatalf("rejected: %v", d)
			}
			if h != p.Header {
				t.Fatalf("validator header %+v, want %+v", h, p.Header)
			}
		})
	}
}

func packetsEqual(a, b Packet) bool {
	return bytes.Equal(a.Options, b.Options) && a.Header == b.Header &&
		a.TOS == b.TOS && a.Length == b.Length && a.ID == b.ID && a.Flags == b.Flags &&
		a.TTL == b.TTL && a.Protocol == b.Protocol && a.Checksum == b.Checksum &&
		a.Src == b.Src && a.Dst == b.Dst
}

func TestVectorsMessage(t *testing.T) {
	for _, v := range vectors(t) {
		if v.message == "" {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			vip := netip.MustParseAddr(v.vip)
			m := ucarpMessage(v.vhid, vip, v.counter)
			if got := hex.EncodeToString(m[:]); got != v.message {
				t.Fatalf("ucarp message %s, want %s", got, v.message)
			}
			if got := hex.EncodeToString(bsdMessage(v.vhid, []netip.Addr{vip}, v.counter)); got != v.message {
				t.Fatalf("BSD message %s, want %s", got, v.message)
			}
		})
	}
}

// TestDigestCrossChecks reproduces §12.3: the digests that the real ucarp
// printed in its "Bad digest" lines.
func TestDigestCrossChecks(t *testing.T) {
	vip := netip.MustParseAddr("10.1.1.252")
	tests := []struct {
		name, password, vip, want string
	}{
		{"expected", "secret", "10.1.1.252", "debf7bb7a2cb9a199d0cbc0039f5a323d4b8770d"},
		{"wrong-password", "wrong", "10.1.1.252", "0c151cbd"},
		{"wrong-vip", "secret", "10.1.1.253", "d67e6f7b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewAuth([]byte(tt.password), 10, []netip.Addr{netip.MustParseAddr(tt.vip)})
			if err != nil {
				t.Fatal(err)
			}
			d := a.sum(a.prefix, 5)
			if got := hex.EncodeToString(d[:]); !strings.HasPrefix(got, tt.want) {
				t.Fatalf("digest %s, want prefix %s", got, tt.want)
			}
		})
	}

	// The receiver's log line, byte for byte as ucarp printed it.
	sender, _ := NewAuth([]byte("wrong"), 10, []netip.Addr{vip})
	receiver, _ := NewAuth([]byte("secret"), 10, []netip.Addr{vip})
	h := Header{Version: 2, Type: 1, VHID: 10, AdvBase: 1, AuthLen: 7, Counter: 5}
	sender.Sign(&h)
	p := NewPacket(netip.MustParseAddr("10.1.1.2"), netip.MustParseAddr("224.0.0.18"), 1, h)
	b, _ := p.MarshalBinary()
	d := NewValidator(netip.MustParseAddr("10.1.1.1"), p.Dst, 10, receiver).Check(b, &Header{})
	const want = "Bad digest - md2=[debf7bb7...] md=[0c151cbd...] - Check vhid, password and virtual IP address"
	if d.Reason != DropBadDigest || d.String() != want || d.Level() != LevelWarning {
		t.Fatalf("got %v %q at %v, want %q", d.Reason, d, d.Level(), want)
	}
}
