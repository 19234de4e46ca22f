package carpauth

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	hex32a = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	hex32b = "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"
)

// key returns key id whose 32 bytes are all b.
func key(id, b byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{b}, 32)} }

func TestParseKeys(t *testing.T) {
	for _, tt := range []struct {
		name    string
		file    string
		ids     []uint8
		wantErr string // a substring of the error, "" for none
	}{
		{"one key", "1 " + hex32a + "\n", []uint8{1}, ""},
		{"rotation: first signs", "# new key first\n2 " + hex32b + "  # added 2026-12\n\n1\t" + hex32a, []uint8{2, 1}, ""},
		{"ids 0 and 255, CRLF", "0 " + hex32a + "\r\n255 " + hex32b + "\r\n", []uint8{0, 255}, ""},
		{"16-byte key", "3 " + hex32a[:32], []uint8{3}, ""},
		{"64-byte key", "3 " + hex32a + hex32b, []uint8{3}, ""},
		{"empty", "", nil, "keys: no keys"},
		{"comments only", "# nothing\n   \n", nil, "keys: no keys"},
		{"one field", "\n1\n", nil, "keys:2: want \"ID KEY\", found 1 fields"},
		{"three fields", "1 " + hex32a + " extra", nil, "keys:1: want \"ID KEY\", found 3 fields"},
		{"id 256", "256 " + hex32a, nil, "keys:1: key id \"256\": want a number from 0 to 255"},
		{"id -1", "-1 " + hex32a, nil, "keys:1: key id \"-1\""},
		{"id token", "prod " + hex32a, nil, "keys:1: key id \"prod\""},
		{"duplicate id", "1 " + hex32a + "\n#\n1 " + hex32b, nil, "keys:3: key id 1 already on line 1"},
		{"not hex", "1 " + hex32a[:62] + "zz", nil, "keys:1: key 1: not hexadecimal"},
		{"odd digits", "1 " + hex32a[:63], nil, "keys:1: key 1: an odd number of hex digits"},
		{"15 bytes", "1 " + hex32a[:30], nil, "keys:1: key 1: a key has 16 to 64 bytes (32 to 128 hex digits), this one 15"},
		{"65 bytes", "1 " + hex32a + hex32b + "00", nil, "this one 65"},
		{"base64 is not hex", "1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", nil, "keys:1: key 1: not hexadecimal"},
		{"too large", strings.Repeat("#\n", 40000), nil, "keys: larger than 65536 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := ParseKeys(strings.NewReader(tt.file), "keys")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "zz") || strings.Contains(err.Error(), hex32a[:30]) {
					t.Fatalf("the error shows the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(kr.IDs()); got != fmt.Sprint(tt.ids) {
				t.Fatalf("ids %s, want %v", got, tt.ids)
			}
			if kr.Send().ID != tt.ids[0] {
				t.Fatalf("sends with %v, want key %d", kr.Send(), tt.ids[0])
			}
		})
	}
}

func TestKeyHidesSecret(t *testing.T) {
	k := Key{ID: 9, Secret: []byte("0123456789abcdefSECRET")}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(s, "SECRET") || strings.Contains(s, "0123") {
			t.Errorf("%q shows the secret", s)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	file := []byte("1 " + hex32a + "\n")
	for _, tt := range []struct {
		name    string
		mode    fs.FileMode
		wantErr string
	}{
		{"0600", 0o600, ""},
		{"0400 (a systemd credential)", 0o400, ""},
		{"0640", 0o640, "/etc/ucarp/keys: mode 0640 lets group or others at it; chmod 600 /etc/ucarp/keys"},
		{"0604", 0o604, "mode 0604"},
		{"0620: group may write", 0o620, "mode 0620"},
		{"0601", 0o601, "mode 0601"},
		{"directory", fs.ModeDir | 0o700, "/etc/ucarp/keys: not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"keys": {Data: file, Mode: tt.mode}}
			kr, err := LoadKeys(fsys, "keys", "/etc/ucarp/keys")
			if tt.wantErr == "" {
				if err != nil || kr.Send().ID != 1 {
					t.Fatalf("LoadKeys = %v, %v", kr, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := LoadKeys(fstest.MapFS{}, "keys", "/etc/ucarp/keys")
		if err == nil || err.Error() != "carpauth: key file /etc/ucarp/keys: file does not exist" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("line numbers name the file", func(t *testing.T) {
		fsys := fstest.MapFS{"keys": {Data: []byte("#\n1 00\n"), Mode: 0o600}}
		_, err := LoadKeys(fsys, "keys", "/etc/ucarp/keys")
		if err == nil || !strings.HasPrefix(err.Error(), "carpauth: /etc/ucarp/keys:2: key 1:") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestResolveKeyFile(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	creds := env(map[string]string{"CREDENTIALS_DIRECTORY": "/run/credentials/ucarp.service"})
	for _, tt := range []struct {
		name, value string
		getenv      func(string) string
		want        string // the path, or a substring of the error
		err         bool
	}{
		{"a path", "/etc/ucarp/keys", creds, "/etc/ucarp/keys", false},
		{"a relative path", "keys", creds, "keys", false},
		{"a credential", "credential:ucarp.keys", creds, "/run/credentials/ucarp.service/ucarp.keys", false},
		{"a path that looks like one", "./credential:x", creds, "./credential:x", false},
		{"not under systemd", "credential:ucarp.keys", env(nil), "$CREDENTIALS_DIRECTORY is not set: not started by systemd with LoadCredential=ucarp.keys:FILE", true},
		{"a path as name", "credential:../keys", creds, "a credential name is one path element", true},
		{"dot-dot", "credential:..", creds, "one path element", true},
		{"empty name", "credential:", creds, "one path element", true},
		{"empty", "", creds, "empty key file name", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveKeyFile(tt.value, tt.getenv)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ResolveKeyFile(%q) = %q, %v; want an error with %q", tt.value, got, err, tt.want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ResolveKeyFile(%q) = %q, %v; want %q", tt.value, got, err, tt.want)
			}
		})
	}
}

func TestNewKeyring(t *testing.T) {
	if _, err := NewKeyring(); err == nil {
		t.Error("no keys accepted")
	}
	if _, err := NewKeyring(key(1, 1), key(1, 2)); err == nil || !strings.Contains(err.Error(), "key id 1 given twice") {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := NewKeyring(Key{ID: 1, Secret: []byte("short")}); err == nil {
		t.Error("a 5-byte key accepted")
	}
	secret := []byte(strings.Repeat("k", 32))
	kr, _ := NewKeyring(Key{ID: 1, Secret: secret})
	secret[0] = 'X'
	if kr.Send().Secret[0] != 'k' {
		t.Error("the keyring shares the caller's secret")
	}
}

// TestDocKeyFile parses the example key file of docs/AUTH.md.
func TestDocKeyFile(t *testing.T) {
	b, err := os.ReadFile("../docs/AUTH.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "```\n# /etc/ucarp/keys")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/AUTH.md: no example key file")
	}
	kr, err := ParseKeys(strings.NewReader("#"+block), "docs/AUTH.md")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(kr.IDs()) != "[2 1]" {
		t.Fatalf("ids %v", kr.IDs())
	}
}
