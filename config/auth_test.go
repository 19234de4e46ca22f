package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carpauth"
)

const testKey = "6f3c0f2b9a4e51d07c8e2a9b3f1d6c4e8a2b7d9c0e1f3a5b6c7d8e9f0a1b2c3d"

// keyFile writes a key file with mode perm into a temporary directory.
func keyFile(t *testing.T, perm os.FileMode, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

func authGroup(extra string) string {
	return `interface = "eth0"
srcip = "198.51.100.1"
pass = "s3cret"
[[group]]
vhid = 1
addr = "198.51.100.100"
` + extra
}

func TestAuthKeys(t *testing.T) {
	good := keyFile(t, 0o600, "# rotation: the new key first", "2 "+testKey, "1 "+strings.Repeat("ab", 32))
	open := keyFile(t, 0o640, "1 "+testKey)
	credDir := filepath.Dir(keyFile(t, 0o400, "7 "+testKey))
	t.Setenv("CREDENTIALS_DIRECTORY", credDir)
	for _, tt := range []struct {
		name, extra string
		mode        carpauth.Mode
		ids         []uint8
		window      time.Duration
		relax       bool
		err         string // a part of the error; "" for none
		off         bool   // plain CARP
	}{
		{name: "plain CARP by default", off: true},
		{name: "auth = carp", extra: `auth = "carp"`, off: true},
		{name: "hmac-sha256, enforce by default", extra: fmt.Sprintf("auth = %q\nkeyfile = %q", "hmac-sha256", good),
			mode: carpauth.Enforce, ids: []uint8{2, 1}},
		{name: "every setting", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nauth-mode = \"permissive\"\nreplay-window = 2.5", good),
			mode: carpauth.Permissive, ids: []uint8{2, 1}, window: 2500 * time.Millisecond},
		{name: "relax-ttl with enforce", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nrelax-ttl = true", good),
			mode: carpauth.Enforce, ids: []uint8{2, 1}, relax: true},
		{name: "a systemd credential", extra: "auth = \"hmac-sha256\"\nkeyfile = \"credential:keys\"\nauth-mode = \"receive-only\"",
			mode: carpauth.ReceiveOnly, ids: []uint8{7}},
		{name: "no key file", extra: `auth = "hmac-sha256"`, err: `:7: group #1 (eth0 vhid 1): auth: missing: hmac-sha256 needs a key file`},
		{name: "a key file others can read", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q", open),
			err: "keyfile: key file " + open + ": mode 0640 lets group or others at it"},
		{name: "a missing key file", extra: "auth = \"hmac-sha256\"\nkeyfile = \"/nonexistent/keys\"", err: "no such file"},
		{name: "a relative key file", extra: "auth = \"hmac-sha256\"\nkeyfile = \"keys\"", err: "not an absolute path"},
		{name: "a bad credential name", extra: "auth = \"hmac-sha256\"\nkeyfile = \"credential:a/b\"", err: "one path element"},
		{name: "unknown auth", extra: `auth = "md5"`, err: `must be carp or hmac-sha256`},
		{name: "unknown mode", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nauth-mode = \"strict\"", good), err: "must be receive-only, permissive or enforce"},
		{name: "a window of 0", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nreplay-window = 0", good), err: "out of range 1-3600"},
		{name: "a window of a day", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nreplay-window = 86400", good), err: "out of range 1-3600"},
		{name: "keyfile without auth", extra: fmt.Sprintf("keyfile = %q", good), err: "keyfile: goes with auth = hmac-sha256"},
		{name: "auth-mode without auth", extra: `auth-mode = "enforce"`, err: "auth-mode: goes with auth = hmac-sha256"},
		{name: "relax-ttl without auth", extra: `relax-ttl = true`, err: "relax-ttl: needs the replay protection"},
		{name: "relax-ttl in permissive", extra: fmt.Sprintf("auth = \"hmac-sha256\"\nkeyfile = %q\nauth-mode = \"permissive\"\nrelax-ttl = true", good),
			err: "relax-ttl: needs auth-mode = enforce"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("ucarp.conf", []byte(authGroup(tt.extra)), files.read)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Fatal("the error quotes a key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ac := f.Groups[0].Auth
			if tt.off {
				if ac != nil {
					t.Fatalf("auth %+v", ac)
				}
				return
			}
			if ac == nil || ac.Mode != tt.mode || fmt.Sprint(ac.Keys.IDs()) != fmt.Sprint(tt.ids) || ac.Window != tt.window || ac.RelaxTTL != tt.relax {
				t.Fatalf("auth %+v", ac)
			}
			if gc := f.Groups[0].GroupConfig(); gc.Auth != ac {
				t.Fatal("not in group.Config")
			}
		})
	}
}

// TestAuthDefaultsAtTop: the settings written at the top are every
// group's, and a group overrides them.
func TestAuthDefaultsAtTop(t *testing.T) {
	good := keyFile(t, 0o600, "1 "+testKey)
	data := fmt.Sprintf(`auth = "hmac-sha256"
keyfile = %q
auth-mode = "receive-only"
interface = "eth0"
srcip = "198.51.100.1"
pass = "s3cret"
[[group]]
vhid = 1
addr = "198.51.100.100"
[[group]]
vhid = 2
addr = "198.51.100.101"
auth-mode = "enforce"
[[group]]
vhid = 3
addr = "198.51.100.102"
auth = "carp"
auth-mode = "enforce"
`, good)
	_, err := Parse("ucarp.conf", []byte(data), files.read)
	if err == nil || !strings.Contains(err.Error(), ":18: group #3 (eth0 vhid 3): auth-mode: goes with auth") {
		t.Fatalf("plain CARP group with the top's keyfile: %v", err)
	}
	data = strings.Replace(data, "auth = \"carp\"\nauth-mode = \"enforce\"\n", "", 1)
	f, err := Parse("ucarp.conf", []byte(data), files.read)
	if err != nil {
		t.Fatal(err)
	}
	if f.Groups[0].Auth.Mode != carpauth.ReceiveOnly || f.Groups[1].Auth.Mode != carpauth.Enforce || f.Groups[2].Auth.Mode != carpauth.ReceiveOnly {
		t.Fatalf("modes %v %v %v", f.Groups[0].Auth.Mode, f.Groups[1].Auth.Mode, f.Groups[2].Auth.Mode)
	}
}
