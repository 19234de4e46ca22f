package node

import (
	"errors"
	"fmt"
	"github.com/ucarp-go/ucarp/carp"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
)

// MaintenanceDir is the directory, in Deps.StateDir, that keeps the
// groups put in maintenance with --persistent: a file per group, named
// after it, that holds the time it went in (RFC 3339). A file per group
// lets the processes of the ucarp command line share the directory.
const MaintenanceDir = "maintenance"

// The node is a control.Maintainer.
var _ control.Maintainer = (*Node)(nil)

// Maintenance puts the named group in maintenance or takes it out
// (group.SetMaintenance). persistent records "on" in Deps.StateDir so
// that the group starts in maintenance after a restart; "off" always
// forgets it. A failure to record is an error, after the group has been
// put in maintenance all the same.
func (n *Node) Maintenance(name string, on, persistent bool) error {
	m, err := n.byName(name)
	if err != nil {
		return err
	}
	if on && m.spec.Config.Protocol == group.ProtocolVRRP3 {
		// The handoff waits for the peer's CARP MASTER adverts; a VRRPv3
		// group is moved with ucarpctl demote instead (a peer of higher
		// priority preempts), or stopped (it leaves with priority 0).
		return fmt.Errorf("%s: maintenance is for CARP groups; demote a vrrp3 group instead: %w", name, control.ErrNotSupported)
	}
	st := m.g.SetMaintenance(on)
	n.dem.record(m.g, group.DemotionMaintenance, maintLevel(st.On))
	c := m.spec.Config
	lvl := m.g.Status().Demotion
	n.events.Publish(control.Event{Time: time.Now(), Kind: control.EventDemotion, Group: name,
		Interface: c.Interface, VHID: c.VHID, Demotion: &lvl,
		Message: fmt.Sprintf("maintenance %s (%s)", onOff(on), st.Phase)})
	if !on || persistent {
		return n.recordMaintenance(name, on, st.Since)
	}
	return nil
}

// maintLevel is the demotion of a group's maintenance, for its sync
// group: the group sets it itself (group.DemotionMaintenance).
func maintLevel(on bool) int {
	if on {
		return carp.MaxDemotion
	}
	return 0
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// maintPath is the file that keeps name's maintenance; "" without a
// state directory.
func (n *Node) maintPath(name string) string {
	if n.deps.StateDir == "" {
		return ""
	}
	file := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, name)
	if file == "." || file == ".." {
		file = "_" + file
	}
	return filepath.Join(n.deps.StateDir, MaintenanceDir, file)
}

// kept reads name's maintenance kept across restarts: ok is false when
// there is none.
func (n *Node) kept(name string) (since time.Time, ok bool, err error) {
	path := n.maintPath(name)
	if path == "" {
		return time.Time{}, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("node: %w", err)
	}
	if since, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b))); err != nil {
		// Kept all the same: the operator asked for it.
		return time.Time{}, true, fmt.Errorf("node: %s: %w", path, err)
	}
	return since, true, nil
}

// recordMaintenance writes or removes name's file, replaced whole.
func (n *Node) recordMaintenance(name string, on bool, since time.Time) error {
	path := n.maintPath(name)
	if path == "" {
		if on {
			return fmt.Errorf("node: maintenance of %s cannot persist: no state directory: %w", name, control.ErrNotSupported)
		}
		return nil
	}
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("node: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(since.Format(time.RFC3339Nano) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// startMaintenance puts a group that is about to run in maintenance if
// the state directory keeps it so.
func (n *Node) startMaintenance(s Spec, g *group.Group) {
	name := s.GroupName()
	since, ok, err := n.kept(name)
	if err != nil {
		n.deps.Log.Error(fmt.Sprintf("Maintenance kept across restarts: %v", err))
	}
	if !ok {
		return
	}
	if since.IsZero() {
		since = time.Now()
	}
	n.deps.Log.Info(fmt.Sprintf("Group %s starts in maintenance (since %s)", name, since.Format(time.RFC3339)),
		"interface", s.Config.Interface, "vhid", s.Config.VHID)
	g.StartInMaintenance(since)
}

// isPersistent says whether the group's maintenance is kept.
func (n *Node) isPersistent(name string) bool {
	_, ok, _ := n.kept(name)
	return ok
}

// wireMaintenance is the group's maintenance for the control plane; nil
// when it is off and no handoff is in flight.
func wireMaintenance(m group.Maintenance, persistent bool) *control.Maintenance {
	if !m.On && m.Phase == group.MaintOff {
		return nil
	}
	return &control.Maintenance{On: m.On, Persistent: persistent, Since: m.Since, Phase: m.Phase.String(),
		PhaseSince: m.PhaseSince, Peer: m.Peer, Adverts: m.Adverts, Announced: m.Announced, PeerMAC: m.PeerMAC,
		Note: m.Note}
}
