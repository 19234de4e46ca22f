package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ucarp-go/ucarp/health"
)

// probeKeys are the keys of a [probe.NAME] table (health.Table), and
// what each holds.
var probeKeys = map[string]string{
	"type": "a string", "target": "a string", "interval": "a string", "timeout": "a string",
	"rise": "an integer", "fall": "an integer", "weight": "an integer", "expect": "an integer",
	"insecure": "a boolean",
}

// probes reads the [probe.NAME] tables of the file into specs sorted by
// name. A table is decoded strictly, as a group is: an unknown key or a
// value of the wrong type is an error naming its line, and every problem
// that health.Table.Spec finds is reported at the line of its key.
func (r *reader) probes(doc map[string]any) ([]health.Spec, map[string]bool) {
	v, ok := doc["probe"]
	if !ok {
		return nil, nil
	}
	tables, ok := v.(map[string]any)
	if !ok {
		r.errorf(r.ix.line(top, "probe"), "", "probe", "must be a table of probes: write each as a [probe.NAME] table")
		return nil, nil
	}
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	slices.Sort(names)
	var specs []health.Spec
	known := map[string]bool{}
	for _, name := range names {
		known[name] = true
		label := fmt.Sprintf("probe %q", name)
		m, ok := tables[name].(map[string]any)
		if !ok {
			r.errorf(r.ix.probeLine(name, ""), label, "", "must be a table: write it as [probe.%s]", name)
			continue
		}
		t, ok := r.probeTable(name, label, m)
		if !ok {
			continue
		}
		spec, err := t.Spec(name)
		if err != nil {
			for _, e := range flatten(err) {
				var he *health.Error
				if errors.As(e, &he) {
					r.errorf(r.ix.probeLine(name, he.Key), label, he.Key, "%s", he.Msg)
				} else {
					r.errorf(r.ix.probeLine(name, ""), label, "", "%s", strings.TrimPrefix(e.Error(), "health: "))
				}
			}
			continue
		}
		specs = append(specs, spec)
	}
	return specs, known
}

// probeTable decodes one probe's table into a health.Table.
func (r *reader) probeTable(name, label string, m map[string]any) (health.Table, bool) {
	var t health.Table
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ok := true
	for _, k := range keys {
		v := m[k]
		want, known := probeKeys[k]
		if !known {
			r.errorf(r.ix.probeLine(name, k), label, k, "unknown key (a probe has %s)", strings.Join(probeKeyList(), ", "))
			ok = false
			continue
		}
		if typeName(v) != want {
			r.errorf(r.ix.probeLine(name, k), label, k, "%s", wrongType(want, v))
			ok = false
			continue
		}
		switch k {
		case "type":
			t.Type = v.(string)
		case "target":
			t.Target = v.(string)
		case "interval", "timeout":
			s := v.(string)
			if k == "interval" {
				t.Interval = &s
			} else {
				t.Timeout = &s
			}
		case "rise", "fall", "weight", "expect":
			i64 := v.(int64)
			n := int(max(min(i64, 1<<31-1), -1<<31)) // out of range either way, and said so by Spec
			switch k {
			case "rise":
				t.Rise = &n
			case "fall":
				t.Fall = &n
			case "weight":
				t.Weight = &n
			case "expect":
				t.Expect = &n
			}
		case "insecure":
			b := v.(bool)
			t.Insecure = &b
		}
	}
	return t, ok
}

// flatten returns the errors joined in err, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func probeKeyList() []string {
	ks := make([]string, 0, len(probeKeys))
	for k := range probeKeys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// setProbes reads the probes key: the names of [probe.NAME] tables.
func setProbes(s *settings, v any) string {
	arr, ok := v.([]any)
	if !ok {
		return wrongType("an array of probe names", v)
	}
	names := make([]string, 0, len(arr))
	for _, e := range arr {
		name, ok := e.(string)
		if !ok || name == "" {
			return fmt.Sprintf("must be an array of probe names, e.g. [\"web\"]; %s is not one", typeName(e))
		}
		if slices.Contains(names, name) {
			return fmt.Sprintf("%q is named twice", name)
		}
		names = append(names, name)
	}
	s.probes = setting[[]string]{names, true}
	return ""
}
