// Package control is the daemon's local API: a JSON protocol over a unix
// socket (Serve, Listen, and Client for ucarpctl), Prometheus metrics and
// a status page over HTTP (NewHandler, NewHTTPServer).
//
// It serves from a Backend, which the node implements; it imports neither
// node nor group. Its types are the wire's: what a group is, as the API
// says it (Group), and what watch streams (Event).
//
// # Sockets
//
// A node in config mode serves DefaultSocket, /run/ucarp/ucarp.sock; a
// process in ucarp's command-line mode, which runs one group, serves
// /run/ucarp/IF-VHID.sock (GroupSocket). ucarpctl talks to every *.sock
// in /run/ucarp, so one command sees every group of the host. Listen
// makes the socket with mode 0660, its group the control group if one is
// given, after removing a stale socket that nobody answers on; it refuses
// a socket that a live process serves.
//
// # Protocol, version 1
//
// The client writes one request per line, a JSON object; the server
// answers each with one line, a JSON object, in order. A connection may
// carry any number of requests, until the client hangs up or stays idle
// for Options.IdleTimeout.
//
//	{"v":1,"verb":"status"}
//	{"v":1,"ok":true,"groups":[{"name":"web","interface":"eth0","vhid":10,"state":"MASTER",...}]}
//
// A request has these fields; unknown fields are ignored, so that newer
// clients can talk to older servers:
//
//	v      the protocol version, 1; absent means 1, above 1 fails (code "version")
//	verb   status, explain, demote, promote, watch, reload or sync-state
//	group  for explain, demote and promote: a group's name, IF:VHID, or VHID
//	       (Select); absent selects every group, which demote and promote refuse
//	       when there is more than one
//	level  for demote: 0 to 255
//
// A response has v (the server's version), ok, and either what was asked
// or error (a message for people) and code (for programs):
//
//	status   "groups": every group (Group: name, interface, vhid, protocol,
//	         state, since, reason, addresses, timing, peers, counters,
//	         transitions, probes, sync_group, hold_down); timing.demotions
//	         holds every source's level (admin, health, hold-down, sync)
//	explain  "explanations": [{"group","interface","vhid","text"}], one per
//	         group selected: why it is MASTER or BACKUP, in a paragraph
//	demote   nothing: the group's demotion by the control socket is now level,
//	         replacing the level set before; it persists until promote or
//	         another demote, and adds to the demotions of other sources
//	promote  nothing: that demotion is back to 0
//	reload   nothing: the configuration was read again and applied
//	sync-state "sync": [{"name","level","members"}], each sync group the
//	         daemon has members of, with their highest failure level (the
//	         daemons of a host read it from each other: node.SyncPeers);
//	         not-supported from a daemon without sync groups' support
//	watch    an ok line, then one line per event, {"v":1,"ok":true,"event":{...}}
//	         (Event: time, kind, group, interface, vhid, from, to, reason,
//	         demotion, message), until the client hangs up. The client sends
//	         nothing more. A client that does not read its events as fast as
//	         they come is sent a last line of code "dropped" if it can take
//	         it, and hung up on: it never slows the daemon.
//
// Codes: bad-request (not JSON, or a field out of range: the connection
// goes on), too-long (a line over Options.MaxRequest: the server hangs
// up), version, unknown-verb, permission, not-found, ambiguous,
// not-supported (reload in command-line mode), busy (over
// Options.MaxConns connections: the server hangs up), dropped, failed
// (the daemon tried and failed; error says why).
//
// # Who may do what
//
// Anyone who can connect (the socket's mode decides) may use status,
// explain, watch and sync-state. demote, promote and reload are for root and the
// members of the control group (Options.AdminGroup) only: the server reads
// the peer's uid and gid from the kernel (SO_PEERCRED on Linux, with the
// supplementary groups from /proc/PID/status; LOCAL_PEERCRED on FreeBSD),
// and refuses others with code "permission" and a message that says who
// may. Where the OS cannot tell, nobody may change anything.
//
// # HTTP
//
// NewHandler serves /metrics (Prometheus: the ucarp_* series of
// NewCollector, labelled with interface, vhid and name, beside the Go and
// process collectors) and / (a status page of plain HTML that refreshes
// itself, no script). NewHTTPServer wraps it with timeouts. Nothing
// listens unless the daemon is asked to (--metrics-listen).
package control
