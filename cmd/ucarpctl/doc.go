// Command ucarpctl asks the ucarp daemons of this host about their groups,
// and changes their demotion, through their control sockets.
//
//	ucarpctl [--socket=PATH] [--dir=DIR] COMMAND [ARGS]
//	ucarpctl --version
//
// Commands:
//
//	status [--json]   every group: a table, or JSON for scripts
//	explain [GROUP]   why each group (or GROUP) is MASTER or BACKUP
//	demote [GROUP] N  demote GROUP by N (0 to 255) until promote: a BACKUP
//	                  with a lower demotion takes over under preemption
//	promote [GROUP]   take that demotion back
//	maintenance on [GROUP] [--persistent] [--no-wait] [--timeout=D]
//	                  hand GROUP (every group without one) over to its peer,
//	                  make-before-break: the group is demoted by 255 and bows
//	                  out, but keeps its address until the peer is MASTER and
//	                  has announced it (its gratuitous ARP); waits, at most
//	                  --timeout (30s), and says how it went: exit 1 when no
//	                  peer took over (this host keeps the address).
//	                  --persistent keeps it across restarts of the daemon
//	maintenance off [GROUP]
//	                  take it out of maintenance (with --preempt the host takes
//	                  the address back), and forget --persistent
//	watch             stream events (transitions, demotions, reloads) as JSON
//	                  lines until interrupted
//	reload            make the daemons read their configuration again
//	pair HOST_A HOST_B    set up a failover pair on two hosts over SSH:
//	                  install, configure, start, verify (see pair --help
//	                  and the pair package)
//	unpair HOST_A HOST_B  remove what pair added
//
// GROUP is a group's name, IF:VHID, or a VHID; it may be left out where
// there is only one group.
//
// Without --socket, ucarpctl talks to every socket (*.sock) in DIR,
// /run/ucarp by default: a node in config mode serves ucarp.sock, each
// ucarp in command-line mode IF-VHID.sock, so one command sees every group
// of the host. Reading (status, explain, watch) is for whoever may open the
// sockets; demote, promote, maintenance and reload for root and the
// daemon's control group.
//
// In the table of status, an address is "on" when it is configured on the
// interface, "off" when not.
//
// Exit status: 0 when everything asked was done, 1 on an error (a socket
// that could not be asked, a refusal, a group not found), 2 on a usage
// error.
package main
