package health

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// execEnv is the whole environment of an exec probe's command: a fixed
// PATH and the C locale, nothing of the daemon's.
var execEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}

// Limits of what an exec probe keeps of its command's output: the first
// maxOutput bytes are read (the rest is read and dropped, so the command
// never blocks on a full pipe), and the first line that is not empty is
// shown, cut at maxOutputLine bytes.
const (
	maxOutput     = 4096
	maxOutputLine = 200
	// outputGrace bounds the wait for the end of the output once the
	// command's process group is dead: a process that left the group
	// (setsid) and kept the pipe is not waited for longer.
	outputGrace = 100 * time.Millisecond
)

// execCheck runs argv[0] (an absolute path) with the arguments argv[1:],
// no shell, in /, with execEnv, stdin from /dev/null, and is healthy when
// it exits 0. The command runs in a process group of its own; when ctx is
// done the whole group is killed, and so is whatever the command left
// behind in its group when it exits.
func execCheck(argv []string) Check {
	return func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = execEnv
		cmd.Dir = "/"
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		cmd.Stdout, cmd.Stderr = w, w
		inGroup(cmd)
		err = cmd.Start()
		w.Close()
		if err != nil {
			return err
		}
		out := make(chan []byte, 1)
		go func() { out <- readOutput(r) }()
		err = cmd.Wait()
		// What the command left in its group. The group's id stays taken
		// while it has members, so this reaches no other process.
		killGroup(cmd.Process.Pid)
		r.SetReadDeadline(time.Now().Add(outputGrace))
		text := firstLine(<-out)
		if err == nil {
			return nil
		}
		if text != "" {
			return fmt.Errorf("%w: %s", err, text)
		}
		return err
	}
}

// readOutput reads r to its end and returns its first maxOutput bytes.
func readOutput(r *os.File) []byte {
	buf := make([]byte, 0, maxOutput)
	chunk := make([]byte, 512)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:min(n, maxOutput-len(buf))]...)
		if err != nil {
			return buf
		}
	}
}

// firstLine returns the first line of out that is not empty, without its
// spaces and control characters, cut at maxOutputLine bytes.
func firstLine(out []byte) string {
	for line := range bytes.Lines(out) {
		s := strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, strings.TrimSpace(string(line)))
		if s != "" {
			if len(s) > maxOutputLine {
				s = strings.ToValidUTF8(s[:maxOutputLine], "") + "…"
			}
			return s
		}
	}
	return ""
}
