package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Where the sockets are. ucarpctl looks for every *.sock in Dir.
const (
	Dir = "/run/ucarp"
	// DefaultSocket is the socket of a node in config mode.
	DefaultSocket = Dir + "/ucarp.sock"
	// SocketMode is the mode of a socket: connecting takes write
	// permission, so only root and the socket's group can.
	SocketMode fs.FileMode = 0o660
)

// NodeSocket is the socket of a node in config mode: DefaultSocket.
func NodeSocket() string { return DefaultSocket }

// GroupSocket is the socket of a process in ucarp's command-line mode,
// which runs one group: Dir/IF-VHID.sock.
func GroupSocket(ifname string, vhid uint8) string {
	return filepath.Join(Dir, ifname+"-"+strconv.Itoa(int(vhid))+".sock")
}

// Listen makes the unix socket path for Serve: it creates its directory
// (mode 0755) if need be, removes a stale socket that nobody answers on,
// refuses to take over one that a live process serves, and leaves the
// socket with SocketMode, its group set to adminGroup (a name or gid;
// "": the process's). The socket is removed when the listener is closed.
func Listen(path, adminGroup string) (*net.UnixListener, error) {
	gid, err := LookupGroup(adminGroup)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	// Between bind and chmod the socket has the mode that the umask
	// leaves; whoever connects in that instant may read, not change:
	// changing is decided by the peer's credentials, not the mode.
	if err := os.Chmod(path, SocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control: %w", err)
		}
	}
	return ln, nil
}

// removeStale removes path if it is a socket that nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control: %s is in use: another ucarp serves it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control: %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: removing stale socket: %w", err)
	}
	return nil
}
