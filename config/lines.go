package config

import "github.com/pelletier/go-toml/v2/unstable"

// top is the table index of the top level in a lineIndex.
const top = -1

// lineIndex says on which line each key of the file is written, so that
// errors found after decoding can name it. go-toml's decoder keeps no
// positions, so the file is walked a second time with its parser.
type lineIndex struct {
	keys   map[tableKey]int // the first line of each key, by table
	groups []int            // the line that opens each group: [[group]] or { in group = [...]
	// probes holds the line that opens each [probe.NAME] table, and
	// probeKeys the line of each key written in one.
	probes    map[string]int
	probeKeys map[[2]string]int
}

// probeLine returns the line of key in [probe.NAME], or of the table when
// key is empty or not indexed, or 0.
func (ix *lineIndex) probeLine(name, key string) int {
	if l, ok := ix.probeKeys[[2]string{name, key}]; ok && key != "" {
		return l
	}
	return ix.probes[name]
}

type tableKey struct {
	table int // index of the group, or top
	key   string
}

// line returns the line of key in table (a group index or top), or 0.
func (ix *lineIndex) line(table int, key string) int {
	return ix.keys[tableKey{table, key}]
}

// groupLine returns the line that opens group i, or 0.
func (ix *lineIndex) groupLine(i int) int {
	if i >= 0 && i < len(ix.groups) {
		return ix.groups[i]
	}
	return 0
}

// indexLines walks data, a document that go-toml has already decoded
// without error. A key inside a sub-table of a group ([group.x] or
// group.x.y = 1) is indexed as x, the key of that group which is at fault.
func indexLines(data []byte) *lineIndex {
	ix := &lineIndex{keys: map[tableKey]int{}, probes: map[string]int{}, probeKeys: map[[2]string]int{}}
	setProbe := func(name, key string, l int) {
		if key == "" {
			if _, ok := ix.probes[name]; !ok {
				ix.probes[name] = l
			}
			return
		}
		if _, ok := ix.probeKeys[[2]string{name, key}]; !ok {
			ix.probeKeys[[2]string{name, key}] = l
		}
	}
	probe := "" // the [probe.NAME] table the following key-values belong to
	var p unstable.Parser
	p.Reset(data)
	line := func(n *unstable.Node) int { return p.Shape(n.Raw).Start.Line }
	set := func(table int, key string, l int) {
		k := tableKey{table, key}
		if _, ok := ix.keys[k]; !ok {
			ix.keys[k] = l
		}
	}
	cur := top       // the group the following key-values belong to
	inOther := false // under a table header that is neither [[group]] nor one of its sub-tables
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			keys := keyParts(e)
			if len(keys) == 0 {
				continue
			}
			l := firstKeyLine(e, line)
			if probe != "" {
				setProbe(probe, keys[0], l)
				continue
			}
			if cur == top && !inOther && keys[0] == "probe" && len(keys) >= 2 {
				// probe.web.type = "tcp", or probe.web = {...}
				setProbe(keys[1], "", l)
				if len(keys) > 2 {
					setProbe(keys[1], keys[2], l)
				}
			}
			if inOther {
				continue
			}
			set(cur, keys[0], l)
			if cur == top && keys[0] == "group" && len(keys) == 1 && e.Value().Kind == unstable.Array {
				indexInlineGroups(ix, e.Value(), line, set)
			}
		case unstable.Table, unstable.ArrayTable:
			keys := keyParts(e)
			if len(keys) == 0 {
				continue
			}
			l := firstKeyLine(e, line)
			inOther, probe = false, ""
			switch {
			case keys[0] == "probe" && len(keys) >= 2 && e.Kind == unstable.Table:
				setProbe(keys[1], "", l)
				if len(keys) == 2 {
					probe = keys[1]
				} else {
					setProbe(keys[1], keys[2], l)
				}
				set(top, keys[0], l)
				cur, inOther = top, true
			case keys[0] == "group" && len(keys) == 1 && e.Kind == unstable.ArrayTable:
				cur = len(ix.groups)
				ix.groups = append(ix.groups, l)
			case keys[0] == "group" && len(keys) > 1 && cur != top:
				set(cur, keys[1], l)
				inOther = true
			default:
				set(top, keys[0], l)
				cur, inOther = top, true
			}
		}
	}
	return ix
}

// indexInlineGroups indexes group = [{...}, {...}], the inline form of an
// array of tables.
func indexInlineGroups(ix *lineIndex, arr *unstable.Node, line func(*unstable.Node) int, set func(int, string, int)) {
	it := arr.Children()
	for it.Next() {
		t := it.Node()
		if t.Kind != unstable.InlineTable {
			continue
		}
		g := len(ix.groups)
		ix.groups = append(ix.groups, line(t))
		kv := t.Children()
		for kv.Next() {
			n := kv.Node()
			if n.Kind != unstable.KeyValue {
				continue
			}
			if keys := keyParts(n); len(keys) > 0 {
				set(g, keys[0], firstKeyLine(n, line))
			}
		}
	}
}

// keyParts returns the parts of the dotted key of a KeyValue, Table or
// ArrayTable node.
func keyParts(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// firstKeyLine returns the line of the first part of the key of n.
func firstKeyLine(n *unstable.Node, line func(*unstable.Node) int) int {
	it := n.Key()
	if !it.Next() {
		return 0
	}
	return line(it.Node())
}
