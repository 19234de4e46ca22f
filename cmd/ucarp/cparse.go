package main

import "math"

// strtoul is C's strtoul(s, NULL, 0) on a 64-bit glibc system, which is how
// ucarp reads numbers: leading white space, an optional sign, a base taken
// from the prefix (0x for hex, 0 for octal, else decimal), as many digits as
// fit that base, ULONG_MAX on overflow, and a negative number negated as
// unsigned (so "-1" is ULONG_MAX). It also returns the unparsed rest.
func strtoul(s string) (v uint64, rest string) {
	neg, digits, base, i := scanNumber(s)
	if digits == "" {
		return 0, s
	}
	overflow := false
	for _, c := range []byte(digits) {
		d := uint64(digitValue(c))
		if v > (math.MaxUint64-d)/uint64(base) {
			overflow = true
		}
		v = v*uint64(base) + d
	}
	if overflow {
		return math.MaxUint64, s[i:]
	}
	if neg {
		v = -v
	}
	return v, s[i:]
}

// strtol is C's strtol(s, NULL, 0): the same syntax, clamped to
// [LONG_MIN, LONG_MAX].
func strtol(s string) int64 {
	neg, digits, base, _ := scanNumber(s)
	const limit = math.MaxInt64 + 1 // saturate here, before anything can wrap
	var v uint64
	for _, c := range []byte(digits) {
		if v > (limit-uint64(digitValue(c)))/uint64(base) {
			v = limit
			continue
		}
		v = v*uint64(base) + uint64(digitValue(c))
	}
	switch {
	case neg && v >= math.MaxInt64+1:
		return math.MinInt64
	case neg:
		return -int64(v)
	case v > math.MaxInt64:
		return math.MaxInt64
	}
	return int64(v)
}

// scanNumber splits s as strtoul does: sign, the digits of the number in
// its base, and the index where parsing stopped.
func scanNumber(s string) (neg bool, digits string, base int, end int) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base = 10
	switch {
	case i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digitValue(s[i+2]) < 16:
		base, i = 16, i+2
	case i < len(s) && s[i] == '0':
		base = 8
	}
	start := i
	for i < len(s) && digitValue(s[i]) < base {
		i++
	}
	return neg, s[start:i], base, i
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
