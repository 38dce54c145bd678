package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

// svgDoc is what the tests read back from the <svg> element.
type svgDoc struct {
	Polylines []polyline // every <polyline>, anywhere
	Texts     []string   // every <text>'s content
}

type polyline struct {
	Series string
	Points int
	Dashed bool
}

// parseSVG decodes the <svg> element of an HTML page with encoding/xml,
// failing the test if it is not well-formed XML.
func parseSVG(t *testing.T, page string) svgDoc {
	t.Helper()
	i, j := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if i < 0 || j < i {
		t.Fatalf("no <svg> element in\n%s", page)
	}
	d := xml.NewDecoder(strings.NewReader(page[i : j+len("</svg>")]))
	d.Strict = true
	var doc svgDoc
	var inText bool
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, page[i:j+6])
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "polyline":
				var p polyline
				for _, a := range tok.Attr {
					switch a.Name.Local {
					case "data-series":
						p.Series = a.Value
					case "points":
						p.Points = len(strings.Fields(a.Value))
					case "stroke-dasharray":
						p.Dashed = true
					}
				}
				doc.Polylines = append(doc.Polylines, p)
			case "text":
				inText = true
				text.Reset()
			}
		case xml.CharData:
			if inText {
				text.Write(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" {
				inText = false
				doc.Texts = append(doc.Texts, text.String())
			}
		}
	}
	return doc
}

func render(t *testing.T, p *Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTwoModelPage(t *testing.T) {
	p := &Page{
		Title: "two <models>",
		Mode:  "two-model",
		Fingerprint: Fingerprint{
			Inputs: []string{"test.parquet"}, Prompts: 100, LeftOut: 2,
			Models: []string{"strong", "a<b&c"}, SHA256: strings.Repeat("ab", 32),
			Generated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		Plot: Plot{
			XLabel: "share of strong calls", YLabel: "mean score",
			Series: []Series{
				{Name: "knn:a<b&c", Points: [][2]float64{{0, 0.5}, {0.5, 0.7}, {1, 0.8}}},
				{Name: "oracle", Points: [][2]float64{{0, 0.5}, {0.2, 0.85}, {0.6, 0.9}, {1, 0.8}}},
				{Name: "knn:/a/very/long/artifact/directory/name/that/wraps", Points: [][2]float64{{0, 0.5}, {1, 0.8}}},
				{Name: "random", Points: [][2]float64{{0, 0.5}, {math.NaN(), 0.6}, {1, 0.8}}, Dashed: true},
			},
			HLines: []HLine{{Label: "weak a<b&c", Y: 0.5}, {Label: "strong", Y: 0.8}},
		},
		Tables: []Table{{Caption: "APGR", Header: []string{"router", "APGR"}, Rows: [][]string{{"knn:a<b&c", "0.612"}, {"random", "0.5"}}}},
	}
	out := render(t, p)
	doc := parseSVG(t, out)
	want := map[string]int{"knn:a<b&c": 3, "oracle": 4, "random": 2, "knn:/a/very/long/artifact/directory/name/that/wraps": 2}
	if len(doc.Polylines) != len(want) {
		t.Fatalf("%d polylines, want %d: %+v", len(doc.Polylines), len(want), doc.Polylines)
	}
	for _, pl := range doc.Polylines {
		if n, ok := want[pl.Series]; !ok || n != pl.Points {
			t.Errorf("series %q has %d points, want %d", pl.Series, pl.Points, n)
		}
		if pl.Dashed != (pl.Series == "random") {
			t.Errorf("series %q dashed %v", pl.Series, pl.Dashed)
		}
	}
	texts := strings.Join(doc.Texts, "\n")
	for name := range want {
		if !strings.Contains(texts, name) {
			t.Errorf("legend lacks %q", name)
		}
	}
	for _, s := range []string{"share of strong calls", "mean score", "weak a<b&c"} {
		if !strings.Contains(texts, s) {
			t.Errorf("SVG lacks the text %q", s)
		}
	}
	if strings.Contains(out, "a<b&c") {
		t.Error("raw a<b&c in the page: not escaped")
	}
	for _, s := range []string{"a&lt;b&amp;c", strings.Repeat("ab", 32), "2026-01-02T03:04:05Z", "test.parquet", "100 evaluated, 2 left out", "two &lt;models&gt;", `class="sw"`} {
		if !strings.Contains(out, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range []string{"<script", "http://", "https://", "src="} {
		if strings.Contains(out, s) && !(s == "http://" && strings.Count(out, s) == strings.Count(out, "http://www.w3.org/2000/svg")) {
			t.Errorf("page refers to %q: not self-contained", s)
		}
	}
	if p.Plot.LogX() {
		t.Error("shares drawn on a log axis")
	}
}

func TestManyModelPageLogScale(t *testing.T) {
	p := &Page{
		Title: "many",
		Plot: Plot{
			XLabel: "cost", YLabel: "quality",
			Series: []Series{
				{Name: "r1", Points: [][2]float64{{0.03, 0.9}, {0.01, 0.85}, {0.001, 0.6}}},
				{Name: "random mixtures", Points: [][2]float64{{0.0005, 0.5}, {0.05, 0.88}}, Dashed: true},
			},
			Points: []LabelledPoint{
				{Label: "cheap", Kind: "single model", X: 0.0005, Y: 0.5},
				{Label: "dear<>", Kind: "single model", X: 0.05, Y: 0.88},
				{Label: "oracle", Kind: "oracle", X: 0.004, Y: 0.97},
			},
		},
	}
	if !p.Plot.LogX() {
		t.Fatal("costs spanning 100x not on a log axis")
	}
	doc := parseSVG(t, render(t, p))
	if len(doc.Polylines) != 2 || doc.Polylines[0].Points != 3 || doc.Polylines[1].Points != 2 {
		t.Errorf("polylines %+v", doc.Polylines)
	}
	texts := strings.Join(doc.Texts, "\n")
	for _, s := range []string{"r1", "random mixtures", "cheap", "dear<>", "oracle", "single model", "(log scale)"} {
		if !strings.Contains(texts, s) {
			t.Errorf("SVG lacks %q", s)
		}
	}

	// Narrow costs stay linear; zero or negative x forces linear too.
	p.Plot.Series = p.Plot.Series[:1]
	p.Plot.Points = nil
	p.Plot.Series[0].Points = [][2]float64{{0.01, 0.5}, {0.03, 0.7}}
	if p.Plot.LogX() {
		t.Error("3x span on a log axis")
	}
	p.Plot.Series[0].Points = [][2]float64{{0, 0.5}, {0.03, 0.7}}
	if p.Plot.LogX() {
		t.Error("x = 0 on a log axis")
	}
}

func TestColorsStable(t *testing.T) {
	p := &Page{Plot: Plot{Series: []Series{{Name: "a"}, {Name: "b"}, {Name: "a"}, {Name: "c", Color: "red"}}}}
	c := p.Colors()
	if c["a"] != palette[0] || c["b"] != palette[1] || c["c"] != "red" {
		t.Errorf("colors %v", c)
	}
	// An empty page still renders.
	out := render(t, &Page{Title: "empty"})
	if strings.Contains(out, "<svg") {
		t.Error("empty plot drawn")
	}
}

func TestTicks(t *testing.T) {
	got := niceTicks(-0.05, 1.05)
	if len(got) < 3 || got[0] != 0 || math.Abs(got[len(got)-1]-1) > 1e-12 {
		t.Errorf("niceTicks %v", got)
	}
	lt := logTicks(math.Log10(0.0004), math.Log10(0.06))
	if len(lt) == 0 || lt[0] != 0.0005 {
		t.Errorf("logTicks %v", lt)
	}
	if s := tickLabel(0.30000000000000004); s != "0.3" {
		t.Errorf("tickLabel %q", s)
	}
}
