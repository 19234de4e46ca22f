package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// releaseExecutablePages unmaps, from this process only, the pages of the
// executable's code and read-only data that it has mapped so far
// (madvise(MADV_DONTNEED)), once the daemon is running: most of them were
// touched once, by the initialisation of every package and the start-up,
// and the kernel maps a file in 64 KiB windows around each fault, so that
// nearly all of the 13 MB file counted in the process's RSS (12 of its 14.6
// MiB). The pages stay in the page cache; the code that runs afterwards
// maps its own again at a minor fault, without reading the disk.
//
// Only read-only mappings of the executable with no anonymous page are
// released: a private mapping's written pages (the data, or the relocations
// of a PIE binary that RELRO made read-only) would be lost, not refaulted.
// Without code, the executable mappings are left alone: after a garbage
// collection, which maps .gopclntab back and no code that the daemon does
// not run anyway, that spares the refaults of the steady state's code. It
// returns how many bytes of mappings were released.
func releaseExecutablePages(code bool) int {
	spans := executableSpans()
	n := 0
	// The code last (smaps lists it first), and by raw system calls: what
	// runs after a mapping's release maps its own pages back, each fault
	// with the 64 KiB around it, and the runtime's entry to and exit from
	// a system call would be more of it.
	for i := len(spans) - 1; i >= 0; i-- {
		s := spans[i]
		if s.code && !code {
			continue
		}
		// By address: the memory is not the Go heap's, and a slice over
		// it would be no safer. madvise(MADV_DONTNEED) does not block.
		if _, _, e := unix.RawSyscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_DONTNEED); e == 0 {
			n += int(s.end - s.start)
		}
	}
	return n
}

// executableSpans are the mappings releaseExecutablePages may release,
// read once from /proc/self/smaps (half of a release's cost, some 0.7 ms
// here): the executable's mappings, and the anonymous pages that the
// relocation of a PIE left in them, do not change afterwards.
var executableSpans = sync.OnceValue(func() []span {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil
	}
	defer f.Close()
	return releasableSpans(f, exe)
})

// span is a mapping's address range, and whether it is executable.
type span struct {
	start, end uintptr
	code       bool
}

// releasableSpans reads smaps (/proc/self/smaps) line by line, with little
// garbage (the file has some 25 lines per mapping): the mappings of the
// file exe that are neither writable nor hold an anonymous page, in
// memory or in swap.
func releasableSpans(smaps io.Reader, exe string) []span {
	var out []span
	var cur span
	ok := false
	r := bufio.NewReaderSize(smaps, 4096)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 && err != bufio.ErrBufferFull {
			switch c := line[0]; {
			case '0' <= c && c <= '9' || 'a' <= c && c <= 'f':
				// A mapping's first line: range, perms, offset, dev, inode, path.
				if ok {
					out = append(out, cur)
				}
				cur, ok = mappingOf(line, exe)
			case bytes.HasPrefix(line, []byte("Anonymous:")), bytes.HasPrefix(line, []byte("Swap:")):
				// The fields that follow (Size:, Rss:, ...) are in upper case.
				// Anonymous counts only the pages in memory: a relocated
				// RELRO page in swap is one too, whose release would fault
				// the unrelocated bytes back from the file.
				field := line[:bytes.IndexByte(line, ':')+1]
				if !bytes.HasPrefix(bytes.TrimLeft(line[len(field):], " "), []byte("0 ")) {
					ok = false
				}
			}
		}
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer (a long path): skip its rest.
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
			ok = false
			continue
		}
		if err != nil {
			break
		}
	}
	if ok {
		out = append(out, cur)
	}
	return out
}

// mappingOf reads a mapping's first line in smaps: its range, and whether
// it is a read-only mapping of the file exe.
func mappingOf(line []byte, exe string) (span, bool) {
	line = bytes.TrimRight(line, "\n")
	var f [5][]byte
	rest := line
	for i := range f {
		rest = bytes.TrimLeft(rest, " ")
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return span{}, false // no path: an anonymous mapping
		}
		f[i], rest = rest[:j], rest[j:]
	}
	path := bytes.TrimLeft(rest, " ")
	lo, hi, found := bytes.Cut(f[0], []byte("-"))
	a, err1 := strconv.ParseUint(string(lo), 16, 64)
	z, err2 := strconv.ParseUint(string(hi), 16, 64)
	if !found || err1 != nil || err2 != nil || z <= a {
		return span{}, false
	}
	return span{uintptr(a), uintptr(z), bytes.IndexByte(f[1], 'x') >= 0}, bytes.IndexByte(f[1], 'w') < 0 && string(path) == exe
}
