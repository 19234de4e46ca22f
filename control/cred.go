package control

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
)

// peer is who is at the other end of a connection, as the kernel says
// (SO_PEERCRED, LOCAL_PEERCRED).
type peer struct {
	known  bool // false where the OS cannot say: such a peer only reads
	pid    int  // 0 if unknown
	uid    uint32
	gid    uint32
	groups []uint32 // supplementary groups
	err    error    // why the credentials are unknown
}

func (p peer) String() string {
	if !p.known {
		return "unknown peer"
	}
	s := fmt.Sprintf("uid %d gid %d", p.uid, p.gid)
	if p.pid != 0 {
		s = fmt.Sprintf("pid %d %s", p.pid, s)
	}
	return s
}

// may says whether the peer may use the changing verbs: root, or a member
// of the control group adminGID (-1: none) by its gid or a supplementary
// group.
func (p peer) may(adminGID int) bool {
	if !p.known {
		return false
	}
	if p.uid == 0 {
		return true
	}
	if adminGID < 0 {
		return false
	}
	g := uint32(adminGID)
	return p.gid == g || slices.Contains(p.groups, g)
}

// peerOf reads the credentials of the process at the other end of a
// unix connection.
func peerOf(c net.Conn) peer {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peer{err: fmt.Errorf("control: not a unix socket: %T", c)}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peer{err: fmt.Errorf("control: peer credentials: %w", err)}
	}
	var p peer
	if cerr := raw.Control(func(fd uintptr) { p = peerCred(int(fd)) }); cerr != nil {
		return peer{err: fmt.Errorf("control: peer credentials: %w", cerr)}
	}
	return p
}

// procGroups reads the supplementary groups of a process from the Groups
// line of /proc/PID/status. The kernel gives a pid with SO_PEERCRED but
// not the groups; the pid is that of the process that connected, which
// is alive as long as its connection is open, barring a fork that hands
// the socket on.
func procGroups(root string, pid int) ([]uint32, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/status", root, pid))
	if err != nil {
		return nil, fmt.Errorf("control: groups of pid %d: %w", pid, err)
	}
	return parseGroupsLine(b)
}

func parseGroupsLine(status []byte) ([]uint32, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var gs []uint32
		for _, f := range strings.Fields(rest) {
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("control: bad Groups line %q", sc.Text())
			}
			gs = append(gs, uint32(n))
		}
		return gs, nil
	}
	return nil, fmt.Errorf("control: no Groups line")
}

// LookupGroup returns the gid of a group given by name or number, as the
// control group of Options and ListenOptions; "" is none (-1).
func LookupGroup(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	if n, err := strconv.ParseUint(name, 10, 31); err == nil {
		return int(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("control: %w", err)
	}
	n, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1, fmt.Errorf("control: group %s has gid %q", name, g.Gid)
	}
	return n, nil
}
