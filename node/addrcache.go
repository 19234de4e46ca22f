package node

import (
	"slices"
	"sync"

	"github.com/ucarp-go/ucarp/vip"
)

// addrCache is an interface's address table as its groups see it: one
// listing serves every group until the table changes (an address event,
// or a change through the cache), instead of one listing per group per
// event. With many groups, each MASTER's lifetime renewal is an event
// that every group on the interface looks at: without the cache that is
// a netlink dump per group per renewal, quadratic in the groups.
type addrCache struct {
	sys vip.System

	mu    sync.Mutex
	list  []vip.Address
	valid bool
}

func (c *addrCache) Addresses() ([]vip.Address, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid {
		list, err := c.sys.Addresses()
		if err != nil {
			return nil, err
		}
		c.list, c.valid = list, true
	}
	return slices.Clone(c.list), nil
}

func (c *addrCache) AddAddress(a vip.Address) error {
	defer c.invalidate()
	return c.sys.AddAddress(a)
}

func (c *addrCache) DeleteAddress(a vip.Address) error {
	defer c.invalidate()
	return c.sys.DeleteAddress(a)
}

func (c *addrCache) Mark() vip.Mark { return c.sys.Mark() }

// invalidate makes the next listing read the table again: it changed.
func (c *addrCache) invalidate() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}
