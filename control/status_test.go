package control_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ucarp-go/ucarp/control"
	"github.com/ucarp-go/ucarp/control/controltest"
)

// row returns the table row of a group on the page.
func row(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `<tr id="group-`+name+`">`)
	if i < 0 {
		t.Fatalf("no row for group %s", name)
	}
	j := strings.Index(page[i:], "</tr>")
	return page[i : i+j]
}

func TestStatusPage(t *testing.T) {
	b := twoGroups()
	srv := httptest.NewServer(control.NewHandler(b))
	defer srv.Close()
	resp, page := get(t, srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if !strings.Contains(page, `<meta http-equiv="refresh" content="5">`) {
		t.Error("the page does not refresh itself")
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the page has a script")
	}
	for _, g := range b.Status() {
		r := row(t, page, g.Name)
		for _, want := range []string{
			"<b>" + g.Name + "</b>",
			"<code>" + g.Interface + "</code>",
			`<span class="state st-` + strings.ToLower(g.State) + `">` + g.State + "</span>",
			g.Reason,
			"<code>203.0.113.250</code> advbase 1, advskew 50",
		} {
			if !strings.Contains(r, want) {
				t.Errorf("row of %s lacks %q:\n%s", g.Name, want, r)
			}
		}
		addr := "<code>" + g.Addresses[0].Prefix.String() + "</code> "
		if g.State == control.StateMaster {
			addr += `<span class="on">configured</span>`
		} else {
			addr += `<span class="off">not configured</span>`
		}
		if !strings.Contains(r, addr) {
			t.Errorf("row of %s lacks %q", g.Name, addr)
		}
	}
	// The last transitions, the most recent first, with their reasons.
	trs := page[strings.Index(page, "<h2>Last transitions</h2>"):]
	re := regexp.MustCompile(`<td>(\w[\w-]*)</td><td><span class="state st-\w+">(\w+)</span></td><td><span class="state st-\w+">(\w+)</span></td><td>([\w-]+)</td>`)
	var got []string
	for _, m := range re.FindAllStringSubmatch(trs, -1) {
		got = append(got, strings.Join(m[1:], " "))
	}
	want := []string{"web BACKUP MASTER master-down", "web INIT BACKUP start", "db INIT BACKUP start", "eth1-20 INIT BACKUP start"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("transitions\n got %q\nwant %q", got, want)
	}
}

// TestStatusPageEscapes: names come from a config file, and an address
// of the page is no place to run them.
func TestStatusPageEscapes(t *testing.T) {
	evil := controltest.Group(`<script>alert("x")</script>`, `eth0"><b>`, 1, "<i>MASTER</i>")
	evil.Reason = "<img src=x onerror=alert(1)>"
	srv := httptest.NewServer(control.NewHandler(controltest.New(evil)))
	defer srv.Close()
	_, page := get(t, srv.URL+"/")
	for _, bad := range []string{"<script>", "<img", `"><b>`, "<i>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
		`<span class="state st-unknown">&lt;i&gt;MASTER&lt;/i&gt;</span>`,
		"&lt;img src=x onerror=alert(1)&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestStatusPageEmpty(t *testing.T) {
	srv := httptest.NewServer(control.NewHandler(controltest.New()))
	defer srv.Close()
	resp, page := get(t, srv.URL+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "No groups.") {
		t.Errorf("GET / without groups: %s\n%s", resp.Status, page)
	}
}

// TestStatusPageProbes: a group's row shows its probes, their state and
// the last error of one that is not up.
func TestStatusPageProbes(t *testing.T) {
	web := controltest.Group("web", "eth0", 10, control.StateBackup)
	web.Probes = []control.Probe{{Name: "http", Type: "http", Target: "http://127.0.0.1/", State: "up"},
		{Name: "disk", Type: "file", Target: "/run/ok", State: "down", LastError: "/run/ok holds 3"}}
	srv := httptest.NewServer(control.NewHandler(controltest.New(web, controltest.Group("db", "eth1", 10, control.StateMaster))))
	defer srv.Close()
	_, page := get(t, srv.URL+"/")
	r := row(t, page, "web")
	for _, want := range []string{`<b>http</b> <span class="on">up</span>`, `<b>disk</b> <span class="off">down</span>`,
		"/run/ok holds 3"} {
		if !strings.Contains(r, want) {
			t.Errorf("row of web lacks %q:\n%s", want, r)
		}
	}
	if r := row(t, page, "db"); !strings.Contains(r, `<td class="wrap"><ul><li class="dim">none</li></ul></td>`) {
		t.Errorf("row of db does not say it has no probe:\n%s", r)
	}
}

// TestStatusPageAddresses: the row of a dual-stack group lists its four
// addresses in order, each with its own state.
func TestStatusPageAddresses(t *testing.T) {
	srv := httptest.NewServer(control.NewHandler(controltest.New(controltest.DualGroup("dual", "eth0", 10, control.StateMaster))))
	defer srv.Close()
	_, page := get(t, srv.URL+"/")
	r := row(t, page, "dual")
	want := `<li><code>198.51.100.10/24</code> <span class="on">configured</span></li>` +
		`<li><code>203.0.113.10/32</code> <span class="on">configured</span></li>` +
		`<li><code>2001:db8::a/64</code> <span class="on">configured</span></li>` +
		`<li><code>2001:db8:1::a/128</code> <span class="off">not configured</span></li>`
	if !strings.Contains(r, want) {
		t.Errorf("row lacks\n%s\n%s", want, r)
	}
}
