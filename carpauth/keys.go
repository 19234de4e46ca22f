package carpauth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Key lengths that a key file accepts, in bytes. 32 bytes (64 hex digits,
// `openssl rand -hex 32`) is the size of the HMAC-SHA256 output and the
// recommended length; 16 is the least that is accepted; 64 is the hash's
// block size, beyond which HMAC would hash the key first.
const (
	MinKeyLen = 16
	MaxKeyLen = 64
)

// maxKeyFile is the most a key file may hold; a larger file is not a key
// file (and reading it would cost memory).
const maxKeyFile = 64 << 10

// Key is one HMAC-SHA256 key and the id that names it on the wire.
// String and GoString never show the secret.
type Key struct {
	ID     uint8
	Secret []byte
}

// String names the key by its id only.
func (k Key) String() string { return "key " + strconv.Itoa(int(k.ID)) }

// GoString names the key by its id only, for %#v.
func (k Key) GoString() string { return "carpauth.Key{ID: " + strconv.Itoa(int(k.ID)) + "}" }

// Keyring is the keys of one group: the first one signs what the group
// sends, and every one is accepted on receipt, so that keys rotate
// without a switchover (see the package documentation).
type Keyring struct {
	keys []Key
}

// NewKeyring returns the keyring of keys, the first the sending key. It
// needs at least one key, ids used once, and secrets of MinKeyLen to
// MaxKeyLen bytes. The secrets are copied.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("carpauth: no keys")
	}
	var seen [256]bool
	kr := &Keyring{keys: make([]Key, 0, len(keys))}
	for _, k := range keys {
		if seen[k.ID] {
			return nil, fmt.Errorf("carpauth: key id %d given twice", k.ID)
		}
		seen[k.ID] = true
		if err := checkKeyLen(len(k.Secret)); err != nil {
			return nil, fmt.Errorf("carpauth: key %d: %w", k.ID, err)
		}
		kr.keys = append(kr.keys, Key{ID: k.ID, Secret: append([]byte(nil), k.Secret...)})
	}
	return kr, nil
}

func checkKeyLen(n int) error {
	if n < MinKeyLen || n > MaxKeyLen {
		return fmt.Errorf("a key has %d to %d bytes (%d to %d hex digits), this one %d", MinKeyLen, MaxKeyLen, 2*MinKeyLen, 2*MaxKeyLen, n)
	}
	return nil
}

// Send is the key that signs: the first of the file.
func (kr *Keyring) Send() Key { return kr.keys[0] }

// Keys returns the keys in the file's order. The caller must not modify
// the secrets.
func (kr *Keyring) Keys() []Key { return kr.keys }

// IDs returns the key ids in the file's order, for logs and status.
func (kr *Keyring) IDs() []uint8 {
	ids := make([]uint8, len(kr.keys))
	for i, k := range kr.keys {
		ids[i] = k.ID
	}
	return ids
}

// ParseKeys reads a key file from r; name is the file's name for error
// messages ("carpauth: NAME:LINE: ...").
//
// The format, one key a line:
//
//	# comment: from '#' to the end of the line
//	ID KEY
//
// ID is a decimal number from 0 to 255, the id carried on the wire. KEY is
// the secret in hexadecimal (upper or lower case), 16 to 64 bytes, that is
// 32 to 128 digits; `openssl rand -hex 32` makes one. Fields are
// separated by spaces or tabs; blank lines and comments are skipped. The
// first key signs; every key listed is accepted. An id may appear once.
func ParseKeys(r io.Reader, name string) (*Keyring, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("carpauth: %s: %w", name, err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("carpauth: %s: larger than %d bytes: not a key file", name, maxKeyFile)
	}
	var (
		keys  []Key
		lines [256]int // the line of each id seen, for the duplicate's message
	)
	for n, s := range strings.Split(string(b), "\n") {
		n++
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		f := strings.Fields(s)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("carpauth: %s:%d: want \"ID KEY\", found %d fields", name, n, len(f))
		}
		id, err := strconv.ParseUint(f[0], 10, 8)
		if err != nil {
			return nil, fmt.Errorf("carpauth: %s:%d: key id %q: want a number from 0 to 255", name, n, f[0])
		}
		if lines[id] != 0 {
			return nil, fmt.Errorf("carpauth: %s:%d: key id %d already on line %d", name, n, id, lines[id])
		}
		lines[id] = n
		secret, err := hex.DecodeString(f[1])
		if err != nil {
			// Not the error's text: it would quote a byte of the secret.
			what := "not hexadecimal (digits 0-9, a-f)"
			if errors.Is(err, hex.ErrLength) {
				what = "an odd number of hex digits"
			}
			return nil, fmt.Errorf("carpauth: %s:%d: key %d: %s", name, n, id, what)
		}
		if err := checkKeyLen(len(secret)); err != nil {
			return nil, fmt.Errorf("carpauth: %s:%d: key %d: %w", name, n, id, err)
		}
		keys = append(keys, Key{ID: uint8(id), Secret: secret})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("carpauth: %s: no keys (lines \"ID KEY\")", name)
	}
	return NewKeyring(keys...)
}

// LoadKeys reads the key file name from fsys; shown is its name in error
// messages (the path the operator gave). Like ssh with a private key, it
// refuses a file that is not a regular file, or whose mode gives group or
// others any access (mode & 0077): the keys are as secret as the
// password. The daemon calls it as
//
//	dir, name := path.Split(file)
//	LoadKeys(os.DirFS(dir), name, file)
func LoadKeys(fsys fs.FS, name, shown string) (*Keyring, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("carpauth: key file %s: %w", shown, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("carpauth: key file %s: not a regular file", shown)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("carpauth: key file %s: mode %#o lets group or others at it; chmod 600 %s", shown, perm, shown)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("carpauth: key file %s: %w", shown, unwrapPath(err))
	}
	defer f.Close()
	return ParseKeys(f, shown)
}

// unwrapPath drops the *fs.PathError around err, whose path is the name
// inside fsys, not the one the operator knows.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CredentialPrefix marks a --keyfile value that names a systemd
// credential rather than a path: --keyfile=credential:NAME reads
// $CREDENTIALS_DIRECTORY/NAME, the file that a unit's
// LoadCredential=NAME:/etc/ucarp/keys (or SetCredentialEncrypted=)
// provides.
const CredentialPrefix = "credential:"

// ResolveKeyFile turns a --keyfile value into the path of the file to
// read: a path is returned as it is; credential:NAME becomes
// $CREDENTIALS_DIRECTORY/NAME, with getenv (os.Getenv) to read the
// environment. NAME is one path element.
func ResolveKeyFile(value string, getenv func(string) string) (string, error) {
	name, ok := strings.CutPrefix(value, CredentialPrefix)
	if !ok {
		if value == "" {
			return "", errors.New("carpauth: empty key file name")
		}
		return value, nil
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return "", fmt.Errorf("carpauth: --keyfile=%s: a credential name is one path element", value)
	}
	dir := getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return "", fmt.Errorf("carpauth: --keyfile=%s: $CREDENTIALS_DIRECTORY is not set: not started by systemd with LoadCredential=%s:FILE", value, name)
	}
	return path.Join(dir, name), nil
}
