// Package health is the daemon's health tracking: probes that check a
// service, an address or a link from inside the process, trackers that
// turn their results into a verdict with rise and fall hysteresis, and a
// Runner that runs them and keeps the demotion of each of their consumers
// (a group, for the daemon). It imports no package of the daemon: groups
// receive a number, and this package knows nothing of CARP. It logs
// nothing; it returns errors, states and changes.
//
// # Probes
//
// A probe has a type and a target, whose form depends on the type:
//
//	icmp       an IPv4 or IPv6 address (a zone for link-local: fe80::1%eth0)
//	           healthy: it answers an echo request
//	tcp        HOST:PORT ([2001:db8::1]:443 for IPv6)
//	           healthy: it accepts a connection (then closed)
//	http       a URL, http://HOST[:PORT]/PATH; the scheme may be left out
//	https      healthy: it answers with the expected status (200 by default);
//	           no redirect is followed, no proxy used, no connection kept
//	exec       an absolute path and its arguments, separated by spaces
//	           healthy: the command exits 0 before the timeout
//	file       an absolute path
//	           healthy: a regular file, empty or holding the integer 0
//	interface  an interface name
//	           healthy: up with a carrier
//
// Only exec forks. Its command runs without a shell, in /, with stdin from
// /dev/null and an environment of PATH and LC_ALL=C only, in a process
// group of its own: at the timeout the whole group is killed, and when the
// command exits whatever it left in its group is killed too. The first
// line of its output is shown with its exit status ("exit status 2:
// CRITICAL: nginx down"). A process that leaves the group (setsid) is the
// command's business.
//
// The file probe serves two habits with one rule: a marker file that a
// deployment creates ("touch /run/web/healthy", healthy while it exists),
// and a file holding a number that a script maintains, healthy at 0 as
// keepalived's track_file reads it. Spaces around the number are allowed;
// anything else, a missing file, a directory or a FIFO fails, and the
// status says why ("/run/web/state holds 3").
//
// The icmp probe opens an unprivileged ICMP datagram socket where Linux
// allows it (net.ipv4.ping_group_range names the daemon's group), else a
// raw socket, which needs root or CAP_NET_RAW (and always on FreeBSD). The
// interface probe reads /sys/class/net/NAME/carrier on Linux, and the
// interface flags (IFF_UP and IFF_RUNNING) elsewhere.
//
// # Settings
//
// Every probe has these settings, the same in the config file and on the
// command line:
//
//	type      required; one of the types above
//	target    required
//	interval  a duration, between the starts of two checks: 100ms-1h, default 1s
//	timeout   a duration, of one check: 10ms-interval, default min(interval, 1s)
//	rise      successes in a row that make the probe up: 1-100, default 2
//	fall      failures in a row that make the probe down: 1-100, default 2
//	weight    added to the demotion while the probe is not up: 0-255, default 255
//	expect    http and https only: the status expected, 100-599, default 200
//	insecure  https only: do not verify the certificate; default false
//
// A duration is written as Go writes one: "200ms", "1.5s", "2m". The
// default weight is the most there is: one failing probe makes the host
// the least preferred, whatever its advskew, which is what a dead service
// calls for. Lower weights grade the preference (a failing probe of 100
// gives the VIP away only to a peer whose advskew is below this host's
// plus 100), and a probe of weight 0 is only shown. The demotion is the sum of the weights
// of a consumer's probes that are not up; the consumer caps it (at 255 for
// CARP's demote byte and advskew).
//
// In the config file a probe is a named table, which Table decodes:
//
//	[probe.web]
//	type = "tcp"
//	target = "127.0.0.1:8080"
//	interval = "200ms"
//	timeout = "100ms"
//	rise = 2
//	fall = 2
//	weight = 100
//
// On the command line, ParseFlag reads
//
//	TYPE:TARGET[,interval=D][,timeout=D][,rise=N][,fall=N][,weight=N][,expect=N][,insecure=BOOL][,name=NAME]
//
// for example --probe=tcp:127.0.0.1:8080,interval=200ms,timeout=100ms. The
// target ends at the first comma; a probe is named TYPE:TARGET unless
// name= says otherwise. Both report every problem at once, each an *Error
// that names the probe and the key.
//
// # States
//
// A Tracker moves a probe between three states (see State): unknown at
// the start, up after rise successes in a row, down after fall failures in
// a row. A probe that is not up counts as failing, unknown included: a
// host does not claim MASTER before its probes have seen its service
// healthy, and a hold-down "until the probes are healthy" waits for every
// probe to be up. A flapping probe keeps the state it had. A reload that
// keeps a probe may start its new tracker in the old state (Probe.Initial),
// so that it does not demote a healthy MASTER for rise intervals.
//
// # Running
//
// A Runner runs each probe in a goroutine of its own: the first check
// after a random delay below min(interval, 1s), then one every interval; a
// check still running at its timeout fails ("timed out after 100ms"). It
// calls OnChange with every change of a probe's state and the demotions it
// moved, in order; Demotion and Status answer at any time; Stop returns
// when everything it started has ended.
//
//	r, err := health.Start(health.Config{
//		Probes:    []health.Probe{{Spec: web}},
//		Consumers: map[string][]string{"eth0 vhid 4": {"web"}},
//		OnChange: func(ch health.Change) {
//			for group, d := range ch.Demotions {
//				setDemotion(group, min(d, 255))
//			}
//		},
//	})
package health
