package health

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Check runs a probe once and returns nil when its target is healthy. It
// must return soon after ctx is done: at the probe's timeout, or when the
// Runner stops. NewCheck returns the real ones; tests inject their own.
type Check func(ctx context.Context) error

// NewCheck returns the check of the valid spec s (as Table.Spec and
// ParseFlag return it). A check's error describes the target ("status
// 503, expected 200"), for a probe's status; the Runner turns a check
// that outlives its timeout into "timed out after …".
func NewCheck(s Spec) (Check, error) {
	if _, msg := checkTarget(s.Type, s.Target); s.Type.valid() && (msg != "" || s.Target == "") {
		return nil, &Error{Probe: s.Name, Key: "target", Msg: cmp.Or(msg, "missing")}
	}
	switch s.Type {
	case TypeICMP:
		return icmpCheck(s.Target)
	case TypeTCP:
		return tcpCheck(s.Target), nil
	case TypeHTTP, TypeHTTPS:
		return httpCheck(s.Target, s.Expect, s.Insecure), nil
	case TypeExec:
		return execCheck(strings.Fields(s.Target)), nil
	case TypeFile:
		return fileCheck(s.Target), nil
	case TypeInterface:
		return interfaceCheck(s.Target), nil
	}
	return nil, fmt.Errorf("health: probe %q: no probe type %d", s.Name, s.Type)
}

// tcpCheck connects to target, HOST:PORT, and closes the connection.
func tcpCheck(target string) Check {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// httpCheck gets url and compares the status with expect. It follows no
// redirect (a 301 is the status), uses no proxy whatever the environment
// says, and keeps no connection open between two checks.
func httpCheck(url string, expect int, insecure bool) Check {
	client := &http.Client{
		Transport: &http.Transport{
			DialContext:            (&net.Dialer{}).DialContext,
			DisableKeepAlives:      true,
			TLSClientConfig:        &tls.Config{InsecureSkipVerify: insecure},
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "ucarp-go-health")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != expect {
			return fmt.Errorf("status %d, expected %d", resp.StatusCode, expect)
		}
		return nil
	}
}

// maxFileNumber is the most of a file that the file probe reads: a number
// and its spaces.
const maxFileNumber = 64

// fileCheck is healthy when path is a regular file that is empty, holds
// only spaces, or holds the integer 0 (spaces around it allowed).
func fileCheck(path string) Check {
	return func(context.Context) error {
		// Stat first: opening a FIFO would wait for a writer.
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b := make([]byte, maxFileNumber+1)
		n, err := io.ReadFull(f, b)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return err
		}
		text := strings.TrimSpace(string(b[:n]))
		if n > maxFileNumber {
			return fmt.Errorf("%s holds more than %d bytes, not a number", path, maxFileNumber)
		}
		if text == "" {
			return nil
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("%s holds %q, not an integer", path, text)
		}
		if v != 0 {
			return fmt.Errorf("%s holds %d", path, v)
		}
		return nil
	}
}
