package health

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the arrows pointing down: health feeds a group's
// demotion and imports no package of the daemon, so that group/ and
// node/ can import it.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, goos := range []string{"linux", "freebsd"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/ucarp-go/ucarp/") && dep != "github.com/ucarp-go/ucarp/health" {
				t.Errorf("GOOS=%s: health depends on %s", goos, dep)
			}
		}
	}
}
