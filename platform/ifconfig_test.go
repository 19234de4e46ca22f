package platform

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ucarp-go/ucarp/vip"
)

type recorder struct {
	calls [][]string
	err   error
}

func (r *recorder) Run(name string, args ...string) error {
	r.calls = append(r.calls, append([]string{name}, args...))
	return r.err
}

func TestIfconfigArguments(t *testing.T) {
	var present []vip.Address
	r := &recorder{}
	a := ifconfigAddrs{ifname: "vtnet0", run: r, list: func() ([]vip.Address, error) { return present, nil }}
	v32 := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/32")}
	v24 := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.100/24")}
	a.AddAddress(v32)
	a.AddAddress(v24)
	a.DeleteAddress(v32)
	a.AddAddress(vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/128")})
	a.AddAddress(vip.Address{Prefix: netip.MustParsePrefix("2001:db8::101/64")})
	a.DeleteAddress(vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/128")})
	want := [][]string{
		{"ifconfig", "vtnet0", "alias", "198.51.100.100", "netmask", "255.255.255.255"},
		{"ifconfig", "vtnet0", "alias", "198.51.100.100", "netmask", "255.255.255.0"},
		{"ifconfig", "vtnet0", "-alias", "198.51.100.100"},
		{"ifconfig", "vtnet0", "inet6", "2001:db8::100", "prefixlen", "128", "alias"},
		{"ifconfig", "vtnet0", "inet6", "2001:db8::101", "prefixlen", "64", "alias"},
		{"ifconfig", "vtnet0", "inet6", "2001:db8::100", "-alias"},
	}
	if !slices.EqualFunc(r.calls, want, slices.Equal) {
		t.Fatalf("calls %q\nwant  %q", r.calls, want)
	}
	// Already there (a renewal): nothing to run, BSD addresses have no lifetime.
	present = []vip.Address{v32}
	r.calls = nil
	if err := a.AddAddress(vip.Address{Prefix: v32.Prefix, Lifetime: 4e9}); err != nil || len(r.calls) != 0 {
		t.Fatalf("%v %q", err, r.calls)
	}
	r.err = errors.New("boom")
	if err := a.DeleteAddress(v32); err == nil {
		t.Fatal("runner error lost")
	}
}

func TestExecRunner(t *testing.T) {
	if err := (ExecRunner{}).Run("true"); err != nil {
		t.Fatal(err)
	}
	err := ExecRunner{}.Run("sh", "-c", `echo "LC_ALL=$LC_ALL: no such address" >&2; exit 1`)
	if err == nil || !strings.Contains(err.Error(), "sh -c") || !strings.Contains(err.Error(), "LC_ALL=C: no such address") {
		t.Fatalf("error %v", err)
	}
}
