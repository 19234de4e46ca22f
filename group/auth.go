package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/carpauth"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// AuthConfig is --auth=hmac-sha256 (docs/AUTH.md): the extension that
// signs every advert with HMAC-SHA256 and a sequence that receivers check
// against a replay window. A nil *AuthConfig in Config is --auth=carp,
// plain CARP, which changes nothing of what ucarp does.
type AuthConfig struct {
	// Mode is --auth-mode: ReceiveOnly, Permissive or Enforce.
	Mode carpauth.Mode
	// Keys is the key file's keys, the first the one that signs.
	Keys *carpauth.Keyring
	// Window is --replay-window; carpauth.DefaultWindow if 0.
	Window time.Duration
	// KeyFile is --keyfile as given, for the status.
	KeyFile string
	// RelaxTTL is --relax-ttl: adverts of any TTL or hop limit are
	// accepted. Only with Mode Enforce (the caller checks).
	RelaxTTL bool
}

// AuthStatus is the extension's part of Status.
type AuthStatus struct {
	Mode    string  // "off" (--auth=carp), receive-only, permissive or enforce
	KeyID   int     // the id of the key that signs; -1 when nothing is signed
	KeyIDs  []uint8 // every key accepted
	Window  time.Duration
	Senders int // the senders whose last sequence is remembered
	// Adverts counts the verdicts: by result ("verified", "replay", ...)
	// the adverts accepted and dropped. Only the results seen are present.
	Accepted, Dropped map[string]uint64
}

// authState is the group's part of the extension. The verifier is used on
// the reader's goroutine and is safe for concurrent use; the signer is the
// loop's. Both live as long as the group, so that a reload keeps the
// sequence and the replay state.
type authState struct {
	verifier *carpauth.Verifier
	signer   *carpauth.Signer // nil until the extension is first configured
	counts   carpauth.Counters
	sends    bool // the loop's copy of the mode's Sends
	// relaxTTL is --relax-ttl, read by the reader: an advert dropped for
	// its TTL alone is checked again as if its TTL were 255.
	relaxTTL atomic.Bool
	scratch  []byte // the reader's copy of such an advert
	// The rate limit of the drop lines: the reader's and the flush's.
	limMu sync.Mutex
	drops rateLimit
	// leading is the loop's: the signer's sequence was last seen ahead of
	// the wall clock by more than the window (logged once a time).
	leading bool
}

var errAuthConfig = errors.New("group: --auth=hmac-sha256 needs keys and a mode of receive-only, permissive or enforce")

// newAuthState builds the extension's state for c.
func newAuthState(c *Config) (*authState, error) {
	a := &authState{}
	var err error
	a.verifier, err = carpauth.NewVerifier(nil, c.hashed(), carpauth.Config{})
	if err != nil {
		return nil, err
	}
	return a, a.configure(c)
}

// configure applies c.Auth, at the start and on a reload: keys and mode
// change, the sequence and the replay state stay.
func (a *authState) configure(c *Config) error {
	ac := c.Auth
	if ac != nil && (ac.Keys == nil || ac.Mode == carpauth.Off || ac.Mode > carpauth.Enforce) {
		return errAuthConfig
	}
	if ac == nil {
		a.verifier.SetMode(carpauth.Off)
		a.sends = false
		a.relaxTTL.Store(false)
		return nil
	}
	if err := a.verifier.SetAddrs(c.hashed()); err != nil {
		return err
	}
	a.verifier.SetKeys(ac.Keys)
	a.verifier.SetWindow(ac.Window)
	if a.signer == nil {
		s, err := carpauth.NewSigner(ac.Keys, c.hashed())
		if err != nil {
			return err
		}
		a.signer = s
		a.signer.SetWindow(ac.Window)
	} else {
		a.signer.SetWindow(ac.Window)
		a.signer.SetKeys(ac.Keys)
		if err := a.signer.SetAddrs(c.hashed()); err != nil {
			return err
		}
	}
	a.verifier.SetMode(ac.Mode)
	a.sends = ac.Mode.Sends()
	a.relaxTTL.Store(ac.RelaxTTL && ac.Mode == carpauth.Enforce)
	return nil
}

// anyTTL is --relax-ttl: pkt, which the plain checks dropped for its TTL
// (or hop limit) alone, is checked again with a TTL of 255, so that the
// other tests still apply; the trailer, which every advert must then
// carry (enforce), does not cover the TTL. Called by the reader.
func (d *Group) anyTTL(pkt []byte, r *received) carp.Drop {
	a := d.ext
	a.scratch = append(a.scratch[:0], pkt...)
	b := a.scratch
	if b[0]>>4 == 6 {
		b[7] = carp.HopLimit
		return d.check6(b, r)
	}
	if len(b) < carp.IPv4HeaderLen {
		return carp.Drop{Reason: carp.DropBogusSize, Value: len(b)}
	}
	// The checksum that ucarp sums covers the IPv4 header: update it for
	// the new TTL (RFC 1624), so that a correct one stays correct and a
	// wrong one wrong.
	old := binary.BigEndian.Uint16(b[8:10])
	b[8] = carp.TTL
	sum := uint32(^binary.BigEndian.Uint16(b[10:12])) + uint32(^old) + uint32(binary.BigEndian.Uint16(b[8:10]))
	sum = sum&0xffff + sum>>16
	sum = sum&0xffff + sum>>16
	binary.BigEndian.PutUint16(b[10:12], ^uint16(sum))
	drop := d.val.Check(b, &r.hdr)
	if drop.Accepted() {
		r.src = carp.Source(b)
	}
	return drop
}

// sealIPv4 appends the trailer to the IPv4 advert in b when the mode
// sends it.
func (a *authState) sealIPv4(b []byte, now time.Time) ([]byte, error) {
	if !a.sends {
		return b, nil
	}
	return a.signer.SealIPv4(b, now)
}

// sealIPv6 appends the trailer to the IPv6 advert in b (header and 36
// CARP bytes) when the mode sends it, and makes the payload length cover
// it.
func (a *authState) sealIPv6(b []byte, now time.Time) ([]byte, error) {
	if !a.sends || len(b) != carp.Packet6Len {
		return b, nil
	}
	src := netip.AddrFrom16([16]byte(b[8:24]))
	dst := netip.AddrFrom16([16]byte(b[24:40]))
	out, err := a.signer.AppendTrailer(b, src, dst, b[carp.IPv6HeaderLen:], now)
	if err != nil {
		return b, err
	}
	binary.BigEndian.PutUint16(out[4:6], uint16(len(out)-carp.IPv6HeaderLen))
	return out, nil
}

// checkAuth applies the extension to pkt, an advert that passed the plain
// CARP checks, counts the verdict and reports whether to drop it. In mode
// Off it costs one call and counts nothing.
func (d *Group) checkAuth(pkt []byte) bool {
	if d.ext.verifier.Mode() == carpauth.Off {
		return false // --auth=carp: the trailer is never looked at
	}
	v := d.authVerdict(pkt, time.Now())
	d.ext.counts.Count(v)
	if v.Drop {
		d.logAuthDrop(v)
	}
	return v.Drop
}

func (d *Group) authVerdict(pkt []byte, now time.Time) carpauth.Verdict {
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		if len(pkt) < carp.Packet6Len {
			return carpauth.Verdict{Drop: true, Result: carpauth.ResultMalformed}
		}
		src := netip.AddrFrom16([16]byte(pkt[8:24]))
		dst := netip.AddrFrom16([16]byte(pkt[24:40]))
		end := carp.IPv6HeaderLen + int(binary.BigEndian.Uint16(pkt[4:6]))
		end = max(min(end, len(pkt)), carp.Packet6Len)
		return d.ext.verifier.Check(src, dst, pkt[carp.IPv6HeaderLen:end], now)
	}
	return d.ext.verifier.CheckIPv4(pkt, now)
}

// logAuthDrop logs an advert that the extension dropped, at WARNING,
// rate-limited as the other drops (one line a flushEvery, then a count).
func (d *Group) logAuthDrop(v carpauth.Verdict) {
	if !d.log.enabled(slog.LevelWarn) {
		return
	}
	d.ext.limMu.Lock()
	ok := d.ext.drops.allow(time.Now())
	d.ext.limMu.Unlock()
	if ok {
		d.log.eventf(logfield.AdvertDrop, []slog.Attr{logfield.Reason("auth-" + v.Result.String())}, slog.LevelWarn,
			"Advert dropped by --auth-mode=enforce: %s", v.Result)
	}
}

// flushAuthLimits reports the drop lines left out since the last report.
func (d *Group) flushAuthLimits() {
	d.ext.limMu.Lock()
	n := d.ext.drops.suppressed
	d.ext.drops.suppressed = 0
	d.ext.limMu.Unlock()
	if n > 0 {
		d.log.eventf(logfield.AdvertDrop, []slog.Attr{logfield.Reason("auth")}, slog.LevelWarn,
			"%d more adverts dropped by --auth-mode=enforce in the last %v (log lines rate-limited)", n, flushEvery)
	}
	d.checkLead()
}

// checkLead warns, once, when the sequence sent is ahead of the wall
// clock by more than the replay window (the wall clock stepped back while
// this host sent): receivers that do not remember this host drop its
// adverts as "future" until the wall clock catches up (docs/AUTH.md).
func (d *Group) checkLead() {
	a := d.ext
	if a.signer == nil || !a.sends {
		return
	}
	lead, w := a.signer.Lead(), a.verifier.Window()
	switch {
	case lead > w && !a.leading:
		a.leading = true
		d.log.Warnf("--auth=hmac-sha256: the advert sequence is %v ahead of the wall clock (stepped back?), more than --replay-window %v: "+
			"peers that restart drop this host's adverts as future until the clock catches up", lead.Round(time.Millisecond), w)
	case lead <= w && a.leading:
		a.leading = false
		d.log.Infof("--auth=hmac-sha256: the advert sequence is back within --replay-window of the wall clock")
	}
}

// authStatus is the extension's part of the status.
func (d *Group) authStatus() AuthStatus {
	a := d.ext
	s := AuthStatus{Mode: a.verifier.Mode().String(), KeyID: -1, Senders: a.verifier.Senders(),
		Accepted: map[string]uint64{}, Dropped: map[string]uint64{}}
	if ac := d.cfg.Auth; ac != nil {
		s.KeyIDs = ac.Keys.IDs()
		s.Window = a.verifier.Window()
		if ac.Mode.Sends() {
			s.KeyID = int(ac.Keys.Send().ID)
		}
	}
	for r := range carpauth.NumResults {
		if n := a.counts.Accepted(r); n > 0 {
			s.Accepted[r.String()] = n
		}
		if n := a.counts.Dropped(r); n > 0 {
			s.Dropped[r.String()] = n
		}
	}
	return s
}

// authStatsLine is the extension's part of the counters line (SIGUSR1):
// nothing in plain CARP, so that ucarp's line stays as it was.
func (d *Group) authStatsLine() string {
	a := d.ext
	m := a.verifier.Mode()
	if m == carpauth.Off {
		return ""
	}
	var parts []string
	for r := range carpauth.NumResults {
		if n := a.counts.Accepted(r); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
		if n := a.counts.Dropped(r); n > 0 {
			parts = append(parts, fmt.Sprintf("%s dropped %d", r, n))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none yet"}
	}
	return fmt.Sprintf(", auth %s: %s", m, strings.Join(parts, ", "))
}
