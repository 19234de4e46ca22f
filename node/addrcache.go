package node

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/ucarp-go/ucarp/platform"
	"github.com/ucarp-go/ucarp/vip"
)

// addrCache is an interface's address table as its groups see it, kept
// in memory: listed once, then kept up to date by the kernel's address
// events (apply) and by the renewals made through it, and listed again
// only when events may have been missed or after an address was added or
// removed through it. With many groups, each MASTER renews its address's
// lifetime every advert interval: a listing per renewal, or per group per
// event, was most of the daemon's idle cost (quadratic in the groups).
//
// Like any table kept from a listing and events, it can lag the kernel
// for the time an event takes to arrive; every change ends with its
// event, after which it is right again, and the group the address
// belongs to looks at it again.
type addrCache struct {
	sys vip.System

	mu    sync.Mutex
	list  []vip.Address
	valid bool
	lists int // listings made, for tests
}

// load lists the table if it is not known. c.mu is held.
func (c *addrCache) load() error {
	if c.valid {
		return nil
	}
	list, err := c.sys.Addresses()
	if err != nil {
		return err
	}
	c.list, c.valid = list, true
	c.lists++
	return nil
}

func (c *addrCache) Addresses() ([]vip.Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
		return nil, err
	}
	return slices.Clone(c.list), nil
}

// Find implements vip.Finder: the copies of a, without copying the table.
func (c *addrCache) Find(a netip.Addr) ([]vip.Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(); err != nil {
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

// AddAddress adds or renews a. A renewal gives the address there a's
// protocol and lifetime and keeps its label, as the kernel does; an
// addition, or a failure, makes the next look list the table again.
func (c *addrCache) AddAddress(a vip.Address) error {
	err := c.sys.AddAddress(a)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.index(a.Prefix)
	if err != nil || i < 0 {
		c.valid = false
		return err
	}
	c.list[i].Proto, c.list[i].Lifetime = a.Proto, a.Lifetime
	return nil
}

func (c *addrCache) DeleteAddress(a vip.Address) error {
	defer c.invalidate()
	return c.sys.DeleteAddress(a)
}

func (c *addrCache) Mark() vip.Mark { return c.sys.Mark() }

// index is where p is in the table, or -1 (also when the table is not
// known). c.mu is held.
func (c *addrCache) index(p netip.Prefix) int {
	if !c.valid {
		return -1
	}
	return slices.IndexFunc(c.list, func(b vip.Address) bool { return b.Prefix == p })
}

// apply brings the table up to date with a kernel event. changed is false
// when the event only says what the table holds already, lifetime aside:
// the event of a renewal made through the cache, which no group needs to
// look at.
func (c *addrCache) apply(ev platform.AddrEvent) (changed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch i := c.index(ev.Addr.Prefix); {
	case !c.valid:
	case ev.Resync:
		c.valid = false
	case ev.Deleted && i >= 0:
		c.list = slices.Delete(c.list, i, i+1)
	case ev.Deleted:
		return false
	case i >= 0:
		old := c.list[i]
		c.list[i] = ev.Addr
		old.Lifetime = ev.Addr.Lifetime
		return old != ev.Addr
	default:
		c.list = append(c.list, ev.Addr)
	}
	return true
}

// invalidate makes the next look list the table again.
func (c *addrCache) invalidate() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}
