package carp

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPurity keeps the protocol package free of I/O: none of its own
// imports may reach the network, the OS or processes, and nothing it
// depends on may bring in net (beyond net/netip), os/exec or x/sys.
// (syscall and os do appear among the dependencies: the standard
// library's time, fmt and crypto/sha1 import them, not this package.)
func TestPurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range []string{".", "./carptest"} {
		direct := goList(t, "-f", "{{join .Imports \"\\n\"}}", pkg)
		for _, imp := range direct {
			if imp == "syscall" || imp == "os" || imp == "os/exec" || imp == "unsafe" ||
				strings.HasPrefix(imp, "net") && imp != "net/netip" || strings.HasPrefix(imp, "golang.org/x/sys") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
		for _, dep := range goList(t, "-deps", pkg) {
			if dep == "net" || strings.HasPrefix(dep, "net/") && dep != "net/netip" ||
				dep == "os/exec" || strings.HasPrefix(dep, "golang.org/x/sys") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
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
