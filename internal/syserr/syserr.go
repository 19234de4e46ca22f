package syserr

import (
	"errors"
	"os"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Strerror words an error as glibc's strerror does for its errno, which is
// what ucarp prints: "No such file or directory", not Go's lower-case
// "no such file or directory" nor "open /x: no such file or directory".
// Errors without an errno keep Go's text.
func Strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return capitalize(errno.Error())
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return capitalize(pe.Err.Error())
	}
	return err.Error()
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// Errno returns the errno of err, or 0.
func Errno(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	return 0
}
