package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/carpauth"
	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/health"
	"github.com/ucarp-go/ucarp/vrrp"
)

// ID identifies a group in a process: one vhid per interface, protocol
// and, for VRRPv3, family.
type ID = group.ID

// Group is one validated CARP group: what the command line configures for
// one process, with the same names, defaults and meaning.
type Group struct {
	Name      string       // name; optional, unique in the file
	Interface string       // interface
	SrcIP     netip.Addr   // srcip: this host's IPv4 address
	McastIP   netip.Addr   // mcastip; default 224.0.0.18
	VHID      uint8        // vhid, 1-255
	Password  []byte       // pass, or the first line of passfile; 1-19 bytes
	Addr      netip.Prefix // addr, or its first; /32 or /128 unless a prefix length is written
	AddrArg   string       // addr as written, without the prefix: the scripts' second argument
	// MoreAddrs are the addresses after the first: addr written as a
	// list, or --addr given more than once. IPv4 and IPv6 alike.
	MoreAddrs []netip.Prefix
	// Demote is demote, 0-255 (default 0): sent in byte 4 of every advert
	// and compared as OpenBSD's demote count (carp.Config.Demote).
	Demote        uint8
	AdvBase       uint8   // advbase; default 1
	AdvSkew       uint8   // advskew; default 0; not both 0
	DeadRatio     uint32  // deadratio; default 3
	Preempt       bool    // preempt
	Neutral       bool    // neutral
	NoMcast       bool    // nomcast
	Shutdown      bool    // shutdown
	IgnoreIfState bool    // ignoreifstate
	UpScript      string  // upscript; absolute path or empty
	DownScript    string  // downscript; absolute path or empty
	XParam        *string // xparam, the scripts' third argument; nil when not written
	ScriptTimeout time.Duration
	ManageVIP     *bool // manage-vip; nil: see ManagesVIP
	GARPCount     int   // garp-count, 0-100; default 1
	GARPInterval  time.Duration
	// Probes (probes) names the file's probes whose weights make the
	// group's demotion while they are not up.
	Probes []string
	// HoldDown (hold-down) is the boot hold-down: for that long after
	// the start, the group is demoted by 255 so that it takes the
	// address from no running peer; HoldDownUntilHealthy
	// (hold-down-until-healthy) ends it sooner, once its probes are up.
	HoldDown             time.Duration
	HoldDownUntilHealthy bool
	// SyncGroup (sync-group) names the sync group whose members fail
	// over together, in this process and in the others of the host.
	SyncGroup string
	// NoConflictDetect (no-conflict-detect) turns off the watch for other
	// hosts that claim a MASTER's addresses.
	NoConflictDetect bool
	// Peers (peer, --peer) are the unicast peers: the adverts of their
	// family go to them instead of the multicast group, and only theirs
	// are heard (CheckPeers).
	Peers []netip.Addr
	// Auth is auth = "hmac-sha256" with keyfile, auth-mode,
	// replay-window and relax-ttl, the keys loaded (auth.go); nil for
	// plain CARP.
	Auth *group.AuthConfig
	Line int // the line of the file that opens the group

	// Protocol (protocol) is "carp" (the default) or "vrrp3". A vrrp3
	// group has its addresses of one family, needs no pass, and uses
	// Priority (priority, 1-255, default 100; 255 is the address owner),
	// AdvertInterval (advert-interval, centiseconds, 1-4095, default
	// 100), VRRPChecksum (vrrp-checksum) and NoPreempt (preempt = false)
	// instead of advbase, advskew, deadratio, demote and pass.
	Protocol       group.Protocol
	Priority       uint8
	AdvertInterval uint16
	VRRPChecksum   group.ChecksumMode
	NoPreempt      bool
	// PreemptDelay (preempt-delay, seconds) keeps a vrrp3 group from
	// preempting for that long after it starts.
	PreemptDelay time.Duration
	// VMAC (vmac) is the interface name of the group's virtual MAC, a
	// macvlan (vmac.go); "" for none.
	VMAC string
}

// Defaults of a vrrp3 group.
const (
	DefaultPriority       = vrrp.DefaultPriority
	DefaultAdvertInterval = vrrp.DefaultInterval
)

// ID returns the group's identity.
func (g Group) ID() ID {
	return ID{Interface: g.Interface, VHID: g.VHID, Protocol: g.Protocol, IPv6: g.Protocol == group.ProtocolVRRP3 && g.Addr.Addr().Is6()}
}

// ManagesVIP reports whether the daemon adds and removes the address
// itself: as manage-vip says, or, when it is not written, when the group
// has no script.
func (g Group) ManagesVIP() bool {
	if g.ManageVIP != nil {
		return *g.ManageVIP
	}
	return g.UpScript == "" && g.DownScript == ""
}

// Addrs returns every virtual address of the group, the first first.
func (g Group) Addrs() []netip.Prefix {
	return append([]netip.Prefix{g.Addr}, g.MoreAddrs...)
}

// VIPsEnv is the value of the scripts' CARP_VIPS: every address as
// written without its prefix length for the first, as the prefix's
// address for the others, separated by spaces.
func (g Group) VIPsEnv() string {
	s := g.AddrArg
	for _, p := range g.MoreAddrs {
		s += " " + p.Addr().String()
	}
	return s
}

// ScriptArgs returns the arguments of the group's scripts, as ucarp passes
// them: interface, address as written, and xparam if written.
func (g Group) ScriptArgs() []string {
	args := []string{g.Interface, g.AddrArg}
	if g.XParam != nil {
		args = append(args, *g.XParam)
	}
	return args
}

// DefaultRealtimePriority is the SCHED_RR priority of --realtime and
// realtime = true: above every ordinary process, below the kernel's
// interrupt threads (50), so that receiving packets is not held up.
const DefaultRealtimePriority = 10

// File is a validated config file.
type File struct {
	Path     string
	Facility string // facility: a syslog facility name in lower case, or "none"; default "daemon"
	Debug    bool   // debug
	PIDFile  string // pidfile; empty for none
	// Control is the control socket (control): a path, "none", or empty
	// for the default; ControlGroup (control-group) the group whose
	// members may change things through it; MetricsListen
	// (metrics-listen) the ADDR:PORT of /metrics and the status page,
	// empty for none.
	Control, ControlGroup, MetricsListen string
	// LogFormat (log-format) is how the console lines are written: "text"
	// or "" (ucarp's lines, the default) or "json".
	LogFormat string
	// Realtime (realtime) is the SCHED_RR priority of the daemon's
	// threads, 0 for none; LockMemory (lock-memory) locks its memory.
	Realtime   int
	LockMemory bool
	// Probes are the [probe.NAME] tables, sorted by name.
	Probes []health.Spec
	Groups []Group
	// Warnings are what is valid but has no effect (pass in a vrrp3
	// group), formatted as errors are; the daemon logs them.
	Warnings []*Error
}

// ReadFileFunc reads a password file: its contents (at least the first
// 511 bytes, the most that is used) and its mode. Parse reads every
// passfile through it, so that tests need no real files.
type ReadFileFunc func(name string) (data []byte, mode fs.FileMode, err error)

// Defaults of the command line.
const (
	DefaultAdvBase       = 1
	DefaultDeadRatio     = 3
	DefaultScriptTimeout = group.DefaultScriptTimeout
	DefaultGARPCount     = 1
	DefaultGARPInterval  = time.Second
	DefaultFacility      = "daemon"
)

// defaultMcastIP is ucarp's multicast group.
var defaultMcastIP = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// MaxPassfileLine is ucarp's fgets buffer: at most 511 bytes of a
// password file are read.
const MaxPassfileLine = 511

// PasswordLine is the password in the first bytes of a password file, as
// ucarp's -o reads it: the first line of at most MaxPassfileLine bytes,
// only the first "\n" removed (a "\r" stays), ending at a NUL byte. The
// command line and the config file both read passfiles so.
func PasswordLine(data []byte) []byte {
	line := data[:min(len(data), MaxPassfileLine)]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	return line
}

// Load reads and parses the file at path, and the password files it
// names, from the operating system.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: errorText(err), Err: err}
	}
	return Parse(path, data, ReadOSFile)
}

// ReadOSFile is the ReadFileFunc of Load: it reads the first 511 bytes of
// name and stats it.
func ReadOSFile(name string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPassfileLine))
	return data, fi.Mode(), err
}

// errorText is the cause of a path error without its path, which the
// message already names.
func errorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse reads the config file data, named path in messages. It returns
// every problem of the file at once, as an errors.Join of *Error values in
// the order of their lines, or a File whose groups are all valid.
func Parse(path string, data []byte, readFile ReadFileFunc) (*File, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(path, err)
	}
	r := &reader{path: path, ix: indexLines(data), readFile: readFile, passfiles: map[string]passfile{}, loadKeys: LoadKeyFile}
	if readFile == nil {
		// No files read (a fuzzer, a test of the syntax): no key files
		// either.
		r.loadKeys = func(name string) (*carpauth.Keyring, error) {
			return nil, fmt.Errorf("cannot read %s: no way to read files", name)
		}
	}
	f := r.file(doc)
	if len(r.errs) > 0 {
		slices.SortStableFunc(r.errs, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
		errs := make([]error, len(r.errs))
		for i, e := range r.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	f.Warnings = r.warns
	return f, nil
}

// syntaxError turns go-toml's error, which carries a position, into an
// *Error.
func syntaxError(path string, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return &Error{File: path, Line: line, Key: strings.Join(de.Key(), "."),
			Msg: strings.TrimPrefix(de.Error(), "toml: "), Err: err}
	}
	return &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
}

// reader holds what Parse needs while it walks a decoded file.
type reader struct {
	path      string
	ix        *lineIndex
	readFile  ReadFileFunc
	passfiles map[string]passfile // each file is read once, however many groups name it
	errs      []*Error
	// loadKeys reads a keyfile (LoadKeyFile; each group's, at every
	// parse: a reload reads the keys again).
	loadKeys func(string) (*carpauth.Keyring, error)
	warns    []*Error
}

type passfile struct {
	password []byte
	msg      string
}

// warnf records something that works but that the user should hear of
// (File.Warnings).
func (r *reader) warnf(line int, key, format string, args ...any) {
	r.warns = append(r.warns, &Error{File: r.path, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (r *reader) errorf(line int, group, key, format string, args ...any) *Error {
	e := &Error{File: r.path, Line: line, Group: group, Key: key, Msg: fmt.Sprintf(format, args...)}
	r.errs = append(r.errs, e)
	return e
}

// file reads the top level, then each group over it.
func (r *reader) file(doc map[string]any) *File {
	def := r.table(doc, top)
	f := &File{Path: r.path, Facility: DefaultFacility, Debug: def.debug.val, PIDFile: def.pidfile.val,
		Control: def.control.val, ControlGroup: def.controlGroup.val, MetricsListen: def.metricsListen.val,
		Realtime: def.realtime.val, LockMemory: def.lockMemory.val,
		LogFormat: def.logFormat.val}
	if def.facility.set {
		f.Facility = def.facility.val
	}
	var probes map[string]bool
	f.Probes, probes = r.probes(doc)
	tables, ok := r.groupTables(doc)
	if !ok {
		return f
	}
	byID := map[ID]*Group{}
	byName := map[string]*Group{}
	var labels []string
	defer func() {
		for i, msg := range CheckVMACs(f.Groups) {
			r.errorf(f.Groups[i].Line, labels[i], "vmac", "%s", msg)
		}
	}()
	for i, t := range tables {
		first, firstWarn := len(r.errs), len(r.warns)
		s := r.table(t, i)
		g := r.group(i, s, def)
		if id, ok := groupID(s, def); ok {
			if prev := byID[id]; prev != nil {
				r.errorf(g.Line, "", "", "the same interface and vhid as %s at line %d", groupLabel0(prev), prev.Line)
			} else {
				byID[id] = &g
			}
		}
		if s.name.set {
			if prev := byName[g.Name]; prev != nil {
				r.errorf(s.lines["name"], "", "name", "%q is also the name of the group at line %d", g.Name, prev.Line)
			} else {
				byName[g.Name] = &g
			}
		}
		for _, name := range g.Probes {
			if !probes[name] {
				l := s.lines["probes"]
				if l == 0 {
					l = def.lines["probes"]
				}
				r.errorf(l, "", "probes", "no [probe.%s] in the file", name)
			}
		}
		f.Groups = append(f.Groups, g)
		label := groupLabel(i, s, def)
		labels = append(labels, label)
		for _, e := range r.errs[first:] {
			e.Group = label
		}
		for _, e := range r.warns[firstWarn:] {
			e.Group = label
		}
	}
	return f
}

// groupTables returns the [[group]] tables of the file.
func (r *reader) groupTables(doc map[string]any) ([]map[string]any, bool) {
	v, ok := doc["group"]
	if !ok {
		r.errorf(0, "", "", "no [[group]]: the file configures no group")
		return nil, false
	}
	arr, ok := v.([]any)
	var tables []map[string]any
	for _, t := range arr {
		m, isTable := t.(map[string]any)
		if !isTable {
			ok = false
			break
		}
		tables = append(tables, m)
	}
	if !ok || len(tables) == 0 {
		r.errorf(r.ix.line(top, "group"), "", "group", "must be an array of tables: write each group as a [[group]] table")
		return nil, false
	}
	return tables, true
}

// table reads the keys of one table: the top level, or group i.
func (r *reader) table(m map[string]any, i int) *settings {
	s := &settings{lines: map[string]int{}}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if i == top && (k == "group" || k == "probe") {
			continue
		}
		line := r.ix.line(i, k)
		if line == 0 {
			line = r.ix.groupLine(i)
		}
		s.lines[k] = line
		def, known := keys[k]
		switch {
		case !known:
			r.errorf(line, "", k, "%s", unknownKey(k))
		case def.scope == groupOnly && i == top:
			r.errorf(line, "", k, "a name labels one group: write it inside a [[group]]")
		case def.scope == topOnly && i != top:
			r.errorf(line, "", k, "process-wide: write it at the top of the file, before the first [[group]]")
		case k == "passfile" && m["pass"] != nil:
			p, pf := line, r.ix.line(i, "pass")
			key := "passfile"
			if pf > p {
				p, key = pf, "pass"
			}
			r.errorf(p, "", key, "pass and passfile are both written: keep one")
		case k == "pass" && m["passfile"] != nil:
		case k == "vrid" && m["vhid"] != nil:
			r.errorf(line, "", k, "vhid and vrid are both written: vrid is vhid's other name, keep one")
		default:
			if msg := def.set(r, s, m[k]); msg != "" {
				r.errorf(line, "", k, "%s", msg)
			}
		}
	}
	return s
}

func (r *reader) setPass(s *settings, v any) string {
	str, ok := v.(string)
	if !ok {
		return wrongType("a string", v)
	}
	if msg := checkPassword([]byte(str)); msg != "" {
		return msg
	}
	s.password.val, s.password.set, s.passKey = []byte(str), true, "pass"
	return ""
}

func checkPassword(pw []byte) string {
	switch {
	case len(pw) == 0:
		return "the password is empty"
	case len(pw) > carp.MaxPasswordLen:
		return fmt.Sprintf("the password is %d bytes long: at most %d", len(pw), carp.MaxPasswordLen)
	}
	return ""
}

// setPassfile reads the password as ucarp's -o does: the first line of the
// file, at most 511 bytes, only the first "\n" removed (a "\r" stays), and
// ending at a NUL byte. Where the command line only warns about a file
// that others can read, a config file rejects it: a new format can be
// strict from its first day, and a password that others can read lets
// them take over every address of the group.
func (r *reader) setPassfile(s *settings, v any) string {
	name, ok := v.(string)
	if !ok {
		return wrongType("a string", v)
	}
	if msg := absPath(name); msg != "" {
		return msg
	}
	p, ok := r.passfiles[name]
	if !ok {
		p = r.readPassfile(name)
		r.passfiles[name] = p
	}
	if p.msg != "" {
		return p.msg
	}
	s.password.val, s.password.set, s.passKey = p.password, true, "passfile"
	return ""
}

func (r *reader) readPassfile(name string) passfile {
	if r.readFile == nil {
		return passfile{msg: fmt.Sprintf("cannot read %s: no way to read files", name)}
	}
	data, mode, err := r.readFile(name)
	if err != nil {
		return passfile{msg: fmt.Sprintf("cannot read %s: %s", name, errorText(err))}
	}
	if mode.IsRegular() && mode.Perm()&0o077 != 0 {
		return passfile{msg: fmt.Sprintf("%s can be read or changed by group or others (mode %04o): chmod 600 it", name, mode.Perm())}
	}
	if len(data) == 0 {
		return passfile{msg: fmt.Sprintf("%s is empty", name)}
	}
	line := PasswordLine(data)
	if msg := checkPassword(line); msg != "" {
		return passfile{msg: fmt.Sprintf("%s: %s", name, msg)}
	}
	return passfile{password: bytes.Clone(line)}
}

// group merges the keys of group i over the defaults and checks what
// needs more than one key. The problems go to r.errs; the group is
// meaningful only when the file has none.
func (r *reader) group(i int, s, def *settings) Group {
	gl := r.ix.groupLine(i)
	line := func(key string) int {
		if l, ok := s.lines[key]; ok {
			return l
		}
		return gl
	}
	// written reports whether key is in the group or the defaults: one
	// with a bad value was reported already, and is not missing.
	written := func(key string) bool { return s.has(key) || def.has(key) }
	missing := func(key, what string) {
		if !written(key) {
			r.errorf(gl, "", key, "missing: %s", what)
		}
	}
	missing("interface", "every group names its interface")
	proto := s.protocol.or(def.protocol).val
	vrrp3 := proto == group.ProtocolVRRP3
	if !written("vrid") {
		missing("vhid", "the virtual host id, 1-255")
	}
	if !vrrp3 && !written("pass") && !written("passfile") {
		r.errorf(gl, "", "pass", "missing: write pass or passfile")
	}
	missing("srcip", "this host's own address, the source of its adverts")
	missing("addr", "the virtual address")

	g := Group{
		Protocol:             proto,
		Name:                 s.name.val,
		Interface:            s.iface.or(def.iface).val,
		SrcIP:                s.src.or(def.src).val,
		McastIP:              s.mcast.or(def.mcast).or(setting[netip.Addr]{defaultMcastIP, true}).val,
		VHID:                 s.vhid.or(def.vhid).val,
		AdvBase:              s.advbase.or(def.advbase).or(setting[uint8]{DefaultAdvBase, true}).val,
		AdvSkew:              s.advskew.or(def.advskew).val,
		DeadRatio:            s.deadratio.or(def.deadratio).or(setting[uint32]{DefaultDeadRatio, true}).val,
		Preempt:              s.preempt.or(def.preempt).val,
		Neutral:              s.neutral.or(def.neutral).val,
		NoMcast:              s.nomcast.or(def.nomcast).val,
		Shutdown:             s.shutdown.or(def.shutdown).val,
		IgnoreIfState:        s.ignoreIf.or(def.ignoreIf).val,
		UpScript:             s.upscript.or(def.upscript).val,
		DownScript:           s.downscript.or(def.downscript).val,
		ScriptTimeout:        s.scriptTimeout.or(def.scriptTimeout).or(setting[time.Duration]{DefaultScriptTimeout, true}).val,
		GARPCount:            s.garpCount.or(def.garpCount).or(setting[int]{DefaultGARPCount, true}).val,
		GARPInterval:         s.garpInterval.or(def.garpInterval).or(setting[time.Duration]{DefaultGARPInterval, true}).val,
		Probes:               s.probes.or(def.probes).val,
		HoldDown:             s.holdDown.or(def.holdDown).val,
		SyncGroup:            s.syncGroup.or(def.syncGroup).val,
		Line:                 gl,
		HoldDownUntilHealthy: s.holdDownUntilHealthy.or(def.holdDownUntilHealthy).val,
		NoConflictDetect:     s.noConflictDetect.or(def.noConflictDetect).val,
	}
	// pass and passfile are one setting: either, in a group, overrides
	// either at the top.
	if s.has("pass") || s.has("passfile") {
		g.Password = s.password.val
	} else {
		g.Password = def.password.val
	}
	addr := s.addr
	addrArg := s.addrArg
	if !s.has("addr") {
		addr, addrArg = def.addr, def.addrArg
	}
	g.Addr, g.AddrArg = addr.val, addrArg
	g.MoreAddrs = s.moreAddrs
	if !s.has("addr") {
		g.MoreAddrs = def.moreAddrs
	}
	g.Demote = s.demote.or(def.demote).val
	if p := s.peers.or(def.peers); p.set {
		g.Peers = p.val
		if msg := CheckPeers(g); msg != "" {
			r.errorf(line("peer"), "", "peer", "%s", msg)
		}
	}
	if x := s.xparam.or(def.xparam); x.set {
		g.XParam = &x.val
	}
	if m := s.manage.or(def.manage); m.set {
		g.ManageVIP = &m.val
	}
	as := AuthSettings{Auth: s.auth.or(def.auth).val, KeyFile: s.keyfile.or(def.keyfile).val,
		Mode: s.authMode.or(def.authMode).val, Window: s.replayWindow.or(def.replayWindow).val,
		RelaxTTL: s.relaxTTL.or(def.relaxTTL).val, LoadKeys: r.loadKeys}
	if as.Auth != AuthHMAC && def.auth.val == AuthHMAC {
		// A group that writes auth = "carp" under a top that enables
		// the extension: the top's other settings are not its.
		as.KeyFile, as.Mode, as.Window, as.RelaxTTL = s.keyfile.val, s.authMode.val, s.replayWindow.val, s.relaxTTL.val
	}
	if ac, key, msg := as.Build(); msg != "" {
		if key == "keyfile" && !written("keyfile") {
			key = "auth"
		}
		at := line(key)
		if l, ok := def.lines[key]; ok && !s.has(key) {
			at = l // written at the top, for every group
		}
		r.errorf(at, "", key, "%s", msg)
	} else {
		g.Auth = ac
	}
	g.VMAC = s.vmac.or(def.vmac).val
	if msg := ResolveVMAC(&g); msg != "" {
		r.errorf(line("vmac"), "", "vmac", "%s", msg)
	}
	if vrrp3 {
		r.vrrp3(&g, s, def, line)
		return g
	}
	switch {
	case g.AdvBase == 0 && g.AdvSkew == 0:
		key := "advbase"
		if !s.has(key) && s.has("advskew") {
			key = "advskew"
		}
		r.errorf(line(key), "", key, "advbase and advskew cannot both be 0")
	case g.AdvBase == 255 && g.AdvSkew == 255:
		key := "advskew"
		if !s.has(key) && s.has("advbase") {
			key = "advbase"
		}
		r.errorf(line(key), "", key, "advbase 255 with advskew 255 is the bow-out advert: every peer would take over from this group at once")
	}
	return g
}

// vrrp3 checks what a vrrp3 group adds: its addresses of one family,
// and the warnings for keys that have no effect on it.
func (r *reader) vrrp3(g *Group, s, def *settings, line func(string) int) {
	g.Priority = s.priority.or(def.priority).or(setting[uint8]{DefaultPriority, true}).val
	g.AdvertInterval = s.advertInterval.or(def.advertInterval).or(setting[uint16]{DefaultAdvertInterval, true}).val
	g.VRRPChecksum = s.checksum.or(def.checksum).val
	g.PreemptDelay = s.preemptDelay.or(def.preemptDelay).val
	p := s.preempt.or(def.preempt)
	g.NoPreempt = p.set && !p.val
	g.Preempt = false
	fam := g.Addr.Addr().Is6()
	for _, a := range g.MoreAddrs {
		if a.Addr().Is6() != fam {
			r.errorf(line("addr"), "", "addr", "a vrrp3 group's addresses are of one family (a VRRP virtual router is IPv4 or IPv6): "+
				"make two groups with the same vhid, one per family")
			break
		}
	}
	// Unicast peers: an IPv6 virtual router sends from its link-local
	// address (RFC 9568's primary address, which the routers compare), so
	// its peers, matched by source, are link-local too. --auth is CARP's:
	// a vrrp3 group that would send unsigned adverts is refused.
	if msg := VRRP3Peers(g.Peers); msg != "" {
		r.errorf(line("peer"), "", "peer", "%s", msg)
	}
	if g.Auth != nil {
		r.errorf(line("auth"), "", "auth", "auth = \"hmac-sha256\" is CARP's extension; a vrrp3 group cannot use it")
	}
	for _, k := range []string{"pass", "passfile"} {
		if s.has(k) || def.has(k) && !s.has("pass") && !s.has("passfile") {
			r.warnf(line(k), k, "VRRPv3 has no authentication: %s is not used by a vrrp3 group", k)
		}
	}
}

// groupLabel names group i in messages: `group "web" (eth0 vhid 3)`, or
// `group #2 (eth0 vhid 3)` when it has no name, without the parenthesis
// when its interface or vhid is missing or bad.
func groupLabel(i int, s, def *settings) string {
	label := fmt.Sprintf("group #%d", i+1)
	if s.name.set {
		label = fmt.Sprintf("group %q", s.name.val)
	}
	if id, ok := groupID(s, def); ok {
		label += fmt.Sprintf(" (%s)", id)
	}
	return label
}

// groupID returns the interface and vhid of a group, and whether both are
// known: written with a valid value, in the group or at the top. A bad
// value in the group does not fall back on the default.
func groupID(s, def *settings) (ID, bool) {
	iface, vhid := s.iface, s.vhid
	if !s.has("interface") {
		iface = def.iface
	}
	if !s.has("vhid") && !s.has("vrid") {
		vhid = def.vhid
	}
	id := ID{Interface: iface.val, VHID: vhid.val, Protocol: s.protocol.or(def.protocol).val}
	if id.Protocol == group.ProtocolVRRP3 {
		addr := s.addr
		if !s.has("addr") {
			addr = def.addr
		}
		id.IPv6 = addr.val.Addr().Is6()
	}
	return id, iface.set && vhid.set
}

// groupLabel0 names a valid group.
func groupLabel0(g *Group) string {
	if g.Name != "" {
		return fmt.Sprintf("group %q", g.Name)
	}
	return "the group"
}
