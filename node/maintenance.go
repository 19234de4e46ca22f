package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/group"
)

// MaintenanceFile is the file, in Deps.StateDir, that keeps the groups
// put in maintenance with --persistent: a JSON object of group names and
// the time each went in.
const MaintenanceFile = "maintenance.json"

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
	st := m.g.SetMaintenance(on)
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

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// persistentMaintenance reads the groups kept in maintenance; none
// without a state directory or file.
func (n *Node) persistentMaintenance() (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if n.deps.StateDir == "" {
		return out, nil
	}
	b, err := os.ReadFile(filepath.Join(n.deps.StateDir, MaintenanceFile))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("node: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return map[string]time.Time{}, fmt.Errorf("node: %s: %w", filepath.Join(n.deps.StateDir, MaintenanceFile), err)
	}
	return out, nil
}

// recordMaintenance adds or removes name in the file, replaced whole.
func (n *Node) recordMaintenance(name string, on bool, since time.Time) error {
	if n.deps.StateDir == "" {
		if on {
			return fmt.Errorf("node: maintenance of %s cannot persist: no state directory (--state-dir): %w", name, control.ErrNotSupported)
		}
		return nil
	}
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	kept, err := n.persistentMaintenance()
	if err != nil && on {
		return err
	}
	_, had := kept[name]
	if on {
		kept[name] = since
	} else if !had {
		return nil
	} else {
		delete(kept, name)
	}
	b, _ := json.MarshalIndent(kept, "", "  ")
	if err := os.MkdirAll(n.deps.StateDir, 0o755); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	tmp, err := os.CreateTemp(n.deps.StateDir, MaintenanceFile+".*")
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("node: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("node: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(n.deps.StateDir, MaintenanceFile)); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// startMaintenance puts a group that is about to run in maintenance if
// the state directory keeps it so.
func (n *Node) startMaintenance(s Spec, g *group.Group) {
	kept, err := n.persistentMaintenance()
	if err != nil {
		n.deps.Log.Error(fmt.Sprintf("Maintenance kept across restarts is ignored: %v", err))
		return
	}
	if since, ok := kept[s.GroupName()]; ok {
		n.deps.Log.Info(fmt.Sprintf("Group %s starts in maintenance (since %s)", s.GroupName(), since.Format(time.RFC3339)),
			"interface", s.Config.Interface, "vhid", s.Config.VHID)
		g.StartInMaintenance(since)
	}
}

// isPersistent says whether the group's maintenance is kept.
func (n *Node) isPersistent(name string) bool {
	kept, _ := n.persistentMaintenance()
	_, ok := kept[name]
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
