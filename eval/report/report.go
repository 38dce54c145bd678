// Package report renders the results of router evaluation as one
// self-contained HTML page: inline CSS and an inline SVG plot, no scripts and
// no external assets, so the file can be mailed, archived or opened offline.
//
// The package is pure: the input is a Page of plain structs (series of (x, y)
// points, labelled points, reference lines, tables of pre-formatted cells)
// and the output goes to an io.Writer. It knows nothing of routers or
// metrics; cmd/routekit builds the Page from package eval's results.
//
// # Plot
//
// Every Series is one SVG <polyline> (class "series", its name in the
// data-series attribute) with one vertex per finite point, in the given
// order; Dashed series (baselines such as random routing or the zero-router
// hull) are drawn dashed. Points are markers with their label beside them;
// HLines are horizontal reference lines (e.g. the weak and strong models'
// quality). The legend names every series and each kind of point.
//
// The x axis is linear unless Plot.XScale says otherwise; with ScaleAuto it is
// logarithmic when every x value is positive and the largest is more than 20
// times the smallest (AutoLogRatio), as model prices often span orders of
// magnitude. On a log axis, points with x <= 0 cannot be drawn and are left
// out. Axes span the data (and reference lines) with a small margin; ticks
// are at 1, 2, 5 times powers of ten.
//
// # Colours
//
// Colours come from a fixed palette in the order series names first appear
// in Page.Plot.Series, so a router keeps its colour across the plot, the
// legend and the tables: a table row whose first cell is a series name gets
// that series' colour swatch. Series.Color overrides the palette.
//
// # Escaping
//
// All text (titles, model and router names, labels, cells) is escaped, in the
// page by html/template and in the SVG by the same escaper, so the SVG is
// well-formed XML whatever the names hold.
package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// AutoLogRatio is the span (largest x over smallest x, all positive) above
// which ScaleAuto draws a logarithmic x axis.
const AutoLogRatio = 20

// Scale is an axis scale.
type Scale int

const (
	ScaleAuto   Scale = iota // logarithmic if x spans more than AutoLogRatio, else linear
	ScaleLinear              // always linear
	ScaleLog                 // always logarithmic (x <= 0 left out)
)

// Page is one report.
type Page struct {
	// Title heads the page and names the HTML document.
	Title string
	// Mode names the evaluation, e.g. "two-model" or "many-model".
	Mode string
	// Fingerprint identifies the data the page was computed from.
	Fingerprint Fingerprint
	// Summary lines are shown under the fingerprint, e.g. the strong and
	// weak models or the best single model.
	Summary []string
	// Plot is the figure; a Plot with no series, points or lines is left
	// out.
	Plot Plot
	// Tables follow the plot.
	Tables []Table
	// Notes are footnotes: how to read the plot and the tables.
	Notes []string
}

// Fingerprint identifies the evaluated data.
type Fingerprint struct {
	Inputs    []string  // input files
	Prompts   int       // prompts evaluated
	LeftOut   int       // prompts left out (e.g. a model has no answer)
	Models    []string  // candidate models
	SHA256    string    // hex SHA-256 of the records read
	Generated time.Time // when the page was made
}

// Plot is one x-y figure.
type Plot struct {
	Title          string
	XLabel, YLabel string // axis labels, with units
	XScale         Scale
	Series         []Series
	Points         []LabelledPoint
	HLines         []HLine
}

// Series is one curve.
type Series struct {
	Name   string
	Points [][2]float64 // (x, y), drawn in this order
	Dashed bool
	Color  string // CSS colour; empty means the palette's
}

// LabelledPoint is a marker with a label, e.g. a single model or the oracle.
// Kind groups points in the legend ("single model", "oracle"); the first kind
// is drawn as a circle, the next as a diamond, then a square.
type LabelledPoint struct {
	Label string
	Kind  string
	X, Y  float64
}

// HLine is a horizontal reference line at Y.
type HLine struct {
	Label string
	Y     float64
}

// Table is a table of pre-formatted cells.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// palette is colour-blind friendly (Okabe-Ito, then Tableau).
var palette = []string{
	"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
	"#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD",
}

// Colors returns the colour of every series name, as Write assigns them.
func (p *Page) Colors() map[string]string {
	c := map[string]string{}
	n := 0
	for _, s := range p.Plot.Series {
		if _, ok := c[s.Name]; ok {
			continue
		}
		if s.Color != "" {
			c[s.Name] = s.Color
		} else {
			c[s.Name] = palette[n%len(palette)]
		}
		n++
	}
	return c
}

// Write renders the page as HTML to w.
func Write(w io.Writer, p *Page) error {
	colors := p.Colors()
	var svg strings.Builder
	if len(p.Plot.Series)+len(p.Plot.Points)+len(p.Plot.HLines) > 0 {
		if err := WriteSVG(&svg, &p.Plot, colors); err != nil {
			return err
		}
	}
	type row struct {
		Swatch string
		Cells  []string
	}
	type table struct {
		Caption string
		Header  []string
		Rows    []row
	}
	var tables []table
	for _, t := range p.Tables {
		tt := table{Caption: t.Caption, Header: t.Header}
		for _, r := range t.Rows {
			var sw string
			if len(r) > 0 {
				sw = colors[r[0]]
			}
			tt.Rows = append(tt.Rows, row{Swatch: sw, Cells: r})
		}
		tables = append(tables, tt)
	}
	gen := ""
	if !p.Fingerprint.Generated.IsZero() {
		gen = p.Fingerprint.Generated.UTC().Format(time.RFC3339)
	}
	return pageTmpl.Execute(w, struct {
		*Page
		SVG       template.HTML
		Tables    []table
		Generated string
	}{p, template.HTML(svg.String()), tables, gen})
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"css": func(s string) template.CSS { return template.CSS(safeColor(s)) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 980px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
.mode { color: #666; margin-top: 0; }
dl.fp { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.9em; background: #f6f6f6; padding: 0.8em 1em; border-radius: 4px; }
dl.fp dt { font-weight: 600; color: #555; }
dl.fp dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.95em; }
figure { margin: 1.5em 0; }
figure svg { width: 100%; height: auto; border: 1px solid #ddd; background: #fff; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.4em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.sw { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; border-radius: 2px; vertical-align: middle; }
.notes { font-size: 0.85em; color: #555; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Mode}}<p class="mode">{{.Mode}}</p>{{end}}
<dl class="fp">
<dt>inputs</dt><dd>{{range $i, $f := .Fingerprint.Inputs}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}</dd>
<dt>prompts</dt><dd>{{.Fingerprint.Prompts}} evaluated, {{.Fingerprint.LeftOut}} left out</dd>
<dt>models</dt><dd>{{range $i, $m := .Fingerprint.Models}}{{if $i}}, {{end}}<code>{{$m}}</code>{{end}}</dd>
<dt>records SHA-256</dt><dd><code>{{.Fingerprint.SHA256}}</code></dd>
<dt>generated</dt><dd>{{.Generated}}</dd>
</dl>
{{range .Summary}}<p>{{.}}</p>
{{end}}{{if .SVG}}<figure>
{{.SVG}}
{{if .Plot.Title}}<figcaption>{{.Plot.Title}}</figcaption>{{end}}
</figure>
{{end}}{{range .Tables}}<table>
{{if .Caption}}<caption>{{.Caption}}</caption>
{{end}}<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}{{$sw := .Swatch}}<tr>{{range $i, $c := .Cells}}<td>{{if and (eq $i 0) $sw}}<span class="sw" style="background: {{css $sw}}"></span>{{end}}{{$c}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}{{if .Notes}}<div class="notes">
{{range .Notes}}<p>{{.}}</p>
{{end}}</div>
{{end}}</body>
</html>
`))

// safeColor keeps a colour made of safe characters only.
func safeColor(s string) string {
	for _, r := range s {
		if !(r == '#' || r == '(' || r == ')' || r == ',' || r == '.' || r == ' ' || r == '%' ||
			'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return "#888"
		}
	}
	return s
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// Plot geometry, in SVG user units.
const (
	svgW, svgH = 900, 540
	padL, padR = 80, 230 // the legend sits right of the plot area
	padT, padB = 30, 60
)

// logX reports whether the x axis of p is logarithmic.
func (p *Plot) logX() bool {
	switch p.XScale {
	case ScaleLinear:
		return false
	case ScaleLog:
		return true
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range p.xs() {
		if x <= 0 {
			return false
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo < hi && hi > AutoLogRatio*lo
}

// LogX reports whether Write draws the x axis of p on a log scale.
func (p *Plot) LogX() bool { return p.logX() }

func (p *Plot) xs() []float64 {
	var xs []float64
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if finite(pt[0]) && finite(pt[1]) {
				xs = append(xs, pt[0])
			}
		}
	}
	for _, pt := range p.Points {
		if finite(pt.X) && finite(pt.Y) {
			xs = append(xs, pt.X)
		}
	}
	return xs
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// WriteSVG renders the plot alone as an <svg> element, colouring series by
// colors (name to CSS colour; missing names get the palette's in order).
func WriteSVG(w io.Writer, p *Plot, colors map[string]string) error {
	logX := p.logX()
	okX := func(x float64) bool { return finite(x) && (!logX || x > 0) }
	tx := func(x float64) float64 {
		if logX {
			return math.Log10(x)
		}
		return x
	}
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	add := func(x, y float64) {
		if okX(x) && finite(y) {
			xlo, xhi = math.Min(xlo, tx(x)), math.Max(xhi, tx(x))
			ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
		}
	}
	for _, s := range p.Series {
		for _, pt := range s.Points {
			add(pt[0], pt[1])
		}
	}
	for _, pt := range p.Points {
		add(pt.X, pt.Y)
	}
	for _, h := range p.HLines {
		if finite(h.Y) {
			ylo, yhi = math.Min(ylo, h.Y), math.Max(yhi, h.Y)
		}
	}
	if xlo > xhi {
		xlo, xhi = 0, 1
	}
	if ylo > yhi {
		ylo, yhi = 0, 1
	}
	xlo, xhi = widen(xlo, xhi)
	ylo, yhi = widen(ylo, yhi)
	pw, ph := float64(svgW-padL-padR), float64(svgH-padT-padB)
	px := func(x float64) float64 { return padL + (tx(x)-xlo)/(xhi-xlo)*pw }
	py := func(y float64) float64 { return padT + (yhi-y)/(yhi-ylo)*ph }

	colors = copyColors(colors)
	next := len(colors)
	color := func(s Series) string {
		if s.Color != "" {
			return safeColor(s.Color)
		}
		c, ok := colors[s.Name]
		if !ok {
			c = palette[next%len(palette)]
			next++
			colors[s.Name] = c
		}
		return safeColor(c)
	}

	var b strings.Builder
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui, Helvetica, Arial, sans-serif" font-size="12" role="img">`+"\n", svgW, svgH, svgW, svgH)
	if p.Title != "" {
		fmt.Fprintf(&b, "<title>%s</title>\n", esc(p.Title))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%s" height="%s" fill="#fcfcfc" stroke="#999"/>`+"\n", padL, padT, f(pw), f(ph))

	// Ticks and grid.
	b.WriteString(`<g class="axes" stroke="#e4e4e4" fill="#333">` + "\n")
	var xt []float64
	if logX {
		xt = logTicks(xlo, xhi)
	} else {
		xt = niceTicks(xlo, xhi)
	}
	for _, t := range xt {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%d" x2="%s" y2="%s"/>`, f(x), padT, f(x), f(padT+ph))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" stroke="none">%s</text>`+"\n", f(x), f(padT+ph+16), esc(tickLabel(t)))
	}
	for _, t := range niceTicks(ylo, yhi) {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%s" y2="%s"/>`, padL, f(y), f(padL+pw), f(y))
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" stroke="none">%s</text>`+"\n", padL-6, f(y+4), esc(tickLabel(t)))
	}
	b.WriteString("</g>\n")
	xl := p.XLabel
	if logX {
		xl += " (log scale)"
	}
	fmt.Fprintf(&b, `<text class="xlabel" x="%s" y="%d" text-anchor="middle" font-size="14">%s</text>`+"\n", f(padL+pw/2), svgH-18, esc(xl))
	fmt.Fprintf(&b, `<text class="ylabel" x="%d" y="%s" text-anchor="middle" font-size="14" transform="rotate(-90 %d %s)">%s</text>`+"\n", 20, f(padT+ph/2), 20, f(padT+ph/2), esc(p.YLabel))

	// Reference lines.
	for _, h := range p.HLines {
		if !finite(h.Y) {
			continue
		}
		y := py(h.Y)
		fmt.Fprintf(&b, `<line class="hline" x1="%d" y1="%s" x2="%s" y2="%s" stroke="#666" stroke-width="1" stroke-dasharray="2 3"/>`, padL, f(y), f(padL+pw), f(y))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end" fill="#555" font-size="11">%s</text>`+"\n", f(padL+pw-4), f(y-4), esc(h.Label))
	}

	// Series.
	b.WriteString(`<g class="curves" fill="none" stroke-width="2" stroke-linejoin="round">` + "\n")
	for _, s := range p.Series {
		var pts []string
		for _, pt := range s.Points {
			if okX(pt[0]) && finite(pt[1]) {
				pts = append(pts, f(px(pt[0]))+","+f(py(pt[1])))
			}
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="7 5"`
		}
		fmt.Fprintf(&b, `<polyline class="series" data-series="%s" stroke="%s"%s points="%s"><title>%s</title></polyline>`+"\n",
			esc(s.Name), color(s), dash, strings.Join(pts, " "), esc(s.Name))
	}
	b.WriteString("</g>\n")

	// Labelled points.
	var kinds []string
	kindIdx := map[string]int{}
	for _, pt := range p.Points {
		if _, ok := kindIdx[pt.Kind]; !ok {
			kindIdx[pt.Kind] = len(kinds)
			kinds = append(kinds, pt.Kind)
		}
	}
	b.WriteString(`<g class="points">` + "\n")
	for _, pt := range p.Points {
		if !okX(pt.X) || !finite(pt.Y) {
			continue
		}
		x, y := px(pt.X), py(pt.Y)
		b.WriteString(`<g class="point">`)
		marker(&b, kindIdx[pt.Kind], x, y)
		anchor, dx := "start", 7.0
		if x > padL+pw*0.8 {
			anchor, dx = "end", -7
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="%s" font-size="11" fill="#222">%s</text></g>`+"\n", f(x+dx), f(y-6), anchor, esc(pt.Label))
	}
	b.WriteString("</g>\n")

	// Legend: full names, wrapped.
	lx, ly := float64(svgW-padR+16), float64(padT+8)
	b.WriteString(`<g class="legend">` + "\n")
	seen := map[string]bool{}
	for _, s := range p.Series {
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="7 5"`
		}
		fmt.Fprintf(&b, `<g class="entry"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`,
			f(lx), f(ly), f(lx+26), f(ly), color(s), dash)
		ly = legendText(&b, lx+32, ly, s.Name)
	}
	for i, k := range kinds {
		if k == "" {
			continue
		}
		b.WriteString(`<g class="entry">`)
		marker(&b, i, lx+13, ly)
		ly = legendText(&b, lx+32, ly, k)
	}
	b.WriteString("</g>\n</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func copyColors(c map[string]string) map[string]string {
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// marker draws point kind i at (x, y): circle, diamond, square.
func marker(b *strings.Builder, i int, x, y float64) {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	switch i % 3 {
	case 0:
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="4.5" fill="#444" stroke="#fff"/>`, f(x), f(y))
	case 1:
		fmt.Fprintf(b, `<polygon points="%s,%s %s,%s %s,%s %s,%s" fill="#C00" stroke="#fff"/>`,
			f(x), f(y-7), f(x+7), f(y), f(x), f(y+7), f(x-7), f(y))
	default:
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="9" height="9" fill="#666" stroke="#fff"/>`, f(x-4.5), f(y-4.5))
	}
}

// legendWrap is the most runes on one line of a legend entry.
const legendWrap = 26

// legendText writes an entry's name at (x, y), wrapped into lines of at most
// legendWrap runes (the text's content is still the whole name), closes the
// entry's <g> and returns the y of the next entry.
func legendText(b *strings.Builder, x, y float64, name string) float64 {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	r := []rune(name)
	fmt.Fprintf(b, `<text x="%s" y="%s">`, f(x), f(y+4))
	for i := 0; i < len(r) || i == 0; i += legendWrap {
		line := string(r[i:min(i+legendWrap, len(r))])
		if i == 0 {
			fmt.Fprintf(b, `<tspan>%s</tspan>`, esc(line))
		} else {
			fmt.Fprintf(b, `<tspan x="%s" dy="14">%s</tspan>`, f(x), esc(line))
			y += 14
		}
	}
	b.WriteString("</text></g>\n")
	return y + 18
}

// widen pads [lo, hi] by 5% each side, or to a unit-ish range when empty.
func widen(lo, hi float64) (float64, float64) {
	if hi-lo < 1e-12*math.Max(1, math.Abs(hi)) {
		d := math.Max(math.Abs(hi)*0.1, 0.05)
		return lo - d, hi + d
	}
	d := (hi - lo) * 0.05
	return lo - d, hi + d
}

// niceTicks returns ticks at 1, 2 or 5 times a power of ten within [lo, hi].
func niceTicks(lo, hi float64) []float64 {
	span := hi - lo
	if !(span > 0) || !finite(span) {
		return nil
	}
	raw := span / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var t []float64
	for k := math.Ceil(lo / step); k*step <= hi+step*1e-9; k++ {
		t = append(t, k*step)
	}
	return t
}

// logTicks returns ticks at 1, 2, 5 times powers of ten (or only powers of
// ten when the range spans many decades) within [lo, hi] in log10 units.
func logTicks(lo, hi float64) []float64 {
	mults := []float64{1, 2, 5}
	if hi-lo > 4 {
		mults = []float64{1}
	}
	var t []float64
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if l := math.Log10(v); l >= lo && l <= hi {
				t = append(t, v)
			}
		}
	}
	return t
}

func tickLabel(v float64) string {
	if math.Abs(v) < 1e-15 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
