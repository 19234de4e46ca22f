//go:build !linux && !freebsd

package control

import "errors"

func peerCred(int) peer {
	return peer{err: errors.New("control: peer credentials are not supported on this system")}
}
