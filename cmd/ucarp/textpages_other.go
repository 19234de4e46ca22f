//go:build !linux

package main

// releaseExecutablePages is not implemented here.
func releaseExecutablePages(code bool) int { return 0 }
