package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"time"
)

// Client talks to one socket. Its methods are not safe for concurrent
// use; a Watch takes the connection over until it returns.
type Client struct {
	path    string
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
}

// DefaultClientTimeout bounds a client's connect and each request.
const DefaultClientTimeout = 10 * time.Second

// Dial connects to the socket path.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, DefaultClientTimeout)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	// Responses are one line each, however many groups: no limit here
	// but the memory that a status of the node takes.
	return &Client{path: path, c: c, r: bufio.NewReaderSize(c, 64<<10), timeout: DefaultClientTimeout}, nil
}

// Path is the socket's path.
func (c *Client) Path() string { return c.path }

// Close hangs up.
func (c *Client) Close() error { return c.c.Close() }

// Do sends one request and returns its response; a failed response is an
// *Error.
func (c *Client) Do(req Request) (Response, error) {
	req.V = Version
	c.c.SetDeadline(time.Now().Add(c.timeout))
	defer c.c.SetDeadline(time.Time{})
	if err := c.send(req); err != nil {
		return Response{}, err
	}
	return c.receive()
}

func (c *Client) send(req Request) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("control: %s: %w", c.path, err)
	}
	return nil
}

// MaxResponse bounds a response line: a socket that streams one endless
// line (a broken or hostile server) costs at most this much memory.
const MaxResponse = 16 << 20

func (c *Client) receive() (Response, error) {
	line, err := readLine(c.r, MaxResponse)
	if errors.Is(err, errTooLong) {
		return Response{}, fmt.Errorf("control: %s: response longer than %d bytes", c.path, MaxResponse)
	}
	if err != nil {
		return Response{}, fmt.Errorf("control: %s: %w", c.path, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("control: %s: bad response: %w", c.path, err)
	}
	if !resp.OK {
		return resp, &Error{Code: resp.Code, Message: resp.Error}
	}
	return resp, nil
}

// Status returns every group of the socket.
func (c *Client) Status() ([]Group, error) {
	resp, err := c.Do(Request{Verb: VerbStatus})
	return resp.Groups, err
}

// Explain explains the groups that sel selects (Select).
func (c *Client) Explain(sel string) ([]Explanation, error) {
	resp, err := c.Do(Request{Verb: VerbExplain, Group: sel})
	return resp.Explanations, err
}

// Demote sets the control socket's demotion of the group sel to level.
func (c *Client) Demote(sel string, level int) error {
	_, err := c.Do(Request{Verb: VerbDemote, Group: sel, Level: level})
	return err
}

// Maintenance puts the groups that sel selects (all for "") in
// maintenance (on) or takes them out, and returns them as they are right
// after: a handoff goes on in the daemon (Status follows it).
func (c *Client) Maintenance(sel string, on, persistent bool) ([]Group, error) {
	mode := "off"
	if on {
		mode = "on"
	}
	resp, err := c.Do(Request{Verb: VerbMaintenance, Group: sel, Mode: mode, Persistent: persistent})
	return resp.Groups, err
}

// Promote sets the control socket's demotion of the group sel back to 0.
func (c *Client) Promote(sel string) error {
	_, err := c.Do(Request{Verb: VerbPromote, Group: sel})
	return err
}

// SyncState returns the daemon's sync groups and their failure levels.
func (c *Client) SyncState() ([]SyncState, error) {
	resp, err := c.Do(Request{Verb: VerbSyncState})
	return resp.Sync, err
}

// Reload makes the daemon read its configuration again.
func (c *Client) Reload() error {
	_, err := c.Do(Request{Verb: VerbReload})
	return err
}

// Watch calls f with each event until ctx is done (then it returns nil),
// f returns an error, or the server ends the watch. The connection is
// closed when Watch returns.
func (c *Client) Watch(ctx context.Context, f func(Event) error) error {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.c.Close() })
	defer stop()
	c.c.SetDeadline(time.Now().Add(c.timeout))
	err := c.send(Request{V: Version, Verb: VerbWatch})
	if err == nil {
		_, err = c.receive()
	}
	c.c.SetDeadline(time.Time{})
	for err == nil {
		var resp Response
		if resp, err = c.receive(); err != nil {
			break
		}
		if resp.Event != nil {
			err = f(*resp.Event)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Sockets lists the sockets in dir (*.sock), sorted.
func Sockets(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.sock"))
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	sort.Strings(paths)
	return paths, nil
}

// DialTimeout connects to the socket path, giving up on the connect and
// on each request after timeout: for a daemon that asks its neighbours
// on a schedule and must not wait long for one that hangs.
// ServerUID is the user id of the process that serves the socket, as the
// kernel says (SO_PEERCRED, LOCAL_PEERCRED); false where it cannot say.
func (c *Client) ServerUID() (uint32, bool) {
	p := peerOf(c.c)
	return p.uid, p.known
}

func DialTimeout(path string, timeout time.Duration) (*Client, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return &Client{path: path, c: c, r: bufio.NewReaderSize(c, 64<<10), timeout: timeout}, nil
}
