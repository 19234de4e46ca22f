//go:build linux

package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// elements decodes doc as XML and counts its elements by class (and
// by name for those without one); an error means it is not well-formed.
func elements(doc []byte) (map[string]int, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	counts := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return counts, nil
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					counts["."+a.Value]++
				}
			}
		}
	}
}

func TestRenderSVG(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tl := timeline{
		Title: "ours <-b 0 -k 5> & \"keepalived\"", // escaped in the output
		From:  ms(-100), To: ms(200),
		Hosts: []string{"h1", "h2"},
		Adverts: map[string][]time.Time{
			"h1": {ms(-80), ms(-60), ms(-40), ms(-20), ms(500)}, // the last is outside: not drawn
			"h2": {ms(90), ms(110)},
		},
		Holds: map[string][]span{
			"h1": {{ms(-1000), ms(150)}},
			"h2": {{ms(85), ms(1000)}, {ms(300), ms(400)}}, // the second is outside
		},
		Pings: []ping{{ms(-50), false}, {ms(0), true}, {ms(50), true}, {ms(100), false}, {ms(150), false}, {ms(900), true}},
		Marks: []mark{{ms(0), "fault"}, {ms(85), "VIP on h2"}},
	}
	for _, tc := range []struct {
		name   string
		panels []timeline
		want   map[string]int
	}{
		{"one panel", []timeline{tl}, map[string]int{
			"svg": 1, ".panel": 1, ".advert": 6, ".hold": 2, ".lost": 2, ".ping": 3, ".mark": 2}},
		{"two panels", []timeline{tl, tl}, map[string]int{
			"svg": 1, ".panel": 2, ".advert": 12, ".hold": 4, ".lost": 4, ".ping": 6, ".mark": 4}},
		{"empty", []timeline{{Title: "nothing", From: t0, To: t0}}, map[string]int{
			"svg": 1, ".panel": 1, ".advert": 0, ".hold": 0, ".lost": 0, ".ping": 0, ".mark": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := renderSVG(&b, "fast <failover>", tc.panels); err != nil {
				t.Fatal(err)
			}
			got, err := elements(b.Bytes())
			if err != nil {
				t.Fatalf("not well-formed XML: %v\n%s", err, b.String())
			}
			for k, n := range tc.want {
				if got[k] != n {
					t.Errorf("%d %s, want %d", got[k], k, n)
				}
			}
			if strings.Contains(b.String(), "<script") || strings.Contains(b.String(), "href") {
				t.Error("the SVG has a script or an external reference")
			}
		})
	}
}

func TestTickStep(t *testing.T) {
	for _, tc := range []struct {
		span, want time.Duration
	}{
		{10 * time.Millisecond, time.Millisecond},
		{300 * time.Millisecond, 20 * time.Millisecond},
		{400 * time.Millisecond, 20 * time.Millisecond},
		{8 * time.Second, 500 * time.Millisecond},
	} {
		if got := tickStep(tc.span); got != tc.want {
			t.Errorf("tickStep(%v) = %v, want %v", tc.span, got, tc.want)
		}
	}
}
