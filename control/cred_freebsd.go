package control

import "golang.org/x/sys/unix"

func peerCred(fd int) peer {
	xu, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return peer{err: err}
	}
	n := int(xu.Ngroups)
	if n < 1 || n > len(xu.Groups) {
		return peer{err: unix.EINVAL}
	}
	// cr_groups[0] is the effective gid, the others the supplementary
	// groups (the first 16 of them).
	return peer{known: true, uid: xu.Uid, gid: xu.Groups[0], groups: append([]uint32(nil), xu.Groups[1:n]...)}
}
