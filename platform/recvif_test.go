package platform

import (
	"maps"
	"testing"

	"golang.org/x/net/ipv4"
)

func TestRecvifCheck(t *testing.T) {
	const eth0 = 2
	for _, tc := range []struct {
		name string
		cm   *ipv4.ControlMessage
		want recvifVerdict
	}{
		{"on the interface", &ipv4.ControlMessage{IfIndex: eth0}, recvifOurs},
		{"another interface", &ipv4.ControlMessage{IfIndex: 3}, recvifOther},
		{"no control message", nil, recvifMissing},
		{"control message without IP_RECVIF", &ipv4.ControlMessage{TTL: 255}, recvifMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recvifCheck(tc.cm, eth0); got != tc.want {
				t.Fatalf("%v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecvifFilterCounts(t *testing.T) {
	var f recvifFilter
	var conn DropCounter = &f
	for _, cm := range []*ipv4.ControlMessage{{IfIndex: 2}, nil, {IfIndex: 3}, {}, nil, {IfIndex: 2}} {
		f.keep(cm, 2)
	}
	if !f.keep(&ipv4.ControlMessage{IfIndex: 2}, 2) || f.keep(nil, 2) {
		t.Fatal("kept the wrong packet")
	}
	want := map[string]uint64{"other-interface": 1, "no-recvif": 4}
	if got := conn.Drops(); !maps.Equal(got, want) {
		t.Fatalf("drops %v, want %v", got, want)
	}
}
