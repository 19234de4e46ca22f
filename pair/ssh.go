package pair

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig is how Dial logs in.
type SSHConfig struct {
	// User is the login when the target has no "user@" (default: root).
	User string
	// KeyFiles are private keys (unencrypted, or through the agent).
	// Without any, ~/.ssh/id_ed25519, id_ecdsa and id_rsa are tried.
	KeyFiles []string
	// Password, when not nil, is asked for password authentication.
	Password func(user, host string) (string, error)
	// KnownHosts are the known_hosts files (default ~/.ssh/known_hosts).
	KnownHosts []string
	// Timeout bounds the dial and the SSH handshake, without the time a
	// person takes to type a password (default 15 s).
	Timeout time.Duration
}

// SSHSession is a Session over one SSH connection.
type SSHSession struct {
	name   string
	client *ssh.Client
	sudo   bool
}

// Dial connects to target ([user@]host[:port]) and finds whether
// commands need sudo.
func Dial(ctx context.Context, target string, c SSHConfig) (*SSHSession, error) {
	user, hostport := c.User, target
	if u, h, ok := strings.Cut(target, "@"); ok {
		user, hostport = u, h
	}
	if user == "" {
		user = "root"
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), "22")
	}
	home, _ := os.UserHomeDir()
	files := c.KnownHosts
	if len(files) == 0 {
		files = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	hk, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("pair: known_hosts: %w (connect once with ssh, or ssh-keyscan, to record the host's key)", err)
	}
	var auth []ssh.AuthMethod
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			defer conn.Close()
			auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		}
	}
	keys := c.KeyFiles
	explicit := len(keys) > 0
	if !explicit {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			keys = append(keys, filepath.Join(home, ".ssh", n))
		}
	}
	var signers []ssh.Signer
	for _, k := range keys {
		b, err := os.ReadFile(k)
		if err != nil {
			if explicit {
				return nil, fmt.Errorf("pair: key: %w", err)
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			if explicit {
				return nil, fmt.Errorf("pair: key %s: %w (an encrypted key is used through ssh-agent)", k, err)
			}
			continue
		}
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		auth = append(auth, ssh.PublicKeys(signers...))
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	var conn net.Conn
	if c.Password != nil {
		host, _, _ := net.SplitHostPort(hostport)
		auth = append(auth, ssh.PasswordCallback(func() (string, error) {
			// A person types it: the handshake's deadline waits.
			conn.SetDeadline(time.Time{})
			defer conn.SetDeadline(time.Now().Add(timeout))
			return c.Password(user, host)
		}))
	}
	cfg := &ssh.ClientConfig{
		User:              user,
		Auth:              auth,
		HostKeyCallback:   hk,
		HostKeyAlgorithms: knownAlgorithms(hk, hostport),
		Timeout:           timeout,
	}
	d := net.Dialer{Timeout: timeout}
	conn, err = d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("pair: %s: %w", target, err)
	}
	// NewClientConn has no deadline of its own (cfg.Timeout is the
	// dial's) and no context: a server that accepts and then says
	// nothing would hold it for ever, through Ctrl-C.
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, hostport, cfg)
	cancelled := !stop()
	if err == nil && cancelled {
		sc.Close()
		err = ctx.Err()
	}
	if err == nil {
		err = conn.SetDeadline(time.Time{})
	}
	if err != nil {
		conn.Close()
		if cancelled {
			return nil, fmt.Errorf("pair: %s: %w", target, ctx.Err())
		}
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return nil, fmt.Errorf("pair: %s: its host key is not in %s: check it and record it (ssh %s once, or ssh-keyscan)", target, strings.Join(files, ", "), target)
			}
			return nil, fmt.Errorf("pair: %s: HOST KEY MISMATCH: the key it offers is not the one of %s:%d; if the host was reinstalled, check its new key and ssh-keygen -R it", target, ke.Want[0].Filename, ke.Want[0].Line)
		}
		return nil, fmt.Errorf("pair: %s: %w", target, err)
	}
	s := &SSHSession{name: target, client: ssh.NewClient(sc, chans, reqs)}
	out, err := s.Run(ctx, "id -u", nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	if strings.TrimSpace(out) != "0" {
		s.sudo = true
		if _, err := s.Run(ctx, "true", nil); err != nil {
			s.Close()
			return nil, fmt.Errorf("pair: %s: %s is not root and sudo asks a password (sudo -n: %v): log in as root, or allow %s sudo without a password", target, user, err, user)
		}
	}
	return s, nil
}

// knownAlgorithms are the host key algorithms known_hosts has for the
// host, so that the server offers the key that is recorded.
func knownAlgorithms(hk ssh.HostKeyCallback, hostport string) []string {
	addr, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := hk(hostport, addr, probeKey{}); !errors.As(err, &ke) {
		return nil
	}
	var algs []string
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			algs = append(algs, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algs = append(algs, t)
		}
	}
	return algs
}

// probeKey is a key no host has: known_hosts answers with the keys it
// knows for the host.
type probeKey struct{}

func (probeKey) Type() string                                             { return "probe" }
func (probeKey) Marshal() []byte                                          { return []byte("probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error                      { return errors.New("probe") }
func (probeKey) VerifyWithAlgorithm([]byte, *ssh.Signature, string) error { return errors.New("probe") }

// Host is the target as given.
func (s *SSHSession) Host() string { return s.name }

// Run runs cmd with sh -c as root, in the C locale.
func (s *SSHSession) Run(ctx context.Context, cmd string, stdin []byte) (string, error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return "", fmt.Errorf("pair: %s: %w", s.name, err)
	}
	defer sess.Close()
	full := "LC_ALL=C; export LC_ALL; " + cmd
	if s.sudo {
		full = "sudo -n sh -c " + Quote(full)
	} else {
		full = "sh -c " + Quote(full)
	}
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(full) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		<-done // Run returns once the session is closed
		return out.String(), ctx.Err()
	}
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		if msg != "" {
			return out.String(), fmt.Errorf("%w: %s", err, msg)
		}
		return out.String(), err
	}
	return out.String(), nil
}

// Close ends the connection.
func (s *SSHSession) Close() error { return s.client.Close() }
