//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// The failover and graceful-handoff figures repeated for an IPv6-only
// group (issue 14): ours only (ucarp has no IPv6; keepalived is not set up
// for it here), in a lab of its own per run with IPv6 on, the group's one
// address lab.VIP6/64, the observer pinging it over ICMPv6 (ping -6) every
// 20 ms.

var ipv6Scenarios = []scenario{
	{"hard6", []string{"hard6.vip", "hard6.excess", "hard6.reply", "hard6.lost", "na6"}, hardFailover6},
	{"graceful6", []string{"graceful6.vip", "graceful6.lost"}, graceful6},
}

var ipv6Metrics = []metric{
	{"hard6.vip", "IPv6-only group, hard failover: backup holds the VIP", "s after the fault", 3},
	{"hard6.excess", "IPv6-only group, hard failover: beyond the protocol bound", "ms after last advert + dead time", 1},
	{"hard6.reply", "IPv6-only group, hard failover: observer's first ping -6 reply", "s after the fault", 3},
	{"hard6.lost", "IPv6-only group, hard failover: pings -6 lost", "at 20 ms", 0},
	{"na6", "IPv6-only group: first unsolicited NA after the MASTER transition", "ms", 2},
	{"graceful6.vip", "IPv6-only group, graceful handoff (TERM): peer holds the VIP", "ms", 1},
	{"graceful6.lost", "IPv6-only group, graceful handoff: pings -6 lost", "at 20 ms", 0},
}

func init() {
	allScenarios = append(allScenarios, ipv6Scenarios...)
	metrics = append(metrics, ipv6Metrics...)
}

// skipScenario says that im does not run sc: the IPv6 scenarios are ours
// alone.
func skipScenario(sc scenario, im impl) bool {
	for _, s := range ipv6Scenarios {
		if s.name == sc.name {
			return im.name != "ours"
		}
	}
	return false
}

var errNotOurs = errors.New("the IPv6 scenarios run ours only")

// lab6 is a lab of two hosts and the observer with IPv6 on; the caller
// closes it.
func lab6() (*lab.Lab, error) {
	l, err := lab.New(lab.Options{Hosts: 2})
	if err != nil {
		return nil, err
	}
	if err := l.EnableIPv6(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// start6 starts ours on h in role r with lab.VIP6/64 in place of the lab's
// IPv4 VIP.
func start6(h *lab.Host, r role) (*lab.Proc, error) {
	var args []string
	for _, a := range carpRole(lab.CARP{Bin: *oursBin}, r).Args(h) {
		if a == "--addr="+lab.VIP.String() {
			a = "--addr=" + lab.VIP6.String() + "/64"
		}
		args = append(args, a)
	}
	return h.Start("ours", args...)
}

// pair6 is pair for the IPv6 group: h1 preferred and alone holding VIP6,
// settled for one more advert interval.
func pair6(l *lab.Lab) (*lab.Proc, *lab.Proc, error) {
	h1, h2 := l.Hosts[0], l.Hosts[1]
	p1, err := start6(h1, role{preferred: true})
	if err != nil {
		return nil, nil, err
	}
	p2, err := start6(h2, role{})
	if err != nil {
		return nil, nil, err
	}
	if !lab.Eventually(wait, func() bool { return h1.HasAddr6(lab.VIP6) && !h2.HasAddr6(lab.VIP6) }) {
		return nil, nil, fmt.Errorf("IPv6: no convergence to h1: %w", errTimeout)
	}
	time.Sleep(1200 * time.Millisecond)
	return p1, p2, nil
}

// The offsets in a captured frame: Ethernet, then the IPv6 header.
const (
	ethIPv6Next = 14 + 6
	ethIPv6Src  = 14 + 8
	ethIPv6Data = 14 + 40
)

// isCARP6From: f is a CARP advert over IPv6 from src.
func isCARP6From(f lab.Frame, src netip.Addr) bool {
	d := f.Data
	return len(d) > ethIPv6Data && d[12] == 0x86 && d[13] == 0xdd && d[ethIPv6Next] == 112 &&
		netip.AddrFrom16([16]byte(d[ethIPv6Src:ethIPv6Src+16])) == src
}

// isNAFor: f is a Neighbour Advertisement for target from mac.
func isNAFor(f lab.Frame, target netip.Addr, mac []byte) bool {
	d := f.Data
	return len(d) >= ethIPv6Data+24 && d[12] == 0x86 && d[13] == 0xdd && d[ethIPv6Next] == 58 &&
		d[ethIPv6Data] == 136 && netip.AddrFrom16([16]byte(d[ethIPv6Data+8:ethIPv6Data+24])) == target &&
		bytes.Equal(f.Source(), mac)
}

// ipv6 is the IPv6-only group's family: a lab of its own, the VIP
// watched on h2 only, h1's adverts told by its link-local source, NAs.
var ipv6 = family{
	suffix: "6", vip: lab.VIP6, announce: "na6",
	setup: func(*lab.Lab) (*lab.Lab, *lab.AddrWatch, *lab.AddrWatch, func(), error) {
		l, err := lab6()
		if err != nil {
			return nil, nil, nil, nil, err
		}
		w2, err := l.Hosts[1].WatchAddr(lab.VIP6)
		if err != nil {
			l.Close()
			return nil, nil, nil, nil, err
		}
		return l, nil, w2, func() { w2.Stop(); l.Close() }, nil
	},
	pair: func(l *lab.Lab, _ impl) (*lab.Proc, *lab.Proc, error) { return pair6(l) },
	advertOf: func(h1 *lab.Host) (func(lab.Frame) bool, error) {
		src1, err := h1.LinkLocal()
		if err != nil {
			return nil, err
		}
		return func(f lab.Frame) bool { return isCARP6From(f, src1) }, nil
	},
	announcementOf: func(h2 *lab.Host) func(lab.Frame) bool {
		return func(f lab.Frame) bool { return isNAFor(f, lab.VIP6, h2.MAC) }
	},
	replyFirst: true, ping: "ping -6",
}

func hardFailover6(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	if im.name != "ours" {
		return nil, errNotOurs
	}
	return hard(l, im, rng, ipv6)
}

func graceful6(l *lab.Lab, im impl, rng *rand.Rand) (map[string]float64, error) {
	if im.name != "ours" {
		return nil, errNotOurs
	}
	return handoff(l, im, rng, ipv6)
}
