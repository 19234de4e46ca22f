// Command idlefloor measures, side by side and over the same windows, what
// waking once a second costs on this machine and what the CARP daemons
// cost idle (issue 19, item 3: one group under 10 ms of CPU a minute).
// Each process runs in a lab of its own (internal/lab: a switch namespace,
// one or two hosts and an observer), all at the same time:
//
//   - the floor: a C program (testdata/floor.c, built with the system's cc
//     when there is one) and Go programs (this binary's "floor" mode,
//     floor_linux.go) that wait on a timerfd and send one 36-byte datagram
//     of IP protocol 112 to 224.0.0.18 a second, and the same that only
//     receive what such a sender sends (the floor of a BACKUP); Go variants
//     add, one at a time, what the daemon does per wake-up beyond the floor
//     (rows go+renew and go+rawrenew, not run by default: the renewal of
//     an address's lifetime that a MASTER managing its address makes);
//   - Debian's ucarp as a lone MASTER with scripts, and as the BACKUP of a
//     pair of ucarps;
//   - ours (-ucarp) as a lone MASTER with scripts, as one managing its
//     address, and as the BACKUP of a pair; the same for -ref (another
//     build of ours, main's say) when given.
//
// For each process it reports the sum of its threads' schedstat (the
// scheduler's own account, in ns) in ms per minute for each window, the
// timeslices it ran (the third field: a wake-up each, near enough) per
// second, and per thread, in the order the threads were made (a Go
// program's second thread is the runtime's sysmon). It needs root. It is a
// benchmark: it judges nothing.
//
//	go run ./internal/idlefloor -ucarp bin/ucarp -ref BIN -window 120s -windows 3 -out FILE
//
// Give it binaries in files that no other process runs: on the VM of
// docs/PERF.md a file that other sessions' processes were running cost
// half as much again per wake-up as a copy of it.
package main
