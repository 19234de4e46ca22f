package control

import (
	"context"
	"net"
)

// ServeAs is Serve with the peer's credentials given, not read from the
// kernel: a test needs no second user to be refused. known false is a
// peer whose credentials the OS cannot give.
func ServeAs(ctx context.Context, ln net.Listener, b Backend, opts Options, known bool, uid, gid uint32, groups ...uint32) error {
	gid0, err := LookupGroup(opts.AdminGroup)
	if err != nil {
		return err
	}
	p := peer{known: known, uid: uid, gid: gid, groups: groups}
	s := &server{b: b, opts: opts.withDefaults(), adminGID: gid0, peerOf: func(net.Conn) peer { return p }}
	return s.serve(ctx, ln)
}
