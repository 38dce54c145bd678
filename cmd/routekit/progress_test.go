package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
)

// fakeBar records what a bar was told.
type fakeBar struct {
	label, unit string
	total       int64
	updates     []int64
	done        bool
}

func (b *fakeBar) Update(n int64) { b.updates = append(b.updates, n) }
func (b *fakeBar) Done()          { b.done = true }

// fakeBars returns fileBars drawing on fakes, and the fakes made.
func fakeBars(c data.Container) (*fileBars, *[]*fakeBar) {
	var made []*fakeBar
	return &fileBars{
		newBar: func(label string, total int64, unit string) bar {
			b := &fakeBar{label: label, total: total, unit: unit}
			made = append(made, b)
			return b
		},
		unit: func(file string) string { return progressUnit(c, file) },
	}, &made
}

// TestFileBars reads a Parquet file, a gzip-compressed JSONL file and
// the same Parquet file again: one bar each, with the total known from
// the first update (rows, compressed bytes), counting up to the total.
func TestFileBars(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "outcomes.parquet")
	gz := filepath.Join(dir, "outcomes.jsonl.gz")
	const n = 3000
	for _, p := range []string{pq, gz} {
		w, err := data.Create(p, "", data.KindOutcome)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			o := data.Outcome{Prompt: fmt.Sprintf("Question %d: how many legs has a spider?", i), Model: "gpt-4", Score: 1, Cost: 0.002, HasCost: true}
			o.PromptID = data.PromptIDOf(o.Prompt)
			if err := w.WriteOutcome(&o); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(gz)
	if err != nil {
		t.Fatal(err)
	}
	fb, made := fakeBars("")
	opt := data.Options{Progress: fb.report}
	rd := data.NewReader(opt)
	var h data.Handler
	h.Outcome = func(*data.Outcome) error { return nil }
	for _, in := range []string{pq, gz, pq} {
		if err := rd.Read(context.Background(), in, h); err != nil {
			t.Fatal(err)
		}
	}
	fb.done()
	want := []struct {
		label, unit string
		total       int64
	}{{"outcomes.parquet", "rows", n}, {"outcomes.jsonl.gz", "B", fi.Size()}, {"outcomes.parquet", "rows", n}}
	if len(*made) != len(want) {
		t.Fatalf("%d bars, want %d", len(*made), len(want))
	}
	for i, b := range *made {
		w := want[i]
		if b.label != w.label || b.unit != w.unit || b.total != w.total {
			t.Errorf("bar %d: %s %d %s, want %s %d %s", i, b.label, b.total, b.unit, w.label, w.total, w.unit)
		}
		if len(b.updates) < 2 || b.updates[0] != 0 || b.updates[len(b.updates)-1] != w.total {
			t.Errorf("bar %d: updates %v, want 0 first and %d last", i, b.updates, w.total)
		}
		if !b.done {
			t.Errorf("bar %d not cleared", i)
		}
	}
}

func TestProgressUnit(t *testing.T) {
	for _, c := range []struct {
		c          data.Container
		file, want string
	}{
		{"", "a.parquet", "rows"}, {"", "a.pq", "rows"}, {"", "a.jsonl.zst", "B"}, {"", "noext", "B"},
		{data.Parquet, "noext", "rows"}, {data.CSV, "a.parquet", "B"},
	} {
		if got := progressUnit(c.c, c.file); got != c.want {
			t.Errorf("progressUnit(%q, %q) = %q, want %q", c.c, c.file, got, c.want)
		}
	}
}

// TestWriteRecordsBar: the synth bar counts records up to the total.
func TestWriteRecordsBar(t *testing.T) {
	const n = 2*barEvery + 5
	b := &fakeBar{}
	path := filepath.Join(t.TempDir(), "o.jsonl")
	err := writeRecords(path, "", data.KindOutcome, n, func(w *data.Writer, i int) error {
		return w.WriteOutcome(&data.Outcome{PromptID: fmt.Sprint(i), Prompt: fmt.Sprint("p", i), Model: "m", Score: 1})
	}, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{barEvery, 2 * barEvery, n}; fmt.Sprint(b.updates) != fmt.Sprint(want) {
		t.Errorf("updates %v, want %v", b.updates, want)
	}
}

// TestDataExitCodes: a model the catalog lacks or does not price is bad
// data (exit 3, file:line: cost:); an --out without a known extension is
// a usage error found before any input is read.
func TestDataExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cat := write("catalog.yaml", "- {name: gpt-4, cost_per_query: 0.01}\n- {name: unpriced}\n")
	unknown := write("unknown.jsonl", `{"prompt": "hi", "model": "gpt-4", "score": 1}`+"\n"+`{"prompt": "yo", "model": "llama", "score": 0}`+"\n")
	unpriced := write("unpriced.jsonl", `{"prompt": "hi", "model": "unpriced", "score": 1}`+"\n")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"data", "stats", "--catalog", cat, unknown}, exitData, unknown + `:2: cost: model not in catalog: "llama"`},
		{[]string{"data", "import", "--catalog", cat, "--in", unpriced, "--out", filepath.Join(dir, "o.parquet")}, exitData, unpriced + `:1: cost: model "unpriced" has no price`},
		// The input does not exist: the --out check comes first.
		{[]string{"data", "import", "--in", filepath.Join(dir, "missing.jsonl"), "--out", filepath.Join(dir, "o.txt")}, exitUsage, "--out " + filepath.Join(dir, "o.txt") + ": cannot tell the output format"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("routekit %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.parquet")); !os.IsNotExist(err) {
		t.Errorf("a failed import left its output: %v", err)
	}
}
