// Package syserr words system errors as ucarp prints them: glibc's
// strerror text, and the errno number.
package syserr
