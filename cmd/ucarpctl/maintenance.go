package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ucarp-go/ucarp/control"
)

// defaultMaintWait bounds how long maintenance on waits for a handoff: a
// peer's takeover, the hold and the dead interval of a host alone (about
// 7 s with advbase 1), and the wait for an announcement.
const defaultMaintWait = 30 * time.Second

// maintenance is "maintenance on|off [GROUP] [--persistent] [--no-wait]
// [--timeout=D]": flags may come before or after GROUP.
func (c *cli) maintenance(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "on" && args[0] != "off" {
		return usagef("usage: maintenance on|off [GROUP] [--persistent] [--no-wait] [--timeout=D]")
	}
	on := args[0] == "on"
	fs := flag.NewFlagSet("maintenance", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	persistent := fs.Bool("persistent", false, "")
	noWait := fs.Bool("no-wait", false, "")
	timeout := fs.Duration("timeout", defaultMaintWait, "")
	var rest []string
	for args = args[1:]; ; {
		if err := fs.Parse(args); err != nil {
			return usagef("maintenance: %v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) > 1 {
		return usagef("maintenance takes one GROUP at most")
	}
	if *persistent && !on {
		return usagef("maintenance off forgets --persistent by itself: no --persistent")
	}
	sel := ""
	if len(rest) == 1 {
		sel = rest[0]
	}

	// Each socket that has sel (every socket, without sel) is asked.
	type pending struct {
		socket string
		name   string
	}
	var wait []pending
	var found bool
	err := c.each(func(cl *control.Client) error {
		gs, err := cl.Maintenance(sel, on, *persistent)
		if errors.Is(err, control.ErrNotFound) && sel != "" {
			return nil
		}
		if err != nil {
			return err
		}
		for _, g := range gs {
			found = true
			wait = append(wait, pending{cl.Path(), g.Name})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found && sel != "" {
		return fmt.Errorf("no group %q", sel)
	}

	// Follow each handoff until it settles.
	deadline := time.Now().Add(*timeout)
	var noPeer []string
	for _, p := range wait {
		var last control.Group
		err := c.one(p.socket, func(cl *control.Client) error {
			for {
				gs, err := cl.Status()
				if err != nil {
					return err
				}
				g, ok := byName(gs, p.name)
				if !ok {
					return fmt.Errorf("group %s is gone", p.name)
				}
				last = g
				if *noWait || g.Maintenance == nil || g.Maintenance.Settled() {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s: the handoff has not settled within %v: %s", p.name, *timeout, maintLine(g.Maintenance))
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
		if err != nil {
			return err
		}
		what := "maintenance off"
		if m := last.Maintenance; m != nil {
			what = maintLine(m)
			if m.On && m.Phase == control.MaintNoPeer {
				noPeer = append(noPeer, p.name)
			}
		}
		fmt.Fprintf(c.stdout, "%s (%s:%d): %s %s\n", last.Name, last.Interface, last.VHID, last.State, what)
	}
	if len(noPeer) > 0 {
		return fmt.Errorf("no peer took over %s: this host stays MASTER and keeps the address", strings.Join(noPeer, ", "))
	}
	return nil
}

func byName(gs []control.Group, name string) (control.Group, bool) {
	for _, g := range gs {
		if g.Name == name {
			return g, true
		}
	}
	return control.Group{}, false
}

// maintLine says in a line where a group's maintenance is.
func maintLine(m *control.Maintenance) string {
	var b strings.Builder
	if m.On {
		b.WriteString("in maintenance")
		if !m.Since.IsZero() {
			fmt.Fprintf(&b, " since %s", m.Since.Local().Format("2006-01-02 15:04:05"))
		}
		if m.Persistent {
			b.WriteString(" (persistent)")
		}
	} else {
		b.WriteString("maintenance off")
	}
	switch m.Phase {
	case control.MaintHandingOff:
		b.WriteString(", handing over: keeping the address until a peer is MASTER and announces it")
	case control.MaintWaitingAnnouncement:
		fmt.Fprintf(&b, ", %s is MASTER: waiting for the peer's announcement", m.Peer)
	case control.MaintHandedOff:
		fmt.Fprintf(&b, ", handed off to %s", m.Peer)
		if m.Announced {
			fmt.Fprintf(&b, " (announced from %s)", m.PeerMAC)
		}
	case control.MaintNoPeer:
		b.WriteString(", no peer took over: staying MASTER with the address")
	case control.MaintBackup:
		b.WriteString(", demoted: nothing to hand off")
	}
	if m.Note != "" && m.Phase != control.MaintNoPeer {
		fmt.Fprintf(&b, "; %s", m.Note)
	}
	return b.String()
}
