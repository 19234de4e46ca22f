package node

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// addrCache is an interface's address table as its groups see it, kept
// in memory: listed once, then kept up to date by the kernel's address
// events (apply) and by the changes made through it, and listed again
// only when events may have been missed (a resync) or after an address
// was added or removed through it. With many groups, each MASTER renews
// its address's lifetime every advert interval: a listing per renewal, or
// per group per event, was most of the daemon's idle cost (quadratic in
// the groups).
//
// Like any table kept from a listing and events, it can lag the kernel
// for the time an event takes to arrive; every change ends with its
// event, after which it is right again, and the group the address
// belongs to looks at it again.
//
// # No group waits for a listing (issue 19)
//
// The kernel answers a listing under its rtnl lock, which other processes
// hold for 100-300 ms (network namespaces made or deleted): a group whose
// look listed the table waited that long, and a MASTER among them missed
// its adverts. So a look never lists: it is served the copy (the last
// listing, with every event and every change of the daemon's since), and
// when that copy is to be confirmed (stale: after a change of the
// daemon's, or a resync), one listing runs on a goroutine of its own, at
// most one per interface. Its result replaces the copy, with the events
// and changes seen while it ran applied again on top (they may be later
// than what it shows; applying one that it shows already changes
// nothing), and the groups whose addresses it changed are told (notify),
// as an event tells them. A change or resync while it ran makes another
// listing follow, since this one may not show it. The very first listing
// (prime, when the node opens the interface, before any group runs) is
// the only one anybody waits for. A group's macvlan (vmac.go) has a cache
// of its own with no events (blind): each look starts a listing if none
// is in flight and is served the last one's result, a look late; the
// group is told when a listing changes it. While its listings fail, a
// look is served the last listing that succeeded plus the daemon's own
// changes (no events keep it): a MASTER still renews or re-adds its
// address, a BACKUP waits, as when the look got the error.
//
// Why a group may act on a stale copy without losing or duplicating the
// address:
//   - A change of the daemon's that succeeded is put in the copy when it
//     returns (an addition or renewal as the kernel keeps it, a deletion
//     removed), so after its own add or delete a group sees what it did,
//     not the table before it: a MASTER that has just added its address
//     does not find it "removed by someone else" and add it again, a
//     BACKUP that has just removed it does not remove it again. (A
//     change of the daemon's makes no event on Linux, so without this the
//     copy would lack it until the listing.)
//   - What the copy can still get wrong is a change of someone else's
//     that raced with one of the daemon's (its event applied before the
//     daemon's change was put in the copy), or that a resync says was
//     missed. The confirming listing is made after the change returned,
//     so it shows the race's outcome, and the groups of every address
//     whose copy it corrects are told and look again: a MASTER adds back
//     an address that went, a BACKUP removes one that came. Until then
//     the group is where it was before this change: it used to wait for
//     the listing and act once it came, it now acts when it comes, and
//     sends its adverts meanwhile. In the other direction (the copy shows
//     an address that is not there, or lacks one that is), a MASTER
//     re-adds an address that is there (a replace, which keeps it: no
//     blink), a BACKUP's delete fails (logged): neither moves the VIP.
//   - A failed listing is made again after 1 s, doubling to 10 s, by the
//     cache itself (a BACKUP looks only when told, so nobody else
//     would), and a retry's failure is logged (once until a listing
//     succeeds); looks and changes start no listing meanwhile (one
//     retry is pending at a time). After the next
//     listing that succeeds, every group is told. Until then the looks
//     are served the copy, which the events and the daemon's changes
//     keep as before: it is only not confirmed. Acting on it is what the
//     point above allows, and nothing worse than acting on nothing: a
//     MASTER goes on renewing its address (had it got the error, its
//     address would expire while the listings fail, the VIP gone from
//     every host), and a group starting on the interface is not failed
//     for it. Only before the first listing that succeeds, when there is
//     no copy, does a look get the error (as when it listed itself).
type addrCache struct {
	sys vip.System
	// notify, when set, tells the groups of an interface that a listing
	// made off their loops changed the copies of addrs (all: every
	// group, whatever its addresses). It is called on the listing's
	// goroutine, without c.mu, and must not wait.
	notify func(all bool, addrs []netip.Addr)
	// blind: no events come for this table (a group's macvlan); every
	// look starts a listing, and is served the last one's result.
	blind bool
	// log receives a failed listing's line; stop ends the retries of
	// failed listings (the interface closed). Both may be nil: no line,
	// no retry (a look lists again).
	log  *slog.Logger
	stop <-chan struct{}

	mu    sync.Mutex
	list  []vip.Address
	known bool  // list holds a listing (and what followed it)
	stale bool  // a change or resync since the last listing began: list again
	err   error // the last listing's failure, until one succeeds
	// listing: one is in flight; seen records the events and changes
	// applied meanwhile, to apply again on its result: each prefix's
	// last, at most maxSeen (overrun: more came, and its result is
	// dropped for another listing's).
	listing, overrun bool
	seen             []platform.AddrEvent
	lists            int // listings made, for tests
	// retryIn is the wait before a failed listing is made again (0: the
	// last listing succeeded).
	retryIn time.Duration
	// retrying: the listing in flight is a retry's; logged: a retry's
	// failure was logged since the last listing that succeeded;
	// retryArmed: a retry's timer is set (one at a time: every change
	// and resync confirms the copy, and each failure of theirs set a
	// timer of its own, a chain every 10 s that piled up while the
	// listings failed).
	retrying, logged, retryArmed bool
}

// maxSeen bounds the events kept for the replay of a listing in flight:
// one per prefix, so past this many prefixes changed during one listing
// (a table churning faster than it can be listed) its result is dropped
// and another listing made.
const maxSeen = 1024

// Retries of a failed listing: after retryFirst, doubling to retryMax.
const (
	retryFirst = time.Second
	retryMax   = 10 * time.Second
)

// prime makes the first listing, waiting for it: when the node opens the
// interface, before any group runs. A failure is kept for the first look,
// which starts another listing.
func (c *addrCache) prime() {
	list, err := c.sys.Addresses()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.err, c.stale = err, true
		return
	}
	c.list, c.known, c.stale, c.err = list, true, false, nil
	c.lists++
}

// look is the copy as a look sees it, starting a listing if the copy is
// to be confirmed. c.mu is held.
func (c *addrCache) look() error {
	if c.blind {
		c.stale = true
	}
	if (c.stale || !c.known) && !c.listing && !c.retryArmed {
		c.startListing()
	}
	switch {
	case c.known:
		return nil
	case c.err != nil:
		return c.err
	}
	return errListing
}

// errListing is a look's answer before the first listing is in (a cache
// not primed).
var errListing = errors.New("node: the address table is being listed")

// startListing lists the table on a goroutine of its own. c.mu is held.
func (c *addrCache) startListing() {
	c.listing, c.stale, c.seen, c.overrun = true, false, c.seen[:0], false
	go c.relist()
}

// confirm has a listing confirm the copy: now, or after the one in
// flight, which may not show what came meanwhile. c.mu is held.
func (c *addrCache) confirm() {
	c.stale = true
	if !c.listing && !c.retryArmed { // else the retry lists (stale)
		c.startListing()
	}
}

// relist is the listing of startListing.
func (c *addrCache) relist() {
	list, err := c.sys.Addresses()
	c.mu.Lock()
	c.listing = false
	if err != nil {
		// Made again by the retry (a BACKUP looks only when told), or
		// without one by the next look. Logged when the cache's own
		// retry fails (once until one succeeds): a failure that the
		// retry mends is not worth a line, and before the first
		// listing that succeeds the looks get the error and say so.
		logIt := c.retrying && !c.logged
		c.logged = c.logged || logIt
		c.retrying = false
		c.err, c.stale = err, true
		c.retryIn = min(max(2*c.retryIn, retryFirst), retryMax)
		if c.stop != nil && !c.retryArmed {
			c.retryArmed = true
			time.AfterFunc(c.retryIn, c.retry)
		}
		c.mu.Unlock()
		if logIt && c.log != nil {
			c.log.Error("unable to list the addresses; listing again", "err", err)
		}
		return
	}
	c.retryIn, c.retrying, c.logged = 0, false, false
	if c.overrun {
		// The events it may lack were too many to keep: the copy (kept
		// by the events if known) stays until the next listing, which
		// stale makes at once.
		c.startListing()
		c.mu.Unlock()
		return
	}
	for _, ev := range c.seen { // later than the listing, or shown by it already
		list, _ = applyTo(list, ev)
	}
	c.seen = nil // what a burst of events grew
	all := c.err != nil || !c.known
	changed := diff(c.list, list)
	c.list, c.known, c.err = list, true, nil
	c.lists++
	if c.stale { // a change or resync while it ran: it may not show it
		c.startListing()
	}
	notify := c.notify
	c.mu.Unlock()
	if notify != nil && (all || len(changed) > 0) {
		notify(all, changed)
	}
}

// retry makes a failed listing again, unless one is under way, one has
// succeeded since, or the interface is closed.
func (c *addrCache) retry() {
	select {
	case <-c.stop:
		return
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retryArmed = false
	if c.err != nil && !c.listing {
		c.startListing()
		c.retrying = true
	}
}

// record keeps ev for the listing in flight, if any, in place of the
// last of its prefix: applyTo sets or removes a prefix's entry whatever
// came before. c.mu is held.
func (c *addrCache) record(ev platform.AddrEvent) {
	if !c.listing || c.overrun {
		return
	}
	if i := slices.IndexFunc(c.seen, func(s platform.AddrEvent) bool { return s.Addr.Prefix == ev.Addr.Prefix }); i >= 0 {
		c.seen[i] = ev
		return
	}
	if len(c.seen) == maxSeen {
		c.seen, c.overrun, c.stale = nil, true, true
		return
	}
	c.seen = append(c.seen, ev)
}

func (c *addrCache) Addresses() ([]vip.Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.look(); err != nil {
		return nil, err
	}
	return slices.Clone(c.list), nil
}

// Find implements vip.Finder: the copies of a, without copying the table.
func (c *addrCache) Find(a netip.Addr) ([]vip.Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.look(); err != nil {
		return nil, err
	}
	var out []vip.Address
	for _, b := range c.list {
		if b.Prefix.Addr() == a {
			out = append(out, b)
		}
	}
	return out, nil
}

// AddAddress adds or renews a. A renewal of an address the copy holds
// gives it a's protocol and lifetime and keeps its label, as the kernel
// does; an addition is put in the copy and confirmed by a listing; a
// failure (the outcome unknown) is left to a listing.
func (c *addrCache) AddAddress(a vip.Address) error { return c.added(a, c.sys.AddAddress(a)) }

// PostAddress implements vip.Poster: the System's own when it has it (the
// platform's renewer, one goroutine for every group's renewals), and the
// copy updated as AddAddress does once the answer is in.
func (c *addrCache) PostAddress(a vip.Address, done func(error)) {
	if p, ok := c.sys.(vip.Poster); ok {
		p.PostAddress(a, func(err error) { done(c.added(a, err)) })
		return
	}
	go func() { done(c.AddAddress(a)) }()
}

var _ vip.Poster = (*addrCache)(nil) // a group's renewals go through it

// added updates the copy with what adding or renewing a did (err: its
// failure).
func (c *addrCache) added(a vip.Address, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.index(a.Prefix)
	if i < 0 && c.known && a.Prefix.Addr().Is6() {
		// The kernel knows an IPv6 address by the address alone, and
		// renews it in place whatever the prefix length asked.
		i = slices.IndexFunc(c.list, func(b vip.Address) bool { return b.Prefix.Addr() == a.Prefix.Addr() })
	}
	if err != nil || i < 0 {
		c.confirm()
	}
	if err != nil || !c.known {
		return err
	}
	if i < 0 {
		c.list = append(c.list, a)
		i = len(c.list) - 1
	} else {
		c.list[i].Proto, c.list[i].Lifetime = a.Proto, a.Lifetime
	}
	c.record(platform.AddrEvent{Addr: c.list[i]})
	return nil
}

// DeleteAddress removes a: once done, from the copy too, confirmed by a
// listing (the kernel may have removed more: the secondaries of a
// primary, which make no event of the daemon's).
func (c *addrCache) DeleteAddress(a vip.Address) error {
	err := c.sys.DeleteAddress(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.confirm()
	if err == nil && c.known {
		ev := platform.AddrEvent{Addr: a, Deleted: true}
		c.list, _ = applyTo(c.list, ev)
		c.record(ev)
	}
	return err
}

func (c *addrCache) Mark() vip.Mark { return c.sys.Mark() }

// index is where p is in the table, or -1 (also when the table is not
// known). c.mu is held.
func (c *addrCache) index(p netip.Prefix) int {
	if !c.known {
		return -1
	}
	return slices.IndexFunc(c.list, func(b vip.Address) bool { return b.Prefix == p })
}

// applyTo applies ev to list: an address added or changed, or deleted
// (the one of its prefix: the kernel keeps at most one of each). changed
// is false when list held it already, lifetime aside, or never had what
// was deleted. A resync changes nothing here.
func applyTo(list []vip.Address, ev platform.AddrEvent) (_ []vip.Address, changed bool) {
	if ev.Resync {
		return list, false
	}
	i := slices.IndexFunc(list, func(b vip.Address) bool { return b.Prefix == ev.Addr.Prefix })
	switch {
	case ev.Deleted && i >= 0:
		return slices.Delete(list, i, i+1), true
	case ev.Deleted:
		return list, false
	case i >= 0:
		old := list[i]
		list[i] = ev.Addr
		old.Lifetime = ev.Addr.Lifetime
		return list, old != ev.Addr
	}
	return append(list, ev.Addr), true
}

// diff lists the addresses whose copies differ between two tables,
// lifetimes aside.
func diff(before, after []vip.Address) []netip.Addr {
	key := func(a vip.Address) vip.Address { a.Lifetime = 0; return a }
	in := func(as []vip.Address, a vip.Address) bool {
		return slices.ContainsFunc(as, func(b vip.Address) bool { return key(b) == key(a) })
	}
	var out []netip.Addr
	for _, pair := range [2][2][]vip.Address{{before, after}, {after, before}} {
		for _, a := range pair[0] {
			if x := a.Prefix.Addr(); !in(pair[1], a) && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out
}

// apply brings the table up to date with a kernel event. changed is false
// when the event only says what the table holds already, lifetime aside:
// the event of a renewal made through the cache, which no group needs to
// look at. A resync (events were missed) makes a listing confirm the
// copy, and tells every group (changed), as before it listed.
func (c *addrCache) apply(ev platform.AddrEvent) (changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Resync {
		c.confirm()
		return true
	}
	c.record(ev) // also before the first listing is in: it may not show ev
	if !c.known {
		return true
	}
	c.list, changed = applyTo(c.list, ev)
	return changed
}
