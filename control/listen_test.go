package control_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ucarp-go/ucarp/control"
)

func TestSocketNames(t *testing.T) {
	if got := control.NodeSocket(); got != "/run/ucarp/ucarp.sock" {
		t.Errorf("NodeSocket() = %s", got)
	}
	if got := control.GroupSocket("eth0", 10); got != "/run/ucarp/eth0-10.sock" {
		t.Errorf("GroupSocket(eth0, 10) = %s", got)
	}
	if got := control.GroupSocket("eth0.100", 255); got != "/run/ucarp/eth0.100-255.sock" {
		t.Errorf("GroupSocket(eth0.100, 255) = %s", got)
	}
}

func TestListen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "ucarp", "ucarp.sock") // the directories are made
	ln, err := control.Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v, want 0755", di.Mode())
	}

	// A second daemon on the same path is refused, and the socket stays.
	if _, err := control.Listen(path, ""); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Listen: %v, want in use", err)
	}
	if _, err := net.Dial("unix", path); err != nil {
		t.Errorf("the first daemon's socket is gone: %v", err)
	}

	ln.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}

func TestListenStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ucarp.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a daemon that died: its socket stays, nobody answers
	ln, err := control.Listen(path, "")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
}

func TestListenNotSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ucarp.sock")
	os.WriteFile(path, []byte("keep me"), 0o644)
	if _, err := control.Listen(path, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Error("the file was touched")
	}
}

func TestListenGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving the socket to another group takes root")
	}
	path := filepath.Join(t.TempDir(), "ucarp.sock")
	ln, err := control.Listen(path, "4242")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 0 || st.Gid != 4242 {
		t.Errorf("socket owned by %d:%d, want 0:4242", st.Uid, st.Gid)
	}
	if _, err := control.Listen(filepath.Join(t.TempDir(), "x.sock"), "no-such-group-here"); err == nil {
		t.Error("Listen with an unknown group succeeded")
	}
}
