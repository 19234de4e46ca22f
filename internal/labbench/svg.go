//go:build linux

package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// A timeline is one run of a failover drawn on a time axis: the adverts
// each host put on the wire, when each host held the VIP, and the
// observer's pings, answered or lost.
type timeline struct {
	Title    string
	From, To time.Time
	Hosts    []string               // one lane each, top to bottom
	Adverts  map[string][]time.Time // by host: adverts seen on the bridge
	Holds    map[string][]span      // by host: the VIP on its interface
	Pings    []ping
	Marks    []mark // vertical lines: the fault, the VIP's arrival
}

type span struct{ From, To time.Time }

type ping struct {
	At   time.Time // sent
	Lost bool
}

type mark struct {
	At    time.Time
	Label string
}

// The layout, in pixels.
const (
	svgWidth   = 900
	svgLeft    = 130 // the lanes' labels
	svgRight   = 20
	laneHeight = 22
	panelGap   = 34
)

// escape is s as XML character data.
func escape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// renderSVG draws the panels one under the other in a self-contained SVG
// (no script, no external reference), with one time axis per panel in
// milliseconds from its first mark (or its start).
func renderSVG(w io.Writer, title string, panels []timeline) error {
	var body bytes.Buffer
	y := 40
	for _, p := range panels {
		y = drawPanel(&body, p, y) + panelGap
	}
	height := y
	_, err := fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect x="0" y="0" width="%d" height="%d" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">%s</text>
%s<g font-size="11" transform="translate(%d,%d)">
<rect x="0" y="-9" width="10" height="10" fill="#4878d0"/><text x="14" y="0">VIP held</text>
<line x1="80" y1="-10" x2="80" y2="2" stroke="#222" stroke-width="1.5"/><text x="86" y="0">advert on the wire</text>
<circle cx="204" cy="-4" r="3" fill="#9a9a9a"/><text x="211" y="0">ping answered</text>
<circle cx="308" cy="-4" r="4" fill="#d62728"/><text x="316" y="0">ping lost</text>
<line x1="390" y1="-10" x2="390" y2="2" stroke="#d62728" stroke-dasharray="3,2"/><text x="396" y="0">event</text>
</g>
</svg>
`, svgWidth, height+10, svgWidth, height+10, svgWidth, height+10, escape(title), body.String(), svgLeft, height-8)
	return err
}

// drawPanel draws p with its top at y and returns its bottom.
func drawPanel(b *bytes.Buffer, p timeline, y int) int {
	span := p.To.Sub(p.From)
	if span <= 0 {
		span = time.Millisecond
	}
	plot := float64(svgWidth - svgLeft - svgRight)
	x := func(t time.Time) float64 {
		f := float64(t.Sub(p.From)) / float64(span)
		return float64(svgLeft) + plot*min(max(f, 0), 1)
	}
	in := func(t time.Time) bool { return !t.Before(p.From) && !t.After(p.To) }
	zero := p.From
	if len(p.Marks) > 0 {
		zero = p.Marks[0].At
	}
	fmt.Fprintf(b, "<g class=\"panel\">\n<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y+4, escape(p.Title))
	// A row of its own for each mark's label, above the lanes.
	labels := y + 4
	y += 8 + 12*max(len(p.Marks), 1)
	top := y
	for _, h := range p.Hosts {
		// The adverts' lane, then the VIP's.
		fmt.Fprintf(b, "<text x=\"10\" y=\"%d\">%s adverts</text>\n", y+15, escape(h))
		fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", svgLeft, y+laneHeight-4, svgWidth-svgRight, y+laneHeight-4)
		for _, t := range p.Adverts[h] {
			if in(t) {
				fmt.Fprintf(b, "<line class=\"advert\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#222\" stroke-width=\"1.5\"/>\n", x(t), y+4, x(t), y+laneHeight-4)
			}
		}
		y += laneHeight
		fmt.Fprintf(b, "<text x=\"10\" y=\"%d\">%s holds VIP</text>\n", y+15, escape(h))
		fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%d\" fill=\"#f4f4f4\"/>\n", svgLeft, y+4, plot, laneHeight-8)
		for _, s := range p.Holds[h] {
			if s.To.Before(p.From) || s.From.After(p.To) {
				continue
			}
			x0, x1 := x(s.From), x(s.To)
			fmt.Fprintf(b, "<rect class=\"hold\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#4878d0\"/>\n", x0, y+4, max(x1-x0, 1), laneHeight-8)
		}
		y += laneHeight
	}
	fmt.Fprintf(b, "<text x=\"10\" y=\"%d\">observer pings</text>\n", y+15)
	for _, pg := range p.Pings {
		if !in(pg.At) {
			continue
		}
		if pg.Lost {
			fmt.Fprintf(b, "<circle class=\"lost\" cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"#d62728\"/>\n", x(pg.At), y+11)
		} else {
			fmt.Fprintf(b, "<circle class=\"ping\" cx=\"%.1f\" cy=\"%d\" r=\"3\" fill=\"#9a9a9a\"/>\n", x(pg.At), y+11)
		}
	}
	y += laneHeight
	for i, m := range p.Marks {
		if !in(m.At) {
			continue
		}
		fmt.Fprintf(b, "<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" stroke-dasharray=\"3,2\"/>\n", x(m.At), top, x(m.At), y)
		anchor := "start"
		if x(m.At) > float64(svgWidth-svgRight)-150 {
			anchor = "end"
		}
		lx := x(m.At) + 3
		if anchor == "end" {
			lx -= 6
		}
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%d\" fill=\"#d62728\" font-size=\"11\" text-anchor=\"%s\">%s</text>\n", lx, labels+12*(i+1), anchor, escape(m.Label))
		fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" stroke-dasharray=\"1,2\"/>\n", x(m.At), labels+12*(i+1)+2, x(m.At), top)
	}
	// The axis: ticks at round milliseconds from zero.
	step := tickStep(span)
	fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", svgLeft, y+2, svgWidth-svgRight, y+2)
	first := zero.Add(-step * time.Duration(int64(zero.Sub(p.From)/step)))
	for t, i := first, 0; !t.After(p.To) && i < 1000; t, i = t.Add(step), i+1 {
		if t.Before(p.From) {
			continue
		}
		fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>\n", x(t), y+2, x(t), y+6)
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%+d</text>\n", x(t), y+17, t.Sub(zero).Milliseconds())
	}
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">ms</text>\n", svgWidth-svgRight, y+30)
	b.WriteString("</g>\n")
	return y + 30
}

// tickStep picks a round step that puts 8 to 20 ticks on span.
func tickStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second} {
		if span/s <= 20 {
			return s
		}
	}
	return 10 * time.Second
}
