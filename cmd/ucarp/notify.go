package main

import (
	"net"
	"os"
	"strconv"
)

// sdNotify sends a state to systemd (sd_notify(3)) when it runs us as a
// Type=notify service; elsewhere it does nothing.
func sdNotifyRaw(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}

// sdReady says the daemon is listening, in BACKUP: systemd may start what
// depends on it.
func sdReady(status string) {
	sdNotifyRaw("READY=1\nMAINPID=" + strconv.Itoa(os.Getpid()) + "\nSTATUS=" + status)
}

// sdNotify updates the status line that systemctl status shows.
func sdNotify(status string) {
	if status == "STOPPING" {
		sdNotifyRaw("STOPPING=1")
		return
	}
	sdNotifyRaw("STATUS=" + status)
}
