package pair

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshServer is an SSH server on the loopback that runs nothing: it
// records each command and answers "id -u" with uid, anything else with
// "ok". Only the client's key or the password "pw" let one in.
type sshServer struct {
	addr     string
	hostKey  ssh.Signer
	uid      string
	mu       sync.Mutex
	commands []string
}

func newSSHServer(t *testing.T, clientKey ssh.PublicKey, uid string) *sshServer {
	_, hk, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ := ssh.NewSignerFromKey(hk)
	s := &sshServer{hostKey: hostKey, uid: uid}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(clientKey.Marshal()) {
				return nil, nil
			}
			return nil, os.ErrPermission
		},
		PasswordCallback: func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == "pw" {
				return nil, nil
			}
			return nil, os.ErrPermission
		},
	}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("skipped: no loopback: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *sshServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, reqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range reqs {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				var p struct{ Command string }
				ssh.Unmarshal(req.Payload, &p)
				req.Reply(true, nil)
				s.mu.Lock()
				s.commands = append(s.commands, p.Command)
				s.mu.Unlock()
				if strings.HasSuffix(p.Command, "id -u'") {
					ch.Write([]byte(s.uid + "\n"))
				} else {
					ch.Write([]byte("ok\n"))
				}
				ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
				return
			}
		}()
	}
}

func writeKnownHosts(t *testing.T, dir, addr string, key ssh.PublicKey) string {
	p := filepath.Join(dir, "known_hosts")
	host, port, _ := net.SplitHostPort(addr)
	line := "[" + host + "]:" + port + " " + string(ssh.MarshalAuthorizedKey(key))
	os.WriteFile(p, []byte(line), 0o600)
	return p
}

func TestDial(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SSH_AUTH_SOCK", "")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	keyFile := filepath.Join(dir, "id")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	signer, _ := ssh.NewSignerFromKey(priv)
	srv := newSSHServer(t, signer.PublicKey(), "1000")
	ctx := context.Background()

	// A key that is not the host's: a mismatch, said so.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	kh := writeKnownHosts(t, dir, srv.addr, otherSigner.PublicKey())
	_, err := Dial(ctx, "admin@"+srv.addr, SSHConfig{KeyFiles: []string{keyFile}, KnownHosts: []string{kh}})
	if err == nil || !strings.Contains(err.Error(), "HOST KEY MISMATCH") || !strings.Contains(err.Error(), kh+":1") {
		t.Fatalf("a wrong host key: %v", err)
	}
	// A host that known_hosts does not know.
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	_, err = Dial(ctx, "admin@"+srv.addr, SSHConfig{KeyFiles: []string{keyFile}, KnownHosts: []string{empty}})
	if err == nil || !strings.Contains(err.Error(), "its host key is not in") {
		t.Fatalf("an unknown host: %v", err)
	}

	// The right key: a login that is not root runs commands with sudo.
	kh = writeKnownHosts(t, dir, srv.addr, srv.hostKey.PublicKey())
	s, err := Dial(ctx, "admin@"+srv.addr, SSHConfig{KeyFiles: []string{keyFile}, KnownHosts: []string{kh}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(ctx, "cat /etc/os-release", nil)
	s.Close()
	if err != nil || out != "ok\n" {
		t.Fatalf("Run: %q %v", out, err)
	}
	srv.mu.Lock()
	last := srv.commands[len(srv.commands)-1]
	srv.mu.Unlock()
	if want := `sudo -n sh -c 'LC_ALL=C; export LC_ALL; cat /etc/os-release'`; last != want {
		t.Errorf("ran %q, want %q", last, want)
	}

	// Password authentication, when asked; root needs no sudo.
	srv.uid = "0"
	asked := ""
	t.Setenv("HOME", dir) // no key of ours in ~/.ssh
	s, err = Dial(ctx, srv.addr, SSHConfig{KnownHosts: []string{kh},
		Password: func(user, host string) (string, error) { asked = user + "@" + host; return "pw", nil }})
	if err != nil {
		t.Fatal(err)
	}
	s.Run(ctx, "true", nil)
	s.Close()
	srv.mu.Lock()
	last = srv.commands[len(srv.commands)-1]
	srv.mu.Unlock()
	if last != `sh -c 'LC_ALL=C; export LC_ALL; true'` {
		t.Errorf("as root: ran %q", last)
	}
	if asked != "root@127.0.0.1" {
		t.Errorf("the password was asked for %q", asked)
	}
}

// TestDialSilentServer: a server that accepts and then says nothing
// fails the handshake at the timeout, or at once when ctx is cancelled.
func TestDialSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	kh := filepath.Join(t.TempDir(), "kh")
	os.WriteFile(kh, nil, 0o600)
	dial := func(ctx context.Context, timeout time.Duration) error {
		done := make(chan error, 1)
		go func() {
			_, err := Dial(ctx, ln.Addr().String(), SSHConfig{KnownHosts: []string{kh}, Timeout: timeout})
			done <- err
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Dial still waits on a silent server")
			return nil
		}
	}
	if err := dial(context.Background(), 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("the timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := dial(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
