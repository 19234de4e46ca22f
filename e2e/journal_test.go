//go:build linux

package e2e

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ucarp-go/ucarp/internal/lab"
	"github.com/ucarp-go/ucarp/internal/logfield"
)

// parseJournal reads a datagram of journald's native protocol: KEY=value
// lines, or KEY, a newline, a little-endian 64-bit length, the value and a
// newline for a value with a newline in it.
func parseJournal(b []byte) (map[string]string, error) {
	m := map[string]string{}
	for len(b) > 0 {
		nl := strings.IndexByte(string(b), '\n')
		if nl < 0 {
			return nil, fmt.Errorf("no newline in %q", b)
		}
		line := string(b[:nl])
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
			b = b[nl+1:]
			continue
		}
		rest := b[nl+1:]
		if len(rest) < 8 {
			return nil, fmt.Errorf("short binary field %q", line)
		}
		n := binary.LittleEndian.Uint64(rest)
		if uint64(len(rest)) < 8+n+1 {
			return nil, fmt.Errorf("short binary field %q", line)
		}
		m[line] = string(rest[8 : 8+n])
		b = rest[8+n+1:]
	}
	return m, nil
}

// journalStream is a file to be the daemon's stdout and stderr, as if they
// were systemd's stream to the journal, and the environment that says so
// (JOURNAL_STREAM: its device and inode). It is closed when t ends.
func journalStream(t *testing.T) (*os.File, []string) {
	t.Helper()
	stream, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	var st syscall.Stat_t
	if err := syscall.Fstat(int(stream.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return stream, []string{fmt.Sprintf("JOURNAL_STREAM=%d:%d", uint64(st.Dev), uint64(st.Ino))}
}

// TestJournalNativeFields: under systemd (stdout and stderr are the stream
// that $JOURNAL_STREAM names, the journal's socket answers), each line goes
// to the journal once through its native protocol, with the structured
// fields: a failover's transition names INTERFACE, VHID, STATE, REASON and
// the transition's MESSAGE_ID. The daemon runs in a private mount namespace
// whose /run/systemd/journal/socket is the test's.
func TestJournalNativeFields(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	sock := filepath.Join(l.Dir, "journal.sock")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	stream, env := journalStream(t)
	setup := fmt.Sprintf("mount -t tmpfs none /run && mkdir -p /run/systemd/journal && touch /run/systemd/journal/socket && "+
		"mount --bind %s /run/systemd/journal/socket && exec \"$@\"", sock)
	argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", setup, "sh"},
		ours(lab.CARP{VHID: 42}).WithExtra("--facility=local3").Args(h)...)
	d := startDirect(t, h, env, stream, stream, argv...)
	console := func() string { b, _ := os.ReadFile(stream.Name()); return string(b) }

	var start, master map[string]string
	buf := make([]byte, 64<<10)
	srv.SetReadDeadline(time.Now().Add(15 * time.Second))
	for master == nil {
		n, err := srv.Read(buf)
		if err != nil {
			t.Fatalf("no transition to MASTER in the journal: %v\nconsole:\n%s", err, console())
		}
		e, err := parseJournal(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e["MESSAGE_ID"] == logfield.Start.MessageID():
			start = e
		case e["MESSAGE_ID"] == logfield.Transition.MessageID() && e["STATE"] == "MASTER":
			master = e
		}
	}
	want := map[string]string{"MESSAGE": "[WARNING] Switching to state: MASTER", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "ucarp",
		"SYSLOG_FACILITY": "19", "INTERFACE": "eth0", "VHID": "42", "STATE": "MASTER", "REASON": "master-down"}
	for k, v := range want {
		if master[k] != v {
			t.Errorf("%s=%q, want %q (entry %v)", k, master[k], v, master)
		}
	}
	if start == nil || !strings.HasPrefix(start["MESSAGE"], "[INFO] Local advertised ethernet address is [") {
		t.Errorf("start entry %v", start)
	}
	syscall.Kill(d.pid(), syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	if c := console(); strings.Contains(c, "Switching to state") {
		t.Fatalf("the line reached the journal twice, through the stream too:\n%s", c)
	}
}

// TestJournalctlFields: the same, read back with journalctl -o json from
// a real systemd-journald, which the test starts in the daemon's private
// mount namespace (a fresh /run); its journal files are written in a
// directory of the test's, which journalctl reads with -D.
func TestJournalctlFields(t *testing.T) {
	const journald = "/lib/systemd/systemd-journald"
	if _, err := os.Stat(journald); err != nil {
		t.Skip("systemd-journald not installed (Debian's systemd package; make deps installs it)")
	}
	journalctl, err := exec.LookPath("journalctl")
	if err != nil {
		t.Skip("journalctl not installed")
	}
	l := newLab(t, 1)
	h := l.Hosts[0]
	dir := filepath.Join(l.Dir, "journal")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stream, env := journalStream(t)
	// journald runs in the daemon's process group, which the cleanup kills.
	setup := fmt.Sprintf("mount -t tmpfs none /run && mkdir -p /run/log/journal && mount --bind %s /run/log/journal && "+
		"{ %s </dev/null >/dev/null 2>&1 & } && i=0 && "+
		"while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done && exec \"$@\"", dir, journald)
	argv := append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", setup, "sh"},
		ours(lab.CARP{VHID: 43}).Args(h)...)
	d := startDirect(t, h, env, stream, stream, argv...)
	t.Cleanup(func() { syscall.Kill(-d.pid(), syscall.SIGKILL) })

	var master map[string]any
	var last string
	if !lab.Eventually(20*time.Second, func() bool {
		out, err := exec.Command(journalctl, "-D", dir, "-o", "json", "--no-pager",
			"MESSAGE_ID="+logfield.Transition.MessageID(), "STATE=MASTER").Output()
		last = string(out)
		if err != nil {
			last += err.Error()
			return false
		}
		for _, line := range strings.Split(strings.TrimSpace(last), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil && e["VHID"] == "43" {
				master = e
				return true
			}
		}
		return false
	}) {
		b, _ := os.ReadFile(stream.Name())
		t.Fatalf("journalctl shows no transition to MASTER: %s\nconsole:\n%s", last, b)
	}
	want := map[string]string{"MESSAGE": "[WARNING] Switching to state: MASTER", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "ucarp",
		"SYSLOG_FACILITY": "3", "INTERFACE": "eth0", "STATE": "MASTER", "REASON": "master-down", "_TRANSPORT": "journal",
		"_PID": fmt.Sprint(d.pid())}
	for k, v := range want {
		if master[k] != v {
			t.Errorf("%s=%v, want %q (entry %v)", k, master[k], v, master)
		}
	}
}

// TestLogFormatJSON: with --log-format=json every console line is a JSON
// object, and a failover's transition carries its fields.
func TestLogFormatJSON(t *testing.T) {
	l := newLab(t, 1)
	h := l.Hosts[0]
	p := start(t, h, "ucarp", ours(lab.CARP{VHID: 9}).WithExtra("--log-format=json"))
	if !p.WaitLog(`"state":"MASTER"`, 1, 15*time.Second) {
		t.Fatalf("no transition to MASTER:\n%s", p.Log())
	}
	var found bool
	sc := bufio.NewScanner(strings.NewReader(p.Log()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		if m["time"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Fatalf("line without time, level or msg: %q", sc.Text())
		}
		if m["state"] == "MASTER" {
			found = m["msg"] == "Switching to state: MASTER" && m["interface"] == "eth0" && m["vhid"] == float64(9) &&
				m["reason"] == "master-down" && m["event"] == "transition" && m["message_id"] == logfield.Transition.MessageID() &&
				m["level"] == "WARNING"
			if !found {
				t.Fatalf("transition %q", sc.Text())
			}
		}
	}
	if !found {
		t.Fatalf("no transition line:\n%s", p.Log())
	}
}
