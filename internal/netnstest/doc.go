// Package netnstest runs a test's code in a throw-away network namespace,
// for the packages whose tests need real links (platform, health). Linux
// only.
package netnstest
