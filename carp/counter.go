package carp

// advertCounter is the 64-bit advert counter, kept as ucarp keeps it
// (src/carp.c carp_prepare_ad):
//
//   - until a valid advert has been heard, every advert carries a fresh
//     random value;
//   - every valid advert heard, in any state, sets the counter to the
//     value it carried;
//   - after that, each advert carries the previous value plus one,
//     wrapping from 2^64-1 to 0.
//
// Peers that hear each other therefore share one increasing sequence.
// Neither ucarp nor FreeBSD rejects any counter: it is no replay
// protection, and this package does not pretend it is.
type advertCounter struct {
	value uint64
	heard bool
}

// next returns the counter for the next advert; random supplies fresh
// values while nothing has been heard.
func (c *advertCounter) next(random func() uint64) uint64 {
	if !c.heard {
		c.value = random()
	} else {
		c.value++
	}
	return c.value
}

// adopt records the counter of a valid advert.
func (c *advertCounter) adopt(v uint64) {
	c.value = v
	c.heard = true
}
