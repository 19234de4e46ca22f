// Package lab builds a small LAN of hosts in Linux network namespaces for
// end-to-end tests, interop tests, benchmarks and the demo: a switch
// namespace with a bridge, N hosts and an observer, each joined to the
// bridge by a veth pair, all with addresses from 198.51.100.0/24 (TEST-NET-2).
// Nothing is connected to the host's own network.
//
// A Lab starts daemons in its hosts, kills them, cuts links, captures
// frames on the bridge, pings and ARPs from the observer. Close kills every
// process it started, by PID, then every process left in its namespaces,
// and deletes the namespaces; New also removes what a crashed earlier run
// left behind. Every wait is bounded by a deadline.
//
// The VRRPv3 peers of issue 18 run in its hosts too, each with its own
// files in the lab's directory: keepalived (StartKeepalived) and FRR's
// zebra and vrrpd on the macvlan that vrrpd needs (StartFRR); ours as a
// VRRPv3 router is StartOursVRRP, and HoldsVRRP says who serves an address.
//
// It needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2.
//
// Outside Linux the package is empty.
package lab
