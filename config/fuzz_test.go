package config

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	toml "github.com/pelletier/go-toml/v2"
)

// FuzzParse checks that Parse never panics, that every problem it reports
// is an *Error of the file, and that a parse that succeeds gives groups
// that each pass the rules of the format, and that re-encode to the same
// groups. Seeds: testdata/fuzz/FuzzParse
// and the example file.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/three-groups.toml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(minimal + "[[group]]\nvhid = 1\n"))
	f.Add([]byte(minimal + "group = [{vhid = 1}, {vhid = 2, name = \"b\"}]\n"))
	f.Add([]byte(minimal + "[[group]]\nvhid = 1\npassfile = \"/etc/ucarp/cluster.pass\"\npass = \"x\"\n[group.x]\ny = 1\n"))
	f.Add([]byte(probeGroups))
	f.Add([]byte(minimal + "probe.web = {type = \"tcp\", target = \"127.0.0.1:1\", rise = 0}\n[[group]]\nvhid = 1\nprobes = [\"web\", 1]\n"))
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
		reencode(t, file, read)
	})
}

// reencode writes file back as TOML with every key of every group spelled
// out, parses that, and checks that it gives the same groups: every field
// of a Group has a key that sets it.
func reencode(t *testing.T, file *File, read ReadFileFunc) {
	groups := make([]map[string]any, 0, len(file.Groups))
	for _, g := range file.Groups {
		if !utf8.Valid(g.Password) {
			return // a passfile may hold what a TOML string cannot
		}
		m := map[string]any{
			"interface": g.Interface, "srcip": g.SrcIP.String(), "mcastip": g.McastIP.String(),
			"vhid": g.VHID, "pass": string(g.Password), "advbase": g.AdvBase, "advskew": g.AdvSkew,
			"deadratio": g.DeadRatio, "preempt": g.Preempt, "neutral": g.Neutral, "nomcast": g.NoMcast,
			"shutdown": g.Shutdown, "ignoreifstate": g.IgnoreIfState,
			"script-timeout": g.ScriptTimeout.Seconds(), "garp-count": g.GARPCount,
			"garp-interval": g.GARPInterval.Milliseconds(),
		}
		m["addr"] = g.AddrArg
		if g.Addr.Bits() != 32 {
			m["addr"] = g.Addr.String()
		}
		for k, v := range map[string]string{"name": g.Name, "upscript": g.UpScript, "downscript": g.DownScript} {
			if v != "" {
				m[k] = v
			}
		}
		if g.XParam != nil {
			m["xparam"] = *g.XParam
		}
		if g.ManageVIP != nil {
			m["manage-vip"] = *g.ManageVIP
		}
		if g.Probes != nil {
			m["probes"] = g.Probes
		}
		groups = append(groups, m)
	}
	doc := map[string]any{"facility": file.Facility, "debug": file.Debug, "group": groups}
	if len(file.Probes) > 0 {
		probes := map[string]any{}
		for _, p := range file.Probes {
			pm := map[string]any{"type": p.Type.String(), "target": p.Target, "interval": p.Interval.String(),
				"timeout": p.Timeout.String(), "rise": p.Rise, "fall": p.Fall, "weight": p.Weight}
			if p.Expect != 0 {
				pm["expect"] = p.Expect
			}
			if p.Insecure {
				pm["insecure"] = true
			}
			probes[p.Name] = pm
		}
		doc["probe"] = probes
	}
	if file.PIDFile != "" {
		doc["pidfile"] = file.PIDFile
	}
	for k, v := range map[string]string{"control": file.Control, "control-group": file.ControlGroup, "metrics-listen": file.MetricsListen,
		"log-format": file.LogFormat} {
		if v != "" {
			doc[k] = v
		}
	}
	data, err := toml.Marshal(doc)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := Parse(file.Path, data, read)
	if err != nil {
		t.Fatalf("Parse of the re-encoded file: %v\n%s", err, data)
	}
	for i := range again.Groups {
		g, h := file.Groups[i], again.Groups[i]
		g.Line, h.Line = 0, 0
		// A duration of a whole number of nanoseconds survives
		// float64 seconds only to a nanosecond.
		if d := g.ScriptTimeout - h.ScriptTimeout; d >= -1 && d <= 1 {
			h.ScriptTimeout = g.ScriptTimeout
		}
		if !reflect.DeepEqual(g, h) {
			t.Fatalf("re-encoded group differs:\n got %+v\nwant %+v\n%s", h, g, data)
		}
	}
	if !reflect.DeepEqual(again.Probes, file.Probes) {
		t.Fatalf("re-encoded probes differ:\n got %+v\nwant %+v\n%s", again.Probes, file.Probes, data)
	}
	if len(again.Groups) != len(file.Groups) || again.Facility != file.Facility || again.Debug != file.Debug || again.PIDFile != file.PIDFile {
		t.Fatalf("re-encoded file differs: %+v\n%s", again, data)
	}
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
