package pair

import (
	"context"
	"strings"
)

// Session runs shell commands on one host, as root (the real one wraps
// them in sudo when the login is not root).
type Session interface {
	// Host names the host in messages: the HOST of the command line.
	Host() string
	// Run runs cmd with sh -c, stdin as its standard input (nil: none),
	// and returns its standard output. A non-zero exit is an error that
	// holds the command's standard error.
	Run(ctx context.Context, cmd string, stdin []byte) (string, error)
}

// Quote returns s as one word of the POSIX shell.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// join quotes each word and joins them with spaces.
func join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}
