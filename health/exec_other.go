//go:build !unix

package health

import "os/exec"

// inGroup leaves cmd as it is: without process groups, the cancellation of
// its context kills the command alone.
func inGroup(*exec.Cmd) {}

// killGroup does nothing without process groups.
func killGroup(int) error { return nil }
