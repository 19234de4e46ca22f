package group

import (
	"log/slog"
	"time"

	"github.com/ucarp-go/ucarp/carp"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// Rate limit of the log lines about dropped packets, per reason: a burst
// of limitBurst lines, then one per limitEvery. A peer with a wrong
// password, which sends one advert a second, is logged every time, as
// ucarp logs it; a flood of forged packets cannot fill the disk. What was
// left out is counted and reported.
const (
	limitBurst = 10
	limitEvery = time.Second
	flushEvery = 10 * time.Second // how often the lines left out are reported
)

type rateLimit struct {
	tokens     float64
	last       time.Time
	suppressed uint64
}

func (l *rateLimit) allow(now time.Time) bool {
	if l.last.IsZero() {
		l.tokens = limitBurst
	} else {
		l.tokens = min(limitBurst, l.tokens+float64(now.Sub(l.last))/float64(limitEvery))
	}
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	l.suppressed++
	return false
}

// logDrop logs a dropped packet with ucarp's words, rate-limited. The
// reader calls it.
func (d *Group) logDrop(drop carp.Drop) {
	level := drop.Level()
	if level == carp.LevelNone {
		return
	}
	l := carpLevel(level)
	if !d.log.enabled(l) {
		return
	}
	d.limMu.Lock()
	if d.limits == nil {
		d.limits = new([carp.NumDropReasons]rateLimit)
	}
	ok := d.limits[drop.Reason].allow(time.Now())
	d.limMu.Unlock()
	if ok {
		d.log.eventf(logfield.AdvertDrop, []slog.Attr{logfield.Reason(drop.Reason.String())}, l, "%s", drop)
	}
}

// flushLimits reports the lines left out since the last report; the
// loop calls it every flushEvery.
func (d *Group) flushLimits() {
	d.flushConflicts()
	var left [carp.NumDropReasons]uint64
	d.limMu.Lock()
	if d.limits != nil {
		for r := range d.limits {
			left[r], d.limits[r].suppressed = d.limits[r].suppressed, 0
		}
	}
	d.limMu.Unlock()
	if n := d.answers.suppressed; n > 0 {
		d.answers.suppressed = 0
		d.log.Warnf("%d more adverts of a non-preferred master left unanswered in the last %v (gratuitous ARP and log line rate-limited)",
			n, flushEvery)
	}
	for r, n := range left {
		if n > 0 {
			d.log.eventf(logfield.AdvertDrop, []slog.Attr{logfield.Reason(carp.DropReason(r).String())},
				carpLevel(carp.DropReason(r).Level()), "%d more packets dropped as %s in the last %v (log lines rate-limited)",
				n, carp.DropReason(r), flushEvery)
		}
	}
	d.flushAuthLimits()
	d.flushPeerLimit()
}
