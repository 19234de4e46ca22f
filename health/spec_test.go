package health

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	toml "github.com/pelletier/go-toml/v2"
)

// spec is a Spec with the defaults, for the tests to change.
func spec(name string, typ Type, target string) Spec {
	return Spec{Name: name, Type: typ, Target: target, Interval: time.Second, Timeout: time.Second,
		Rise: 2, Fall: 2, Weight: 255}
}

func with(s Spec, f func(*Spec)) Spec { f(&s); return s }

func TestParseFlag(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"tcp:127.0.0.1:8080", spec("tcp:127.0.0.1:8080", TypeTCP, "127.0.0.1:8080")},
		{"tcp:[2001:db8::1]:443", spec("tcp:[2001:db8::1]:443", TypeTCP, "[2001:db8::1]:443")},
		{"tcp:db.example.net:5432,name=db", spec("db", TypeTCP, "db.example.net:5432")},
		{"icmp:203.0.113.1,interval=200ms", with(spec("icmp:203.0.113.1", TypeICMP, "203.0.113.1"), func(s *Spec) {
			s.Interval, s.Timeout = 200*time.Millisecond, 200*time.Millisecond
		})},
		{"icmp:2001:DB8::1", spec("icmp:2001:DB8::1", TypeICMP, "2001:db8::1")},
		{"icmp:fe80::1%eth0", spec("icmp:fe80::1%eth0", TypeICMP, "fe80::1%eth0")},
		{"icmp:203.0.113.1,interval=5s", with(spec("icmp:203.0.113.1", TypeICMP, "203.0.113.1"), func(s *Spec) {
			s.Interval = 5 * time.Second // the timeout stays at most 1s
		})},
		{"http:127.0.0.1:8080/health", with(spec("http:127.0.0.1:8080/health", TypeHTTP, "http://127.0.0.1:8080/health"),
			func(s *Spec) { s.Expect = 200 })},
		{"https:https://www.example.org/,expect=204,insecure=true,weight=0", with(spec("https:https://www.example.org/", TypeHTTPS,
			"https://www.example.org/"), func(s *Spec) { s.Expect, s.Insecure, s.Weight = 204, true, 0 })},
		{"exec:/usr/local/bin/check  --quiet  web", spec("exec:/usr/local/bin/check  --quiet  web", TypeExec,
			"/usr/local/bin/check --quiet web")},
		{"file:/run/web/healthy", spec("file:/run/web/healthy", TypeFile, "/run/web/healthy")},
		{"interface:eth1, rise=1 , fall=3, interval=2s, timeout=150ms, weight=40", with(spec("interface:eth1", TypeInterface, "eth1"),
			func(s *Spec) {
				s.Rise, s.Fall, s.Interval, s.Timeout, s.Weight = 1, 3, 2*time.Second, 150*time.Millisecond, 40
			})},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFlag(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got\n%+v\nwant\n%+v", got, tt.want)
			}
			again, err := ParseFlag(got.String())
			if err != nil || again != got {
				t.Fatalf("%q reads back as %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseFlagErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp", `health: probe "tcp": "tcp" is not TYPE:TARGET (TYPE one of icmp, tcp, http, https, exec, file, interface)`},
		{"ping:203.0.113.1", `health: probe "ping:203.0.113.1": type: unknown type "ping" (one of icmp, tcp, http, https, exec, file, interface)`},
		{"tcp:", `health: probe "tcp:": target: missing (HOST:PORT)`},
		{"tcp:127.0.0.1", `health: probe "tcp:127.0.0.1": target: "127.0.0.1" is not HOST:PORT (HOST:PORT)`},
		{"tcp:127.0.0.1:http", `target: port "http" is not a number 1-65535`},
		{"tcp::80", `target: ":80" has no host`},
		{"icmp:www.example.org", `target: "www.example.org" is not an IP address (an IPv4 or IPv6 address)`},
		{"icmp:::ffff:203.0.113.1", `target: "::ffff:203.0.113.1" is an IPv4-mapped address: write 203.0.113.1`},
		{"icmp:224.0.0.18", `target: "224.0.0.18" is not a unicast address`},
		{"http:https://x/", `target: the scheme of "https://x/" is not http`},
		{"http:http://user:pw@x/", `credentials do not belong in a probe's target`},
		{"http:http:///x", `target: "http:///x" has no host`},
		{"exec:check.sh", `target: "check.sh" does not start with an absolute path`},
		{"file:run/x", `target: "run/x" is not an absolute path`},
		{"interface:eth0/../x", `target: "eth0/../x" is not an interface name`},
		{"interface:a-very-long-ifname", `is not an interface name`},
		{"tcp:127.0.0.1:80,intervl=1s", `health: probe "tcp:127.0.0.1:80,intervl=1s": intervl: "intervl" is not an option (one of interval, timeout, rise, fall, weight, expect, insecure, name)`},
		{"tcp:127.0.0.1:80,interval=1", `interval: "1" has no unit: write 1s or 1ms`},
		{"tcp:127.0.0.1:80,interval=soon", `interval: "soon" is not a duration such as 200ms or 1.5s`},
		{"tcp:127.0.0.1:80,interval=50ms", `interval: 50ms is out of range 100ms-1h0m0s`},
		{"tcp:127.0.0.1:80,timeout=2s", `timeout: 2s is out of range 10ms-1s (the interval)`},
		{"tcp:127.0.0.1:80,interval=200ms,timeout=300ms", `timeout: 300ms is out of range 10ms-200ms (the interval)`},
		{"tcp:127.0.0.1:80,rise=0", `rise: 0 is out of range 1-100`},
		{"tcp:127.0.0.1:80,fall=two", `fall: "two" is not an integer`},
		{"tcp:127.0.0.1:80,weight=256", `weight: 256 is out of range 0-255`},
		{"tcp:127.0.0.1:80,expect=200", `expect: only an http or https probe expects a status`},
		{"http:x,expect=600", `expect: 600 is out of range 100-599`},
		{"http:x,insecure=true", `insecure: only an https probe has a certificate to verify`},
		{"https:x,insecure=maybe", `insecure: "maybe" is not true or false`},
		{"tcp:127.0.0.1:80,rise=1,rise=2", `rise: written twice`},
		{"tcp:127.0.0.1:80,", `"" is not KEY=VALUE`},
		{"tcp:127.0.0.1:80,name=", `a name must be printable text, not empty`},
		{"tcp:127.0.0.1:80,name=a\x01b", `a name must be printable text, not empty`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseFlag(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant one with %s", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Probe != tt.in {
				t.Fatalf("%v is not an *Error of probe %q", err, tt.in)
			}
		})
	}
}

// Every problem is reported at once, one *Error each, the options' first.
func TestParseFlagEveryProblem(t *testing.T) {
	_, err := ParseFlag("tcp:nowhere,rise=0,speed=9,fall=101")
	want := `health: probe "tcp:nowhere,rise=0,speed=9,fall=101": speed: "speed" is not an option (one of interval, timeout, rise, fall, weight, expect, insecure, name)
health: probe "tcp:nowhere,rise=0,speed=9,fall=101": target: "nowhere" is not HOST:PORT (HOST:PORT)
health: probe "tcp:nowhere,rise=0,speed=9,fall=101": rise: 0 is out of range 1-100
health: probe "tcp:nowhere,rise=0,speed=9,fall=101": fall: 101 is out of range 1-100`
	if err == nil || err.Error() != want {
		t.Fatalf("got\n%v\nwant\n%s", err, want)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Errorf("%d errors, want 4", n)
	}
}

// The config file's tables decode with go-toml into Table, strictly, and
// mean what the command line means.
func TestTable(t *testing.T) {
	const file = `
[probe.web]
type = "tcp"
target = "127.0.0.1:8080"
interval = "200ms"
timeout = "100ms"
rise = 3
fall = 1
weight = 100

[probe.api]
type = "https"
target = "https://api.example.org/health"
expect = 204
insecure = true

[probe.marker]
type = "file"
target = "/run/ucarp/healthy"
weight = 0
`
	var doc struct {
		Probe map[string]Table `toml:"probe"`
	}
	dec := toml.NewDecoder(strings.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]Spec{
		"web": with(spec("web", TypeTCP, "127.0.0.1:8080"), func(s *Spec) {
			s.Interval, s.Timeout, s.Rise, s.Fall, s.Weight = 200*time.Millisecond, 100*time.Millisecond, 3, 1, 100
		}),
		"api": with(spec("api", TypeHTTPS, "https://api.example.org/health"), func(s *Spec) {
			s.Expect, s.Insecure = 204, true
		}),
		"marker": with(spec("marker", TypeFile, "/run/ucarp/healthy"), func(s *Spec) { s.Weight = 0 }),
	}
	for name, tab := range doc.Probe {
		got, err := tab.Spec(name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want[name] {
			t.Errorf("%s: got\n%+v\nwant\n%+v", name, got, want[name])
		}
		flag, err := ParseFlag(got.String())
		if err != nil || flag != got {
			t.Errorf("%s: the command line %q reads as %+v, %v", name, got.String(), flag, err)
		}
	}

	// A table encodes back to the same keys.
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(doc.Probe["web"]); err != nil {
		t.Fatal(err)
	}
	if want := "type = 'tcp'\ntarget = '127.0.0.1:8080'\ninterval = '200ms'\ntimeout = '100ms'\nrise = 3\nfall = 1\nweight = 100\n"; buf.String() != want {
		t.Errorf("encoded\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestTableErrors(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{"type = \"tcp\"\ntarget = \"x:1\"\nport = 80\n", `strict mode: fields in the document are missing`},
		{"type = \"tcp\"\ntarget = \"x:1\"\ninterval = 1\n", `cannot decode TOML integer into struct field health.Table.Interval of type string`},
	} {
		dec := toml.NewDecoder(strings.NewReader(tt.file))
		dec.DisallowUnknownFields()
		var tab Table
		if err := dec.Decode(&tab); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one with %s", tt.file, err, tt.want)
		}
	}

	_, err := Table{Type: "tcp", Target: "x:1", Interval: ptr("1")}.Spec("web")
	want := `health: probe "web": interval: "1" has no unit: write 1s or 1ms`
	if err == nil || err.Error() != want {
		t.Errorf("an interval without unit: %v, want %s", err, want)
	}

	_, err = Table{}.Spec("empty")
	want = `health: probe "empty": type: missing (one of icmp, tcp, http, https, exec, file, interface)`
	if err == nil || err.Error() != want {
		t.Errorf("an empty table: %v, want %s", err, want)
	}
	_, err = Table{Type: "icmp"}.Spec("")
	want = "health: probe \"\": a name must be printable text, not empty\nhealth: probe \"\": target: missing (an IPv4 or IPv6 address)"
	if err == nil || err.Error() != want {
		t.Errorf("no name, no target: %v, want %s", err, want)
	}
}

func TestTypeNames(t *testing.T) {
	for typ := TypeICMP; typ <= TypeInterface; typ++ {
		got, err := ParseType(typ.String())
		if err != nil || got != typ {
			t.Errorf("%v: read back as %v, %v", typ, got, err)
		}
	}
	if _, err := Type(0).MarshalText(); err == nil {
		t.Error("the zero Type marshals")
	}
	if s := Type(9).String(); s != "Type(9)" {
		t.Errorf("Type(9) is %q", s)
	}
}

func ptr[T any](v T) *T { return &v }
