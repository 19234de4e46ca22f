// Package puritytest holds the checks that keep the pure packages (carp,
// vrrp, carpauth) free of I/O and the platform free of protocols, run by
// each package's TestPurity through go list.
package puritytest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// List runs go list with args (GOOS=goos unless goos is ""), and returns
// its lines that are not empty.
func List(t *testing.T, goos string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	if goos != "" {
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=%s go list %v: %v", goos, args, err)
	}
	return slices.DeleteFunc(strings.Split(string(out), "\n"), func(s string) bool { return s == "" })
}

// NoIO fails t when one of pkgs imports anything that reaches the
// network, the OS or processes (syscall, os, os/exec, unsafe, net but
// net/netip, x/sys), or depends on net (beyond net/netip), os/exec or
// x/sys. (syscall and os do appear among the dependencies: the standard
// library's time, fmt and crypto import them, not these packages.)
func NoIO(t *testing.T, pkgs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range pkgs {
		for _, imp := range List(t, "", "-f", "{{join .Imports \"\\n\"}}", pkg) {
			if imp == "syscall" || imp == "os" || imp == "os/exec" || imp == "unsafe" ||
				strings.HasPrefix(imp, "net") && imp != "net/netip" || strings.HasPrefix(imp, "golang.org/x/sys") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
		for _, dep := range List(t, "", "-deps", pkg) {
			if dep == "net" || strings.HasPrefix(dep, "net/") && dep != "net/netip" ||
				dep == "os/exec" || strings.HasPrefix(dep, "golang.org/x/sys") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// clockCalls are the calls that read the wall clock or wait on it.
var clockCalls = []string{"time.Now(", "time.Since(", "time.Until(", "time.Sleep(", "time.After(",
	"time.NewTimer(", "time.NewTicker(", "time.AfterFunc(", "time.Tick("}

// NoClock fails t when a Go file of pkg (tests aside) calls the clock.
func NoClock(t *testing.T, pkg string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	dir := List(t, "", "-f", "{{.Dir}}", pkg)
	files := List(t, "", "-f", "{{join .GoFiles \"\\n\"}}", pkg)
	if len(dir) != 1 || len(files) == 0 {
		t.Fatalf("go list %s: dir %q, files %q", pkg, dir, files)
	}
	for _, name := range files {
		b, err := os.ReadFile(dir[0] + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, clock := range clockCalls {
			if strings.Contains(string(b), clock) {
				t.Errorf("%s reads the clock: %s", name, clock)
			}
		}
	}
}

// NoModuleDeps fails t when, built for one of goos, pkgs depend on one of
// the packages of module named in forbidden (or on one below them).
func NoModuleDeps(t *testing.T, module string, forbidden []string, goos []string, pkgs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, g := range goos {
		for _, dep := range List(t, g, append([]string{"-deps"}, pkgs...)...) {
			rest, ok := strings.CutPrefix(dep, module+"/")
			if !ok {
				continue
			}
			for _, f := range forbidden {
				if rest == f || strings.HasPrefix(rest, f+"/") {
					t.Errorf("GOOS=%s: %s depends on %s", g, strings.Join(pkgs, " "), dep)
				}
			}
		}
	}
}
