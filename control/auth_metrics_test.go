package control_test

import (
	"testing"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

// TestAuthMetrics: a group with --auth=hmac-sha256 has its verdicts and
// mode as series; a group without has none of them.
func TestAuthMetrics(t *testing.T) {
	g := controltest.Group("web", "eth0", 10, control.StateBackup)
	key := 2
	g.Auth = &control.Auth{Mode: "enforce", SendKey: &key, Keys: []uint8{2, 1}, ReplayWindow: 10,
		Accepted: map[string]uint64{"verified": 40}, Dropped: map[string]uint64{"replay": 7, "bad-mac": 3}}
	plain := controltest.Group("db", "eth1", 20, control.StateMaster)
	c := control.NewCollector(controltest.New(g, plain))
	const want = `
# HELP ucarp_auth_adverts_total Adverts that passed the plain CARP checks, by the result of --auth=hmac-sha256 (verified, absent, replay, bad-mac, ...) and action (accepted, dropped).
# TYPE ucarp_auth_adverts_total counter
ucarp_auth_adverts_total{action="accepted",interface="eth0",name="web",result="verified",vhid="10"} 40
ucarp_auth_adverts_total{action="dropped",interface="eth0",name="web",result="bad-mac",vhid="10"} 3
ucarp_auth_adverts_total{action="dropped",interface="eth0",name="web",result="replay",vhid="10"} 7
# HELP ucarp_auth_mode The group's --auth-mode: 1 for the current one, 0 for the others.
# TYPE ucarp_auth_mode gauge
ucarp_auth_mode{interface="eth0",mode="enforce",name="web",vhid="10"} 1
ucarp_auth_mode{interface="eth0",mode="permissive",name="web",vhid="10"} 0
ucarp_auth_mode{interface="eth0",mode="receive-only",name="web",vhid="10"} 0
`
	wantMetrics(t, c, want, "ucarp_auth_adverts_total", "ucarp_auth_mode")
}
