//go:build !linux

package main

import (
	"context"
	"errors"
	"net/netip"
)

// sniffAdverts is Linux only: on FreeBSD, pair listens with tcpdump.
func sniffAdverts(context.Context, string, uint8, int) ([]netip.Addr, error) {
	return nil, errors.New("sniff: Linux only (FreeBSD has tcpdump)")
}
