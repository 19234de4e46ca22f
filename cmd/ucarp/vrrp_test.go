package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/group"
)

// TestVRRP3Options: --protocol=vrrp3 and its long-only options, their
// defaults and ranges; no password needed (a warning if given), -P a
// no-op, one family of addresses; and the VRRPv3 options refused on a
// CARP command line, which is unchanged.
func TestVRRP3Options(t *testing.T) {
	base := []string{"-i", "eth0", "-v", "51", "-s", "198.51.100.1", "--vip=198.51.100.100"}
	type want struct {
		prio      uint8
		interval  uint16
		form      group.ChecksumMode
		noPreempt bool
		warn      string
		delay     time.Duration
		peers     int
	}
	for _, tc := range []struct {
		args []string
		want *want // nil: refused
	}{
		{[]string{"--protocol=vrrp3"}, &want{prio: 100, interval: 100}},
		{[]string{"--protocol=vrrp3", "--priority=200", "--advert-interval=1", "--vrrp-checksum=message-only", "--no-preempt"},
			&want{prio: 200, interval: 1, form: group.ChecksumForceMessageOnly, noPreempt: true}},
		{[]string{"--protocol=vrrp3", "--priority=255", "--advert-interval=4095", "-P"}, &want{prio: 255, interval: 4095}},
		{[]string{"--protocol=vrrp3", "--preempt-delay=2.5"}, &want{prio: 100, interval: 100, delay: 2500 * time.Millisecond}},
		{[]string{"--protocol=vrrp3", "-p", "secret"}, &want{prio: 100, interval: 100, warn: "no authentication"}},
		{[]string{"--protocol=vrrp3", "--vip=2001:db8::1"}, nil},
		{[]string{"--protocol=vrrp3", "--priority=0"}, nil},
		{[]string{"--protocol=vrrp3", "--priority=256"}, nil},
		{[]string{"--protocol=vrrp3", "--advert-interval=0"}, nil},
		{[]string{"--protocol=vrrp3", "--advert-interval=4096"}, nil},
		{[]string{"--protocol=vrrp3", "--vrrp-checksum=v2"}, nil},
		{[]string{"--protocol=vrrp3", "--preempt-delay=-1"}, nil},
		{[]string{"--protocol=vrrp3", "--preempt-delay=3601"}, nil},
		{[]string{"-p", "secret", "--preempt-delay=5"}, nil},
		{[]string{"--protocol=vrrp2"}, nil},
		{[]string{"--protocol=vrrp3", "--peer=198.51.100.2", "--peer=198.51.100.3"}, &want{prio: 100, interval: 100, peers: 2}},
		{[]string{"--protocol=vrrp3", "--peer=2001:db8::2"}, nil}, // a peer of the other family
		{[]string{"--protocol=vrrp3", "--peer=224.0.0.18"}, nil},
		{[]string{"--protocol=vrrp3", "--auth=hmac-sha256"}, nil},
		{[]string{"--protocol=vrrp3", "--relax-ttl"}, nil},
		{[]string{"--protocol=vrrp3", "--keyfile=/etc/ucarp/keys"}, nil},
		{[]string{"--protocol=vrrp3", "--auth-mode=enforce"}, nil},
		{[]string{"--protocol=vrrp3", "--replay-window=5"}, nil},
		{[]string{"-p", "secret", "--priority=200"}, nil}, // CARP
		{[]string{"-p", "secret", "--no-preempt"}, nil},
	} {
		var log bytes.Buffer
		res := parseCommandLine("ucarp", append(slices.Clone(base), tc.args...), false, newLogger(&log, &log, nil), io.Discard)
		if tc.want == nil {
			if !res.done || res.exit == 0 {
				t.Errorf("%q: accepted", tc.args)
			}
			continue
		}
		if res.done {
			t.Fatalf("%q: exit %d: %s", tc.args, res.exit, log.String())
		}
		c, w := res.cfg, tc.want
		if c.Protocol != group.ProtocolVRRP3 || c.Priority != w.prio || c.AdvertInterval != w.interval ||
			c.VRRPChecksum != w.form || c.NoPreempt != w.noPreempt || c.Preempt {
			t.Errorf("%q: %+v", tc.args, c.Group)
		}
		if len(c.Peers) != w.peers || len(c.GroupConfig().Peers) != w.peers {
			t.Errorf("%q: peers %v, want %d", tc.args, c.Peers, w.peers)
		}
		if c.PreemptDelay != w.delay {
			t.Errorf("%q: preempt delay %v, want %v", tc.args, c.PreemptDelay, w.delay)
		}
		if gc := c.GroupConfig(); gc.Protocol != group.ProtocolVRRP3 || gc.Priority != w.prio || gc.AdvertInterval != w.interval {
			t.Errorf("%q: GroupConfig %+v", tc.args, gc)
		}
		if w.warn != "" && !strings.Contains(log.String(), w.warn) {
			t.Errorf("%q: no warning %q in %q", tc.args, w.warn, log.String())
		}
	}
	// CARP, as ucarp: nothing of VRRP.
	res := parseCommandLine("ucarp", append(slices.Clone(base), "-p", "secret"), false, newLogger(io.Discard, io.Discard, nil), io.Discard)
	if res.done || res.cfg.Protocol != group.ProtocolCARP || res.cfg.Priority != 0 || res.cfg.AdvertInterval != 0 {
		t.Errorf("CARP: %+v", res)
	}
}
