package main

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestReleasableSpans(t *testing.T) {
	const smaps = `00400000-00a11000 r-xp 00000000 fe:00 9986212                            /usr/sbin/ucarp
Size:               6212 kB
Rss:                5252 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
00a11000-010ce000 r--p 00611000 fe:00 9986212                            /usr/sbin/ucarp
Size:               6900 kB
Anonymous:             0 kB
010ce000-0113f000 rw-p 00cce000 fe:00 9986212                            /usr/sbin/ucarp
Anonymous:           120 kB
0113e000-0113f000 rw-p 00cce000 fe:00 9986212                            /usr/sbin/ucarp
Anonymous:             0 kB
0113f000-03183000 rw-p 00000000 00:00 0 
Anonymous:           116 kB
5600000000-5600100000 r--p 00000000 fe:00 9986213                        /usr/sbin/ucarp
Anonymous:             8 kB
5600100000-5600118000 r--p 00100000 fe:00 9986213                        /usr/sbin/ucarp
Anonymous:             0 kB
Swap:                 96 kB
SwapPss:              96 kB
7fc7193cd000-7fc7193f3000 r--p 00000000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7fc7193f3000-7fc719549000 r-xp 00026000 fe:00 326270                     /opt/my ucarp
Anonymous:             0 kB
7fc719549000-7fc719559000 r-xp 00026000 fe:00 326270                     /usr/sbin/ucarp
Size:                 64 kB
`
	got := releasableSpans(strings.NewReader(smaps), "/usr/sbin/ucarp")
	want := []span{{0x400000, 0xa11000, true}, {0xa11000, 0x10ce000, false}, {0x7fc719549000, 0x7fc719559000, true}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v (the code and read-only data of the executable, not its data, a relocated RELRO page in memory or in swap, another file)", got, want)
	}
	if got := releasableSpans(strings.NewReader(smaps), "/opt/my ucarp"); !slices.Equal(got, []span{{0x7fc7193f3000, 0x7fc719549000, true}}) {
		t.Errorf("a path with a space: got %+v", got)
	}
}

// exeRSS is the resident size in kB of the executable's read-only
// mappings: its code, and the rest.
func exeRSS(t *testing.T) (code, rest int) {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	in, x := false, false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 6 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = strings.Join(f[5:], " ") == exe && !strings.Contains(f[1], "w")
			x = strings.Contains(f[1], "x")
		case in && len(f) >= 2 && f[0] == "Rss:":
			n, _ := strconv.Atoi(f[1])
			if x {
				code += n
			} else {
				rest += n
			}
		}
	}
	return code, rest
}

func TestReleaseExecutablePages(t *testing.T) {
	code0, rest0 := exeRSS(t)
	n := releaseExecutablePages(true)
	code1, rest1 := exeRSS(t)
	t.Logf("released %d KiB of mappings; resident %d+%d KiB before, %d+%d KiB after", n>>10, code0, rest0, code1, rest1)
	if n == 0 || code1 >= code0 || rest1 >= rest0 {
		t.Fatalf("released %d bytes; resident code+rest %d+%d KiB before, %d+%d KiB after: want fewer of both", n, code0, rest0, code1, rest1)
	}
	// The code runs on: its pages come back at a fault.
	if got := strings.Repeat("ab", 3); got != "ababab" {
		t.Fatal(got)
	}

	// Without the code: the read-only data alone (after a collection).
	runtime.GC() // maps .gopclntab back
	code0, rest0 = exeRSS(t)
	m := releaseExecutablePages(false)
	code1, rest1 = exeRSS(t)
	t.Logf("without the code: released %d KiB of mappings; resident %d+%d KiB before, %d+%d KiB after", m>>10, code0, rest0, code1, rest1)
	if m == 0 || m >= n || rest1 >= rest0 {
		t.Fatalf("without the code: released %d bytes (%d with it); resident rest %d KiB before, %d after: want some, fewer bytes", m, n, rest0, rest1)
	}
	if code1 < code0 {
		t.Fatalf("without the code: resident code %d KiB before, %d after: want it kept", code0, code1)
	}
}
