//go:build !linux

package main

// releaseExecutablePages is not implemented here.
func releaseExecutablePages() int { return 0 }
