package config

import (
	"strconv"
	"strings"
)

// Error is one problem in a config file. Parse returns all the problems of
// a file as an errors.Join of *Error values, in the order of their lines.
type Error struct {
	File  string // the path given to Parse or Load
	Line  int    // 1-based; 0 when the problem is not on one line
	Group string // `group "web" (eth0 vhid 3)`, `group #2`; empty outside a group
	Key   string // the key at fault; empty for a syntax error or a whole file
	Msg   string // what is wrong
	Err   error  // the cause, if any (a read error), for errors.Is
}

// Error formats e as FILE:LINE: GROUP: KEY: MSG, leaving out the parts
// that are empty, e.g.
//
//	/etc/ucarp-go.conf:12: group "web" (eth0 vhid 3): advskew: 300 is out of range 0-255
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Group != "" {
		b.WriteString(e.Group)
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the cause of e, or nil.
func (e *Error) Unwrap() error { return e.Err }
