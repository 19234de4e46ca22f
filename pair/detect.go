package pair

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Family is a family of operating systems that install and run the
// daemon the same way.
type Family int

const (
	Unknown Family = iota
	Debian         // Debian, Ubuntu and their derivatives: .deb, apt-get
	RHEL           // RHEL, CentOS, Rocky, Alma, Fedora: .rpm, dnf or yum
	FreeBSD        // rc.conf, rc.d, and optionally the kernel's CARP
)

func (f Family) String() string {
	switch f {
	case Debian:
		return "debian"
	case RHEL:
		return "rhel"
	case FreeBSD:
		return "freebsd"
	}
	return "unknown"
}

// Facts are what Detect found on one host.
type Facts struct {
	Host    string
	Kernel  string // uname -s: Linux, FreeBSD
	Family  Family
	OS      string // os-release's PRETTY_NAME, or FreeBSD and its version
	Systemd bool   // systemd is the running init (/run/systemd/system)
	// Installed: our package (ucarp-go) is installed.
	Installed bool
	// Interface and Source: the interface whose subnet holds the VIP, and
	// this host's own address on it.
	Interface string
	Source    netip.Addr
	Subnet    netip.Prefix
	// RCConf are the variables of FreeBSD's rc.conf (sysrc -a).
	RCConf map[string]string
}

// Iface is one interface and its addresses with their prefixes (IPv6
// ones without their zone).
type Iface struct {
	Name  string
	Addrs []netip.Prefix
}

// Detect asks s what it is and where the VIPs live: the first IPv4 VIP
// picks the interface (or iface, --interface, when not empty) and the
// source address; every other IPv4 VIP must be in a subnet of that
// interface, and an IPv6 VIP needs an IPv6 link-local address on it, the
// source of the daemon's IPv6 adverts (its subnet is not checked: a
// router's advertised prefix is not always on the host).
func Detect(ctx context.Context, s Session, vips []netip.Addr, iface string) (Facts, error) {
	f := Facts{Host: s.Host()}
	out, err := s.Run(ctx, "uname -s", nil)
	if err != nil {
		return f, fmt.Errorf("pair: %s: uname: %w", f.Host, err)
	}
	f.Kernel = strings.TrimSpace(out)
	var ifaces []Iface
	switch f.Kernel {
	case "Linux":
		out, err := s.Run(ctx, "cat /etc/os-release || cat /usr/lib/os-release", nil)
		if err != nil {
			return f, fmt.Errorf("pair: %s: no /etc/os-release: %w", f.Host, err)
		}
		f.Family, f.OS = ParseOSRelease(out)
		if f.Family == Unknown {
			return f, fmt.Errorf("pair: %s: %s is not an operating system this command knows (Debian, Ubuntu, RHEL and its rebuilds, FreeBSD)", f.Host, f.OS)
		}
		out, _ = s.Run(ctx, "if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi", nil)
		f.Systemd = strings.TrimSpace(out) == "systemd"
		switch f.Family {
		case Debian:
			out, _ = s.Run(ctx, "dpkg-query -W -f='${db:Status-Abbrev}' ucarp-go 2>/dev/null || true", nil)
			f.Installed = strings.HasPrefix(out, "ii")
		case RHEL:
			_, err = s.Run(ctx, "rpm -q ucarp-go", nil)
			f.Installed = err == nil
		}
		out, err = s.Run(ctx, "ip -j -4 addr show", nil)
		if err != nil {
			return f, fmt.Errorf("pair: %s: ip addr: %w", f.Host, err)
		}
		if ifaces, err = ParseIPAddrJSON(out); err != nil {
			return f, fmt.Errorf("pair: %s: %w", f.Host, err)
		}
		if slices.ContainsFunc(vips, netip.Addr.Is6) {
			out, err = s.Run(ctx, "ip -j -6 addr show", nil)
			if err != nil {
				return f, fmt.Errorf("pair: %s: ip -6 addr: %w", f.Host, err)
			}
			six, err := ParseIPAddrJSON(out)
			if err != nil {
				return f, fmt.Errorf("pair: %s: %w", f.Host, err)
			}
			for _, a := range six {
				if i := slices.IndexFunc(ifaces, func(b Iface) bool { return b.Name == a.Name }); i >= 0 {
					ifaces[i].Addrs = append(ifaces[i].Addrs, a.Addrs...)
				} else {
					ifaces = append(ifaces, a)
				}
			}
		}
	case "FreeBSD":
		f.Family = FreeBSD
		out, _ := s.Run(ctx, "freebsd-version", nil)
		f.OS = strings.TrimSpace("FreeBSD " + strings.TrimSpace(out))
		_, err = s.Run(ctx, "pkg info -e ucarp-go", nil)
		f.Installed = err == nil
		out, err = s.Run(ctx, "ifconfig", nil)
		if err != nil {
			return f, fmt.Errorf("pair: %s: ifconfig: %w", f.Host, err)
		}
		ifaces = ParseIfconfig(out)
		out, _ = s.Run(ctx, "sysrc -a", nil)
		f.RCConf = ParseSysrc(out)
	default:
		return f, fmt.Errorf("pair: %s: %q is not an operating system this command knows (Linux or FreeBSD)", f.Host, f.Kernel)
	}
	var first netip.Addr
	if i := slices.IndexFunc(vips, netip.Addr.Is4); i >= 0 {
		first = vips[i]
	}
	name, src, subnet, err := PickInterface(ifaces, first, iface)
	if err != nil {
		return f, fmt.Errorf("pair: %s: %w", f.Host, err)
	}
	f.Interface, f.Source, f.Subnet = name, src, subnet
	for _, v := range vips {
		if v.Is4() {
			if _, _, _, err := PickInterface(ifaces, v, name); err != nil {
				return f, fmt.Errorf("pair: %s: the VIPs are not all on one interface: %s is in no subnet of %s, where %s is (one pair, one interface; pair it with another --vhid)",
					f.Host, v, name, first)
			}
			continue
		}
		if !hasLinkLocal(ifaces, name) {
			return f, fmt.Errorf("pair: %s: the VIP %s is IPv6 and %s has no IPv6 link-local address, the source of the group's IPv6 adverts", f.Host, v, name)
		}
	}
	return f, nil
}

func hasLinkLocal(ifaces []Iface, name string) bool {
	for _, ifi := range ifaces {
		if ifi.Name == name && slices.ContainsFunc(ifi.Addrs, func(p netip.Prefix) bool { return p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() }) {
			return true
		}
	}
	return false
}

// ParseOSRelease reads os-release(5) and returns the family and the
// PRETTY_NAME (or NAME VERSION_ID).
func ParseOSRelease(s string) (Family, string) {
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		kv[k] = v
	}
	name := kv["PRETTY_NAME"]
	if name == "" {
		name = strings.TrimSpace(kv["NAME"] + " " + kv["VERSION_ID"])
	}
	if name == "" {
		name = "an unnamed Linux"
	}
	ids := append([]string{kv["ID"]}, strings.Fields(kv["ID_LIKE"])...)
	for _, id := range ids {
		switch id {
		case "debian", "ubuntu":
			return Debian, name
		case "rhel", "centos", "fedora", "rocky", "almalinux", "ol":
			return RHEL, name
		}
	}
	return Unknown, name
}

// ParseIPAddrJSON reads "ip -j addr show": IPv4 and IPv6 addresses.
func ParseIPAddrJSON(s string) ([]Iface, error) {
	var links []struct {
		IfName   string `json:"ifname"`
		AddrInfo []struct {
			Family    string `json:"family"`
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(s), &links); err != nil {
		return nil, fmt.Errorf("ip -j addr: %w", err)
	}
	var out []Iface
	for _, l := range links {
		ifi := Iface{Name: l.IfName}
		for _, a := range l.AddrInfo {
			if a.Family != "inet" && a.Family != "inet6" {
				continue
			}
			addr, err := netip.ParseAddr(a.Local)
			if err != nil {
				continue
			}
			if p, err := addr.Prefix(a.PrefixLen); err == nil {
				ifi.Addrs = append(ifi.Addrs, netip.PrefixFrom(addr, p.Bits()))
			}
		}
		out = append(out, ifi)
	}
	return out, nil
}

// ParseIfconfig reads FreeBSD's ifconfig: "NAME: flags=..." starts an
// interface, "\tinet A netmask 0xffffff00 ..." and "\tinet6 A%IF
// prefixlen 64 ..." are its addresses.
func ParseIfconfig(s string) []Iface {
	var out []Iface
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != '\t' && line[0] != ' ' {
			if name, _, ok := strings.Cut(line, ":"); ok {
				out = append(out, Iface{Name: name})
			}
			continue
		}
		w := strings.Fields(line)
		if len(out) > 0 && len(w) >= 4 && w[0] == "inet6" && w[2] == "prefixlen" {
			s, _, _ := strings.Cut(w[1], "%")
			addr, err := netip.ParseAddr(s)
			bits, err2 := strconv.Atoi(w[3])
			if err == nil && err2 == nil && addr.Is6() && bits >= 0 && bits <= 128 {
				out[len(out)-1].Addrs = append(out[len(out)-1].Addrs, netip.PrefixFrom(addr, bits))
			}
			continue
		}
		if len(out) == 0 || len(w) < 4 || w[0] != "inet" || w[2] != "netmask" {
			continue
		}
		addr, err := netip.ParseAddr(w[1])
		mask, err2 := strconv.ParseUint(strings.TrimPrefix(w[3], "0x"), 16, 32)
		if err != nil || err2 != nil {
			continue
		}
		bits := 0
		for m := uint32(mask); m&0x80000000 != 0; m <<= 1 {
			bits++
		}
		out[len(out)-1].Addrs = append(out[len(out)-1].Addrs, netip.PrefixFrom(addr, bits))
	}
	return out
}

// PickInterface finds the interface and source address whose subnet holds
// vip: the VIP itself (held now, on a rerun) and /32s are not sources.
// With want set, only that interface is looked at.
func PickInterface(ifaces []Iface, vip netip.Addr, want string) (string, netip.Addr, netip.Prefix, error) {
	found := false
	for _, ifi := range ifaces {
		if want != "" && ifi.Name != want {
			continue
		}
		found = true
		for _, p := range ifi.Addrs {
			if p.Addr() == vip || p.Bits() >= 31 || !p.Masked().Contains(vip) {
				continue
			}
			return ifi.Name, p.Addr(), p.Masked(), nil
		}
	}
	if want != "" && !found {
		return "", netip.Addr{}, netip.Prefix{}, fmt.Errorf("no interface %s", want)
	}
	if want != "" {
		return "", netip.Addr{}, netip.Prefix{}, fmt.Errorf("the VIP %s is in no subnet of %s", vip, want)
	}
	return "", netip.Addr{}, netip.Prefix{}, fmt.Errorf("the VIP %s is in no subnet of this host's interfaces (give --interface, or add an address in its subnet)", vip)
}

// ParseSysrc reads "sysrc -a": one "name: value" a line.
func ParseSysrc(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			m[k] = v
		}
	}
	return m
}
