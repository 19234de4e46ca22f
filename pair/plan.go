package pair

import (
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Options are what the pair is: the same on both hosts but for the skew.
type Options struct {
	// VIPs are the shared addresses, all in the one group (vhid): the
	// first is the daemon's -a, the others its --vip. Each prefix length
	// is the one the daemon gives the address (/32 or /128 when the
	// command line has none). At least one is IPv4: its subnet finds the
	// interface and the source address.
	VIPs     []netip.Prefix
	VHID     int
	Password string // unused by Unpair
	// Preferred is the index (0 or 1) of the host with advskew 0; the
	// other gets SkewOther.
	Preferred int
	Preempt   bool
	Interface string // --interface: "" finds it from the VIP's subnet
	AdvBase   int    // seconds (default 1)
	// Package is the base name of a local package file (.deb, .rpm or
	// FreeBSD .pkg) that Pair copies to the host and installs; "" installs
	// ucarp-go from the host's own repositories.
	Package     string
	PackageData []byte
	// FreeBSDKernel: FreeBSD hosts use the kernel's CARP (rc.conf), not
	// our daemon.
	FreeBSDKernel bool
}

// SkewOther is the advskew of the host that is not preferred.
const SkewOther = 100

// PackageName is the name of our package on every system.
const PackageName = "ucarp-go"

// File is a file a plan writes, with its mode.
type File struct {
	Path string
	Mode fs.FileMode
	Data string
}

// Setting is one rc.conf(5)-style variable set with sysrc(8).
type Setting struct {
	File, Name, Value string
}

// Line is a line that must be in a file (FreeBSD's /etc/sysctl.conf).
type Line struct {
	File, Text string
}

// Plan is what makes one host half of the pair, and what takes it away.
type Plan struct {
	Facts    Facts
	Skew     int
	Instance string // the instance (vhidN) or service name, for messages

	// Upload is the package (Path its base name) that the first Install
	// command reads on stdin into a private directory, or nil.
	Upload *File
	// Install runs when the package is not installed; it ends by creating
	// Marker, which tells Unpair to run Uninstall.
	Install   []string
	Marker    string
	Uninstall []string

	// Sniff prints the source address of each CARP or VRRP advert of this
	// vhid heard on the interface, one a line.
	Sniff string

	Files    []File
	Settings []Setting
	Lines    []Line
	// UnpairLines are the lines Unpair removes: Lines, and those that
	// other options of Pair would have added.
	UnpairLines []Line

	// Active exits 0 when the service is enabled and running.
	Active  string
	Start   []string
	Restart []string
	Stop    []string
	// Revert, when the service ran before, puts back what ran once the
	// old files and settings are back: Restart where the service reads
	// them (nil), or kernel mode's old aliases of the vhid.
	Revert []string
	// Sysctls (kernel mode) are the live NAME=VALUE that Start and
	// Restart set: a rollback sets each back to what it was.
	Sysctls []string
	// StopLast runs after Stop and the files' removal: it disables what
	// is shared by every instance when none is left.
	StopLast []string
	// Status prints the group's state in the form ParseState reads.
	Status string
	// Demote and Promote move the address away from this host and give
	// it its place back (--verify-failover); MaintenanceProbe, when it
	// exits 0, says "ucarpctl maintenance" exists and is used instead.
	Demote, Promote  []string
	MaintenanceProbe string
	Kernel           bool // FreeBSD's kernel CARP: Status is ifconfig's
	// OtherVHID is the ucarp_vhid of rc.conf when it is another group's:
	// FreeBSD's rc.d script runs one group, so Pair refuses to overwrite
	// it and Unpair leaves the host alone.
	OtherVHID string
	// OtherGroups (kernel mode): rc.conf has CARP addresses of another
	// vhid, which need carp_load and the preempt line too: Unpair keeps
	// them.
	OtherGroups bool
	// UnpairAliases (kernel mode) are the interface's aliases once the
	// vhid's are gone, numbered again from 0 (Settings holds pair's).
	UnpairAliases []Setting
}

// NewPlan computes the plan of host i (0 or 1) of the pair.
func NewPlan(f Facts, o Options, i int) (*Plan, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.AdvBase == 0 {
		o.AdvBase = 1
	}
	p := &Plan{Facts: f, Skew: SkewOther}
	if i == o.Preferred {
		p.Skew = 0
	}
	vhid := strconv.Itoa(o.VHID)
	listen := strconv.Itoa(3 * o.AdvBase)
	switch f.Family {
	case Debian, RHEL:
		linux(p, f, o, vhid, listen)
	case FreeBSD:
		if o.FreeBSDKernel {
			kernel(p, f, o, vhid, listen)
		} else {
			freebsd(p, f, o, vhid, listen)
		}
	default:
		return nil, fmt.Errorf("pair: %s: no plan for %s", f.Host, f.OS)
	}
	return p, nil
}

// Check refuses options no pair can have: a bad vhid, no VIP, a VIP
// given twice, no IPv4 VIP.
func (o Options) Check() error {
	if o.VHID < 1 || o.VHID > 255 {
		return fmt.Errorf("pair: vhid %d: must be 1 to 255", o.VHID)
	}
	if len(o.VIPs) == 0 {
		return fmt.Errorf("pair: no VIP")
	}
	v4 := false
	for i, p := range o.VIPs {
		a := p.Addr()
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.IsLinkLocalUnicast() {
			return fmt.Errorf("pair: the VIP %s: not a unicast address a group can share", p)
		}
		v4 = v4 || a.Is4()
		for _, q := range o.VIPs[:i] {
			if q.Addr() == a {
				return fmt.Errorf("pair: the VIP %s is given twice", a)
			}
		}
	}
	if !v4 {
		return fmt.Errorf("pair: no IPv4 VIP: one is needed, whose subnet gives the interface and the source address")
	}
	return nil
}

// FirstV4 is the first IPv4 VIP: the one whose subnet gives the
// interface and the source address.
func (o Options) FirstV4() netip.Addr {
	for _, p := range o.VIPs {
		if p.Addr().Is4() {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// Addrs are the VIPs without their prefixes.
func (o Options) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, p := range o.VIPs {
		out = append(out, p.Addr())
	}
	return out
}

func yesno(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// privateUpload is one command that reads the package (Upload) from
// stdin into a new directory only root can enter (mktemp -d: mode 700,
// a fresh name), runs install with its path as the last word, and
// removes the directory however it ends: no fixed name in /tmp that
// another user could plant a symlink or a file of their own at.
func privateUpload(name, install string) string {
	f := `"$d/` + name + `"`
	cmd := install + " " + f
	if strings.HasPrefix(install, "if ") { // dnf, else yum
		cmd += "; fi"
	}
	return `d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT && cat > ` + f + " && " + cmd
}

const header = "# Written by \"ucarpctl pair\"; \"ucarpctl unpair\" removes it. See ucarp(8).\n"

// linux: our .deb or .rpm, an instance of /etc/ucarp (ucarp-instance),
// run by systemd (ucarp@NAME) or the SysV script (/etc/init.d/ucarp NAME).
func linux(p *Plan, f Facts, o Options, vhid, listen string) {
	name := "vhid" + vhid
	p.Instance = name
	conf, pass := "/etc/ucarp/"+name+".conf", "/etc/ucarp/"+name+".pass"
	p.Marker = "/etc/ucarp/.installed-by-ucarpctl-pair"
	switch {
	case f.Family == Debian && o.Package != "":
		p.Upload = &File{Path: PackageName + ".deb", Mode: 0o644, Data: string(o.PackageData)}
		p.Install = []string{privateUpload(p.Upload.Path, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-remove --no-install-recommends")}
	case f.Family == Debian:
		p.Install = []string{"apt-get update -q", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-remove " + PackageName}
	case o.Package != "":
		p.Upload = &File{Path: PackageName + ".rpm", Mode: 0o644, Data: string(o.PackageData)}
		p.Install = []string{privateUpload(p.Upload.Path, "if command -v dnf >/dev/null; then dnf install -y \"$d/"+p.Upload.Path+"\"; else yum install -y")}
	default:
		p.Install = []string{"if command -v dnf >/dev/null; then dnf install -y " + PackageName + "; else yum install -y " + PackageName + "; fi"}
	}
	p.Install = append(p.Install, "touch "+p.Marker)
	if f.Family == Debian {
		p.Uninstall = []string{"rm -f " + p.Marker, "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q " + PackageName}
	} else {
		p.Uninstall = []string{"rm -f " + p.Marker, "if command -v dnf >/dev/null; then dnf remove -y " + PackageName + "; else yum remove -y " + PackageName + "; fi"}
	}
	p.Sniff = join("ucarpctl", "sniff", "--interface="+f.Interface, "--vhid="+vhid, "--seconds="+listen)
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "UCARP_INTERFACE=%s\nUCARP_SRCIP=%s\nUCARP_VHID=%s\nUCARP_PASSFILE=%s\nUCARP_ADDR=%s\n",
		Quote(f.Interface), f.Source, vhid, pass, o.VIPs[0])
	fmt.Fprintf(&b, "UCARP_ADVBASE=%d\nUCARP_ADVSKEW=%d\nUCARP_PREEMPT=%s\n", o.AdvBase, p.Skew, yesno(o.Preempt, "yes", "no"))
	if len(o.VIPs) > 1 {
		// The instance script passes UCARP_OPTIONS on, split on blanks.
		var more []string
		for _, v := range o.VIPs[1:] {
			more = append(more, "--vip="+v.String())
		}
		fmt.Fprintf(&b, "UCARP_OPTIONS=%s\n", Quote(strings.Join(more, " ")))
	}
	p.Files = []File{
		{Path: pass, Mode: 0o600, Data: o.Password + "\n"},
		{Path: conf, Mode: 0o644, Data: b.String()},
	}
	unit := "ucarp@" + name
	switch {
	case f.Systemd:
		p.Active = join("systemctl", "is-enabled", "--quiet", unit) + " && " + join("systemctl", "is-active", "--quiet", unit)
		p.Start = []string{join("systemctl", "enable", "--now", unit)}
		p.Restart = []string{join("systemctl", "restart", unit)}
		p.Stop = []string{join("systemctl", "disable", "--now", unit)}
	case f.Family == Debian:
		p.Active = "ls /etc/rc2.d/S*ucarp >/dev/null 2>&1 && /etc/init.d/ucarp status " + name + " >/dev/null"
		p.Start = []string{"update-rc.d ucarp defaults", "/etc/init.d/ucarp start " + name}
		p.Restart = []string{"/etc/init.d/ucarp restart " + name}
		p.Stop = []string{"/etc/init.d/ucarp stop " + name}
		p.StopLast = []string{"ls /etc/ucarp/*.conf >/dev/null 2>&1 || update-rc.d -f ucarp remove"}
	default: // RHEL 6 and others without systemd: chkconfig
		p.Active = "chkconfig ucarp && /etc/init.d/ucarp status " + name + " >/dev/null"
		p.Start = []string{"chkconfig --add ucarp", "chkconfig ucarp on", "/etc/init.d/ucarp start " + name}
		p.Restart = []string{"/etc/init.d/ucarp restart " + name}
		p.Stop = []string{"/etc/init.d/ucarp stop " + name}
		p.StopLast = []string{"ls /etc/ucarp/*.conf >/dev/null 2>&1 || chkconfig --del ucarp"}
	}
	ours(p, f.Interface, vhid)
}

// ours: the status and demotion of our daemon, through ucarpctl; the
// group is named IF:VHID, which no other group of the host matches.
func ours(p *Plan, iface, vhid string) {
	p.Status = "ucarpctl status --json"
	p.MaintenanceProbe = "ucarpctl help | grep -q '^  maintenance'"
	g := Quote(iface + ":" + vhid)
	p.Demote = []string{"ucarpctl demote " + g + " 255"}
	p.Promote = []string{"ucarpctl promote " + g}
}

// tcpdump prints the source of each CARP or VRRP advert of vhid (IP
// protocol 112, the vhid or VRID in the second byte after a 20-byte IP
// header) heard during the listen seconds: FreeBSD has it in its base.
func tcpdump(iface, vhid, listen string) string {
	return "timeout " + listen + " tcpdump -n -l -i " + Quote(iface) + " 'ip proto 112 and ip[21] = " + vhid +
		"' 2>/dev/null | awk '{print $3}' || true"
}

// freebsd: our package and its rc.d script, configured in rc.conf.
func freebsd(p *Plan, f Facts, o Options, vhid, listen string) {
	p.Instance = "ucarp"
	if v, ok := f.RCConf["ucarp_vhid"]; ok && v != "" && v != vhid {
		p.OtherVHID = v
	}
	pass := "/usr/local/etc/ucarp.pass"
	p.Marker = "/usr/local/etc/.ucarp-installed-by-ucarpctl-pair"
	if o.Package != "" {
		p.Upload = &File{Path: PackageName + ".pkg", Mode: 0o644, Data: string(o.PackageData)}
		p.Install = []string{privateUpload(p.Upload.Path, "pkg add")}
	} else {
		p.Install = []string{"env ASSUME_ALWAYS_YES=yes pkg install -y " + PackageName}
	}
	p.Install = append(p.Install, "touch "+p.Marker)
	p.Uninstall = []string{"rm -f " + p.Marker, "pkg delete -y " + PackageName}
	p.Sniff = tcpdump(f.Interface, vhid, listen)
	p.Files = []File{{Path: pass, Mode: 0o600, Data: o.Password + "\n"}}
	for _, kv := range [][2]string{
		{"ucarp_enable", "YES"},
		{"ucarp_interface", f.Interface},
		{"ucarp_src", f.Source.String()},
		{"ucarp_vhid", vhid},
		{"ucarp_passfile", pass},
		{"ucarp_addr", o.VIPs[0].String()},
		// More addresses; "" removes what a run with more left.
		{"ucarp_vips", moreVIPs(o)},
		{"ucarp_advbase", strconv.Itoa(o.AdvBase)},
		{"ucarp_advskew", strconv.Itoa(p.Skew)},
		{"ucarp_preempt", yesno(o.Preempt, "YES", "NO")},
	} {
		p.Settings = append(p.Settings, Setting{File: "/etc/rc.conf", Name: kv[0], Value: kv[1]})
	}
	p.Active = "service ucarp enabled && service ucarp status >/dev/null"
	p.Start = []string{"service ucarp start"}
	p.Restart = []string{"service ucarp restart"}
	p.Stop = []string{"service ucarp stop"}
	ours(p, f.Interface, vhid)
}

// moreVIPs are the VIPs after the first, separated by spaces.
func moreVIPs(o Options) string {
	var more []string
	for _, v := range o.VIPs[1:] {
		more = append(more, v.String())
	}
	return strings.Join(more, " ")
}

// kernel: FreeBSD's own CARP, as the FreeBSD Handbook sets it up: the
// carp module loaded at boot, each address an alias with the vhid in
// rc.conf (one ifconfig_IF_aliasN a VIP, the same vhid, skew and
// password), applied now with ifconfig.
func kernel(p *Plan, f Facts, o Options, vhid, listen string) {
	p.Kernel = true
	p.Instance = "carp vhid " + vhid
	p.Sniff = tcpdump(f.Interface, vhid, listen)
	ifc := Quote(f.Interface)
	p.Settings = []Setting{{File: "/boot/loader.conf", Name: "carp_load", Value: "YES"}}
	var ups, downs, values []string
	for _, v := range o.VIPs {
		fam := "inet"
		if v.Addr().Is4() {
			// Without the Handbook's /32 the alias would take the
			// subnet's route from the interface's own address.
			v = netip.PrefixFrom(v.Addr(), 32)
		} else {
			fam = "inet6"
		}
		carp := fmt.Sprintf("%s vhid %s advskew %d pass %s alias %s", fam, vhid, p.Skew, o.Password, v)
		if o.AdvBase != 1 {
			carp = fmt.Sprintf("%s vhid %s advbase %d advskew %d pass %s alias %s", fam, vhid, o.AdvBase, p.Skew, o.Password, v)
		}
		values = append(values, carp)
		ups = append(ups, "ifconfig "+ifc+" "+strings.Replace(carp, "pass "+o.Password, "pass "+Quote(o.Password), 1))
		downs = append(downs, kernelDown(ifc, v.Addr()))
	}
	aliases, unpair, stale := kernelAliases(f, vhid, o.Addrs(), values)
	p.Settings = append(p.Settings, aliases...)
	p.UnpairAliases = unpair
	// The addresses of this vhid no longer asked for go down with the
	// others.
	for _, a := range stale {
		downs = append(downs, kernelDown(ifc, a))
	}
	for k, v := range f.RCConf {
		w := strings.Fields(v)
		for i := 0; strings.HasPrefix(k, "ifconfig_") && i+1 < len(w); i++ {
			if w[i] == "vhid" && w[i+1] != vhid {
				p.OtherGroups = true
			}
		}
	}
	preempt := Line{File: "/etc/sysctl.conf", Text: "net.inet.carp.preempt=1"}
	p.UnpairLines = []Line{preempt}
	if o.Preempt {
		p.Lines = []Line{preempt}
	}
	p.Active = "ifconfig " + ifc + " | grep -Eq 'carp: [A-Z]+ vhid " + vhid + " '"
	var sysctl []string
	if o.Preempt {
		p.Sysctls = []string{preempt.Text}
		sysctl = []string{"sysctl " + preempt.Text}
	}
	p.Start = slices.Concat([]string{"kldload -n carp"}, sysctl, ups)
	p.Restart = slices.Concat(sysctl, downs, ups)
	p.Stop = downs
	// A rollback takes the new addresses down and puts up the vhid's
	// old aliases as rc.conf had them, not the new ones.
	p.Revert = slices.Clone(downs)
	for _, v := range oldAliases(f, vhid) {
		p.Revert = append(p.Revert, aliasCommand(ifc, v))
	}
	p.Status = "ifconfig " + ifc
	// Only this vhid moves (net.inet.carp.demotion would move every
	// group of the host): the worst skew, so that the other host does not
	// give the address back with preempt, and BACKUP, so that it takes
	// the address without preempt too.
	p.Demote = []string{"ifconfig " + ifc + " vhid " + vhid + " advskew 254 state backup"}
	p.Promote = []string{"ifconfig " + ifc + " vhid " + vhid + " advskew " + strconv.Itoa(p.Skew)}
}

// oldAliases are the values of rc.conf's aliases of the vhid, in their
// order.
func oldAliases(f Facts, vhid string) []string {
	_, old := aliasList(f)
	var out []string
	for _, a := range old {
		if strings.Contains(" "+a.value+" ", " vhid "+vhid+" ") {
			out = append(out, a.value)
		}
	}
	return out
}

// quotePass quotes the password of an alias's value for the shell.
func quotePass(v string) string {
	w := strings.Fields(v)
	for i := 0; i+1 < len(w); i++ {
		if w[i] == "pass" {
			w[i+1] = Quote(w[i+1])
		}
	}
	return strings.Join(w, " ")
}

// kernelDown removes one address of the vhid; one that is not there (a
// VIP added since the last run) is no error.
func kernelDown(ifc string, a netip.Addr) string {
	fam := "inet"
	if a.Is6() {
		fam = "inet6"
	}
	return "ifconfig " + ifc + " " + fam + " " + a.String() + " -alias 2>/dev/null || true"
}

type alias struct {
	n           int
	name, value string
}

// aliasList is the ifconfig_IF_alias variable name without its number,
// and the interface's aliases in rc.conf in the order of their numbers.
func aliasList(f Facts) (base string, old []alias) {
	base = "ifconfig_" + strings.NewReplacer(".", "_", "-", "_").Replace(f.Interface) + "_alias"
	for k, v := range f.RCConf {
		n, err := strconv.Atoi(strings.TrimPrefix(k, base))
		if strings.HasPrefix(k, base) && err == nil && n >= 0 && strconv.Itoa(n) == strings.TrimPrefix(k, base) {
			old = append(old, alias{n, k, v})
		}
	}
	slices.SortFunc(old, func(x, y alias) int { return x.n - y.n })
	return base, old
}

// kernelAliases lays out the interface's ifconfig_IF_aliasN variables.
// FreeBSD's rc reads alias0, alias1, ... and stops at the first one
// missing, so both layouts are numbered from 0 without a gap: pair's
// keeps the other aliases in their order, gives each of addrs (whose
// rc.conf values are values) the alias that held it with this vhid, or
// one after the others, and drops this vhid's stale aliases; unpair's
// drops every alias of the vhid. An alias past the end of a layout is
// set to "" (removed). stale are the addresses of the aliases dropped.
func kernelAliases(f Facts, vhid string, addrs []netip.Addr, values []string) (pair, unpair []Setting, stale []netip.Addr) {
	base, old := aliasList(f)
	ours := func(v string) bool { return strings.Contains(" "+v+" ", " vhid "+vhid+" ") }
	placed := make([]bool, len(addrs))
	var pv, uv []string
	for _, a := range old {
		if !ours(a.value) {
			pv, uv = append(pv, a.value), append(uv, a.value)
			continue
		}
		addr := aliasAddr(a.value)
		if i := slices.Index(addrs, addr); i >= 0 && addr.IsValid() && !placed[i] {
			placed[i] = true
			pv = append(pv, values[i])
		} else if addr.IsValid() && !slices.Contains(addrs, addr) && !slices.Contains(stale, addr) {
			stale = append(stale, addr)
		}
	}
	for i, done := range placed {
		if !done {
			pv = append(pv, values[i])
		}
	}
	layout := func(vals []string) []Setting {
		var out []Setting
		for i, v := range vals {
			out = append(out, Setting{File: "/etc/rc.conf", Name: base + strconv.Itoa(i), Value: v})
		}
		for _, a := range old {
			if a.n >= len(vals) {
				out = append(out, Setting{File: "/etc/rc.conf", Name: a.name})
			}
		}
		return out
	}
	return layout(pv), layout(uv), stale
}

// aliasCommand is the ifconfig command that puts up an
// ifconfig_IF_aliasN value as rc does: rc appends "alias" itself, and a
// value without it run by hand would replace the interface's first
// address.
func aliasCommand(ifc, v string) string {
	w := strings.Fields(v)
	if !slices.Contains(w, "alias") && !slices.Contains(w, "-alias") {
		v = strings.TrimSpace(v) + " alias"
	}
	return "ifconfig " + ifc + " " + quotePass(v)
}

// aliasAddr is the address of an ifconfig_IF_aliasN value: its first
// word that is ADDR or ADDR/PREFIX (the password's word excepted), with
// "alias" before it or not (rc appends it).
func aliasAddr(v string) netip.Addr {
	w := strings.Fields(v)
	for i := 0; i < len(w); i++ {
		if w[i] == "pass" {
			i++
			continue
		}
		s, _, _ := strings.Cut(w[i], "/")
		if a, err := netip.ParseAddr(s); err == nil {
			return a
		}
	}
	return netip.Addr{}
}
