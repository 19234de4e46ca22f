package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeFile is a password file of fakeFS.
type fakeFile struct {
	data string
	mode fs.FileMode
}

// fakeFS serves password files from memory.
type fakeFS map[string]fakeFile

func (f fakeFS) read(name string) ([]byte, fs.FileMode, error) {
	ff, ok := f[name]
	if !ok {
		return nil, 0, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return []byte(ff.data), ff.mode, nil
}

var files = fakeFS{
	"/etc/ucarp/cluster.pass": {"s3cret\n", 0o600},
	"/etc/ucarp/db.pass":      {"db-pass\r\nsecond line\n", 0o400},
	"/etc/ucarp/open.pass":    {"s3cret\n", 0o644},
	"/etc/ucarp/group.pass":   {"s3cret\n", 0o620},
	"/etc/ucarp/empty.pass":   {"", 0o600},
	"/etc/ucarp/blank.pass":   {"\nsecond\n", 0o600},
	"/etc/ucarp/long.pass":    {"01234567890123456789\n", 0o600},
	"/etc/ucarp/nul.pass":     {"abc\x00def\n", 0o600},
	"/etc/ucarp/noeol.pass":   {"abc", 0o600},
}

func ptr[T any](v T) *T { return &v }

func TestThreeGroups(t *testing.T) {
	data, err := os.ReadFile("testdata/three-groups.toml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("three-groups.toml", data, files.read)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	base := Group{
		Interface: "eth0", SrcIP: netip.MustParseAddr("192.0.2.11"), McastIP: netip.MustParseAddr("224.0.0.18"),
		Password: []byte("s3cret"), AdvBase: 1, DeadRatio: 3, Preempt: true, Shutdown: true,
		ScriptTimeout: 30 * time.Second, GARPCount: 1, GARPInterval: time.Second,
	}
	web := base
	web.Name, web.VHID, web.Line = "web", 10, 23
	web.Addr, web.AddrArg = netip.MustParsePrefix("192.0.2.100/24"), "192.0.2.100"
	mail := base
	mail.Name, mail.VHID, mail.Line, mail.AdvSkew = "mail", 11, 30, 100
	mail.Addr, mail.AddrArg = netip.MustParsePrefix("192.0.2.101/32"), "192.0.2.101"
	mail.UpScript, mail.DownScript, mail.XParam = "/etc/ucarp/vip-up.sh", "/etc/ucarp/vip-down.sh", ptr("mail")
	mail.ScriptTimeout = 10 * time.Second
	db := base
	db.Name, db.Interface, db.SrcIP, db.VHID, db.Line = "db", "eth1", netip.MustParseAddr("198.51.100.11"), 10, 41
	db.Password = []byte("db-pass\r")
	db.Addr, db.AddrArg = netip.MustParsePrefix("198.51.100.100/24"), "198.51.100.100"
	db.AdvSkew, db.GARPCount, db.GARPInterval = 50, 3, 500*time.Millisecond
	want := &File{Path: "three-groups.toml", Facility: "daemon", PIDFile: "/run/ucarp-go.pid",
		Groups: []Group{web, mail, db}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", f, want)
	}
	for _, tc := range []struct {
		g      Group
		manage bool
		args   []string
	}{
		{web, true, []string{"eth0", "192.0.2.100"}},
		{mail, false, []string{"eth0", "192.0.2.101", "mail"}},
		{db, true, []string{"eth1", "198.51.100.100"}},
	} {
		if got := tc.g.ManagesVIP(); got != tc.manage {
			t.Errorf("%s: ManagesVIP() = %v, want %v", tc.g.Name, got, tc.manage)
		}
		if got := tc.g.ScriptArgs(); !reflect.DeepEqual(got, tc.args) {
			t.Errorf("%s: ScriptArgs() = %q, want %q", tc.g.Name, got, tc.args)
		}
	}
	if got, want := db.ID().String(), "eth1 vhid 10"; got != want {
		t.Errorf("ID().String() = %q, want %q", got, want)
	}
}

// minimal is a valid group, to which cases add lines.
const minimal = `interface = "eth0"
srcip = "192.0.2.11"
pass = "s3cret"
addr = "192.0.2.100"
`

func TestGood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		toml  string
		check func(f *File) bool
	}{
		{"defaults", minimal + "[[group]]\nvhid = 1\n", func(f *File) bool {
			g := f.Groups[0]
			return f.Facility == "daemon" && !f.Debug && f.PIDFile == "" && g.AdvBase == 1 && g.AdvSkew == 0 &&
				g.DeadRatio == 3 && g.McastIP == defaultMcastIP && g.ScriptTimeout == 30*time.Second &&
				g.GARPCount == 1 && g.GARPInterval == time.Second && g.ManageVIP == nil && g.XParam == nil && g.Line == 5
		}},
		{"a group overrides a default", minimal + "preempt = true\n[[group]]\nvhid = 1\npreempt = false\n", func(f *File) bool {
			return !f.Groups[0].Preempt
		}},
		{"pass in a group overrides passfile at the top",
			"interface = \"eth0\"\nsrcip = \"192.0.2.11\"\naddr = \"192.0.2.100\"\npassfile = \"/etc/ucarp/cluster.pass\"\n[[group]]\nvhid = 1\npass = \"other\"\n",
			func(f *File) bool { return string(f.Groups[0].Password) == "other" }},
		{"passfile: only the first newline goes, up to a NUL", minimal + "[[group]]\nvhid = 1\npassfile = \"/etc/ucarp/nul.pass\"\n",
			func(f *File) bool { return string(f.Groups[0].Password) == "abc" }},
		{"passfile without a newline", minimal + "[[group]]\nvhid = 1\npassfile = \"/etc/ucarp/noeol.pass\"\n",
			func(f *File) bool { return string(f.Groups[0].Password) == "abc" }},
		{"process-wide keys", "facility = \"LOCAL3\"\ndebug = true\npidfile = \"/run/u.pid\"\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.Facility == "local3" && f.Debug && f.PIDFile == "/run/u.pid" }},
		{"control plane keys", "control = \"/run/ucarp/x.sock\"\ncontrol-group = \"ucarp\"\nmetrics-listen = \"127.0.0.1:9342\"\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool {
				return f.Control == "/run/ucarp/x.sock" && f.ControlGroup == "ucarp" && f.MetricsListen == "127.0.0.1:9342"
			}},
		{"log-format", "log-format = \"json\"\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.LogFormat == "json" }},
		{"log-format defaults to text", minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.LogFormat == "" }},
		{"realtime and lock-memory", "realtime = true\nlock-memory = true\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.Realtime == DefaultRealtimePriority && f.LockMemory }},
		{"realtime with a priority", "realtime = 42\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.Realtime == 42 && !f.LockMemory }},
		{"realtime off", "realtime = false\nlock-memory = false\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.Realtime == 0 && !f.LockMemory }},
		{"no realtime by default", minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.Realtime == 0 && !f.LockMemory }},
		{"control none, metrics on every address", "control = \"none\"\nmetrics-listen = \":9342\"\n" + minimal + "[[group]]\nvhid = 1\n",
			func(f *File) bool { return f.Control == "none" && f.ControlGroup == "" && f.MetricsListen == ":9342" }},
		{"manage-vip, xparam, mcastip, script-timeout as a float", minimal + "[[group]]\nvhid = 1\nmanage-vip = false\nxparam = \"\"\nmcastip = \"239.1.1.1\"\nscript-timeout = 0.5\n",
			func(f *File) bool {
				g := f.Groups[0]
				return g.ManageVIP != nil && !*g.ManageVIP && !g.ManagesVIP() && g.XParam != nil && *g.XParam == "" &&
					g.McastIP == netip.MustParseAddr("239.1.1.1") && g.ScriptTimeout == 500*time.Millisecond
			}},
		{"hold-down and sync-group at the top, overridden in a group", minimal + "hold-down = 30\nsync-group = \"pair\"\n[[group]]\nvhid = 1\n[[group]]\nvhid = 2\nhold-down = 2.5\nhold-down-until-healthy = true\nsync-group = \"db.1\"\n",
			func(f *File) bool {
				a, b := f.Groups[0], f.Groups[1]
				return a.HoldDown == 30*time.Second && !a.HoldDownUntilHealthy && a.SyncGroup == "pair" &&
					b.HoldDown == 2500*time.Millisecond && b.HoldDownUntilHealthy && b.SyncGroup == "db.1"
			}},
		{"no-conflict-detect at the top, overridden in a group", minimal + "no-conflict-detect = true\n[[group]]\nvhid = 1\n[[group]]\nvhid = 2\nno-conflict-detect = false\n",
			func(f *File) bool { return f.Groups[0].NoConflictDetect && !f.Groups[1].NoConflictDetect }},
		{"advskew alone may be 0 with advbase 1; advbase 0 with advskew 1", minimal + "[[group]]\nvhid = 1\nadvbase = 0\nadvskew = 1\n",
			func(f *File) bool { return f.Groups[0].AdvBase == 0 && f.Groups[0].AdvSkew == 1 }},
		{"the same vhid on two interfaces", minimal + "[[group]]\nvhid = 1\n[[group]]\nvhid = 1\ninterface = \"eth1\"\n",
			func(f *File) bool { return len(f.Groups) == 2 && f.Groups[1].Line == 7 }},
		{"inline array of groups", minimal + "group = [{vhid = 1}, {vhid = 2, name = \"b\"}]\n",
			func(f *File) bool { return len(f.Groups) == 2 && f.Groups[1].Name == "b" && f.Groups[1].Line == 5 }},
		{"addr with /1 and /32", minimal + "[[group]]\nvhid = 1\naddr = \"10.0.0.1/1\"\n[[group]]\nvhid = 2\naddr = \"10.0.0.2/32\"\n",
			func(f *File) bool {
				return f.Groups[0].Addr == netip.MustParsePrefix("10.0.0.1/1") && f.Groups[1].AddrArg == "10.0.0.2"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tc.check(f) {
				t.Errorf("Parse: unexpected %+v", f)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		toml string
		want []string // every line of the error, in order
	}{
		{"syntax error", "interface = \"eth0\"\nvhid = \n",
			[]string{"u.conf:2: unexpected character U+000A at start of value"}},
		{"duplicate TOML key", minimal + "[[group]]\nvhid = 1\nvhid = 2\n",
			[]string{"u.conf:7: vhid: key vhid is already defined"}},
		{"no group", minimal, []string{"u.conf: no [[group]]: the file configures no group"}},
		{"group is not an array of tables", minimal + "group = 3\n",
			[]string{"u.conf:5: group: must be an array of tables: write each group as a [[group]] table"}},
		{"out of range in a group", minimal + "[[group]]\nname = \"web\"\nvhid = 3\nadvskew = 300\n",
			[]string{`u.conf:8: group "web" (eth0 vhid 3): advskew: 300 is out of range 0-255`}},
		{"out of range at the top", "advbase = 256\n" + minimal + "[[group]]\nvhid = 3\n",
			[]string{`u.conf:1: advbase: 256 is out of range 0-255`}},
		{"vhid 0", minimal + "[[group]]\nvhid = 0\n",
			[]string{`u.conf:6: group #1: vhid: 0 is out of range 1-255`}},
		{"vhid 256", minimal + "[[group]]\nvhid = 256\n",
			[]string{`u.conf:6: group #1: vhid: 256 is out of range 1-255`}},
		{"deadratio 0", minimal + "[[group]]\nvhid = 3\ndeadratio = 0\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): deadratio: 0 is out of range 1-4294967295`}},
		{"advbase and advskew both 0", minimal + "[[group]]\nvhid = 3\nadvbase = 0\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): advbase: advbase and advskew cannot both be 0`}},
		{"bow-out timing", minimal + "[[group]]\nvhid = 3\nadvbase = 255\nadvskew = 255\n",
			[]string{`u.conf:8: group #1 (eth0 vhid 3): advskew: advbase 255 with advskew 255 is the bow-out advert: every peer would take over from this group at once`}},
		{"unknown key with a hint", minimal + "[[group]]\nvhid = 3\nadvskw = 10\nscript_timeout = 3\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): advskw: unknown key (did you mean "advskew"?)`,
				`u.conf:8: group #1 (eth0 vhid 3): script_timeout: unknown key (did you mean "script-timeout"?)`,
			}},
		{"[[groups]]", minimal + "[[groups]]\nvhid = 3\n",
			[]string{
				`u.conf: no [[group]]: the file configures no group`,
				`u.conf:5: groups: unknown key (did you mean "group"?)`,
			}},
		{"unknown key, no hint", "colour = \"red\"\n" + minimal + "[[group]]\nvhid = 3\n",
			[]string{`u.conf:1: colour: unknown key`}},
		{"mcast is mcastip", minimal + "[[group]]\nvhid = 3\nmcast = \"239.1.1.1\"\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): mcast: the key is "mcastip", the long option's full name`}},
		{"command-line-only options", "daemonize = true\n" + minimal + "[[group]]\nvhid = 3\nno-manage-vip = true\n",
			[]string{
				`u.conf:1: daemonize: not a config key: daemonizing is the command line's (-B), and a service manager's`,
				`u.conf:8: group #1 (eth0 vhid 3): no-manage-vip: write manage-vip = false`,
			}},
		{"a sub-table of a group", minimal + "[[group]]\nvhid = 3\n[group.extra]\nx = 1\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): extra: unknown key`}},
		{"another table", minimal + "[[group]]\nvhid = 3\n[other]\nx = 1\n",
			[]string{`u.conf:7: other: unknown key`}},
		{"process-wide keys in a group", minimal + "[[group]]\nvhid = 3\nfacility = \"local0\"\ndebug = true\npidfile = \"/run/x\"\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): facility: process-wide: write it at the top of the file, before the first [[group]]`,
				`u.conf:8: group #1 (eth0 vhid 3): debug: process-wide: write it at the top of the file, before the first [[group]]`,
				`u.conf:9: group #1 (eth0 vhid 3): pidfile: process-wide: write it at the top of the file, before the first [[group]]`,
			}},
		{"name at the top", "name = \"x\"\n" + minimal + "[[group]]\nvhid = 3\n",
			[]string{`u.conf:1: name: a name labels one group: write it inside a [[group]]`}},
		{"unknown facility", "facility = \"local9\"\n" + minimal + "[[group]]\nvhid = 3\n",
			[]string{`u.conf:1: facility: unknown syslog facility "local9" (one of auth, authpriv, cron, daemon, ftp, kern, local0, local1, local2, local3, local4, local5, local6, local7, lpr, mail, mark, news, security, syslog, user, uucp, none)`}},
		{"duplicate interface and vhid", minimal + "[[group]]\nname = \"a\"\nvhid = 3\n[[group]]\nvhid = 3\n",
			[]string{`u.conf:8: group #2 (eth0 vhid 3): the same interface and vhid as group "a" at line 5`}},
		{"duplicate names", minimal + "[[group]]\nname = \"a\"\nvhid = 3\n[[group]]\nname = \"a\"\nvhid = 4\n",
			[]string{`u.conf:9: group "a" (eth0 vhid 4): name: "a" is also the name of the group at line 5`}},
		{"no duplicate from a missing or bad interface", "srcip = \"192.0.2.11\"\npass = \"x\"\naddr = \"192.0.2.100\"\n" +
			"[[group]]\nvhid = 3\n[[group]]\nvhid = 3\n[[group]]\nvhid = 3\ninterface = \"eth0\"\n[[group]]\nvhid = 3\ninterface = 0\n",
			[]string{
				`u.conf:4: group #1: interface: missing: every group names its interface`,
				`u.conf:6: group #2: interface: missing: every group names its interface`,
				`u.conf:13: group #4: interface: must be a string, not an integer`,
			}},
		{"a bad interface does not fall back on the default", minimal + "[[group]]\nvhid = 3\n[[group]]\nvhid = 3\ninterface = \"a b\"\n",
			[]string{`u.conf:9: group #2: interface: "a b" is not an interface name`}},
		{"neither pass nor passfile", "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\naddr = \"192.0.2.100\"\n[[group]]\nvhid = 3\n",
			[]string{`u.conf:4: group #1 (eth0 vhid 3): pass: missing: write pass or passfile`}},
		{"both pass and passfile", minimal + "[[group]]\nvhid = 3\npass = \"a\"\npassfile = \"/etc/ucarp/cluster.pass\"\n",
			[]string{`u.conf:8: group #1 (eth0 vhid 3): passfile: pass and passfile are both written: keep one`}},
		{"both at the top", "passfile = \"/etc/ucarp/cluster.pass\"\n" + minimal + "[[group]]\nvhid = 3\n",
			[]string{`u.conf:4: pass: pass and passfile are both written: keep one`}},
		{"passfile that others can read", minimal + "[[group]]\nvhid = 3\npassfile = \"/etc/ucarp/open.pass\"\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): passfile: /etc/ucarp/open.pass can be read or changed by group or others (mode 0644): chmod 600 it`}},
		{"passfile that the group can write", minimal + "[[group]]\nvhid = 3\npassfile = \"/etc/ucarp/group.pass\"\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): passfile: /etc/ucarp/group.pass can be read or changed by group or others (mode 0620): chmod 600 it`}},
		{"passfile missing", minimal + "[[group]]\nvhid = 3\npassfile = \"/etc/ucarp/none.pass\"\n",
			[]string{`u.conf:7: group #1 (eth0 vhid 3): passfile: cannot read /etc/ucarp/none.pass: file does not exist`}},
		{"passfile empty, blank, too long, relative", minimal +
			"[[group]]\nvhid = 3\npassfile = \"/etc/ucarp/empty.pass\"\n" +
			"[[group]]\nvhid = 4\npassfile = \"/etc/ucarp/blank.pass\"\n" +
			"[[group]]\nvhid = 5\npassfile = \"/etc/ucarp/long.pass\"\n" +
			"[[group]]\nvhid = 6\npassfile = \"ucarp.pass\"\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): passfile: /etc/ucarp/empty.pass is empty`,
				`u.conf:10: group #2 (eth0 vhid 4): passfile: /etc/ucarp/blank.pass: the password is empty`,
				`u.conf:13: group #3 (eth0 vhid 5): passfile: /etc/ucarp/long.pass: the password is 20 bytes long: at most 19`,
				`u.conf:16: group #4 (eth0 vhid 6): passfile: "ucarp.pass" is not an absolute path`,
			}},
		{"a bad passfile at the top is reported once", "passfile = \"/etc/ucarp/open.pass\"\ninterface = \"eth0\"\nsrcip = \"192.0.2.11\"\naddr = \"192.0.2.100\"\n[[group]]\nvhid = 3\n[[group]]\nvhid = 4\n",
			[]string{`u.conf:1: passfile: /etc/ucarp/open.pass can be read or changed by group or others (mode 0644): chmod 600 it`}},
		{"pass too long and empty", minimal + "[[group]]\nvhid = 3\npass = \"01234567890123456789\"\n[[group]]\nvhid = 4\npass = \"\"\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): pass: the password is 20 bytes long: at most 19`,
				`u.conf:10: group #2 (eth0 vhid 4): pass: the password is empty`,
			}},
		{"missing keys", "[[group]]\n",
			[]string{
				`u.conf:1: group #1: interface: missing: every group names its interface`,
				`u.conf:1: group #1: vhid: missing: the virtual host id, 1-255`,
				`u.conf:1: group #1: pass: missing: write pass or passfile`,
				`u.conf:1: group #1: srcip: missing: this host's own address, the source of its adverts`,
				`u.conf:1: group #1: addr: missing: the virtual address`,
			}},
		{"bad addresses", minimal + "[[group]]\nvhid = 3\nsrcip = \"0.0.0.0\"\nmcastip = \"ff02::12\"\naddr = \"192.0.2.1/33\"\n[[group]]\nvhid = 4\naddr = \"0.0.0.0/24\"\n[[group]]\nvhid = 5\naddr = \"192.0.2.1/+8\"\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): srcip: the address of this host cannot be 0.0.0.0`,
				`u.conf:8: group #1 (eth0 vhid 3): mcastip: "ff02::12" is not an IPv4 address`,
				`u.conf:9: group #1 (eth0 vhid 3): addr: "192.0.2.1/33" is not an IPv4 or IPv6 address or ADDRESS/PREFIX (prefix 1-32 or 1-128)`,
				`u.conf:12: group #2 (eth0 vhid 4): addr: the virtual address cannot be 0.0.0.0`,
				`u.conf:15: group #3 (eth0 vhid 5): addr: "192.0.2.1/+8" is not an IPv4 or IPv6 address or ADDRESS/PREFIX (prefix 1-32 or 1-128)`,
			}},
		{"bad interfaces", minimal + "[[group]]\nvhid = 3\ninterface = \"\"\n[[group]]\nvhid = 4\ninterface = \"a-very-long-interface\"\n",
			[]string{
				`u.conf:7: group #1: interface: must not be empty`,
				`u.conf:10: group #2: interface: "a-very-long-interface" is longer than 15 bytes`,
			}},
		{"hold-down and sync-group", minimal + "[[group]]\nvhid = 3\nhold-down = -1\nsync-group = \"a b\"\n[[group]]\nvhid = 4\nhold-down = \"30s\"\nsync-group = \"\"\nhold-down-until-healthy = 1\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): hold-down: -1 is out of range 0-86400 (seconds)`,
				`u.conf:8: group #1 (eth0 vhid 3): sync-group: "a b": a sync group's name is made of letters, digits, '.', '_' and '-'`,
				`u.conf:11: group #2 (eth0 vhid 4): hold-down: must be a number of seconds, not a string`,
				`u.conf:12: group #2 (eth0 vhid 4): sync-group: "": a sync group's name is 1 to 64 bytes`,
				`u.conf:13: group #2 (eth0 vhid 4): hold-down-until-healthy: must be true or false, not an integer`,
			}},
		{"extension ranges", minimal + "[[group]]\nvhid = 3\nscript-timeout = -1\ngarp-count = 101\ngarp-interval = 0\n[[group]]\nvhid = 4\nscript-timeout = inf\ngarp-interval = 60001\n",
			[]string{
				`u.conf:7: group #1 (eth0 vhid 3): script-timeout: -1 is out of range 0-31536000 (seconds; 0 for none)`,
				`u.conf:8: group #1 (eth0 vhid 3): garp-count: 101 is out of range 0-100`,
				`u.conf:9: group #1 (eth0 vhid 3): garp-interval: 0 is out of range 1-60000`,
				`u.conf:12: group #2 (eth0 vhid 4): script-timeout: +Inf is out of range 0-31536000 (seconds; 0 for none)`,
				`u.conf:13: group #2 (eth0 vhid 4): garp-interval: 60001 is out of range 1-60000`,
			}},
		{"wrong types", minimal + "[[group]]\nvhid = \"3\"\nname = 7\nadvbase = 1.0\npreempt = \"yes\"\nsrcip = [1]\nmanage-vip = 1\nscript-timeout = \"30s\"\naddr = {a = 1}\nxparam = 1979-05-27\n",
			[]string{
				`u.conf:6: group #1: vhid: must be an integer, not a string`,
				`u.conf:7: group #1: name: must be a string, not an integer`,
				`u.conf:8: group #1: advbase: must be an integer, not a float`,
				`u.conf:9: group #1: preempt: must be true or false, not a string`,
				`u.conf:10: group #1: srcip: must be a string, not an array`,
				`u.conf:11: group #1: manage-vip: must be true or false, not an integer`,
				`u.conf:12: group #1: script-timeout: must be a number of seconds, not a string`,
				`u.conf:13: group #1: addr: must be a string or an array of strings, not a table`,
				`u.conf:14: group #1: xparam: must be a string, not a date or time`,
			}},
		{"bad control plane keys", "control = \"ucarp.sock\"\ncontrol-group = \"\"\nmetrics-listen = \"localhost\"\n" + minimal + "[[group]]\nvhid = 3\nmetrics-listen = \"127.0.0.1:0\"\n",
			[]string{
				`u.conf:1: control: "ucarp.sock" is not an absolute path (or "none")`,
				`u.conf:2: control-group: must not be empty`,
				`u.conf:3: metrics-listen: "localhost" is not ADDR:PORT`,
				`u.conf:10: group #1 (eth0 vhid 3): metrics-listen: process-wide: write it at the top of the file, before the first [[group]]`,
			}},
		{"bad log-format", "log-format = \"xml\"\n" + minimal + "[[group]]\nvhid = 3\n",
			[]string{`u.conf:1: log-format: must be text or json`}},
		{"bad realtime and lock-memory", "realtime = 100\nlock-memory = \"yes\"\n" + minimal + "[[group]]\nvhid = 3\nrealtime = \"rr\"\n",
			[]string{
				`u.conf:1: realtime: 100 is out of range 1-99`,
				`u.conf:2: lock-memory: must be true or false, not a string`,
				`u.conf:9: group #1 (eth0 vhid 3): realtime: process-wide: write it at the top of the file, before the first [[group]]`,
			}},
		{"relative paths", "pidfile = \"u.pid\"\n" + minimal + "[[group]]\nvhid = 3\nupscript = \"up.sh\"\ndownscript = \"./down.sh\"\n",
			[]string{
				`u.conf:1: pidfile: "u.pid" is not an absolute path`,
				`u.conf:8: group #1 (eth0 vhid 3): upscript: "up.sh" is not an absolute path`,
				`u.conf:9: group #1 (eth0 vhid 3): downscript: "./down.sh" is not an absolute path`,
			}},
		{"many errors at once, in the order of their lines", "advskew = -1\n" + minimal +
			"[[group]]\nname = \"web\"\nvhid = 3\nvhid_ = 1\n" +
			"[[group]]\nname = \"web\"\nvhid = 3\n" +
			"[[group]]\nname = \"db\"\nvhid = 4\ninterface = \"eth1\"\npass = \"\"\n",
			[]string{
				`u.conf:1: advskew: -1 is out of range 0-255`,
				`u.conf:9: group "web" (eth0 vhid 3): vhid_: unknown key (did you mean "vhid"?)`,
				`u.conf:10: group "web" (eth0 vhid 3): the same interface and vhid as group "web" at line 6`,
				`u.conf:11: group "web" (eth0 vhid 3): name: "web" is also the name of the group at line 6`,
				`u.conf:17: group "db" (eth1 vhid 4): pass: the password is empty`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("u.conf", []byte(tc.toml), files.read)
			if err == nil {
				t.Fatalf("Parse: no error, %+v", f)
			}
			if f != nil {
				t.Errorf("Parse: a File with an error: %+v", f)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse:\n got %q\nwant %q", got, tc.want)
			}
			checkErrors(t, "u.conf", err)
		})
	}
}

// checkErrors checks that every error joined in err is an *Error of file.
func checkErrors(t *testing.T, file string, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Errorf("%T is not an *Error: %v", e, e)
			continue
		}
		if ce.File != file || ce.Line < 0 {
			t.Errorf("error %q: File %q, Line %d", ce, ce.File, ce.Line)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "p.pass")
	if err := os.WriteFile(pass, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "u.conf")
	body := "interface = \"eth0\"\nsrcip = \"192.0.2.11\"\naddr = \"192.0.2.100\"\npassfile = \"" + pass + "\"\n[[group]]\nvhid = 3\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(conf)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := string(f.Groups[0].Password); got != "s3cret" {
		t.Errorf("Load: password %q", got)
	}
	if err := os.Chmod(pass, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(conf); err == nil || !strings.Contains(err.Error(), "u.conf:4: passfile: ") {
		t.Errorf("Load of a passfile with mode 0640: %v", err)
	}
	missing := filepath.Join(dir, "none.conf")
	_, err = Load(missing)
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != missing+": no such file or directory" {
		t.Errorf("Load(%s) = %v", missing, err)
	}
}
