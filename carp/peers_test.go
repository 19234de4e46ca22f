package carp

import (
	"net/netip"
	"strings"
	"testing"
)

// TestValidatorPeers checks unicast mode over IPv4: with peers, only
// their adverts pass, to the group or to this host; a source that is
// not one is dropped before the digest is computed (a forged advert
// with the right password from another host is not-peer too), and
// clearing the peers restores ucarp's rule.
func TestValidatorPeers(t *testing.T) {
	other := netip.MustParseAddr("198.51.100.13")
	toSelf := func(p *Packet) { p.Dst = testSelf }
	tests := []struct {
		name  string
		peers []netip.Addr
		edit  func(p *Packet)
		want  DropReason
	}{
		{name: "multicast mode: to the group", want: DropNone},
		{name: "multicast mode: unicast to this host", edit: toSelf, want: DropOtherGroup},
		{name: "peer: unicast to this host", peers: []netip.Addr{testPeer}, edit: toSelf, want: DropNone},
		{name: "peer: to the group", peers: []netip.Addr{testPeer}, want: DropNone},
		{name: "peer among several", peers: []netip.Addr{other, testPeer}, edit: toSelf, want: DropNone},
		{name: "not a peer", peers: []netip.Addr{other}, edit: toSelf, want: DropNotPeer},
		{name: "not a peer, to the group", peers: []netip.Addr{other}, want: DropNotPeer},
		{name: "peer, to another multicast group", peers: []netip.Addr{testPeer},
			edit: func(p *Packet) { p.Dst = netip.MustParseAddr("224.0.0.19") }, want: DropOtherGroup},
		{name: "peer, TTL still checked", peers: []netip.Addr{testPeer},
			edit: func(p *Packet) { p.Dst, p.TTL = testSelf, 64 }, want: DropBadTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewValidator(testSelf, testGroup, 1, testAuth(t, "carplab"))
			v.SetPeers(tt.peers)
			var h Header
			d := v.Check(advertFrom(t, tt.edit, nil), &h)
			if d.Reason != tt.want {
				t.Fatalf("%v (%s), want %v", d.Reason, d, tt.want)
			}
			if d.Reason == DropNotPeer && (d.Level() != LevelWarning || !strings.Contains(d.String(), testPeer.String())) {
				t.Fatalf("level %v, text %q", d.Level(), d)
			}
		})
	}
	v := NewValidator(testSelf, testGroup, 1, testAuth(t, "carplab"))
	v.SetPeers([]netip.Addr{other})
	var h Header
	if d := v.Check(advertFrom(t, nil, nil), &h); d.Reason != DropNotPeer {
		t.Fatalf("%v, want not-peer", d.Reason)
	}
	v.SetPeers(nil)
	if d := v.Check(advertFrom(t, nil, nil), &h); d.Reason != DropNone {
		t.Fatalf("peers cleared: %v, want accepted", d.Reason)
	}
}

// TestValidator6Peers checks unicast mode over IPv6, with link-local
// peers written with or without their zone, and global ones.
func TestValidator6Peers(t *testing.T) {
	a, _ := NewAuth([]byte("carplab"), 1, []netip.Addr{testVIP6, testVIP})
	global := netip.MustParseAddr("2001:db8::12")
	self := netip.MustParseAddr("2001:db8::11")
	tests := []struct {
		name     string
		peers    []netip.Addr
		src, dst netip.Addr
		want     DropReason
	}{
		{name: "multicast mode: unicast", src: testPeer6, dst: testSelf6, want: DropOtherGroup},
		{name: "link-local peer", peers: []netip.Addr{testPeer6}, src: testPeer6, dst: testSelf6, want: DropNone},
		{name: "link-local peer with zone", peers: []netip.Addr{testPeer6.WithZone("eth0")}, src: testPeer6.WithZone("eth0"), dst: testSelf6, want: DropNone},
		{name: "global peer", peers: []netip.Addr{global}, src: global, dst: self, want: DropNone},
		{name: "global peer to the group", peers: []netip.Addr{global}, src: global, dst: GroupIPv6, want: DropNone},
		{name: "not a peer", peers: []netip.Addr{global}, src: testPeer6, dst: testSelf6, want: DropNotPeer},
		{name: "peer to another group", peers: []netip.Addr{testPeer6}, src: testPeer6, dst: netip.MustParseAddr("ff02::1"), want: DropOtherGroup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewValidator6(testSelf6, GroupIPv6, 1, a)
			v.SetPeers(tt.peers)
			var h Header
			if d := v.Check(advert6(t, nil), tt.src, tt.dst, HopLimit, &h); d.Reason != tt.want {
				t.Fatalf("%v (%s), want %v", d.Reason, d, tt.want)
			}
		})
	}
}

// TestSocketFilterUnicast: the kernel's filter passes an advert of a
// unicast peer addressed to this host as it passes one to the group (it
// tests no destination), and still drops a TTL other than 255.
func TestSocketFilterUnicast(t *testing.T) {
	toSelf := advertFrom(t, func(p *Packet) { p.Dst = testSelf }, nil)
	if !runFilter(t, []uint8{1}, toSelf) {
		t.Fatal("the filter drops a unicast advert to this host")
	}
	lowTTL := advertFrom(t, func(p *Packet) { p.Dst, p.TTL = testSelf, 64 }, nil)
	if runFilter(t, []uint8{1}, lowTTL) {
		t.Fatal("the filter passes a unicast advert with TTL 64")
	}
}
