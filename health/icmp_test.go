package health

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Only the reply to this request, from its address, counts.
func TestEchoIsReply(t *testing.T) {
	token := []byte("0123456789abcdef")
	v4 := netip.MustParseAddr("203.0.113.1")
	v6 := netip.MustParseAddr("fe80::1%eth0")
	from4 := &net.IPAddr{IP: v4.AsSlice()}
	from6 := &net.UDPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth1"}
	msg := func(typ icmp.Type, id, seq int, data []byte) []byte {
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	raw4 := &echo{dst: v4, kind: echo4, id: 7, seq: 9, token: token, raw: true}
	dgram4 := &echo{dst: v4, kind: echo4, id: 7, seq: 9, token: token}
	dgram6 := &echo{dst: v6, kind: echo6, id: 7, seq: 9, token: token}
	tests := []struct {
		name string
		e    *echo
		b    []byte
		from net.Addr
		want bool
	}{
		{"the reply", raw4, msg(ipv4.ICMPTypeEchoReply, 7, 9, token), from4, true},
		{"another identifier, raw", raw4, msg(ipv4.ICMPTypeEchoReply, 8, 9, token), from4, false},
		{"another identifier, datagram", dgram4, msg(ipv4.ICMPTypeEchoReply, 40000, 9, token), from4, true},
		{"another sequence", raw4, msg(ipv4.ICMPTypeEchoReply, 7, 10, token), from4, false},
		{"another payload", dgram4, msg(ipv4.ICMPTypeEchoReply, 7, 9, []byte("0123456789abcdeF")), from4, false},
		{"from elsewhere", dgram4, msg(ipv4.ICMPTypeEchoReply, 7, 9, token), &net.IPAddr{IP: net.ParseIP("203.0.113.2")}, false},
		{"a request", raw4, msg(ipv4.ICMPTypeEcho, 7, 9, token), from4, false},
		{"an IPv6 reply, zone aside", dgram6, msg(ipv6.ICMPTypeEchoReply, 1, 9, token), from6, true},
		{"an IPv6 request", dgram6, msg(ipv6.ICMPTypeEchoRequest, 7, 9, token), from6, false},
		{"short", dgram4, []byte{0, 0}, from4, false},
	}
	for _, tt := range tests {
		if got := tt.e.isReply(tt.b, tt.from); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if b, err := raw4.request(); err != nil || !dgram4.isReply(append([]byte{0}, b[1:]...), from4) {
		t.Errorf("a request with its type made a reply does not answer: %x, %v", b, err)
	}
}
