package main

import (
	"bytes"
	"math"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStrtoul(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		rest string
	}{
		{"0", 0, ""}, {"10", 10, ""}, {"256", 256, ""}, {"0x10", 16, ""}, {"0X1f", 31, ""},
		{"010", 8, ""}, {"08", 0, "8"}, {"10abc", 10, "abc"}, {"abc", 0, "abc"}, {"", 0, ""},
		{" \t42", 42, ""}, {"+7", 7, ""}, {"-1", math.MaxUint64, ""}, {"-2", math.MaxUint64 - 1, ""},
		{"0x", 0, "x"}, {"0xg", 0, "xg"}, {"99999999999999999999999", math.MaxUint64, ""},
		{"18446744073709551615", math.MaxUint64, ""}, {"18446744073709551616", math.MaxUint64, ""},
	}
	for _, tt := range tests {
		v, rest := strtoul(tt.in)
		if v != tt.want || rest != tt.rest {
			t.Errorf("strtoul(%q) = %d, %q; want %d, %q", tt.in, v, rest, tt.want, tt.rest)
		}
	}
	for in, want := range map[string]int64{"-1": -1, "0": 0, "255": 255, "-99999999999999999999": math.MinInt64,
		"99999999999999999999": math.MaxInt64, "0x7f": 127, "x": 0} {
		if got := strtol(in); got != want {
			t.Errorf("strtol(%q) = %d, want %d", in, got, want)
		}
	}
	// The byte options wrap as ucarp's (unsigned char) cast does.
	log := newLogger(&bytes.Buffer{}, &bytes.Buffer{}, nil)
	for in, want := range map[string]uint8{"1": 1, "256": 0, "300": 44, "-1": 255, "0x10": 16, "abc": 0} {
		if got := byteOption(log, "-b", in); got != want {
			t.Errorf("byteOption(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestGetoptPosixlyCorrect(t *testing.T) {
	opts, operands, err := getoptLong("ucarp", []string{"-P", "stop", "-z"}, optionTable, true)
	if err != nil || len(opts) != 1 || len(operands) != 2 {
		t.Fatalf("opts %v operands %v err %v", opts, operands, err)
	}
	opts, operands, _ = getoptLong("ucarp", []string{"-P", "word", "-z", "-"}, optionTable, false)
	if len(opts) != 2 || len(operands) != 2 || operands[1] != "-" {
		t.Fatalf("permutation: opts %v operands %v", opts, operands)
	}
	// A long option's value may start with a dash.
	opts, _, _ = getoptLong("ucarp", []string{"--xparam", "-z"}, optionTable, false)
	if len(opts) != 1 || opts[0].value != "-z" {
		t.Fatalf("value: %+v", opts)
	}
}

func TestConsoleFormat(t *testing.T) {
	var out, errs bytes.Buffer
	l := newLogger(&out, &errs, nil)
	l.s.now = func() time.Time { return time.Date(2026, 11, 21, 20, 58, 14, 588131000, time.Local) }
	l.Infof("info %d", 1)
	l.Debugf("hidden")
	l.SetDebug(true)
	l.Debugf("debug")
	l.Warnf("Switching to state: %s", "BACKUP")
	l.Errorf("error")
	if got, want := out.String(), "2026-11-21T20:58:14.588131: [INFO] info 1\n2026-11-21T20:58:14.588131: [DEBUG] debug\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := errs.String(), "2026-11-21T20:58:14.588131: [WARNING] Switching to state: BACKUP\n2026-11-21T20:58:14.588131: [ERROR] error\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	out.Reset()
	errs.Reset()
	l.SetConsole(consoleErrors)
	l.Warnf("w")
	l.Errorf("e")
	l.SetConsole(consoleNone)
	l.Errorf("gone")
	if out.Len() != 0 || !strings.HasSuffix(errs.String(), "[ERROR] e\n") || strings.Count(errs.String(), "\n") != 1 {
		t.Errorf("console modes: stdout %q stderr %q", out.String(), errs.String())
	}
}

func TestSyslogLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := newSyslog("ucarp", 20173, facility("daemon"), path)
	w.now = func() time.Time { return time.Date(2026, 11, 21, 21, 1, 26, 0, time.Local) }
	l := newLogger(&bytes.Buffer{}, &bytes.Buffer{}, w)
	l.Warnf("Switching to state: BACKUP")
	l.SetSyslog(newSyslog("ucarp", 1, facility("local3"), path))
	l.s.syslog.now = w.now
	l.Warnf("x")
	buf := make([]byte, 512)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{
		"<28>Nov 21 21:01:26 ucarp[20173]: [WARNING] Switching to state: BACKUP", // daemon.warning, as observed from ucarp
		"<156>Nov 21 21:01:26 ucarp[1]: [WARNING] x",                             // local3.warning
	} {
		n, err := srv.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != want {
			t.Errorf("syslog %q, want %q", got, want)
		}
	}
	// Before openlog: no pid, facility user, as glibc.
	pre := newSyslog("ucarp", 0, facility("user"), path)
	pre.now = w.now
	pre.write(3, "[ERROR] Invalid address: [x]")
	n, _ := srv.Read(buf)
	if got, want := string(buf[:n]), "<11>Nov 21 21:01:26 ucarp: [ERROR] Invalid address: [x]"; got != want {
		t.Errorf("syslog %q, want %q", got, want)
	}
	// A missing syslog daemon costs nothing and blocks nothing.
	newSyslog("ucarp", 1, 0, filepath.Join(t.TempDir(), "none")).write(3, "lost")
}

// TestCloseInheritedDescriptors: a descriptor the daemon inherited
// without close-on-exec, as a careless caller leaves one, is marked so at
// start: no script gets it (ucarp leaks its sockets to scripts).
func TestCloseInheritedDescriptors(t *testing.T) {
	fd, err := syscall.Open(filepath.Join(t.TempDir(), "leak"), syscall.O_CREAT|syscall.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	closeInheritedDescriptors()
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Fatalf("descriptor %d: flags %#x, %v: not close-on-exec", fd, flags, err)
	}
}
