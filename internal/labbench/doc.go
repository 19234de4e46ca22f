// Command labbench measures failover in the namespace lab for this daemon,
// Debian's ucarp and keepalived with the same parameters, and writes the
// table to docs/BENCHMARKS.md: make bench runs it as root.
package main
