package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/ipv4"
)

// sniffAdverts listens on iface for secs seconds and returns the sources
// of the CARP (version 2) and VRRP (versions 2 and 3) adverts of vhid:
// both are IP protocol 112 to 224.0.0.18, with the vhid or VRID in their
// second byte. It needs CAP_NET_RAW.
func sniffAdverts(ctx context.Context, iface string, vhid uint8, secs int) ([]netip.Addr, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	c, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	if err := pc.JoinGroup(ifi, &net.IPAddr{IP: net.IPv4(224, 0, 0, 18)}); err != nil {
		return nil, fmt.Errorf("sniff: joining 224.0.0.18 on %s: %w", iface, err)
	}
	if err := pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	pc.SetReadDeadline(deadline)
	var srcs []netip.Addr
	seen := map[netip.Addr]bool{}
	buf := make([]byte, 1500)
	for {
		n, cm, src, err := pc.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return srcs, nil
		}
		if err != nil {
			return srcs, fmt.Errorf("sniff: %w", err)
		}
		if cm != nil && cm.IfIndex != ifi.Index {
			continue
		}
		if id, ok := advertID(buf[:n]); !ok || id != vhid {
			continue
		}
		ip, ok := src.(*net.IPAddr)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(ip.IP)
		if a = a.Unmap(); ok && !seen[a] {
			seen[a] = true
			srcs = append(srcs, a)
		}
	}
}
