package config

import "testing"

// TestParseAddr: the prefix lengths --addr and the addr key accept, 1 to 32 in plain
// decimal, and the absurd ones it refuses (a /0 VIP would install a
// default-route-like prefix).
func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in, want, arg string // want "" when refused
	}{
		{"198.51.100.2", "198.51.100.2/32", "198.51.100.2"},
		{"198.51.100.2/24", "198.51.100.2/24", "198.51.100.2"},
		{"198.51.100.2/1", "198.51.100.2/1", "198.51.100.2"},
		{"198.51.100.2/32", "198.51.100.2/32", "198.51.100.2"},
		{"198.51.100.2/0", "", ""},
		{"198.51.100.2/00", "", ""},
		{"198.51.100.2/-0", "", ""},
		{"198.51.100.2/-1", "", ""},
		{"198.51.100.2/33", "", ""},
		{"198.51.100.2/4294967320", "", ""}, // 2^32+24: no wrap-around
		{"198.51.100.2/+24", "", ""},
		{"198.51.100.2/024", "", ""},
		{"198.51.100.2/ 24", "", ""},
		{"198.51.100.2/", "", ""},
		{"198.51.100.2/24/24", "", ""},
		{"0x01.2.3.4/24", "", ""},
		{"2001:db8::1", "2001:db8::1/128", "2001:db8::1"},
		{"2001:db8::1/64", "2001:db8::1/64", "2001:db8::1"},
		{"2001:db8::1/128", "2001:db8::1/128", "2001:db8::1"},
		{"2001:db8::1/129", "", ""},
		{"2001:db8::1/0", "", ""},
		{"fe80::1%eth0", "", ""},
		{"::ffff:198.51.100.2", "", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, arg, ok := ParseAddr(tc.in)
			if tc.want == "" {
				if ok {
					t.Fatalf("accepted as %v", p)
				}
				return
			}
			if !ok || p.String() != tc.want || arg != tc.arg {
				t.Fatalf("got %v %q %v, want %s %q", p, arg, ok, tc.want, tc.arg)
			}
		})
	}
}

// TestFacilities: glibc's facility names and codes, in any case.
func TestFacilities(t *testing.T) {
	if len(facilities) != 22 {
		t.Fatalf("%d facility names, glibc has 22", len(facilities))
	}
	for name, code := range map[string]int{"kern": 0, "user": 8, "daemon": 24, "auth": 32, "security": 32, "mark": 192, "local7": 184, "LOCAL7": 184} {
		if got, ok := Facility(name); !ok || got != code {
			t.Errorf("%s = %d %v, want %d", name, got, ok, code)
		}
	}
	if _, ok := Facility("none"); ok {
		t.Error("none is a facility")
	}
}
