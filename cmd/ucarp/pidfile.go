package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// writePidfile writes the pid atomically: a reader never sees a partial file.
func writePidfile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ucarp-pid-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// removePidfile removes the pid file if it is still ours.
func removePidfile(path string) {
	b, err := os.ReadFile(path)
	if err == nil && string(bytes.TrimSpace(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(path)
	}
}
