// Package pair sets up a CARP failover pair on two hosts over SSH, and
// takes it down again: the engine of "ucarpctl pair" and "ucarpctl unpair".
//
// The work is split so that most of it is pure:
//
//   - Detect asks a host what it is (uname, /etc/os-release or
//     freebsd-version, the init system, whether our package is installed,
//     the interface and source address whose subnet holds the first IPv4
//     VIP, where every other IPv4 VIP must also be, and for IPv6 VIPs its
//     link-local address)
//     and returns Facts.
//   - NewPlan turns the Facts of one host and the Options into a Plan: the
//     files (with their modes), rc.conf settings and commands that make the
//     host one half of the pair, per OS family (Debian and Ubuntu, RHEL and
//     its rebuilds, FreeBSD with our daemon or with the kernel's CARP).
//   - Pair and Unpair run the plans through a Session: a shell on one host.
//     Each step first reads what is there, and changes only what differs,
//     so a second run changes nothing and says so. What a run changes is
//     journaled with its undo; a failure on the second host undoes the
//     first, or names exactly what is left.
//
// Dial opens the real Session over SSH (golang.org/x/crypto/ssh): keys
// from the agent or files, a password when asked, host keys checked
// against known_hosts, and sudo when the login is not root. Tests use a
// fake Session that records every command.
package pair
