package config

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/group"
)

// TestGroupConfig: every setting of a group reaches its group.Config; a
// field added to group.Config and forgotten here makes this fail.
func TestGroupConfig(t *testing.T) {
	x := "x"
	g := Group{Name: "web", Interface: "eth0", SrcIP: netip.MustParseAddr("198.51.100.1"),
		McastIP: netip.MustParseAddr("224.0.0.19"), VHID: 7, Password: []byte("pw"),
		Addr: netip.MustParsePrefix("198.51.100.100/24"), AddrArg: "198.51.100.100", AdvBase: 2, AdvSkew: 3,
		DeadRatio: 4, Preempt: true, Neutral: true, NoMcast: true, Shutdown: true, IgnoreIfState: true,
		UpScript: "/up", DownScript: "/down", XParam: &x, ScriptTimeout: 5 * time.Second, GARPCount: 6,
		GARPInterval: 7 * time.Millisecond, Line: 9, NoConflictDetect: true,
		MoreAddrs: []netip.Prefix{netip.MustParsePrefix("2001:db8::100/128")}, Demote: 8,
		Peers: []netip.Addr{netip.MustParseAddr("198.51.100.2")}, Auth: &group.AuthConfig{},
		Protocol: group.ProtocolVRRP3, Priority: 200, AdvertInterval: 50, VRRPChecksum: group.ChecksumForceMessageOnly, NoPreempt: true,
		PreemptDelay: time.Minute, VMAC: "vrrp.7"}
	c := g.GroupConfig()
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		if name := v.Type().Field(i).Name; name != "WaitWhenDown" && name != "AlignAdverts" && v.Field(i).IsZero() {
			t.Errorf("group.Config.%s is not set from the group", name)
		}
	}
	if c.WaitWhenDown || c.AlignAdverts {
		t.Error("WaitWhenDown and AlignAdverts are the caller's (config mode sets both, the command line neither)")
	}
	if c.Interface != "eth0" || c.Src != g.SrcIP || c.Mcast != g.McastIP || c.VHID != 7 || string(c.Password) != "pw" ||
		c.Addr != g.Addr || c.AddrArg != g.AddrArg || c.AdvBase != 2 || c.AdvSkew != 3 || c.DeadRatio != 4 ||
		c.UpScript != "/up" || c.DownScript != "/down" || c.XParam != &x || c.ScriptTimeout != 5*time.Second ||
		c.GARPCount != 6 || c.GARPInterval != 7*time.Millisecond || len(c.MoreAddrs) != 1 || c.Demote != 8 || c.Auth != g.Auth ||
		c.Protocol != group.ProtocolVRRP3 || c.Priority != 200 || c.AdvertInterval != 50 ||
		c.Checksum != group.ChecksumForceMessageOnly || !c.NoPreempt || c.PreemptDelay != time.Minute {
		t.Errorf("%+v", c)
	}
}
