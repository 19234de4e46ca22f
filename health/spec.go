package health

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Type is a probe's kind.
type Type uint8

// The kinds of probe. The zero Type is none.
const (
	TypeICMP      Type = iota + 1 // an address answers an echo request
	TypeTCP                       // a port accepts a connection
	TypeHTTP                      // a URL answers with the expected status
	TypeHTTPS                     // the same over TLS
	TypeExec                      // a command exits 0
	TypeFile                      // a file exists, empty or holding 0
	TypeInterface                 // an interface is up with a carrier
)

var typeNames = [...]string{
	TypeICMP:      "icmp",
	TypeTCP:       "tcp",
	TypeHTTP:      "http",
	TypeHTTPS:     "https",
	TypeExec:      "exec",
	TypeFile:      "file",
	TypeInterface: "interface",
}

// String returns the type's name as it is written in the config file and on
// the command line: "icmp", "tcp", …
func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

func (t Type) valid() bool { return t > 0 && int(t) < len(typeNames) }

// MarshalText writes the type's name, so that a Status encodes as JSON
// with "tcp" rather than a number.
func (t Type) MarshalText() ([]byte, error) {
	if !t.valid() {
		return nil, fmt.Errorf("health: no probe type %d", t)
	}
	return []byte(t.String()), nil
}

// ParseType reads a type's name.
func ParseType(s string) (Type, error) {
	for t, name := range typeNames {
		if t > 0 && name == s {
			return Type(t), nil
		}
	}
	return 0, fmt.Errorf("health: unknown probe type %q (%s)", s, typeList)
}

// typeList names every type, for messages.
var typeList = "one of " + strings.Join(typeNames[1:], ", ")

// Limits and defaults of a probe's settings.
const (
	MinInterval     = 100 * time.Millisecond
	MaxInterval     = time.Hour
	DefaultInterval = time.Second
	// The timeout defaults to the interval, and to at most a second.
	MaxDefaultTimeout = time.Second
	MinTimeout        = 10 * time.Millisecond
	DefaultRise       = 2
	DefaultFall       = 2
	MaxCount          = 100 // the most that rise and fall may be
	// DefaultWeight is the most a probe may weigh: one failing probe makes
	// the host the least preferred, whatever its advskew.
	DefaultWeight = 255
	MaxWeight     = 255
	DefaultExpect = 200 // the status an http or https probe expects
)

// Spec is one probe's validated settings.
type Spec struct {
	Name     string        // unique among the probes of a process
	Type     Type          //
	Target   string        // what is probed; its form depends on Type (see the package doc)
	Interval time.Duration // between the starts of two checks; MinInterval-MaxInterval
	Timeout  time.Duration // of one check; MinTimeout-Interval
	Rise     int           // consecutive successes that make a probe up; 1-MaxCount
	Fall     int           // consecutive failures that make a probe down; 1-MaxCount
	Weight   int           // added to the demotion while the probe is not up; 0-MaxWeight
	Expect   int           // http and https: the expected status, 100-599; 0 for other types
	Insecure bool          // https: do not verify the server's certificate
}

// Error is one problem of a probe's settings. The parsers return every
// problem at once, as an errors.Join of *Error values.
type Error struct {
	Probe string // the probe's name, or the --probe value as written
	Key   string // the key or option at fault ("interval", "target", …); empty for the whole
	Msg   string // what is wrong
}

// Error formats e as `health: probe "NAME": KEY: MSG`.
func (e *Error) Error() string {
	s := "health: probe " + strconv.Quote(e.Probe) + ": "
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}

// Table is a probe as the config file writes it, one [probe.NAME] table;
// a key that is not written is nil and takes its default. It decodes with
// github.com/pelletier/go-toml/v2 (with DisallowUnknownFields, a key that
// is not here is refused), and Spec validates it.
type Table struct {
	Type     string  `toml:"type"`               // required
	Target   string  `toml:"target"`             // required
	Interval *string `toml:"interval,omitempty"` // a duration, "200ms" or "1.5s"; default 1s
	Timeout  *string `toml:"timeout,omitempty"`  // a duration; default min(interval, 1s)
	Rise     *int    `toml:"rise,omitempty"`     // default 2
	Fall     *int    `toml:"fall,omitempty"`     // default 2
	Weight   *int    `toml:"weight,omitempty"`   // default 255
	Expect   *int    `toml:"expect,omitempty"`   // http, https; default 200
	Insecure *bool   `toml:"insecure,omitempty"` // https; default false
}

// problem is one problem of a probe's settings, before it is an *Error.
type problem struct{ key, msg string }

// parseDuration reads a duration, or says what is wrong with it.
func parseDuration(s string) (time.Duration, string) {
	v, err := time.ParseDuration(s)
	if err == nil {
		return v, ""
	}
	if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
		return 0, fmt.Sprintf("%q has no unit: write %[1]ss or %[1]sms", s)
	}
	return 0, fmt.Sprintf("%q is not a duration such as 200ms or 1.5s", s)
}

// Spec validates t as the probe name, fills in the defaults and returns
// the probe, or every problem of t as an errors.Join of *Error values in
// the order of the keys above.
func (t Table) Spec(name string) (Spec, error) {
	s, ps := t.spec(name)
	if len(ps) > 0 {
		return Spec{}, joinProblems(name, ps)
	}
	return s, nil
}

// spec is Spec, with the problems as they are.
func (t Table) spec(name string) (Spec, []problem) {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, fmt.Sprintf(format, args...)})
	}
	s := Spec{Name: name, Target: t.Target}
	if name == "" || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		add("", "a name must be printable text, not empty")
	}
	if t.Type == "" {
		add("type", "missing (%s)", typeList)
	} else if typ, err := ParseType(t.Type); err != nil {
		add("type", "unknown type %q (%s)", t.Type, typeList)
	} else {
		s.Type = typ
		if t.Target == "" {
			add("target", "missing (%s)", targetForms[typ])
		} else if target, msg := checkTarget(typ, t.Target); msg != "" {
			add("target", "%s", msg)
		} else {
			s.Target = target
		}
	}

	duration := func(key string, p *string, def, lo, hi time.Duration, hint string) time.Duration {
		if p == nil {
			return def
		}
		d, msg := parseDuration(*p)
		if msg != "" {
			add(key, "%s", msg)
		} else if d < lo || d > hi {
			add(key, "%v is out of range %v-%v%s", d, lo, hi, hint)
		}
		return d
	}
	s.Interval = duration("interval", t.Interval, DefaultInterval, MinInterval, MaxInterval, "")
	s.Timeout = duration("timeout", t.Timeout, min(s.Interval, MaxDefaultTimeout), MinTimeout, s.Interval, " (the interval)")
	count := func(key string, p *int, def, lo, hi int) int {
		if p == nil {
			return def
		}
		if *p < lo || *p > hi {
			add(key, "%d is out of range %d-%d", *p, lo, hi)
		}
		return *p
	}
	s.Rise = count("rise", t.Rise, DefaultRise, 1, MaxCount)
	s.Fall = count("fall", t.Fall, DefaultFall, 1, MaxCount)
	s.Weight = count("weight", t.Weight, DefaultWeight, 0, MaxWeight)
	isHTTP := s.Type == TypeHTTP || s.Type == TypeHTTPS
	if isHTTP {
		s.Expect = count("expect", t.Expect, DefaultExpect, 100, 599)
	} else if t.Expect != nil && s.Type != 0 {
		add("expect", "only an http or https probe expects a status")
	}
	if t.Insecure != nil {
		if s.Type != TypeHTTPS && s.Type != 0 {
			add("insecure", "only an https probe has a certificate to verify")
		}
		s.Insecure = *t.Insecure
	}
	return s, ps
}

func joinProblems(probe string, ps []problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = &Error{Probe: probe, Key: p.key, Msg: p.msg}
	}
	return errors.Join(errs...)
}

// targetForms says what each type's target is, for messages.
var targetForms = [...]string{
	TypeICMP:      "an IPv4 or IPv6 address",
	TypeTCP:       "HOST:PORT",
	TypeHTTP:      "a URL, http://HOST[:PORT]/PATH",
	TypeHTTPS:     "a URL, https://HOST[:PORT]/PATH",
	TypeExec:      "an absolute path and its arguments, separated by spaces",
	TypeFile:      "an absolute path",
	TypeInterface: "an interface name",
}

// checkTarget validates a target of type typ and returns it in its
// canonical form (a URL gains its scheme), or what is wrong with it.
func checkTarget(typ Type, target string) (string, string) {
	if !utf8.ValidString(target) || strings.ContainsFunc(target, unicode.IsControl) {
		return "", "must be printable text"
	}
	wrong := func(format string, args ...any) (string, string) {
		return "", fmt.Sprintf(format, args...) + " (" + targetForms[typ] + ")"
	}
	switch typ {
	case TypeICMP:
		a, err := netip.ParseAddr(target)
		if err != nil {
			return wrong("%q is not an IP address", target)
		}
		if a.Is4In6() {
			return wrong("%q is an IPv4-mapped address: write %s", target, a.Unmap())
		}
		if a.IsUnspecified() || a.IsMulticast() {
			return wrong("%q is not a unicast address", target)
		}
		return a.String(), ""
	case TypeTCP:
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			return wrong("%q is not HOST:PORT", target)
		}
		if host == "" {
			return wrong("%q has no host", target)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return wrong("port %q is not a number 1-65535", port)
		}
		return target, ""
	case TypeHTTP, TypeHTTPS:
		if !strings.Contains(target, "://") {
			target = typ.String() + "://" + target
		}
		u, err := url.Parse(target)
		if err != nil {
			return wrong("%q is not a URL", target)
		}
		if u.Scheme != typ.String() {
			return wrong("the scheme of %q is not %s", target, typ)
		}
		if u.Host == "" || u.Hostname() == "" {
			return wrong("%q has no host", target)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
				return wrong("port %q is not a number 1-65535", p)
			}
		}
		if u.User != nil {
			return wrong("%q holds a user name: credentials do not belong in a probe's target", target)
		}
		return target, ""
	case TypeExec:
		argv := strings.Fields(target)
		if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
			return wrong("%q does not start with an absolute path", target)
		}
		return strings.Join(argv, " "), ""
	case TypeFile:
		if !filepath.IsAbs(target) {
			return wrong("%q is not an absolute path", target)
		}
		return target, ""
	case TypeInterface:
		if len(target) > 15 || target == "." || target == ".." || strings.ContainsAny(target, "/ \t:") {
			return wrong("%q is not an interface name", target)
		}
		return target, ""
	}
	return target, ""
}
