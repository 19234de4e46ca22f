// Package packaging holds the service files (packaging/freebsd, systemd,
// sysv, debian) and the tests that check them: the FreeBSD rc.d script,
// the systemd units, the SysV script and the Debian hooks.
package packaging
