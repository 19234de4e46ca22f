//go:build linux

package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
)

// updateScreenshot rewrites docs/status-page.png from the screenshot the
// test takes (go test -run TestStatusPageScreenshot ./e2e/ -update-screenshot,
// or UCARP_UPDATE_SCREENSHOT=1); otherwise the picture stays in a
// temporary directory.
var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/status-page.png")

// chromiumTimeout bounds one run of headless Chromium.
const chromiumTimeout = 90 * time.Second

// chromium runs headless Chromium in h's namespace with args after the
// flags that keep it to itself (no sandbox, since it runs as root; no
// network but the page; a fresh profile), and returns its stdout. It is
// killed, with its whole process group (the renderers, the zygote), when
// it is done or at the deadline.
func chromium(t *testing.T, h *lab.Host, bin string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	argv := append([]string{"netns", "exec", h.NS, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", argv...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// At the deadline: the whole group, not only ip's exec'd chromium.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	err := cmd.Wait()
	// Helpers that outlive the browser go with it.
	syscall.Kill(-pgid, syscall.SIGKILL)
	if ctx.Err() != nil {
		t.Fatalf("chromium %v did not finish within %v\n%s", args, chromiumTimeout, stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestStatusPageScreenshot: a pair runs three groups, two preferred on
// one host and one on the other; headless Chromium loads the status page
// of the first host from inside the lab, its DOM lists each group with the
// state that host has, and a screenshot of it is taken (docs/status-page.png
// with -update-screenshot).
func TestStatusPageScreenshot(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian's chromium package; make deps installs it): the status page is not rendered")
	}
	l := newLab(t, 2)
	h1, h2 := l.Hosts[0], l.Hosts[1]
	target := netip.AddrPortFrom(h1.Addr, 9342).String()
	groups := []struct {
		name   string
		vhid   int
		master *lab.Host
	}{{"web", 1, h1}, {"mail", 2, h1}, {"db", 3, h2}}
	for _, h := range []*lab.Host{h1, h2} {
		conf := fmt.Sprintf("interface = %q\nsrcip = %q\npass = \"carplab\"\npreempt = true\ncontrol = \"none\"\n", h.IfName, h.Addr)
		if h == h1 {
			conf += fmt.Sprintf("metrics-listen = %q\n", target)
		}
		for _, g := range groups {
			skew := 100
			if g.master == h {
				skew = 0
			}
			conf += fmt.Sprintf("\n[[group]]\nname = %q\nvhid = %d\naddr = \"%s/24\"\nadvskew = %d\n", g.name, g.vhid, groupVIP(g.vhid), skew)
		}
		p := startConfigFile(t, l, h, conf)
		defer p.Signal(syscall.SIGTERM)
	}
	want := map[string]string{}
	for _, g := range groups {
		want[g.name] = "BACKUP"
		if g.master == h1 {
			want[g.name] = "MASTER"
		}
	}
	row := func(page, name string) string {
		return regexp.MustCompile(`(?s)<tr id="group-` + name + `">.*?</tr>`).FindString(page)
	}
	settled := func(page string) bool {
		for name, state := range want {
			if !strings.Contains(row(page, name), ">"+state+"</span>") {
				return false
			}
		}
		return true
	}
	// Both hosts have settled, and h1 hears h2, the MASTER of db, before the picture.
	var last string
	if !lab.Eventually(30*time.Second, func() bool {
		var err error
		if last, err = get(h1, target, "/"); err != nil {
			last = err.Error()
		}
		return settled(last) && strings.Contains(row(last, "db"), h2.Addr.String())
	}) {
		t.Fatalf("the groups did not settle:\n%s", last)
	}
	url := "http://" + target + "/"
	dom := chromium(t, h1, bin, "--dump-dom", url)
	if !settled(dom) {
		t.Fatalf("the page Chromium loaded does not list each group with its state %v:\n%s", want, dom)
	}
	if !strings.Contains(dom, "<title>ucarp on ") {
		t.Fatalf("not the status page:\n%s", dom)
	}
	png := filepath.Join(t.TempDir(), "status-page.png")
	chromium(t, h1, bin, "--screenshot="+png, "--window-size=1000,700", url)
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 10000 {
		t.Fatalf("the screenshot is not a PNG of a page (%d bytes)", len(b))
	}
	if *updateScreenshot || os.Getenv("UCARP_UPDATE_SCREENSHOT") != "" {
		if err := os.WriteFile(filepath.Join("..", "docs", "status-page.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote docs/status-page.png (%d bytes)", len(b))
	}
}
