package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Options bound what a server accepts. The zero value takes the defaults.
type Options struct {
	// AdminGroup is the group (name or gid) whose members may use the
	// changing verbs besides root; "" allows root only.
	AdminGroup string
	// MaxConns is the number of connections served at once; one more is
	// answered busy and closed. Default 32.
	MaxConns int
	// MaxRequest is the longest request line in bytes. Default 4 KiB.
	MaxRequest int
	// IdleTimeout is how long a connection may wait before its next
	// request. Default 1 minute.
	IdleTimeout time.Duration
	// WriteTimeout bounds the writing of one response or event: a client
	// that reads no faster is dropped. Default 5 seconds.
	WriteTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxConns     = 32
	DefaultMaxRequest   = 4 << 10
	DefaultIdleTimeout  = time.Minute
	DefaultWriteTimeout = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxRequest <= 0 {
		o.MaxRequest = DefaultMaxRequest
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	return o
}

// server is one Serve call.
type server struct {
	b        Backend
	opts     Options
	adminGID int
	peerOf   func(net.Conn) peer // peerOf; tests fake the credentials
}

// Serve answers the requests of the connections that ln accepts (a unix
// listener, for the credentials) from b, until ctx is done; then it closes
// ln and every connection and returns nil once they are all finished.
// It returns an error if the control group is unknown or ln fails.
func Serve(ctx context.Context, ln net.Listener, b Backend, opts Options) error {
	gid, err := LookupGroup(opts.AdminGroup)
	if err != nil {
		ln.Close()
		return err
	}
	s := &server{b: b, opts: opts.withDefaults(), adminGID: gid, peerOf: peerOf}
	return s.serve(ctx, ln)
}

func (s *server) serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer ln.Close() // also when Accept fails for good
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.opts.MaxConns)
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if temporary(err) {
				// Out of descriptors or memory: wait and retry, as
				// net/http does, rather than end the control socket.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		delay = 0
		select {
		case slots <- struct{}{}:
		default:
			// At once, in this goroutine: a line into the empty buffer
			// of a new socket does not block, and a flood of
			// connections then costs no goroutine each.
			s.refuse(c)
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			s.handle(ctx, c)
		})
	}
}

// temporary says whether an accept error may go away by itself.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// refuse answers a connection over the limit and closes it.
func (s *server) refuse(c net.Conn) {
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	writeLine(c, fail(errorf(CodeBusy, "too many connections (%d)", s.opts.MaxConns)))
}

// conn is one connection being served.
type conn struct {
	s    *server
	c    net.Conn
	r    *bufio.Reader
	peer peer
}

func (s *server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	cn := &conn{s: s, c: c, r: bufio.NewReaderSize(c, 512), peer: s.peerOf(c)}
	for {
		c.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		line, err := readLine(cn.r, s.opts.MaxRequest)
		if errors.Is(err, errTooLong) {
			cn.write(fail(errorf(CodeTooLong, "request longer than %d bytes", s.opts.MaxRequest)))
			return
		}
		if err != nil {
			return // EOF, the idle timeout, or the server stopping
		}
		if len(line) == 0 {
			continue
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			if !cn.write(fail(errorf(CodeBadRequest, "bad request: %v", err))) {
				return
			}
			continue
		}
		if req.Verb == VerbWatch && req.V >= 0 && req.V <= Version {
			cn.watch(ctx)
			return
		}
		if !cn.write(cn.answer(req)) {
			return
		}
	}
}

var errTooLong = errors.New("line too long")

// readLine reads a line of at most max bytes, without its newline. A
// longer line is errTooLong, and the connection cannot go on.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 { // +1: the newline
			return nil, errTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil // a last request without its newline
		default:
			return nil, err
		}
	}
}

// write sends one line within the write timeout, and says whether the
// connection can go on.
func (cn *conn) write(r Response) bool {
	cn.c.SetWriteDeadline(time.Now().Add(cn.s.opts.WriteTimeout))
	return writeLine(cn.c, r) == nil
}

func writeLine(w io.Writer, r Response) error {
	r.V = Version
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(fail(fmt.Errorf("control: %w", err)))
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func fail(err error) Response {
	return Response{Error: err.Error(), Code: codeOf(err)}
}

// answer serves one request other than watch.
func (cn *conn) answer(req Request) Response {
	s := cn.s
	switch {
	case req.V < 0 || req.V > Version:
		return fail(errorf(CodeVersion, "protocol version %d, this server speaks %d", req.V, Version))
	case req.Verb == VerbStatus:
		return Response{OK: true, Groups: wireGroups(s.b.Status())}
	case req.Verb == VerbExplain:
		return cn.explain(req.Group)
	case !changing(req.Verb):
		return fail(errorf(CodeUnknownVerb, "unknown verb %q", req.Verb))
	case !cn.peer.may(s.adminGID):
		return fail(cn.refusal(req.Verb))
	}
	var err error
	switch req.Verb {
	case VerbReload:
		err = s.b.Reload()
	case VerbMaintenance:
		return cn.maintenance(req)
	case VerbDemote, VerbPromote:
		if req.Verb == VerbDemote && (req.Level < 0 || req.Level > MaxDemotion) {
			return fail(errorf(CodeBadRequest, "demotion level %d out of 0 to %d", req.Level, MaxDemotion))
		}
		var g Group
		if g, err = SelectOne(s.b.Status(), req.Group); err != nil {
			break
		}
		if req.Verb == VerbDemote {
			err = s.b.Demote(g.Name, req.Level)
		} else {
			err = s.b.Promote(g.Name)
		}
	}
	if err != nil {
		return fail(wrapPrefix(err))
	}
	return Response{OK: true}
}

// maintenance serves the maintenance verb: every group selected, and
// the groups after it.
func (cn *conn) maintenance(req Request) Response {
	mb, ok := cn.s.b.(Maintainer)
	if !ok {
		return fail(errorf(CodeNotSupported, "maintenance is not supported by this daemon"))
	}
	if req.Mode != "on" && req.Mode != "off" {
		return fail(errorf(CodeBadRequest, "maintenance mode %q: on or off", req.Mode))
	}
	gs, err := Select(cn.s.b.Status(), req.Group)
	if err != nil {
		return fail(err)
	}
	for _, g := range gs {
		if err := mb.Maintenance(g.Name, req.Mode == "on", req.Persistent); err != nil {
			return fail(wrapPrefix(err))
		}
	}
	after, _ := Select(cn.s.b.Status(), req.Group)
	return Response{OK: true, Groups: wireGroups(after)}
}

// refusal says why a changing verb is refused.
func (cn *conn) refusal(verb string) error {
	who := cn.peer.String()
	if !cn.peer.known && cn.peer.err != nil {
		who = fmt.Sprintf("a peer whose credentials are unknown (%v)", cn.peer.err)
	}
	need := "root"
	if cn.s.opts.AdminGroup != "" {
		need = fmt.Sprintf("root or a member of group %s", cn.s.opts.AdminGroup)
	}
	return errorf(CodePermission, "%s is refused to %s: it takes %s", who, verb, need)
}

// wrapPrefix gives a backend's error the package's prefix if it has none.
func wrapPrefix(err error) error {
	if e, ok := err.(*Error); ok && e.Message == "" {
		// A bare sentinel: say whose word it is.
		return errorf(e.Code, "%s", e.Code)
	}
	return err
}

func (cn *conn) explain(sel string) Response {
	gs, err := Select(cn.s.b.Status(), sel)
	if err != nil {
		return fail(err)
	}
	ex := make([]Explanation, 0, len(gs))
	for _, g := range gs {
		text, err := cn.s.b.Explain(g.Name)
		if err != nil {
			return fail(wrapPrefix(err))
		}
		ex = append(ex, Explanation{Group: g.Name, Interface: g.Interface, VHID: g.VHID, Text: text})
	}
	return Response{OK: true, Explanations: ex}
}

// wireGroups gives the lists and maps that a backend left nil their empty
// value, so that scripts always find [] and {} rather than null.
func wireGroups(gs []Group) []Group {
	gs = slices.Clone(nonNil(gs)) // the backend's own slice is not ours to change
	for i := range gs {
		g := &gs[i]
		g.Addresses = nonNil(g.Addresses)
		g.Peers = nonNil(g.Peers)
		g.Transitions = nonNil(g.Transitions)
		g.Probes = nonNil(g.Probes)
		if g.Counters.Dropped == nil {
			g.Counters.Dropped = map[string]uint64{}
		}
	}
	return gs
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// watch streams events until the client hangs up, falls behind or the
// server stops. The first line is an OK response: the subscription is
// live.
func (cn *conn) watch(ctx context.Context) {
	events, cancel := cn.s.b.Subscribe()
	defer cancel()
	if !cn.write(Response{OK: true}) {
		return
	}
	// The client sends nothing more: a read that returns means it hung up
	// (or sent something it should not have: hang up too).
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		cn.c.SetReadDeadline(time.Time{})
		io.Copy(io.Discard, io.LimitReader(cn.r, 1))
	}()
	defer func() { cn.c.Close(); <-gone }()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				cn.write(fail(errorf(CodeDropped, "watch ended: events came faster than this client read them, or the daemon stopped")))
				return
			}
			if !cn.write(Response{OK: true, Event: &ev}) {
				return
			}
		case <-gone:
			return
		case <-ctx.Done():
			return
		}
	}
}
