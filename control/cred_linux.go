package control

import "golang.org/x/sys/unix"

func peerCred(fd int) peer {
	uc, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return peer{err: err}
	}
	p := peer{known: true, pid: int(uc.Pid), uid: uc.Uid, gid: uc.Gid}
	if p.uid != 0 && p.pid > 0 {
		// Without its groups the peer is still known: it is allowed
		// what its uid and gid allow.
		p.groups, p.err = procGroups("/proc", p.pid)
	}
	return p
}
