package main

import (
	"syscall"
	"unsafe"
)

// setDefaultAction sets sig's disposition to SIG_DFL with sigaction(2); an
// all-zero struct sigaction is SIG_DFL with no flags and an empty mask.
func setDefaultAction(sig syscall.Signal) {
	var sa [64]byte
	syscall.RawSyscall(syscall.SYS_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0)
}
