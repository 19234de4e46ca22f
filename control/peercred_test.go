package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ucarp-go/ucarp/control"
)

const helperEnv = "UCARP_CONTROL_TEST_SOCKET"

// TestPeerCredentials runs this test binary again as another user, with
// the kernel's credentials (SO_PEERCRED, LOCAL_PEERCRED) deciding: it may
// read but not demote, unless the control group is its gid or one of its
// supplementary groups.
func TestPeerCredentials(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		t.Skip("peer credentials are read on Linux and FreeBSD only")
	}
	if os.Geteuid() != 0 {
		t.Skip("running a client as another user takes root (CI runs as root)")
	}
	// A directory that the other user can enter, with a copy of this
	// binary that it can run (the build directory is private).
	dir, err := os.MkdirTemp("", "ucarp-control-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "control.test")
	copyFile(t, bin)

	b := twoGroups()
	path := filepath.Join(dir, "ucarp.sock")
	ln, err := control.Listen(path, "4242")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, ln, b, control.Options{AdminGroup: "4242"}) }()
	t.Cleanup(func() { cancel(); <-done })

	const nobody = 65534
	run := func(gid uint32, groups ...uint32) string {
		t.Helper()
		cmd := exec.Command(bin, "-test.run=^TestPeerCredentialsHelper$", "-test.v")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: gid, Groups: groups}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper as uid %d gid %d groups %v: %v\n%s", nobody, gid, groups, err, out)
		}
		var results []string
		for _, l := range strings.Split(string(out), "\n") {
			if r, ok := strings.CutPrefix(l, "RESULT "); ok {
				results = append(results, r)
			}
		}
		return strings.Join(results, "; ")
	}

	// The socket's mode keeps out whoever is not in its group.
	if got := run(nobody); !strings.Contains(got, "dial: permission denied") {
		t.Errorf("outsider on a 0660 socket: %s", got)
	}
	// Opened to all: reads, but no changes.
	os.Chmod(path, 0o666)
	got := run(nobody)
	if !strings.HasPrefix(got, "status: 3 groups; demote: permission: control: pid ") ||
		!strings.Contains(got, fmt.Sprintf("uid %d gid %d is refused to demote: it takes root or a member of group 4242", nobody, nobody)) {
		t.Errorf("outsider: %s", got)
	}
	if got := run(4242); got != "status: 3 groups; demote: ok" {
		t.Errorf("member by gid: %s", got)
	}
	if got := run(nobody, 100, 4242); got != "status: 3 groups; demote: ok" {
		t.Errorf("member by a supplementary group: %s", got)
	}
	if calls := b.Calls(); !slices.Equal(calls, []string{"demote web 5", "demote web 5"}) {
		t.Errorf("backend calls %q, want the members' two demotes", calls)
	}
}

// TestPeerCredentialsHelper is the client that TestPeerCredentials runs as
// another user.
func TestPeerCredentialsHelper(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("run by TestPeerCredentials")
	}
	c, err := control.Dial(path)
	if err != nil {
		var se syscall.Errno
		if errors.As(err, &se) && se == syscall.EACCES {
			fmt.Println("RESULT dial: permission denied")
			return
		}
		fmt.Println("RESULT dial:", err)
		return
	}
	defer c.Close()
	gs, err := c.Status()
	if err != nil {
		fmt.Println("RESULT status:", err)
	} else {
		fmt.Printf("RESULT status: %d groups\n", len(gs))
	}
	switch err := c.Demote("web", 5); {
	case err == nil:
		fmt.Println("RESULT demote: ok")
	case errors.Is(err, control.ErrPermission):
		fmt.Println("RESULT demote: permission:", err)
	default:
		fmt.Println("RESULT demote:", err)
	}
}

func copyFile(t *testing.T, to string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
