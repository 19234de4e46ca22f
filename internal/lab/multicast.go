//go:build linux

package lab

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// A switch without multicast (issue 15), as in AWS, Azure and many
// hypervisors' virtual switches: an nftables table of the bridge family
// in the switch's namespace drops, on every bridge, the frames it would
// forward to an IPv4 multicast group (CARP's 224.0.0.18 among them) and
// to an IPv6 one (ff02::12), except the ICMPv6 that neighbour discovery
// and MLD need (NS, NA, RS, RA, MLD queries, reports and dones). Broadcast
// is not multicast here: ARP and gratuitous ARP pass. Each drop is
// counted by the rule (MulticastDropped).

// nftTable is the lab's table in the switch namespace.
const nftTable = "ucarp_lab"

// multicastRules drops multicast but what neighbour discovery needs.
const multicastRules = `table bridge ` + nftTable + ` {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ether type ip ip daddr 224.0.0.0/4 counter drop comment "ipv4-multicast"
		ether type ip6 ip6 daddr ff00::/8 icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } accept
		ether type ip6 ip6 daddr ff00::/8 counter drop comment "ipv6-multicast"
	}
}
`

// dropMulticast installs multicastRules in the switch namespace.
func (l *Lab) dropMulticast() error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("lab: DropMulticast needs nft (Debian's nftables, in the Makefile's DEB_DEPS): %w", err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.sw, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(multicastRules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lab: nft in %s: %v: %s", l.sw, err, bytes.TrimSpace(out))
	}
	l.log("lab %s: the switch drops multicast (IPv4; IPv6 but neighbour discovery and MLD)", l.Name)
	return nil
}

// MulticastDropped returns the packets the switch's rules dropped, IPv4
// and IPv6 multicast, as their counters say; an error without
// DropMulticast.
func (l *Lab) MulticastDropped() (v4, v6 uint64, err error) {
	out, err := exec.Command("ip", "netns", "exec", l.sw, "nft", "list", "table", "bridge", nftTable).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("lab: nft list in %s: %v: %s", l.sw, err, bytes.TrimSpace(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		i := indexOf(f, "packets")
		if i < 0 || i+1 >= len(f) {
			continue
		}
		n, _ := strconv.ParseUint(f[i+1], 10, 64)
		switch {
		case strings.Contains(line, `"ipv4-multicast"`):
			v4 = n
		case strings.Contains(line, `"ipv6-multicast"`):
			v6 = n
		}
	}
	return v4, v6, nil
}

func indexOf(f []string, s string) int {
	for i, x := range f {
		if x == s {
			return i
		}
	}
	return -1
}
