package pair

import (
	"strings"
	"testing"
)

// FuzzParseIfconfig: FreeBSD's ifconfig output, as a host sends it, never
// panics the parser, and each address it returns is a valid prefix
// without a zone.
func FuzzParseIfconfig(f *testing.F) {
	f.Add(ifconfig("203.0.113.10"))
	f.Add("em0: flags=8843\n\tinet6 fe80::1%em0 prefixlen 200\n\tinet6 x prefixlen 64\n\tinet 1.2.3.4 netmask 0xzz\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, ifi := range ParseIfconfig(s) {
			for _, p := range ifi.Addrs {
				if !p.IsValid() || p.Addr().Zone() != "" {
					t.Fatalf("%q: %v", s, p)
				}
			}
		}
	})
}

// FuzzParseIPAddrJSON: "ip -j addr show" output, IPv4 and IPv6.
func FuzzParseIPAddrJSON(f *testing.F) {
	f.Add(ipJSON("203.0.113.10"))
	f.Add(ip6JSON)
	f.Add(`[{"ifname":"eth0","addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":999}]}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ifs, err := ParseIPAddrJSON(s)
		if err != nil {
			return
		}
		for _, ifi := range ifs {
			for _, p := range ifi.Addrs {
				if !p.IsValid() {
					t.Fatalf("%q: %v", s, p)
				}
			}
		}
	})
}

// FuzzAliasAddr: an rc.conf alias value never panics the parser, and
// an IPv4 address it finds is spelled so in the value (ParseAddr takes no
// other spelling of one).
func FuzzAliasAddr(f *testing.F) {
	f.Add("inet vhid 10 advskew 0 pass x alias 203.0.113.100/32")
	f.Add("inet6 vhid 10 advskew 0 pass x alias 2001:db8::100/64")
	f.Add("alias")
	f.Fuzz(func(t *testing.T, s string) {
		if a := aliasAddr(s); a.Is4() && !strings.Contains(s, a.String()) {
			t.Fatalf("%q: %s", s, a)
		}
	})
}
