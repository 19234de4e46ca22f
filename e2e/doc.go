// Package e2e runs the real binaries in the namespace lab: ours against
// ours, and ours against Debian's ucarp. The tests need root; without it
// they skip and say why. CI runs them as root, through make test.
package e2e
