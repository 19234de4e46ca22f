package control_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

// noMaint is a Backend without maintenance.
type noMaint struct{ control.Backend }

func TestMaintenanceVerb(t *testing.T) {
	b := twoGroups()
	c := dial(t, serve(t, b, control.Options{}, as(0, 0)))
	gs, err := c.Maintenance("web", true, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Name != "web" || gs[0].Maintenance == nil || !gs[0].Maintenance.On || !gs[0].Maintenance.Persistent {
		t.Fatalf("answer %+v, want web in maintenance", gs)
	}
	// No group named: every group.
	if gs, err = c.Maintenance("", false, false); err != nil || len(gs) != 3 {
		t.Fatalf("maintenance off of every group: %v, %d groups", err, len(gs))
	}
	want := []string{"maintenance web on persistent", "maintenance web off", "maintenance db off", "maintenance eth1-20 off"}
	if got := b.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if _, err := c.Maintenance("nope", true, false); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("maintenance of no group: %v", err)
	}
	resp, err := c.Do(control.Request{Verb: control.VerbMaintenance, Group: "web", Mode: "maybe"})
	if err == nil || !strings.Contains(err.Error(), `maintenance mode "maybe": on or off`) || resp.Code != control.CodeBadRequest {
		t.Errorf("mode maybe: %v (%s)", err, resp.Code)
	}

	c2 := dial(t, serve(t, noMaint{twoGroups()}, control.Options{}, as(0, 0)))
	if _, err := c2.Maintenance("web", true, false); !errors.Is(err, control.ErrNotSupported) {
		t.Errorf("a backend without maintenance: %v, want not-supported", err)
	}

	user := dial(t, serve(t, twoGroups(), control.Options{}, as(1000, 1000)))
	if _, err := user.Maintenance("web", true, false); !errors.Is(err, control.ErrPermission) {
		t.Errorf("maintenance by a user: %v, want a permission error", err)
	}
}

func TestMaintenanceMetric(t *testing.T) {
	web := controltest.Group("web", "eth0", 10, control.StateBackup)
	web.Maintenance = &control.Maintenance{On: true, Phase: control.MaintHandedOff}
	c := control.NewCollector(controltest.New(web, controltest.Group("db", "eth1", 20, control.StateMaster)))
	const want = `
# HELP ucarp_maintenance Whether the group is in maintenance (ucarpctl maintenance on): 1 in the current phase, 0 in the others.
# TYPE ucarp_maintenance gauge
ucarp_maintenance{interface="eth0",name="web",phase="backup",vhid="10"} 0
ucarp_maintenance{interface="eth0",name="web",phase="handed-off",vhid="10"} 1
ucarp_maintenance{interface="eth0",name="web",phase="handing-off",vhid="10"} 0
ucarp_maintenance{interface="eth0",name="web",phase="no-peer",vhid="10"} 0
ucarp_maintenance{interface="eth0",name="web",phase="off",vhid="10"} 0
ucarp_maintenance{interface="eth0",name="web",phase="waiting-announcement",vhid="10"} 0
`
	wantMetrics(t, c, want, "ucarp_maintenance")
}

func TestStatusPageMaintenance(t *testing.T) {
	web := controltest.Group("web", "eth0", 10, control.StateMaster)
	web.Maintenance = &control.Maintenance{On: true, Phase: control.MaintNoPeer, Note: "no peer took over"}
	srv := httptest.NewServer(control.NewHandler(controltest.New(web, controltest.Group("db", "eth1", 10, control.StateBackup))))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if !strings.Contains(page, `maintenance on: no-peer (no peer took over)`) {
		t.Errorf("the page does not show web's maintenance:\n%s", page)
	}
	if strings.Count(page, "maintenance on") != 1 {
		t.Errorf("the page shows maintenance for db too:\n%s", page)
	}
}
