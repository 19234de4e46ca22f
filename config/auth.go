package config

import (
	"fmt"
	"os"
	"path"
	"time"

	"github.com/ucarp-go/ucarp/carpauth"
	"github.com/ucarp-go/ucarp/group"
)

// The settings of --auth=hmac-sha256 (docs/AUTH.md): auth, keyfile,
// auth-mode, replay-window and relax-ttl, as options and as keys.

// Values of auth and --auth.
const (
	AuthCARP = "carp"        // plain CARP, the default
	AuthHMAC = "hmac-sha256" // the extension between ucarp-go daemons
)

// MaxReplayWindow bounds replay-window and --replay-window: an hour.
const MaxReplayWindow = 3600

// AuthName checks the auth setting: carp or hmac-sha256; it says what is
// wrong, or "".
func AuthName(s string) string {
	if s != AuthCARP && s != AuthHMAC {
		return fmt.Sprintf("%q: must be carp or hmac-sha256", s)
	}
	return ""
}

// AuthMode checks the auth-mode setting; it says what is wrong, or "".
func AuthMode(s string) (carpauth.Mode, string) {
	m, err := carpauth.ParseMode(s)
	if err != nil {
		return m, fmt.Sprintf("%q: must be receive-only, permissive or enforce", s)
	}
	return m, ""
}

// ReplayWindow reads replay-window in seconds: 1 to MaxReplayWindow,
// fractions allowed; it says what is wrong, or "".
func ReplayWindow(secs float64) (time.Duration, string) {
	if !(secs >= 1) || secs > MaxReplayWindow {
		return 0, fmt.Sprintf("%v is out of range 1-%d (seconds)", secs, MaxReplayWindow)
	}
	return time.Duration(secs * float64(time.Second)), ""
}

// KeyFileName checks the keyfile setting: an absolute path, or
// credential:NAME; it says what is wrong, or "".
func KeyFileName(s string) string {
	if _, err := carpauth.ResolveKeyFile(s, func(string) string { return "/" }); err != nil {
		return fmt.Sprintf("%q: %s", s, trimPkg(err.Error()))
	}
	if len(s) < len(carpauth.CredentialPrefix) || s[:len(carpauth.CredentialPrefix)] != carpauth.CredentialPrefix {
		return absPath(s)
	}
	return ""
}

// LoadKeyFile reads the key file that a keyfile setting names (a path, or
// credential:NAME from $CREDENTIALS_DIRECTORY), refusing one that group or
// others can access. It runs at the start and on every reload.
func LoadKeyFile(value string) (*carpauth.Keyring, error) {
	file, err := carpauth.ResolveKeyFile(value, os.Getenv)
	if err != nil {
		return nil, err
	}
	dir, base := path.Split(file)
	if dir == "" {
		dir = "."
	}
	return carpauth.LoadKeys(os.DirFS(dir), base, file)
}

// AuthSettings are the five settings as written (zero values: not
// written).
type AuthSettings struct {
	Auth     string // "" or carp: plain CARP
	KeyFile  string
	Mode     string // "": enforce
	Window   time.Duration
	RelaxTTL bool
	LoadKeys func(string) (*carpauth.Keyring, error) // LoadKeyFile if nil
}

// Build checks the settings together and loads the keys: the group's
// AuthConfig (nil for plain CARP), relax-ttl included. The error
// names the setting at fault (key) and what is wrong (msg).
func (a AuthSettings) Build() (ac *group.AuthConfig, key, msg string) {
	if a.Auth != AuthHMAC {
		switch {
		case a.KeyFile != "":
			return nil, "keyfile", "goes with auth = hmac-sha256 (--auth=hmac-sha256)"
		case a.Mode != "":
			return nil, "auth-mode", "goes with auth = hmac-sha256 (--auth=hmac-sha256)"
		case a.Window != 0:
			return nil, "replay-window", "goes with auth = hmac-sha256 (--auth=hmac-sha256)"
		case a.RelaxTTL:
			return nil, "relax-ttl", "needs the replay protection: auth = hmac-sha256 with auth-mode = enforce"
		}
		return nil, "", ""
	}
	mode := carpauth.Enforce
	if a.Mode != "" {
		var m string
		if mode, m = AuthMode(a.Mode); m != "" {
			return nil, "auth-mode", m
		}
	}
	if a.RelaxTTL && mode != carpauth.Enforce {
		return nil, "relax-ttl", fmt.Sprintf("needs auth-mode = enforce, not %s: adverts of any TTL are safe only when every one is verified", mode)
	}
	if a.KeyFile == "" {
		return nil, "keyfile", "missing: hmac-sha256 needs a key file, FILE or credential:NAME (keys never go on the command line)"
	}
	load := a.LoadKeys
	if load == nil {
		load = LoadKeyFile
	}
	kr, err := load(a.KeyFile)
	if err != nil {
		return nil, "keyfile", trimPkg(err.Error())
	}
	return &group.AuthConfig{Mode: mode, Keys: kr, Window: a.Window, KeyFile: a.KeyFile, RelaxTTL: a.RelaxTTL}, "", ""
}

// trimPkg drops the "carpauth: " of a message.
func trimPkg(s string) string {
	const p = "carpauth: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
