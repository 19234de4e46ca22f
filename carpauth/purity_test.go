package carpauth

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPurity keeps the package free of I/O, as carp/purity_test.go keeps
// carp: it imports nothing that reaches the network, the OS or processes
// (it reads a key file through an fs.FS that the caller opens), and
// depends on no net package beyond net/netip, no os/exec and no x/sys.
func TestPurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, imp := range goList(t, "-f", "{{join .Imports \"\\n\"}}", ".") {
		if imp == "syscall" || imp == "os" || imp == "os/exec" || imp == "unsafe" ||
			strings.HasPrefix(imp, "net") && imp != "net/netip" || strings.HasPrefix(imp, "golang.org/x/sys") {
			t.Errorf("imports %s", imp)
		}
	}
	for _, dep := range goList(t, "-deps", ".") {
		if dep == "net" || strings.HasPrefix(dep, "net/") && dep != "net/netip" ||
			dep == "os/exec" || strings.HasPrefix(dep, "golang.org/x/sys") {
			t.Errorf("depends on %s", dep)
		}
	}
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return slices.DeleteFunc(strings.Split(string(out), "\n"), func(s string) bool { return s == "" })
}
