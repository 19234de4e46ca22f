package config

import "github.com/ucarp-go/ucarp/group"

// GroupConfig is what the group runs with (group.Config): the one
// translation of a group's settings, for a group of a file and for the
// group of the ucarp command line alike. WaitWhenDown is left to the
// caller: it is the mode's (a file's groups wait for their interface,
// ucarp's exits), not a setting of the group.
func (g Group) GroupConfig() group.Config {
	return group.Config{
		Interface: g.Interface, Src: g.SrcIP, Mcast: g.McastIP, VHID: g.VHID, Password: g.Password,
		Addr: g.Addr, AddrArg: g.AddrArg, MoreAddrs: g.MoreAddrs, Demote: g.Demote, AdvBase: g.AdvBase, AdvSkew: g.AdvSkew, DeadRatio: g.DeadRatio,
		Preempt: g.Preempt, Neutral: g.Neutral, UpScript: g.UpScript, DownScript: g.DownScript,
		XParam: g.XParam, NoMcast: g.NoMcast, Shutdown: g.Shutdown, IgnoreIfState: g.IgnoreIfState,
		ScriptTimeout: g.ScriptTimeout, GARPCount: g.GARPCount, GARPInterval: g.GARPInterval,
		NoConflictDetect: g.NoConflictDetect,
		Peers:            g.Peers,
		Auth:             g.Auth,
		Protocol:         g.Protocol, Priority: g.Priority, AdvertInterval: g.AdvertInterval, Checksum: g.VRRPChecksum,
		NoPreempt: g.NoPreempt, PreemptDelay: g.PreemptDelay,
		VMAC: g.VMAC,
	}
}
