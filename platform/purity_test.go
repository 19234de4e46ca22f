package platform

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPurity keeps the platform free of protocols: on every OS it
// implements, nothing it depends on may be a protocol or engine package
// of this module. It speaks of raw IP sockets by protocol number; the
// caller says which.
func TestPurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const module = "github.com/ucarp-go/ucarp/"
	forbidden := []string{"carp", "vrrp", "election", "group", "node", "config"}
	for _, goos := range []string{"linux", "freebsd"} {
		cmd := exec.Command("go", "list", "-deps", ".", "./...")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v", goos, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ok := strings.CutPrefix(dep, module)
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if rest == f || strings.HasPrefix(rest, f+"/") {
					t.Errorf("GOOS=%s: platform depends on %s", goos, dep)
				}
			}
		}
	}
}
