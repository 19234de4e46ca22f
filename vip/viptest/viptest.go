// Package viptest is an in-memory vip.System that follows the rules of the
// Linux kernel's IPv4 address table, as platform's TestFakeAgreesWithKernel
// checks them against a real kernel:
//
//   - an address is identified by its address and prefix length: the same
//     address with another prefix length is another address;
//   - a plain add (Add, what "ip addr add" does) of an address that is
//     there fails with EEXIST, whatever the label;
//   - AddAddress (NLM_F_REPLACE, "ip addr replace") of an address that is
//     there updates its lifetime and protocol in place and keeps its label;
//   - an address added without a label is labelled with the interface name;
//   - a delete matches the address and prefix length and, when given, the
//     label (the protocol is not looked at); it fails with EADDRNOTAVAIL
//     when nothing matches.
//
// IPv6 addresses follow the kernel's IPv6 rules, which differ:
//
//   - an address is identified by the address alone: a plain add of an
//     address that is there with any prefix length fails with EEXIST, and
//     AddAddress of it updates its lifetime and protocol in place and
//     keeps its prefix length;
//   - there are no labels (one given is dropped);
//   - a delete matches the address and prefix length; a label is ignored.
//
// Not modelled: primary and secondary addresses (deleting a primary also
// deletes the secondaries of its subnet unless promote_secondaries is
// set), the order of the kernel's list, lifetimes counting down.
package viptest

import (
	"net/netip"
	"slices"
	"sync"
	"syscall"

	"github.com/ucarp-go/ucarp/vip"
)

// Addrs is the address table of one interface.
type Addrs struct {
	// Name is the interface's name, the label of an address added
	// without one.
	Name string
	// NoProto is a kernel before 5.18: the protocol is ignored (and the
	// Mark is MarkLabel).
	NoProto bool
	// NoLabels is FreeBSD: no labels, no protocols (MarkNone).
	NoLabels bool

	mu    sync.Mutex
	list  []vip.Address
	err   error
	calls []string
	adds  int
	gate  *gate // Block's: AddAddress waits for it
	lgate *gate // BlockListing's: Addresses waits for it
	lists int   // calls of Addresses
	lerr  error // FailListings'

	posted  []posted // PostAddress's requests not yet made
	posts   int      // calls of PostAddress
	serving bool     // a goroutine makes the posted requests (serve)
}

// posted is a request of PostAddress, with the gate it waits for.
type posted struct {
	a    vip.Address
	g    *gate
	done func(error)
}

// gate holds back AddAddress until opened, then makes it fail with err
// (nil: go on).
type gate struct {
	open  chan struct{}
	err   error
	early bool // BlockListingEarly's
}

// New returns an empty table for the interface ifname.
func New(ifname string) *Addrs { return &Addrs{Name: ifname} }

// Mark implements vip.System.
func (f *Addrs) Mark() vip.Mark {
	switch {
	case f.NoLabels:
		return vip.MarkNone
	case f.NoProto:
		return vip.MarkLabel
	}
	return vip.MarkProto
}

// Fail makes every later call return err (nil: succeed again).
func (f *Addrs) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// FailListings makes every later Addresses return err (nil: succeed
// again), the other calls going on as before: a dump the kernel keeps
// interrupting (NLM_F_DUMP_INTR) or cannot send (ENOBUFS).
func (f *Addrs) FailListings(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lerr = err
}

// Addresses implements vip.System.
func (f *Addrs) Addresses() ([]vip.Address, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.lerr != nil {
		return nil, f.lerr
	}
	if g := f.lgate; g != nil {
		// The kernel holding its rtnl lock: the listing waits, then
		// shows the table as it is then (or was, BlockListingEarly).
		early := slices.Clone(f.list)
		f.mu.Unlock()
		<-g.open
		f.mu.Lock()
		if g.err != nil {
			return nil, g.err
		}
		if g.early && f.err == nil {
			return early, nil
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.list), nil
}

// Snapshot is the table as Addresses lists it, without waiting for
// BlockListing and without being counted: for tests and fakes that look
// at it.
func (f *Addrs) Snapshot() ([]vip.Address, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.list), nil
}

// stored is a as the kernel keeps it.
func (f *Addrs) stored(a vip.Address) vip.Address {
	switch {
	case f.NoLabels:
		a.Label, a.Proto = "", 0
	case a.Prefix.Addr().Is6():
		a.Label = ""
	case a.Label == "":
		a.Label = f.Name
	}
	if f.NoProto {
		a.Proto = 0
	}
	return a
}

// index is the position of the address with prefix p: for IPv6, of the
// address of p with any prefix length.
func (f *Addrs) index(p netip.Prefix) int {
	return slices.IndexFunc(f.list, func(b vip.Address) bool {
		return b.Prefix == p || p.Addr().Is6() && b.Prefix.Addr() == p.Addr()
	})
}

// Add adds a as "ip addr add" does (NLM_F_EXCL): EEXIST when an address
// with its prefix is there. Tests use it to play the administrator.
func (f *Addrs) Add(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "add "+a.String())
	if f.err != nil {
		return f.err
	}
	if f.index(a.Prefix) >= 0 {
		return syscall.EEXIST
	}
	f.list = append(f.list, f.stored(a))
	return nil
}

// AddAddress implements vip.System: "ip addr replace".
func (f *Addrs) AddAddress(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "replace "+a.String())
	f.adds++
	if g := f.gate; g != nil {
		// The kernel holding its rtnl lock: the call waits, then does
		// what it asked (the request is in, whatever the wait).
		f.mu.Unlock()
		<-g.open
		f.mu.Lock()
		if g.err != nil {
			return g.err
		}
	}
	return f.replace(a)
}

// replace makes AddAddress's change. f.mu is held.
func (f *Addrs) replace(a vip.Address) error {
	if f.err != nil {
		return f.err
	}
	s := f.stored(a)
	if i := f.index(a.Prefix); i >= 0 {
		f.list[i].Proto, f.list[i].Lifetime = s.Proto, s.Lifetime
		return nil
	}
	f.list = append(f.list, s)
	return nil
}

// PostAddress implements vip.Poster as platform's Linux System does: it
// counts the request at once (Adds, Calls, Posts) and returns; the request
// is made later on a goroutine of the table's, which makes, in one go, every
// request posted before it got to them: those Block holds wait together,
// on that one goroutine, then each does what AddAddress would have done
// and gets its answer (done), in the order posted. The goroutine ends
// when no request is left, so that a testing/synctest bubble can end
// (the platform's stays for the process's life).
func (f *Addrs) PostAddress(a vip.Address, done func(error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "replace "+a.String())
	f.adds++
	f.posts++
	f.posted = append(f.posted, posted{a: a, g: f.gate, done: done})
	if !f.serving {
		f.serving = true
		go f.serve()
	}
}

// serve makes the posted requests until none is left.
func (f *Addrs) serve() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.posted) > 0 {
		ps := f.posted
		f.posted = nil
		f.mu.Unlock()
		for _, p := range ps {
			if p.g != nil {
				<-p.g.open // the kernel holding its rtnl lock
			}
		}
		errs := make([]error, len(ps))
		f.mu.Lock()
		for i, p := range ps {
			if p.g != nil && p.g.err != nil {
				errs[i] = p.g.err // as Block's release(err): nothing changed
			} else {
				errs[i] = f.replace(p.a)
			}
		}
		f.mu.Unlock()
		for i, p := range ps {
			p.done(errs[i])
		}
		f.mu.Lock()
	}
	f.serving = false
}

// Posts counts the calls of PostAddress (renewals posted).
func (f *Addrs) Posts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts
}

// Block makes every AddAddress and every request posted (PostAddress)
// from now on wait until release is called, as a renewal waits while
// another process holds the kernel's rtnl lock (namespaces being made or
// deleted); the calls are counted (Adds, Calls) when they start. release(nil) lets them go on and do what they asked;
// release(err) makes them fail with err, changing nothing. Under
// testing/synctest, a waiting call is durably blocked.
func (f *Addrs) Block() (release func(err error)) { return f.block(&f.gate, false) }

// BlockListing makes every Addresses from now on wait until release is
// called, as a listing waits while another process holds the kernel's
// rtnl lock; the calls are counted (Listings) when they start.
// release(nil) lets them go on and list the table as it is then;
// release(err) makes them fail with err. Under testing/synctest, a
// waiting call is durably blocked.
func (f *Addrs) BlockListing() (release func(err error)) { return f.block(&f.lgate, false) }

// BlockListingEarly is BlockListing, but a listing let go shows the table
// as it was when the call began (a dump read before the changes made
// while it waited).
func (f *Addrs) BlockListingEarly() (release func(err error)) { return f.block(&f.lgate, true) }

// block sets *at (f.gate or f.lgate) to a new gate, and returns its
// release: the first call opens it with err, and clears *at unless
// another gate took its place since.
func (f *Addrs) block(at **gate, early bool) (release func(err error)) {
	g := &gate{open: make(chan struct{}), early: early}
	f.mu.Lock()
	*at = g
	f.mu.Unlock()
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			f.mu.Lock()
			g.err = err
			if *at == g {
				*at = nil
			}
			f.mu.Unlock()
			close(g.open)
		})
	}
}

// Listings counts the calls of Addresses.
func (f *Addrs) Listings() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// DeleteAddress implements vip.System.
func (f *Addrs) DeleteAddress(a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "del "+a.String())
	if f.err != nil {
		return f.err
	}
	i := slices.IndexFunc(f.list, func(b vip.Address) bool {
		return b.Prefix == a.Prefix && (a.Label == "" || f.NoLabels || a.Prefix.Addr().Is6() || b.Label == a.Label)
	})
	if i < 0 {
		return syscall.EADDRNOTAVAIL
	}
	f.list = slices.Delete(f.list, i, i+1)
	return nil
}

// Flush removes every address, as "ip addr flush" does.
func (f *Addrs) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = nil
}

// Has reports whether any copy of a is there (any prefix length).
func (f *Addrs) Has(a netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.list, func(b vip.Address) bool { return b.Prefix.Addr() == a })
}

// Calls lists the calls made so far ("add", "replace", "del" and the
// address), and forgets them.
func (f *Addrs) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// Adds counts the calls of AddAddress (additions and renewals).
func (f *Addrs) Adds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adds
}
