package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/carpauth"
	conffile "github.com/ucarp-go/ucarp/config"
)

// TestAuthOptions: --auth and its options give the group what the keys
// of a file give, and their mistakes are clear errors.
func TestAuthOptions(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("3 "+strings.Repeat("5a", 32)+"\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("3 "+strings.Repeat("5a", 32)+"\n"), 0o600)
	os.Chmod(open, 0o644)
	base := []string{"-i", "eth0", "-v", "1", "-p", "carplab", "-s", "198.51.100.1", "-a", "198.51.100.2"}
	parse := func(extra ...string) (parseResult, string) {
		var errs bytes.Buffer
		res := parseCommandLine("ucarp", append(append([]string{}, base...), extra...), false, newLogger(&errs, &errs, nil), io.Discard)
		return res, errs.String()
	}
	res, msg := parse()
	if res.done || res.cfg.Auth != nil {
		t.Fatalf("without --auth: %+v %s", res, msg)
	}
	res, msg = parse("--auth=hmac-sha256", "--keyfile="+keys, "--auth-mode=permissive", "--replay-window=3")
	if res.done {
		t.Fatalf("exit %d: %s", res.exit, msg)
	}
	ac := res.cfg.Auth
	if ac == nil || ac.Mode != carpauth.Permissive || ac.Window != 3*time.Second || ac.Keys.Send().ID != 3 || ac.KeyFile != keys {
		t.Fatalf("auth %+v", ac)
	}
	file := "interface = \"eth0\"\nvhid = 1\npass = \"carplab\"\nsrcip = \"198.51.100.1\"\naddr = \"198.51.100.2\"\n" +
		"auth = \"hmac-sha256\"\nkeyfile = \"" + keys + "\"\nauth-mode = \"permissive\"\nreplay-window = 3\n[[group]]\n"
	f, err := conffile.Parse("test.conf", []byte(file), conffile.ReadOSFile)
	if err != nil {
		t.Fatal(err)
	}
	fa := f.Groups[0].Auth
	if fa.Mode != ac.Mode || fa.Window != ac.Window || fa.KeyFile != ac.KeyFile || fa.Keys.Send().ID != ac.Keys.Send().ID {
		t.Errorf("command line %+v, file %+v", ac, fa)
	}
	if res, msg = parse("--auth=hmac-sha256", "--keyfile="+keys, "--relax-ttl"); res.done || !res.cfg.Auth.RelaxTTL {
		t.Fatalf("--relax-ttl in enforce: %s", msg)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--auth=hmac-sha256"}, "[ERROR] Invalid --auth: missing: hmac-sha256 needs a key file"},
		{[]string{"--auth=hmac-sha256", "--keyfile=" + open}, "[ERROR] Invalid --keyfile: key file " + open + ": mode 0644 lets group or others at it; chmod 600"},
		{[]string{"--auth=hmac-sha256", "--keyfile=" + dir + "/none"}, "[ERROR] Invalid --keyfile: key file " + dir + "/none: no such file or directory"},
		{[]string{"--auth=sha1"}, `[ERROR] Invalid auth: "sha1": must be carp or hmac-sha256`},
		{[]string{"--auth-mode=on"}, `[ERROR] Invalid auth mode: "on": must be receive-only, permissive or enforce`},
		{[]string{"--replay-window=0.5"}, "[ERROR] Invalid replay window: [0.5] (seconds, 1 to 3600)"},
		{[]string{"--keyfile=" + keys}, "[ERROR] Invalid --keyfile: goes with auth = hmac-sha256"},
		{[]string{"--relax-ttl"}, "[ERROR] Invalid --relax-ttl: needs the replay protection"},
		{[]string{"--auth=hmac-sha256", "--keyfile=" + keys, "--auth-mode=receive-only", "--relax-ttl"}, "[ERROR] Invalid --relax-ttl: needs auth-mode = enforce"},
		{[]string{"--auth=hmac-sha256", "--keyfile=credential:keys"}, "[ERROR] Invalid --keyfile: --keyfile=credential:keys: $CREDENTIALS_DIRECTORY is not set"},
	} {
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		res, msg := parse(tt.args...)
		if !res.done || res.exit != 1 || !strings.Contains(msg, tt.want) {
			t.Errorf("%v: exit %d %q, want %q", tt.args, res.exit, msg, tt.want)
		}
		if strings.Contains(msg, strings.Repeat("5a", 32)) {
			t.Errorf("%v: the error quotes a key", tt.args)
		}
	}
	// A systemd credential.
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if res, msg = parse("--auth=hmac-sha256", "--keyfile=credential:keys"); res.done || res.cfg.Auth.Keys.Send().ID != 3 {
		t.Fatalf("credential: %s", msg)
	}
}

// TestAuthCheck: --check refuses a config whose key file others can
// read, naming the file and line, and accepts it once it is 0600.
func TestAuthCheck(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("3 "+strings.Repeat("5a", 32)+"\n"), 0o600)
	os.Chmod(keys, 0o644)
	conf := filepath.Join(dir, "ucarp.conf")
	os.WriteFile(conf, []byte("interface = \"eth0\"\nsrcip = \"198.51.100.1\"\npass = \"carplab\"\nauth = \"hmac-sha256\"\n"+
		"keyfile = \""+keys+"\"\n[[group]]\nvhid = 1\naddr = \"198.51.100.2\"\n"), 0o600)
	var errs bytes.Buffer
	if plan := checkConfig(conf, newLogger(&errs, &errs, nil), io.Discard); plan.code != exitConfig ||
		!strings.Contains(errs.String(), conf+":5: ") || !strings.Contains(errs.String(), "keyfile: key file "+keys+": mode 0644 lets group or others at it") {
		t.Fatalf("exit %d: %s", plan.code, errs.String())
	}
	os.Chmod(keys, 0o600)
	errs.Reset()
	if plan := checkConfig(conf, newLogger(&errs, &errs, nil), io.Discard); plan.code != 0 {
		t.Fatalf("exit %d: %s", plan.code, errs.String())
	}
}
