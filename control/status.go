package control

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed status.html
var statusHTML string

// StatusRefresh is how often the status page reloads itself.
const StatusRefresh = 5 * time.Second

// maxPageTransitions is how many transitions the page lists, the most
// recent first, all groups together.
const maxPageTransitions = 20

// statusTmpl is the page's template, parsed at the page's first request:
// parsed when the package is initialised, it was 40 KB of heap and some
// 1,000 allocations in every daemon, also those that serve no page
// (docs/PERF.md, "What one group maps back").
var statusTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("status").Funcs(template.FuncMap{
		"stateClass": stateClass,
		"ago":        ago,
		"clock":      func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	}).Parse(statusHTML))
})

// statusPage is the page at /.
type statusPage struct{ b Backend }

type pageTransition struct {
	Group string
	Transition
}

type pageData struct {
	Host        string
	Now         time.Time
	Refresh     int
	Groups      []Group
	Transitions []pageTransition
	Masters     int
}

func (p statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	d := pageData{Host: host, Now: time.Now(), Refresh: int(StatusRefresh / time.Second), Groups: p.b.Status()}
	for _, g := range d.Groups {
		if g.State == StateMaster {
			d.Masters++
		}
		for _, t := range g.Transitions {
			d.Transitions = append(d.Transitions, pageTransition{g.Name, t})
		}
	}
	slices.SortStableFunc(d.Transitions, func(a, b pageTransition) int { return b.Time.Compare(a.Time) })
	d.Transitions = d.Transitions[:min(len(d.Transitions), maxPageTransitions)]

	var buf bytes.Buffer
	if err := statusTmpl().Execute(&buf, d); err != nil {
		http.Error(w, "control: status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.Write(buf.Bytes())
}

// stateClass is the CSS class of a state: its colour.
func stateClass(state string) string {
	switch state {
	case StateMaster, StateBackup, StateInit:
		return "st-" + strings.ToLower(state)
	}
	return "st-unknown"
}

// ago says how long ago t was, to the second, in the largest two units.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds ago", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh ago", int(d.Hours())/24, int(d.Hours())%24)
}
