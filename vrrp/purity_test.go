package vrrp

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPurity keeps the protocol package free of I/O, as carp's is: none of
// its own imports may reach the network, the OS or processes, and nothing
// it depends on may bring in net (beyond net/netip), os/exec or x/sys.
// (syscall and os do appear among the dependencies: the standard library's
// time and fmt import them, not this package.) The clock is kept out by
// the tests of the Machine, which run on a simulated one; no time.Now or
// time.Sleep may appear in the package's own code either.
func TestPurity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, imp := range goList(t, "-f", "{{join .Imports \"\\n\"}}", ".") {
		if imp == "syscall" || imp == "os" || imp == "os/exec" || imp == "unsafe" ||
			strings.HasPrefix(imp, "net") && imp != "net/netip" || strings.HasPrefix(imp, "golang.org/x/sys") {
			t.Errorf("vrrp imports %s", imp)
		}
	}
	for _, dep := range goList(t, "-deps", ".") {
		if dep == "net" || strings.HasPrefix(dep, "net/") && dep != "net/netip" ||
			dep == "os/exec" || strings.HasPrefix(dep, "golang.org/x/sys") {
			t.Errorf("vrrp depends on %s", dep)
		}
	}
	files := goList(t, "-f", "{{join .GoFiles \"\\n\"}}", ".")
	if len(files) == 0 {
		t.Fatal("no Go files listed")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, clock := range []string{"time.Now(", "time.Since(", "time.Until(", "time.Sleep(", "time.After(", "time.NewTimer(", "time.NewTicker(", "time.AfterFunc(", "time.Tick("} {
			if strings.Contains(src, clock) {
				t.Errorf("%s reads the clock: %s", name, clock)
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
