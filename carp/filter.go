package carp

import (
	"slices"

	"golang.org/x/net/bpf"
)

// SocketFilter is a classic BPF program for a raw IPv4 socket of protocol
// 112 (the kernel hands such a program the packet from its IPv4 header
// on) that keeps only what one of the groups of vhids could accept, and
// drops in the kernel, before any wake-up of the reader:
//
//   - a packet that is not IPv4, or whose header length is under 20 bytes
//     (DropNotIPv4, DropBogusSize);
//   - one shorter than its IPv4 header plus the 36 CARP bytes
//     (DropBogusSize);
//   - a TTL other than 255 (DropBadTTL);
//   - a CARP version other than 2 (DropBadVersion);
//   - a vhid not in vhids (DropOtherVHID);
//   - for an IPv4 header without options, checksums that do not add up
//     (DropBadChecksum).
//
// These are Check's tests 3 to 7, in its order, and its test 9 where the
// header has no options (a flood of corrupted packets is as cheap as any
// other: see checksumTest); the destination and the digest (tests 8 and
// 10) are left to Check, as is the own source (test 2): they need the
// group's settings or more than a socket filter can compute. The packets
// the filter drops are counted nowhere. With no vhid, every packet is
// dropped.
func SocketFilter(vhids []uint8) []bpf.Instruction { return SocketFilterTTL(vhids, false) }

// SocketFilterTTL is SocketFilter, without the test of the TTL when anyTTL
// is set: for an interface with a group that accepts adverts of any TTL
// (--relax-ttl, which needs --auth=hmac-sha256 in enforce mode). The other
// groups of the interface still drop them, in Check.
func SocketFilterTTL(vhids []uint8, anyTTL bool) []bpf.Instruction {
	drop := bpf.RetConstant{Val: 0}
	p := []bpf.Instruction{
		// IPv4.
		bpf.LoadAbsolute{Off: 0, Size: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 4 << 4, SkipTrue: 1},
		drop,
	}
	if !anyTTL {
		p = append(p,
			// TTL 255.
			bpf.LoadAbsolute{Off: 8, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: TTL, SkipTrue: 1},
			drop)
	}
	p = append(p,
		// X = the IPv4 header's length, at least 20.
		bpf.LoadMemShift{Off: 0},
		bpf.TXA{},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: IPv4HeaderLen, SkipTrue: 1},
		drop,
		// Room for the CARP header after it (a load past the end of the
		// packet would drop it too, but say so).
		bpf.LoadExtension{Num: bpf.ExtLen},
		bpf.ALUOpX{Op: bpf.ALUOpSub},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: HeaderLen, SkipTrue: 1},
		drop,
		// CARP version 2 (the type, as in Check, is not tested).
		bpf.LoadIndirect{Off: 0, Size: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: Version << 4, SkipTrue: 1},
		drop,
	)
	p = append(p, checksumTest(drop)...)
	p = append(p,
		// One of vhids: a run of consecutive vhids is one range test, and
		// every jump is short, however many ranges there are.
		bpf.LoadIndirect{Off: 1, Size: 1},
	)
	p = append(p, vhidTests(vhids)...)
	return append(p, drop)
}

// checksumTest is Check's test 9 for a packet whose IPv4 header has no
// options (X holds the header's length on entry, and again on exit): the
// 28 big-endian words of the IPv4 header and the CARP header, whose
// checksum fields make each part sum to zero, fold to 0xffff in one's
// complement, as inet.Checksum reckons. A header with options is left to
// Check. Classic BPF has no loop: one load and add per word, the running
// sum kept in X.
func checksumTest(drop bpf.Instruction) []bpf.Instruction {
	const words = (IPv4HeaderLen + HeaderLen) / 2
	sum := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 0, Size: 2},
		bpf.TAX{},
	}
	for i := 1; i < words; i++ {
		sum = append(sum,
			bpf.LoadAbsolute{Off: uint32(2 * i), Size: 2},
			bpf.ALUOpX{Op: bpf.ALUOpAdd},
			bpf.TAX{})
	}
	// The sum is at most 28 * 0xffff: one fold leaves at most 0xffff +
	// 0x1b. A second would be needed to finish the one's complement sum,
	// but not to compare it with 0xffff: past 0xffff, it would give 1 to
	// 0x1c.
	sum = append(sum,
		bpf.StoreScratch{Src: bpf.RegA, N: 0},
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 16},
		bpf.TAX{},
		bpf.LoadScratch{Dst: bpf.RegA, N: 0},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xffff},
		bpf.ALUOpX{Op: bpf.ALUOpAdd},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0xffff, SkipTrue: 1},
		drop)
	p := []bpf.Instruction{
		bpf.TXA{},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: IPv4HeaderLen, SkipFalse: uint8(len(sum))},
	}
	p = append(p, sum...)
	return append(p, bpf.LoadMemShift{Off: 0}) // X: the header's length again
}

// vhidRanges sorts vhids into runs of consecutive values, [first, last].
func vhidRanges(vhids []uint8) [][2]uint8 {
	s := slices.Clone(vhids)
	slices.Sort(s)
	s = slices.Compact(s)
	var rs [][2]uint8
	for _, v := range s {
		if n := len(rs); n > 0 && rs[n-1][1]+1 == v {
			rs[n-1][1] = v
			continue
		}
		rs = append(rs, [2]uint8{v, v})
	}
	return rs
}

// SocketFilterVRRP is SocketFilter for an interface that also carries
// VRRPv3 groups (IPv4): it keeps, besides what SocketFilter keeps for
// vhids, the VRRPv3 packets (version 3, IPv4, TTL 255) of the virtual
// routers vrids, whatever their length (an advert of one address is 12
// bytes, under CARP's 36); their checks are the group's. With no vrid it
// is SocketFilter(vhids), instruction for instruction. anyTTL leaves out
// the test of the TTL, for both protocols, as in SocketFilterTTL.
func SocketFilterVRRP(vhids, vrids []uint8, anyTTL bool) []bpf.Instruction {
	carp := SocketFilterTTL(vhids, anyTTL)
	if len(vrids) == 0 {
		return carp
	}
	drop := bpf.RetConstant{Val: 0}
	// SocketFilter's common prefix: IPv4, TTL 255 (unless anyTTL), X =
	// header length.
	common := 11
	if anyTTL {
		common = 8
	}
	p := slices.Clone(carp[:common])
	rest := carp[common:]
	p = append(p,
		bpf.LoadIndirect{Off: 0, Size: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: Version << 4, SkipTrue: 3},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 3 << 4, SkipFalse: 1},
		bpf.Jump{Skip: uint32(len(rest)) + 1},
		drop)
	p = append(p, rest...)
	p = append(p, bpf.LoadIndirect{Off: 1, Size: 1})
	p = append(p, vhidTests(vrids)...)
	return append(p, drop)
}

// vhidTests accepts the packet (whole) if A is one of vhids, else falls
// through.
func vhidTests(vhids []uint8) []bpf.Instruction {
	accept := bpf.RetConstant{Val: 0xffff}
	var p []bpf.Instruction
	for _, r := range vhidRanges(vhids) {
		if r[0] == r[1] {
			p = append(p,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(r[0]), SkipFalse: 1},
				accept)
			continue
		}
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(r[0]), SkipFalse: 2},
			bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: uint32(r[1]), SkipTrue: 1},
			accept)
	}
	return p
}
