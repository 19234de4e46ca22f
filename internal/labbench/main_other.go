//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "labbench: needs Linux network namespaces")
	os.Exit(1)
}
