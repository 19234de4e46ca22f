package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ucarp-go/ucarp/group"
	"github.com/ucarp-go/ucarp/vrrp"
)

// scope says where a key may be written.
type scope int

const (
	anywhere  scope = iota // at the top (a default) or in a group
	groupOnly              // name: one group's label
	topOnly                // facility, debug, pidfile: the process's
)

// keyDef is one key of the file: where it may be written and how its value
// is read into a table's settings. set returns what is wrong, or "".
type keyDef struct {
	scope scope
	set   func(r *reader, s *settings, v any) string
}

// keys are the keys of the file: every long option of the command line
// that configures a group or the process, with the same name, plus name.
// mcastip is the long option's full name (--mcast is only its getopt
// abbreviation), so it is the key; "mcast" is answered with a hint.
var keys = map[string]keyDef{
	"name":      {groupOnly, func(_ *reader, s *settings, v any) string { return setString(&s.name, v, nonEmpty) }},
	"interface": {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.iface, v, ifName) }},
	"srcip": {anywhere, func(_ *reader, s *settings, v any) string {
		return setAddr(&s.src, v, "the address of this host")
	}},
	"mcastip": {anywhere, func(_ *reader, s *settings, v any) string { return setAddr(&s.mcast, v, "a multicast group") }},
	"vhid":    {anywhere, func(_ *reader, s *settings, v any) string { return setUint8(&s.vhid, v, 1) }},
	"pass":    {anywhere, func(r *reader, s *settings, v any) string { return r.setPass(s, v) }},
	"passfile": {anywhere, func(r *reader, s *settings, v any) string {
		return r.setPassfile(s, v)
	}},
	"addr":          {anywhere, func(_ *reader, s *settings, v any) string { return setVIP(s, v) }},
	"demote":        {anywhere, func(_ *reader, s *settings, v any) string { return setUint8(&s.demote, v, 0) }},
	"advbase":       {anywhere, func(_ *reader, s *settings, v any) string { return setUint8(&s.advbase, v, 0) }},
	"advskew":       {anywhere, func(_ *reader, s *settings, v any) string { return setUint8(&s.advskew, v, 0) }},
	"deadratio":     {anywhere, func(_ *reader, s *settings, v any) string { return setDeadratio(s, v) }},
	"preempt":       {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.preempt, v) }},
	"neutral":       {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.neutral, v) }},
	"upscript":      {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.upscript, v, absPath) }},
	"downscript":    {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.downscript, v, absPath) }},
	"xparam":        {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.xparam, v, nil) }},
	"nomcast":       {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.nomcast, v) }},
	"shutdown":      {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.shutdown, v) }},
	"ignoreifstate": {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.ignoreIf, v) }},
	"script-timeout": {anywhere, func(_ *reader, s *settings, v any) string {
		return setScriptTimeout(s, v)
	}},
	"probes":    {anywhere, func(_ *reader, s *settings, v any) string { return setProbes(s, v) }},
	"hold-down": {anywhere, func(_ *reader, s *settings, v any) string { return setHoldDown(s, v) }},
	"hold-down-until-healthy": {anywhere, func(_ *reader, s *settings, v any) string {
		return setBool(&s.holdDownUntilHealthy, v)
	}},
	"sync-group":    {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.syncGroup, v, SyncGroupName) }},
	"manage-vip":    {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.manage, v) }},
	"garp-count":    {anywhere, func(_ *reader, s *settings, v any) string { return setInt(&s.garpCount, v, 0, 100) }},
	"garp-interval": {anywhere, func(_ *reader, s *settings, v any) string { return setGARPInterval(s, v) }},
	"facility":      {topOnly, func(_ *reader, s *settings, v any) string { return setFacility(s, v) }},
	"debug":         {topOnly, func(_ *reader, s *settings, v any) string { return setBool(&s.debug, v) }},
	"pidfile":       {topOnly, func(_ *reader, s *settings, v any) string { return setString(&s.pidfile, v, absPath) }},
	"control":       {topOnly, func(_ *reader, s *settings, v any) string { return setString(&s.control, v, ControlPath) }},
	"control-group": {topOnly, func(_ *reader, s *settings, v any) string { return setString(&s.controlGroup, v, nonEmpty) }},
	"realtime":      {topOnly, func(_ *reader, s *settings, v any) string { return setRealtime(s, v) }},
	"lock-memory":   {topOnly, func(_ *reader, s *settings, v any) string { return setBool(&s.lockMemory, v) }},
	"metrics-listen": {topOnly, func(_ *reader, s *settings, v any) string {
		return setString(&s.metricsListen, v, ListenAddr)
	}},
	"log-format": {topOnly, func(_ *reader, s *settings, v any) string { return setString(&s.logFormat, v, LogFormat) }},
	"no-conflict-detect": {anywhere, func(_ *reader, s *settings, v any) string {
		return setBool(&s.noConflictDetect, v)
	}},
	// Unicast peers (issue 15).
	"peer": {anywhere, func(_ *reader, s *settings, v any) string { return setPeers(s, v) }},

	// --auth=hmac-sha256 and its settings (auth.go, docs/AUTH.md).
	"auth":      {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.auth, v, AuthName) }},
	"keyfile":   {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.keyfile, v, KeyFileName) }},
	"auth-mode": {anywhere, func(_ *reader, s *settings, v any) string { return setString(&s.authMode, v, authModeName) }},
	"replay-window": {anywhere, func(_ *reader, s *settings, v any) string {
		return setReplayWindow(s, v)
	}},
	"relax-ttl": {anywhere, func(_ *reader, s *settings, v any) string { return setBool(&s.relaxTTL, v) }},

	// VRRPv3 (issue 18): protocol, and the settings of a vrrp3 group.
	// vrid is vhid's synonym (VRRP's word); preempt = false turns a vrrp3
	// group's Preempt_Mode off (it is on by default).
	"protocol":        {anywhere, func(_ *reader, s *settings, v any) string { return setProtocol(s, v) }},
	"vrid":            {anywhere, func(_ *reader, s *settings, v any) string { return setUint8(&s.vhid, v, 1) }},
	"priority":        {anywhere, func(_ *reader, s *settings, v any) string { return setUint8(&s.priority, v, 1) }},
	"advert-interval": {anywhere, func(_ *reader, s *settings, v any) string { return setAdvertInterval(s, v) }},
	"vrrp-checksum":   {anywhere, func(_ *reader, s *settings, v any) string { return setChecksum(s, v) }},
	"preempt-delay":   {anywhere, func(_ *reader, s *settings, v any) string { return setPreemptDelay(s, v) }},
	// The virtual MAC (vmac.go).
	"vmac": {anywhere, func(_ *reader, s *settings, v any) string { return setVMAC(s, v) }},
}

// MaxPreemptDelay bounds preempt-delay and --preempt-delay, in seconds.
const MaxPreemptDelay = 3600

// PreemptDelay checks preempt-delay and --preempt-delay: 0 to an hour.
func PreemptDelay(secs float64) (time.Duration, string) { return secondsUpTo(secs, MaxPreemptDelay) }

// secondsUpTo reads a number of seconds from 0 to limit, fractions
// allowed; it says what is wrong, or "".
func secondsUpTo(secs float64, limit int) (time.Duration, string) {
	if !(secs >= 0) || secs > float64(limit) {
		return 0, fmt.Sprintf("%v is out of range 0-%d (seconds)", secs, limit)
	}
	return time.Duration(secs * float64(time.Second)), ""
}

func setPreemptDelay(s *settings, v any) string { return setSeconds(&s.preemptDelay, v, PreemptDelay) }

// setSeconds reads a number of seconds, integer or not, that check
// turns into a duration or refuses.
func setSeconds(dst *setting[time.Duration], v any, check func(float64) (time.Duration, string)) string {
	var secs float64
	switch n := v.(type) {
	case int64:
		secs = float64(n)
	case float64:
		secs = n
	default:
		return wrongType("a number of seconds", v)
	}
	d, msg := check(secs)
	if msg == "" {
		*dst = setting[time.Duration]{d, true}
	}
	return msg
}

// ParseProtocol reads protocol and --protocol: "carp" or "vrrp3".
func ParseProtocol(v string) (group.Protocol, string) {
	p, ok := group.ParseProtocol(v)
	if !ok {
		return 0, fmt.Sprintf("%q is not a protocol: carp or vrrp3", v)
	}
	return p, ""
}

func setProtocol(s *settings, v any) string { return setParsed(&s.protocol, v, ParseProtocol) }

// AdvertInterval checks advert-interval and --advert-interval, in
// centiseconds: 1 to 4095 (VRRPv3's 12 bits).
func AdvertInterval(n int64) string {
	if n < 1 || n > vrrp.MaxInterval {
		return fmt.Sprintf("%d is out of range 1-%d (centiseconds)", n, vrrp.MaxInterval)
	}
	return ""
}

func setAdvertInterval(s *settings, v any) string {
	n, ok := v.(int64)
	if !ok {
		return wrongType("an integer", v)
	}
	if msg := AdvertInterval(n); msg != "" {
		return msg
	}
	s.advertInterval = setting[uint16]{uint16(n), true}
	return ""
}

// ParseChecksum reads vrrp-checksum and --vrrp-checksum: "auto" (the
// default: RFC 9568's message-only form until a peer is heard, then the
// peer's), "message-only" (RFC 9568's IPv4 form, keepalived's
// v3_checksum_as_v2) or "pseudo-header" (RFC 5798 as keepalived and FRR
// read it).
func ParseChecksum(v string) (group.ChecksumMode, string) {
	if m, ok := group.ParseChecksumMode(v); ok {
		return m, ""
	}
	return 0, fmt.Sprintf("%q is not a checksum mode: auto, message-only or pseudo-header", v)
}

func setChecksum(s *settings, v any) string { return setParsed(&s.checksum, v, ParseChecksum) }

func authModeName(s string) string {
	_, msg := AuthMode(s)
	return msg
}

func setReplayWindow(s *settings, v any) string { return setSeconds(&s.replayWindow, v, ReplayWindow) }

// LogFormat checks the log-format and --log-format setting: "text" or
// "json"; it says what is wrong, or "".
func LogFormat(s string) string {
	if s != "text" && s != "json" {
		return "must be text or json"
	}
	return ""
}

// ControlPath checks the control and --control setting: an absolute path
// or "none"; it says what is wrong, or "".
func ControlPath(s string) string {
	if s == "none" {
		return ""
	}
	if msg := absPath(s); msg != "" {
		return msg + ` (or "none")`
	}
	return ""
}

// ListenAddr checks the metrics-listen and --metrics-listen setting:
// ADDR:PORT, [IPv6]:PORT or :PORT, with a port from 1 to 65535; it says
// what is wrong, or "".
func ListenAddr(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not ADDR:PORT", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q: the port must be a number from 1 to 65535", s)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && strings.ContainsAny(host, "/ \t") {
			return fmt.Sprintf("%q: %q is not an address or host name", s, host)
		}
	}
	return ""
}

// notKeys are options of the command line that have no key, and what to
// write instead.
var notKeys = map[string]string{
	"mcast":         `the key is "mcastip", the long option's full name`,
	"no-manage-vip": `write manage-vip = false`,
	"daemonize":     `not a config key: daemonizing is the command line's (-B), and a service manager's`,
	"help":          `not a config key`,
	"version":       `not a config key`,
}

// facilities are the syslog facilities of glibc's <syslog.h>, by the
// names its facilitynames gives them, with their codes (already shifted).
var facilities = map[string]int{
	"auth": 4 << 3, "authpriv": 10 << 3, "cron": 9 << 3, "daemon": 3 << 3, "ftp": 11 << 3,
	"kern": 0 << 3, "lpr": 6 << 3, "mail": 2 << 3, "mark": 24 << 3, "news": 7 << 3,
	"security": 4 << 3, "syslog": 5 << 3, "user": 1 << 3, "uucp": 8 << 3,
	"local0": 16 << 3, "local1": 17 << 3, "local2": 18 << 3, "local3": 19 << 3,
	"local4": 20 << 3, "local5": 21 << 3, "local6": 22 << 3, "local7": 23 << 3,
}

// Facility is the code of the syslog facility called name, in any case
// (-f and the facility key); "none" is none of them.
func Facility(name string) (code int, ok bool) {
	code, ok = facilities[strings.ToLower(name)]
	return code, ok
}

// setting is one valid value of one table.
type setting[T any] struct {
	val T
	set bool
}

// or returns s if it was written, else def: a group's key overrides the
// default written at the top.
func (s setting[T]) or(def setting[T]) setting[T] {
	if s.set {
		return s
	}
	return def
}

// settings are the keys written in one table: the top level, or one group.
type settings struct {
	name, iface                  setting[string]
	src, mcast                   setting[netip.Addr]
	vhid, advbase, advskew       setting[uint8]
	password                     setting[[]byte] // from pass or passfile, whichever was written
	passKey                      string          // which of the two
	addr                         setting[netip.Prefix]
	addrArg                      string
	moreAddrs                    []netip.Prefix // addr's list after its first
	demote                       setting[uint8]
	deadratio                    setting[uint32]
	preempt, neutral, nomcast    setting[bool]
	shutdown, ignoreIf, manage   setting[bool]
	upscript, downscript, xparam setting[string]
	scriptTimeout, garpInterval  setting[time.Duration]
	garpCount                    setting[int]
	facility, pidfile            setting[string]
	control, controlGroup        setting[string]
	metricsListen, logFormat     setting[string]
	debug                        setting[bool]
	realtime                     setting[int] // 0: off
	lockMemory                   setting[bool]
	probes                       setting[[]string]
	holdDown                     setting[time.Duration]
	holdDownUntilHealthy         setting[bool]
	syncGroup                    setting[string]
	noConflictDetect             setting[bool]
	peers                        setting[[]netip.Addr]
	// --auth=hmac-sha256 (auth.go)
	auth, keyfile, authMode setting[string]
	replayWindow            setting[time.Duration]
	relaxTTL                setting[bool]
	protocol                setting[group.Protocol]
	priority                setting[uint8]
	advertInterval          setting[uint16]
	checksum                setting[group.ChecksumMode]
	preemptDelay            setting[time.Duration]
	vmac                    setting[string] // "": off; vmacDefault: the default name

	lines map[string]int // every key written in the table, valid or not, and its line
}

// has reports whether key was written in the table, even with a bad value.
func (s *settings) has(key string) bool {
	_, ok := s.lines[key]
	return ok
}

// typeName names the TOML type of a decoded value, for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func wrongType(want string, v any) string {
	return fmt.Sprintf("must be %s, not %s", want, typeName(v))
}

// setParsed reads a key whose value is a string that parse turns into
// the setting's value or refuses with what is wrong.
func setParsed[T any](dst *setting[T], v any, parse func(string) (T, string)) string {
	str, ok := v.(string)
	if !ok {
		return wrongType("a string", v)
	}
	val, msg := parse(str)
	if msg == "" {
		*dst = setting[T]{val, true}
	}
	return msg
}

// setString reads a string that check, when not nil, accepts.
func setString(dst *setting[string], v any, check func(string) string) string {
	return setParsed(dst, v, func(s string) (string, string) {
		if check != nil {
			return s, check(s)
		}
		return s, ""
	})
}

func nonEmpty(s string) string {
	if s == "" {
		return "must not be empty"
	}
	return ""
}

// maxIfName is IFNAMSIZ-1 on Linux and FreeBSD.
const maxIfName = 15

func ifName(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > maxIfName:
		return fmt.Sprintf("%q is longer than %d bytes", s, maxIfName)
	case strings.ContainsAny(s, "/ \t\n\x00"):
		return fmt.Sprintf("%q is not an interface name", s)
	}
	return ""
}

// absPath: a daemon started by a service manager has no meaningful working
// directory, so paths in the file are absolute.
func absPath(s string) string {
	if !filepath.IsAbs(s) {
		return fmt.Sprintf("%q is not an absolute path", s)
	}
	return ""
}

func setBool(dst *setting[bool], v any) string {
	b, ok := v.(bool)
	if !ok {
		return wrongType("true or false", v)
	}
	dst.val, dst.set = b, true
	return ""
}

// integer returns v if it is a TOML integer in [lo, hi].
func integer(v any, lo, hi int64) (int64, string) {
	n, ok := v.(int64)
	if !ok {
		return 0, wrongType("an integer", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Sprintf("%d is out of range %d-%d", n, lo, hi)
	}
	return n, ""
}

func setUint8(dst *setting[uint8], v any, lo int64) string {
	n, msg := integer(v, lo, 255)
	if msg == "" {
		dst.val, dst.set = uint8(n), true
	}
	return msg
}

func setInt(dst *setting[int], v any, lo, hi int64) string {
	n, msg := integer(v, lo, hi)
	if msg == "" {
		dst.val, dst.set = int(n), true
	}
	return msg
}

// setRealtime reads realtime: true (the default priority), false, or a
// SCHED_RR priority from 1 to 99.
func setRealtime(s *settings, v any) string {
	if b, ok := v.(bool); ok {
		s.realtime.val, s.realtime.set = 0, true
		if b {
			s.realtime.val = DefaultRealtimePriority
		}
		return ""
	}
	if _, ok := v.(int64); !ok {
		return wrongType("true, false or a priority from 1 to 99", v)
	}
	return setInt(&s.realtime, v, 1, 99)
}

func setDeadratio(s *settings, v any) string {
	n, msg := integer(v, 1, math.MaxUint32)
	if msg == "" {
		s.deadratio.val, s.deadratio.set = uint32(n), true
	}
	return msg
}

func setGARPInterval(s *settings, v any) string {
	n, msg := integer(v, 1, 60000)
	if msg == "" {
		s.garpInterval.val, s.garpInterval.set = time.Duration(n)*time.Millisecond, true
	}
	return msg
}

// maxScriptTimeout is the command line's bound: a year.
const maxScriptTimeout = 86400 * 365

func setScriptTimeout(s *settings, v any) string {
	return setSeconds(&s.scriptTimeout, v, func(secs float64) (time.Duration, string) {
		if !(secs >= 0) || secs > maxScriptTimeout {
			// v as written: an integer is not shown as a float.
			return 0, fmt.Sprintf("%v is out of range 0-%d (seconds; 0 for none)", v, maxScriptTimeout)
		}
		return time.Duration(secs * float64(time.Second)), ""
	})
}

// MaxHoldDown bounds the boot hold-down: a day.
const MaxHoldDown = 86400

// HoldDown reads a hold-down in seconds as the hold-down key and
// --hold-down take it: a number from 0 to MaxHoldDown, fractions
// allowed; it says what is wrong, or "".
func HoldDown(secs float64) (time.Duration, string) { return secondsUpTo(secs, MaxHoldDown) }

func setHoldDown(s *settings, v any) string { return setSeconds(&s.holdDown, v, HoldDown) }

// maxSyncGroupName bounds a sync group's name, which goes on the wire of
// the control socket.
const maxSyncGroupName = 64

// SyncGroupName checks the sync-group key and --sync-group: 1 to 64
// letters, digits, '.', '_' or '-'; it says what is wrong, or "".
func SyncGroupName(s string) string {
	if s == "" || len(s) > maxSyncGroupName {
		return fmt.Sprintf("%q: a sync group's name is 1 to %d bytes", s, maxSyncGroupName)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Sprintf("%q: a sync group's name is made of letters, digits, '.', '_' and '-'", s)
		}
	}
	return ""
}

// stringList reads a key that takes a string or an array of strings;
// empty is what to say of an empty array.
func stringList(v any, empty string) ([]string, string) {
	var strs []string
	switch x := v.(type) {
	case string:
		strs = []string{x}
	case []any:
		for _, e := range x {
			str, ok := e.(string)
			if !ok {
				return nil, wrongType("a string or an array of strings", e)
			}
			strs = append(strs, str)
		}
		if len(strs) == 0 {
			return nil, empty
		}
	default:
		return nil, wrongType("a string or an array of strings", v)
	}
	return strs, ""
}

func setAddr(dst *setting[netip.Addr], v any, what string) string {
	return setParsed(dst, v, func(str string) (netip.Addr, string) {
		a, err := netip.ParseAddr(str)
		if err != nil || !a.Is4() {
			return a, fmt.Sprintf("%q is not an IPv4 address", str)
		}
		if a.IsUnspecified() {
			return a, fmt.Sprintf("%s cannot be %s", what, str)
		}
		return a, ""
	})
}

// setVIP reads addr: one address as --addr takes it (IPv4 or IPv6, or
// ADDRESS/PREFIX), or a list of them, the first of which is the scripts'
// second argument, as written without the prefix length.
func setVIP(s *settings, v any) string {
	strs, msg := stringList(v, "the list of virtual addresses is empty")
	if msg != "" {
		return msg
	}
	var all []netip.Prefix
	var first string
	for i, str := range strs {
		pfx, arg, ok := ParseAddr(str)
		if !ok {
			return fmt.Sprintf("%q is not an IPv4 or IPv6 address or ADDRESS/PREFIX (prefix 1-32 or 1-128)", str)
		}
		if msg := CheckVIP(pfx, all); msg != "" {
			return msg
		}
		if i == 0 {
			first = arg
		}
		all = append(all, pfx)
	}
	s.addr.val, s.addr.set, s.addrArg = all[0], true, first
	s.moreAddrs = nil
	if len(all) > 1 {
		s.moreAddrs = all[1:]
	}
	return ""
}

// CheckVIP says what is wrong with p as one more virtual address beside
// have: an unspecified address, an IPv6 link-local one, or one already in
// the list (with any prefix length); "" when nothing is.
func CheckVIP(p netip.Prefix, have []netip.Prefix) string {
	if p.Addr().IsUnspecified() {
		return "the virtual address cannot be " + p.Addr().String()
	}
	if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
		// Before Linux 5.18 the daemon's copy of a link-local address
		// cannot be told from the kernel's own: it could be held twice.
		return fmt.Sprintf("the virtual address %v is IPv6 link-local (fe80::/10): a virtual address must not be link-local", p.Addr())
	}
	for _, h := range have {
		if h.Addr() == p.Addr() {
			return fmt.Sprintf("the virtual address %v is listed twice", p.Addr())
		}
	}
	return ""
}

// ParseAddr reads a virtual address as --addr and the addr key take it:
// an IPv4 or IPv6 address, or ADDRESS/PREFIX with a prefix length of 1 to
// 32 (IPv4) or 1 to 128 (IPv6) in plain decimal (a /0 would put a
// default-route-like prefix on the interface); without one, /32 or /128.
// The scripts receive the address as written (arg), without the prefix
// length. An IPv6 address takes no zone, nor an IPv4-mapped form.
func ParseAddr(v string) (p netip.Prefix, arg string, ok bool) {
	addr, bits, hasBits := strings.Cut(v, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return netip.Prefix{}, "", false
	}
	n := a.BitLen()
	if hasBits {
		if n, err = strconv.Atoi(bits); err != nil || n < 1 || n > a.BitLen() || bits != strconv.Itoa(n) {
			return netip.Prefix{}, "", false
		}
	}
	return netip.PrefixFrom(a, n), addr, true
}

func setFacility(s *settings, v any) string {
	return setParsed(&s.facility, v, func(str string) (string, string) {
		name := strings.ToLower(str)
		if _, ok := Facility(name); ok || name == "none" {
			return name, ""
		}
		names := slices.Sorted(maps.Keys(facilities))
		return "", fmt.Sprintf("unknown syslog facility %q (one of %s, none)", str, strings.Join(names, ", "))
	})
}

// unknownKey says that key is not a key of the file, with a hint when one
// is cheap: what to write for a command-line-only option, or the key that
// is a close misspelling (script_timeout, advskw, vhdi, [[groups]]).
func unknownKey(key string) string {
	if hint, ok := notKeys[key]; ok {
		return hint
	}
	best, bestDist := "", 3
	for _, k := range sortedKeys() {
		if d := distance(strings.ReplaceAll(strings.ToLower(key), "_", "-"), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" && bestDist <= len(key)/3+1 {
		return fmt.Sprintf("unknown key (did you mean %q?)", best)
	}
	return "unknown key"
}

// sortedKeys returns the keys of the file, and group, in order.
func sortedKeys() []string {
	ks := []string{"group"}
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// distance is the Levenshtein distance between a and b, for "did you
// mean"; keys are short and few, so the plain table is enough.
func distance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
