package main

import (
	"strings"
	"testing"

	conffile "github.com/ucarp-go/ucarp/config"
)

// TestOptionsAreKeys: every long option is also a key of the config file
// with the same name (the command line is one way to write a config with
// one group), but for those listed here. optionTable and the config's
// keys are two lists that must agree; this keeps them agreeing.
func TestOptionsAreKeys(t *testing.T) {
	notKeys := map[string]string{
		"help":          "the process's",
		"version":       "the process's",
		"daemonize":     "the process's, and a service manager's",
		"config":        "the process's: the file itself",
		"check":         "the process's: checks the file",
		"no-manage-vip": "manage-vip = false",
		"no-preempt":    "preempt = false (a vrrp3 group)",
		"vip":           "addr = [...]: the group's addresses",
	}
	seen := map[string]bool{}
	for _, o := range optionTable {
		seen[o.long] = true
		// The value's type does not matter: only whether the key is
		// known. An unknown key is refused with "unknown key" or with a
		// hint ("not a config key", "write ...").
		_, err := conffile.Parse("u.conf", []byte(o.long+" = true\n\n[[group]]\nvhid = 1\n"), nil)
		var msg string
		if err != nil {
			msg = err.Error()
		}
		unknown := false
		for _, refused := range []string{"unknown key", "not a config key", "write "} {
			unknown = unknown || strings.Contains(msg, "u.conf:1: "+o.long+": "+refused)
		}
		if _, ok := notKeys[o.long]; ok != unknown {
			t.Errorf("--%s: key refused %v, listed as no key %v: %s", o.long, unknown, ok, msg)
		}
	}
	for k := range notKeys {
		if !seen[k] {
			t.Errorf("%s is listed but no option", k)
		}
	}
}
