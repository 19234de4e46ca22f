// Command ucarp is a userland CARP daemon, a drop-in replacement for
// ucarp 1.5.2: same options, exit codes, log lines, script arguments and
// wire format. See the README for what it does better.
package main
