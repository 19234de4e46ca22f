package main

import (
	"fmt"
	"io"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "0.1.0-dev"

// bugURL is where the help sends bug reports.
const bugURL = "https://github.com/ucarp-go/ucarp/issues"

func versionLine() string {
	return "ucarp-go " + version + " (drop-in for ucarp 1.5.2)"
}

// ucarpOptionsHelp is ucarp 1.5.2's option list, verbatim.
const ucarpOptionsHelp = `--interface=<if> (-i <if>): bind interface <if>
--srcip=<ip> (-s <ip>): source (real) IP address of that host
--mcast=<ip> (-m <ip>): multicast group IP address (default 224.0.0.18)
--vhid=<id> (-v <id>): virtual IP identifier (1-255)
--pass=<pass> (-p <pass>): password
--passfile=<file> (-o <file>): read password from file
--preempt (-P): becomes a master as soon as possible
--neutral (-n): don't run downscript at start if backup
--addr=<ip> (-a <ip>): virtual shared IP address
--help (-h): summary of command-line options
--advbase=<seconds> (-b <seconds>): advertisement frequency
--advskew=<skew> (-k <skew>): advertisement skew (0-255)
--upscript=<file> (-u <file>): run <file> to become a master
--downscript=<file> (-d <file>): run <file> to become a backup
--deadratio=<ratio> (-r <ratio>): ratio to consider a host as dead
--debug (-D): enable debug output
--shutdown (-z): call shutdown script at exit
--daemonize (-B): run in background
--ignoreifstate (-S): ignore interface state (down, no carrier)
--nomcast (-M): use broadcast (instead of multicast) advertisements
--facility=<facility> (-f): set syslog facility (default=daemon)
--xparam=<value> (-x): extra parameter to send to up/down scripts
`

// extensionsHelp lists the options that ucarp does not have.
const extensionsHelp = `--addr=<ip>/<prefix>: virtual address with a prefix length (default /32)
    or an IPv6 address (default /128); given again, the last one wins
--vip=<ip>[/<prefix>]: one more address of the group, IPv4 or IPv6
    (repeatable; without -a, the first stands for it)
--demote=<n>: the demote byte of the adverts, as OpenBSD's (default 0)
--manage-vip: add and remove the virtual address here, even with scripts
--no-manage-vip: leave the virtual address to the scripts, as ucarp
--script-timeout=<seconds>: stop a script that runs longer (default 30, 0: none)
--pidfile=<file>: write the daemon's pid to <file>
--garp-count=<n>: gratuitous ARPs on each takeover (default 1)
--garp-interval=<ms>: time between them (default 1000)
--config=<file>: run the groups of a config file (ucarp.conf(5)); SIGHUP reloads it
--check: with --config, validate the file and exit
--control=<path>|none: the control socket of ucarpctl (default /run/ucarp/IF-VHID.sock)
--control-group=<group>: its members may demote, promote and reload (default root only)
--metrics-listen=<addr>:<port>: serve /metrics and a status page (default none)
--probe=<type>:<target>[,interval=,timeout=,rise=,fall=,weight=]: a health
    probe (icmp, tcp, http, https, exec, file, interface); while it is not up
    its weight (default 255) raises the advskew; repeatable
--hold-down=<seconds>: after the start, take MASTER from no running peer
    for that long (a demotion of 255; with no peer at all, MASTER as usual)
--hold-down-until-healthy: end the hold-down as soon as the probes are up
--sync-group=<name>: fail over together with the other members of <name>,
    in other ucarp processes too (found by their control sockets)
--log-format=text|json: console lines as ucarp's (default) or JSON objects
--realtime[=<priority>]: SCHED_RR for the daemon (default 10; needs CAP_SYS_NICE)
--lock-memory: lock the daemon's memory in RAM (needs CAP_IPC_LOCK)
--no-conflict-detect: as MASTER, do not watch for other hosts claiming the
    address (a split brain: logged, counted and announced again)
--peer=<ip>: send the adverts of its family to this unicast peer instead of
    the multicast group, and hear no one else (repeatable; IPv4 or IPv6)
--auth=carp|hmac-sha256: plain CARP (default), or adverts signed with
    HMAC-SHA256 and a sequence against replays, between ucarp-go daemons
--keyfile=<file>|credential:<name>: the keys of hmac-sha256 (mode 0600)
--auth-mode=receive-only|permissive|enforce: the rollout stage (default enforce)
--replay-window=<seconds>: how stale an advert may be (default 10)
--relax-ttl: accept adverts of any TTL (only with hmac-sha256 in enforce)
--protocol=carp|vrrp3: the group's protocol (default carp); vrrp3 is VRRPv3
    (RFC 9568), without a password, its addresses all IPv4 or all IPv6
--priority=<n>: vrrp3: the priority (1-254, default 100; 255: address owner)
--advert-interval=<cs>: vrrp3: advertisement interval in centiseconds
    (1-4095, default 100)
--vrrp-checksum=auto|message-only|pseudo-header: vrrp3: the IPv4 checksum
    form sent (default auto: message-only until a peer is heard, then the
    peer's; both are accepted)
--no-preempt: vrrp3: do not take over from a master of lower priority
--preempt-delay=<seconds>: vrrp3: do not take over from one for that long
    after the start (default 0)
--version: print the version and exit
`

const sampleHelp = `
Sample usage:

Manage the 10.1.1.252 shared virtual address on interface eth0, with
1 as a virtual address idenfitier, mypassword as a password, and
10.1.1.1 as a real permanent address for this host.
Call /etc/vip-up.sh when the host becomes a master, and
/etc/vip-down.sh when the virtual IP address has to be disabled.

ucarp --interface=eth0 --srcip=10.1.1.1 --vhid=1 --pass=mypassword \
      --addr=10.1.1.252 \
      --upscript=/etc/vip-up.sh --downscript=/etc/vip-down.sh


`

// usage prints the help in ucarp's layout: an empty line, the version
// line, an empty line, ucarp's options, ours, the sample, the bug address.
func usage(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n\n%s%s%sPlease report bugs to %s.\n\n", versionLine(), ucarpOptionsHelp, extensionsHelp, sampleHelp, bugURL)
}
