package control_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ucarp-go/ucarp/control"
)

func TestSelect(t *testing.T) {
	groups := []control.Group{
		{Name: "web", Interface: "eth0", VHID: 10},
		{Name: "db", Interface: "eth1", VHID: 10},
		{Name: "eth1-20", Interface: "eth1", VHID: 20},
		{Name: "30", Interface: "eth2", VHID: 40}, // a name that looks like a vhid
		{Name: "vlan", Interface: "eth0.30", VHID: 30},
		{Name: "alias", Interface: "eth0:1", VHID: 5},
	}
	for _, tt := range []struct {
		sel  string
		want []string // names; nil: not found
	}{
		{"", []string{"web", "db", "eth1-20", "30", "vlan", "alias"}},
		{"web", []string{"web"}},
		{"eth1-20", []string{"eth1-20"}},
		{"10", []string{"web", "db"}},
		{"eth1:10", []string{"db"}},
		{"eth0:10", []string{"web"}},
		{"30", []string{"30"}}, // the name first
		{"eth0.30:30", []string{"vlan"}},
		{"40", []string{"30"}},
		{"eth0:1:5", []string{"alias"}}, // the last colon splits
		{"eth0:20", nil},
		{"eth9:10", nil},
		{"11", nil},
		{"256", nil},
		{"-1", nil},
		{"Web", nil},
		{":10", nil},
		{"eth0:", nil},
	} {
		got, err := control.Select(groups, tt.sel)
		if tt.want == nil {
			if !errors.Is(err, control.ErrNotFound) || got != nil {
				t.Errorf("Select(%q) = %v, %v; want not found", tt.sel, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%q): %v", tt.sel, err)
			continue
		}
		var names []string
		for _, g := range got {
			names = append(names, g.Name)
		}
		if !slices.Equal(names, tt.want) {
			t.Errorf("Select(%q) = %v, want %v", tt.sel, names, tt.want)
		}
	}

	if g, err := control.SelectOne(groups, "eth1:10"); err != nil || g.Name != "db" {
		t.Errorf("SelectOne(eth1:10) = %v, %v", g.Name, err)
	}
	for _, sel := range []string{"", "10"} {
		if _, err := control.SelectOne(groups, sel); !errors.Is(err, control.ErrAmbiguous) {
			t.Errorf("SelectOne(%q): %v, want ambiguous", sel, err)
		}
	}
	if _, err := control.SelectOne(groups, "nope"); !errors.Is(err, control.ErrNotFound) {
		t.Errorf("SelectOne(nope): %v, want not found", err)
	}
}

func TestErrorIs(t *testing.T) {
	err := &control.Error{Code: control.CodeNotFound, Message: "control: no group \"x\""}
	if !errors.Is(err, control.ErrNotFound) || errors.Is(err, control.ErrPermission) {
		t.Error("an *Error is its code's sentinel and no other")
	}
}
