package main

import (
	"os"
	"strings"
)

// defaultStateDir keeps what outlives the daemon: the groups in
// maintenance with ucarpctl maintenance on --persistent.
const defaultStateDir = "/var/lib/ucarp"

// stateDir is systemd's StateDirectory= ($STATE_DIRECTORY, the first of
// its list), else defaultStateDir; it is created at the first write.
func stateDir() string {
	if dirs := os.Getenv("STATE_DIRECTORY"); dirs != "" {
		if first, _, _ := strings.Cut(dirs, ":"); first != "" {
			return first
		}
	}
	return defaultStateDir
}
