package carp

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// interval is a struct timeval as ucarp builds and compares them: whole
// seconds, and microseconds from a skew as skew*1000000/256 (integer
// division). Comparing intervals compares seconds, then microseconds.
type interval struct {
	sec  uint64
	usec uint32
}

func skewMicros(skew uint8) uint32 {
	return uint32(uint64(skew) * 1000000 / 256)
}

func (a interval) cmp(b interval) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	case a.usec < b.usec:
		return -1
	case a.usec > b.usec:
		return 1
	}
	return 0
}

// maxInterval bounds durations so that huge dead ratios do not overflow
// time.Duration: about 146 years.
const maxInterval = time.Duration(math.MaxInt64 / 2)

func (a interval) duration() time.Duration {
	if a.sec > uint64(maxInterval/time.Second) {
		return maxInterval
	}
	return time.Duration(a.sec)*time.Second + time.Duration(a.usec)*time.Microsecond
}

// AdvertInterval is the time between two adverts of a master:
// advbase + advskew/256 seconds, with ucarp's microsecond rounding.
// advskew 100 gives 1.390625 s.
func AdvertInterval(advbase, advskew uint8) time.Duration {
	return interval{uint64(advbase), skewMicros(advskew)}.duration()
}

// DeadInterval is the time a backup waits for the master's next advert:
// advbase*deadratio + advskew/256 seconds. The skew is not multiplied by
// the dead ratio (src/carp.c carp_setrun).
func DeadInterval(advbase uint8, deadratio uint32, advskew uint8) time.Duration {
	return interval{uint64(advbase) * uint64(deadratio), skewMicros(advskew)}.duration()
}

// tieBreakKey is the value ucarp compares when two masters advertise the
// same interval: the four address bytes read as a host-order uint32 on
// x86 (little-endian), so the last octet is the most significant. The
// master whose key is lower wins. This package uses the x86 order on
// every host, so that mixed pairs with ucarp on x86 agree.
func tieBreakKey(a netip.Addr) uint32 {
	b := a.As4()
	return binary.LittleEndian.Uint32(b[:])
}
