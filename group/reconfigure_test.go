package group

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestLoopReconfigure: a reload changes a running MASTER in place. Its
// next advert already carries the new skew, at the new interval, with no
// transition and no script run; a change of identity is refused and
// changes nothing.
func TestLoopReconfigure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newFakeRunner(time.Second, time.Second, 0)
		h := startHarnessWith(t, func(c *testConfig) { c.UpScript, c.DownScript, c.manage = "/up", "/down", manageOn }, r)
		defer h.close()
		h.at(4 * time.Second) // MASTER since 3.390625 s, adverts every 1.390625 s
		cfg := *h.d.cfg
		cfg.AdvSkew = 0
		cfg.ScriptTimeout = 7 * time.Second
		if err := h.d.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		h.at(10 * time.Second)
		ads := h.conn.adverts()
		var after []time.Duration
		for _, a := range ads {
			if at := a.at.Sub(h.t0); at > 4*time.Second {
				if a.h.AdvSkew != 0 {
					t.Fatalf("advert at %v with advskew %d", at, a.h.AdvSkew)
				}
				after = append(after, at)
			}
		}
		// The shorter interval applies at once: one interval after the last
		// advert sent (3.390625 s), before the old deadline (4.78125 s).
		if len(after) < 2 || after[0] != us(4_390_625) || after[1] != us(5_390_625) {
			t.Fatalf("adverts after the reload at %v", after)
		}
		if n := h.logs.count("Switching to state"); n != 2 { // the start's BACKUP, the takeover's MASTER
			t.Fatalf("%d transitions:\n%s", n, h.logs)
		}
		if n := len(r.history()); n != 2 { // the start's down script, the takeover's up script
			t.Fatalf("%d scripts ran", n)
		}
		r.mu.Lock()
		timeout := r.timeout
		r.mu.Unlock()
		if timeout != 7*time.Second {
			t.Fatalf("script timeout %v after the reload", timeout)
		}

		bad := cfg
		bad.Password = []byte("other")
		if err := h.d.Reconfigure(bad); !errors.Is(err, ErrIdentity) {
			t.Fatalf("a new password in place: %v", err)
		}
		bad = cfg
		bad.AdvBase, bad.AdvSkew = 0, 0
		if err := h.d.Reconfigure(bad); err == nil {
			t.Fatal("advbase and advskew both 0 accepted")
		}
		if h.d.cfg.AdvSkew != 0 || string(h.d.cfg.Password) != "carplab" {
			t.Fatalf("a refused reload changed the group: %+v", h.d.cfg)
		}
	})
}
