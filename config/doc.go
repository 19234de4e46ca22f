// Package config reads the ucarp-go config file: one TOML file that
// describes many CARP groups, turned into validated, typed groups.
//
// It is a plain data package: Parse takes the file's bytes and a function
// that reads password files, and returns a File or every problem of the
// file at once. It opens no socket, logs nothing and keeps no state.
//
// The ucarp command line is one way to write a config with one group:
// cmd/ucarp reads it into a Group too, and Group.GroupConfig turns either
// into what the group runs with (group.Config).
//
// # Format
//
// Keys at the top of the file are defaults for every group; each [[group]]
// table is one group and may override any of them. A group is identified
// by its interface and vhid: two groups with the same pair are an error,
// the same vhid on two interfaces is not. An optional name labels a group
// in messages; names are unique.
//
// Every long option of the ucarp command line that configures a group is a
// key with the same name, the same range, the same default and the same
// meaning:
//
//	interface       string   required (no guess in a file); at most 15 bytes
//	srcip           string   required; this host's IPv4 address
//	vhid            integer  required; 1-255
//	pass            string   1-19 bytes; exactly one of pass and passfile
//	passfile        string   absolute path; its first line, as -o reads it
//	addr            string   required; IPv4 or IPv6 address or ADDRESS/PREFIX
//	                or array (1-32 or 1-128; default /32 or /128), or an array of
//	                         them: the group's addresses, the first the scripts' $2
//	                         (--addr given more than once)
//	demote          integer  0-255, default 0: byte 4 of the adverts, OpenBSD's demote
//	advbase         integer  0-255, default 1; not 0 together with advskew
//	advskew         integer  0-255, default 0
//	deadratio       integer  1-4294967295, default 3
//	preempt         boolean  default false
//	neutral         boolean  default false
//	upscript        string   absolute path; default none
//	downscript      string   absolute path; default none
//	xparam          string   the scripts' third argument; default none
//	nomcast         boolean  default false
//	mcastip         string   IPv4 address, default 224.0.0.18
//	shutdown        boolean  default false
//	ignoreifstate   boolean  default false
//	script-timeout  number   seconds, 0-31536000, 0 for none; default 30
//	manage-vip      boolean  default: true when the group has no script
//	garp-count      integer  0-100, default 1
//	garp-interval   integer  milliseconds, 1-60000, default 1000
//	name            string   in a group only
//	probes          array    names of [probe.NAME] tables
//	hold-down       number   seconds, 0-86400, default 0: the boot hold-down
//	hold-down-until-healthy
//	                boolean  default false: the hold-down ends once the probes are up
//	sync-group      string   1-64 letters, digits, '.', '_', '-'; default none
//	no-conflict-detect
//	                boolean  default false: a MASTER watches for other hosts claiming its addresses
//	auth            string   carp (default: plain CARP) or hmac-sha256 (docs/AUTH.md)
//	keyfile         string   with auth = "hmac-sha256": an absolute path (mode 0600)
//	                         or credential:NAME ($CREDENTIALS_DIRECTORY/NAME)
//	auth-mode       string   receive-only, permissive or enforce (default)
//	replay-window   number   seconds, 1-3600, default 10
//	relax-ttl       boolean  default false: adverts of any TTL; only with enforce
//	peer            string or array of strings: unicast peers, IPv4 or IPv6
//	                (a link-local one may carry the interface's %zone); default none
//
// A group with peers sends its adverts of a family to each peer of that
// family instead of to the multicast group, and hears no one else (see
// group/unicast.go); each peer must be a unicast address of a family the
// group has an address in, and neither srcip nor one of the group's own
// addresses.
//
// A sync group is named on its members (sync-group = "NAME") rather than
// listed in a table of its own: the key reads the same in a group, at the
// top (every group in one sync group) and on the command line
// (--sync-group), where a process has one group and no table to list.
//
// The multicast group's key is mcastip, the full name of the long option
// (--mcast is getopt's abbreviation of it); "mcast" is refused with that
// hint. pass and passfile are one setting: either, in a group, overrides
// either at the top; both in one table is an error.
//
// These keys belong to the process and are written at the top only:
//
//	facility        string   syslog facility, any case, or "none"; default "daemon"
//	debug           boolean  default false
//	pidfile         string   absolute path; default none
//	control         string   the control socket: an absolute path, or "none";
//	                         default /run/ucarp/ucarp.sock
//	control-group   string   the group (name or gid) whose members may demote,
//	                         promote and reload through the socket; default root only
//	metrics-listen  string   ADDR:PORT of /metrics and the status page; default none
//
// daemonize, help and version are options of the command line, not keys.
//
// Where the command line is lenient, the file is strict from its first
// day: a value out of range is an error (getopt's advbase 256 is 0; here it
// is refused), so are an unknown key, a value of the wrong TOML type, a
// relative path, advbase 255 with advskew 255 (the bow-out advert), and a
// passfile that group or others may read or write (mode & 0o077), which the
// command line only warns about.
//
// # Errors
//
// Parse reports every problem of a file, as an errors.Join of *Error
// values in the order of their lines, each formatted as
//
//	FILE:LINE: GROUP: KEY: MESSAGE
//
// for example
//
//	/etc/ucarp-go.conf:12: group "web" (eth0 vhid 3): advskew: 300 is out of range 0-255
//	/etc/ucarp-go.conf:20: group #3: vhid: must be an integer, not a string
//	/etc/ucarp-go.conf:1: facility: unknown syslog facility "local9" (one of ...)
//
// A TOML syntax error stops the parse, and is the only error reported.
//
// # Example
//
//	# Defaults for every group.
//	facility = "daemon"
//	interface = "eth0"
//	srcip = "192.0.2.11"
//	passfile = "/etc/ucarp/cluster.pass"
//	preempt = true
//	shutdown = true
//
//	[[group]]
//	name = "web"
//	vhid = 10
//	addr = "192.0.2.100/24"
//	advskew = 0
//
//	[[group]]
//	name = "mail"
//	vhid = 11
//	addr = "192.0.2.101"
//	advskew = 100
//	upscript = "/etc/ucarp/vip-up.sh"
//	downscript = "/etc/ucarp/vip-down.sh"
//
//	[[group]]
//	name = "db"
//	interface = "eth1"
//	srcip = "198.51.100.11"
//	vhid = 10
//	passfile = "/etc/ucarp/db.pass"
//	addr = "198.51.100.100/24"
//	advskew = 50
//
// testdata/three-groups.toml is the same file, commented for an
// administrator to copy.
package config
