// Package group runs one redundancy group: its CARP machine, its virtual
// address and the announcements of it, its scripts, timers and counters.
//
// A Group is owned by the goroutine that calls Run; everything else talks
// to it through methods that post into that loop (Report, Demote, Stop).
// Received packets are checked (ucarp's checks, HMAC included) on the
// reading goroutine, so that a flood of forged packets costs the loop
// nothing; only valid adverts reach the machine.
//
// Lines are logged through the slog.Logger of Deps, with ucarp's words:
// the caller's handler decides their format (ucarp's console and syslog
// lines in ucarp's command-line mode).
//
// Today one process runs one group (cmd/ucarp); a node that runs many
// over shared sockets comes next (issue 13, ../shared/ARCHITECTURE.md).
package group
