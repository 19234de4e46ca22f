package control

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseGroupsLine(t *testing.T) {
	for _, tt := range []struct {
		status string
		want   []uint32
		err    bool
	}{
		{"Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 4242 \nNgid:\t0\n", []uint32{4, 24, 27, 4242}, false},
		{"Name:\tx\nGroups:\t\n", nil, false},
		{"Groups:\t1 x\n", nil, true},
		{"Groups:\t-1\n", nil, true},
		{"Name:\tx\n", nil, true},
	} {
		got, err := parseGroupsLine([]byte(tt.status))
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("%q: %v, %v; want %v, error %v", tt.status, got, err, tt.want, tt.err)
		}
	}
}

func TestProcGroups(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "42"), 0o755)
	os.WriteFile(filepath.Join(root, "42", "status"), []byte("Groups:\t100 4242\n"), 0o644)
	if gs, err := procGroups(root, 42); err != nil || !slices.Equal(gs, []uint32{100, 4242}) {
		t.Errorf("procGroups = %v, %v", gs, err)
	}
	if _, err := procGroups(root, 43); err == nil || !strings.HasPrefix(err.Error(), "control: groups of pid 43") {
		t.Errorf("procGroups of a gone pid: %v", err)
	}
}

func TestLookupGroup(t *testing.T) {
	for _, tt := range []struct {
		name string
		want int
	}{{"", -1}, {"0", 0}, {"4242", 4242}, {"root", 0}} {
		if got, err := LookupGroup(tt.name); err != nil || got != tt.want {
			t.Errorf("LookupGroup(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if _, err := LookupGroup("no-such-group-here"); err == nil || !strings.HasPrefix(err.Error(), "control: ") {
		t.Errorf("LookupGroup of an unknown group: %v", err)
	}
}

// TestPeerOfSelf: the kernel's credentials of this very process.
func TestPeerOfSelf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := Listen(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan peer, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- peer{err: err}
			return
		}
		defer c.Close()
		got <- peerOf(c)
	}()
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := <-got
	if !p.known {
		t.Fatalf("peer unknown: %v", p.err)
	}
	if p.uid != uint32(os.Geteuid()) || p.gid != uint32(os.Getegid()) {
		t.Errorf("peer %v, want uid %d gid %d", p, os.Geteuid(), os.Getegid())
	}
	if p.pid != 0 && p.pid != os.Getpid() {
		t.Errorf("peer pid %d, want %d", p.pid, os.Getpid())
	}
	if p.uid != 0 {
		own, _ := os.Getgroups()
		for _, g := range own {
			if !slices.Contains(p.groups, uint32(g)) && uint32(g) != p.gid {
				t.Errorf("peer groups %v lack %d", p.groups, g)
			}
		}
	}
}
