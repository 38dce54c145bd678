package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// svgNames decodes the page's <svg> element with encoding/xml (it must be
// well-formed) and returns the data-series of its polylines (and their number of points) and the content of its <text>
// elements, one a line.
func svgNames(t *testing.T, page string) (series map[string]int, texts string) {
	t.Helper()
	i, j := strings.Index(page, "<svg"), strings.LastIndex(page, "</svg>")
	if i < 0 || j < i {
		t.Fatal("no <svg> in the report")
	}
	d := xml.NewDecoder(strings.NewReader(page[i : j+len("</svg>")]))
	series = map[string]int{}
	var b strings.Builder
	depth := 0 // inside <text>
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report SVG: %v", err)
		}
		switch tok := tok.(type) {
		case xml.EndElement:
			if tok.Name.Local == "text" {
				depth--
				b.WriteByte('\n')
			}
		case xml.StartElement:
			if tok.Name.Local == "text" {
				depth++
			}
			if tok.Name.Local == "polyline" {
				var name string
				n := 0
				for _, a := range tok.Attr {
					switch a.Name.Local {
					case "data-series":
						name = a.Value
					case "points":
						n = len(strings.Fields(a.Value))
					}
				}
				series[name] = n
			}
		case xml.CharData:
			if depth > 0 {
				b.Write(tok)
			}
		}
	}
	return series, b.String()
}

func TestEvalReport(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "5", "--models", "4", "--prompts", "800", "--battles", "0", "--out-dir", world)
	split := filepath.Join(dir, "split")
	mustRun(t, "data", "split", "--in", filepath.Join(world, "outcomes.parquet"), "--out-dir", split, "--fractions", "0.7,0.1,0.2")
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", filepath.Join(split, "train.parquet"), "--dim", "32", "--out", art)
	test := filepath.Join(split, "test.parquet")

	// Many models, with --json: stdout stays JSON, the page has every curve.
	page := filepath.Join(dir, "many.html")
	out := mustRun(t, "eval", "--json", "--report", page, "--data", test, "--artifact", art,
		"--router", "oracle", "--router", "random", "--bootstrap", "200")
	var res evalJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--report broke --json: %v\n%s", err, out)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	series, texts := svgNames(t, html)
	knn := "knn:" + art
	for _, n := range []string{knn, "oracle"} {
		if got, want := series[n], len(res.Routers[n].Curve); got == 0 || got > want {
			t.Errorf("series %s has %d points, curve %d", n, got, want)
		}
		if !strings.Contains(texts, n) {
			t.Errorf("legend lacks %s", n)
		}
	}
	if _, ok := series["random"]; !ok {
		t.Errorf("no random (zero-router hull) series: %v", series)
	}
	for _, m := range res.Models {
		if !strings.Contains(texts, m) {
			t.Errorf("plot lacks single model %s", m)
		}
	}
	for _, s := range []string{"USD/query", "quality at best cost", test, "left out"} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("page has a script")
	}
	// The table shows the intervals --json reports.
	for _, key := range []string{"quality_at_best_cost", "aiq"} {
		c, ok := res.Routers[knn].CI95[key]
		if !ok {
			t.Fatalf("--json has no %s interval for %s", key, knn)
		}
		if cell := fmt.Sprintf("[%.4f, %.4f]", c[0], c[1]); !strings.Contains(html, cell) {
			t.Errorf("page lacks the %s interval %s", key, cell)
		}
	}

	// Two models, with the text table.
	page = filepath.Join(dir, "two.html")
	out = mustRun(t, "eval", "--report", page, "--data", test, "--artifact", art,
		"--strong", res.Models[0], "--weak", res.Models[1], "--router", "random", "--router", "oracle", "--bootstrap", "0")
	if !strings.Contains(out, "APGR") {
		t.Errorf("text table missing:\n%s", out)
	}
	if b, err = os.ReadFile(page); err != nil {
		t.Fatal(err)
	}
	html = string(b)
	series, texts = svgNames(t, html)
	for _, n := range []string{knn, "oracle", "random"} {
		if series[n] < 2 {
			t.Errorf("series %s: %d points (%v)", n, series[n], series)
		}
		if !strings.Contains(texts, n) {
			t.Errorf("legend lacks %s", n)
		}
	}
	for _, s := range []string{"share of strong calls", "APGR", "CPT(50%)", "weak: " + res.Models[1]} {
		if !strings.Contains(html, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}
