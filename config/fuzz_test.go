package config

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every problem it reports
// is an *Error of the file, and that a parse that succeeds gives groups
// that each pass the rules of the format. Seeds: testdata/fuzz/FuzzParse
// and the example file.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/three-groups.toml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(minimal + "[[group]]\nvhid = 1\n"))
	f.Add([]byte(minimal + "group = [{vhid = 1}, {vhid = 2, name = \"b\"}]\n"))
	f.Add([]byte(minimal + "[[group]]\nvhid = 1\npassfile = \"/etc/ucarp/cluster.pass\"\npass = \"x\"\n[group.x]\ny = 1\n"))
	read := func(name string) ([]byte, fs.FileMode, error) {
		if strings.HasPrefix(name, "/open/") {
			return []byte("s3cret\n"), 0o644, nil
		}
		if strings.HasPrefix(name, "/missing/") {
			return nil, 0, fs.ErrNotExist
		}
		// Any other path holds its own name, so that the fuzzer can
		// reach short, long, empty and multi-line passwords.
		return []byte(name[min(len(name), 1):]), 0o600, nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.conf", data, read)
		again, err2 := Parse("f.conf", data, read)
		if !reflect.DeepEqual(file, again) || (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two parses differ: %v / %v", err, err2)
		}
		if err != nil {
			if file != nil {
				t.Fatalf("a File with an error: %v", err)
			}
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var ce *Error
				if !errors.As(e, &ce) || ce.File != "f.conf" || ce.Line < 0 || ce.Msg == "" {
					t.Fatalf("not an *Error of f.conf with a message: %#v", e)
				}
			}
			return
		}
		if len(file.Groups) == 0 {
			t.Fatal("a File with no group")
		}
		ids := map[ID]bool{}
		names := map[string]bool{}
		for _, g := range file.Groups {
			if msg := invalid(g); msg != "" {
				t.Fatalf("group %+v: %s", g, msg)
			}
			if ids[g.ID()] || g.Name != "" && names[g.Name] {
				t.Fatalf("group %+v: a duplicate", g)
			}
			ids[g.ID()], names[g.Name] = true, true
		}
	})
}

// invalid says what breaks the rules of the format in g, or "".
func invalid(g Group) string {
	switch {
	case g.Interface == "" || len(g.Interface) > maxIfName:
		return "interface"
	case g.VHID == 0:
		return "vhid"
	case len(g.Password) == 0 || len(g.Password) > 19:
		return "password"
	case !g.SrcIP.Is4() || g.SrcIP.IsUnspecified():
		return "srcip"
	case !g.McastIP.Is4():
		return "mcastip"
	case !g.Addr.IsValid() || !g.Addr.Addr().Is4() || g.Addr.Addr().IsUnspecified() || g.AddrArg != g.Addr.Addr().String():
		return "addr"
	case g.AdvBase == 0 && g.AdvSkew == 0, g.AdvBase == 255 && g.AdvSkew == 255:
		return "advbase/advskew"
	case g.DeadRatio == 0:
		return "deadratio"
	case g.ScriptTimeout < 0:
		return "script-timeout"
	case g.GARPCount < 0 || g.GARPCount > 100:
		return "garp-count"
	case g.GARPInterval < 1e6 || g.GARPInterval > 60e9:
		return "garp-interval"
	case g.Line < 1:
		return "line"
	}
	return ""
}
