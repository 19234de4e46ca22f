package main

import (
	"syscall"
	"unsafe"
)

// setDefaultAction sets sig's disposition to SIG_DFL with rt_sigaction.
// SIG_DFL is 0 and every other field may be 0, so an all-zero struct
// sigaction is right whatever the architecture's field order.
func setDefaultAction(sig syscall.Signal) {
	var sa [64]byte
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
}
