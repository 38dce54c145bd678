package data

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// badFiles are the testdata/*.bad.* fixtures: what reading each must say,
// and what a read with SkipInvalid must count.
var badFiles = []struct {
	file string
	// want is the error after "testdata/<file>:": line, field, problem.
	want string
	// is, when set, is an error the read's error must wrap.
	is error
	// fatal errors stop reading even with SkipInvalid.
	fatal bool
	// With SkipInvalid: the rows read, of which good made records
	// (records in all), and the rows skipped by reason.
	rows, good, records int
	skipped             map[string]int
}{
	{file: "outcomes_score.bad.jsonl", want: "4: score: 1.5 is outside [0, 1]",
		rows: 4, good: 3, records: 3, skipped: map[string]int{"invalid score": 1}},
	{file: "outcomes_model.bad.jsonl", want: "2: model: missing",
		rows: 4, good: 2, records: 2, skipped: map[string]int{"invalid model": 2}},
	{file: "outcomes_time.bad.jsonl", want: `2: timestamp: "yesterday" is not an RFC 3339 time or Unix seconds`,
		rows: 3, good: 2, records: 2, skipped: map[string]int{"invalid timestamp": 1}},
	{file: "outcomes_json.bad.jsonl", want: "3: invalid JSON: invalid character '}' looking for beginning of value",
		rows: 4, good: 3, records: 3, skipped: map[string]int{"invalid row": 1}},
	{file: "outcomes_firstline.bad.jsonl", want: `1: invalid JSON: invalid character '"' after object key:value pair`,
		rows: 3, good: 2, records: 2, skipped: map[string]int{"invalid row": 1}},
	{file: "outcomes_emptyfirst.bad.jsonl", want: "1: unknown layout: fields [] match no known layout", is: ErrUnknownLayout, fatal: true},
	{file: "unknown_layout.bad.jsonl", want: "1: unknown layout: fields [bar, foo] match no known layout; name one with --layout",
		is: ErrUnknownLayout, fatal: true},
	// The record on line 2 spans three lines; the bad one starts on line 5.
	{file: "outcomes_cost.bad.csv", want: `5: cost: "cheap" is not a number`,
		rows: 3, good: 2, records: 2, skipped: map[string]int{"invalid cost": 1}},
	// The bad record spans lines 3-5 and is named by its first line.
	{file: "outcomes_multiline.bad.csv", want: "3: score: 7 is outside [0, 1]",
		rows: 3, good: 2, records: 2, skipped: map[string]int{"invalid score": 1}},
	{file: "outcomes_fields.bad.csv", want: "3: 4 fields, the header has 3",
		rows: 4, good: 2, records: 2, skipped: map[string]int{"invalid row": 2}},
	{file: "outcomes_negcost.bad.csv", want: "3: cost: -0.01 is negative",
		rows: 2, good: 1, records: 1, skipped: map[string]int{"invalid cost": 1}},
	{file: "outcomes_quote.bad.csv", want: `3: bare " in non-quoted-field`,
		rows: 3, good: 2, records: 2, skipped: map[string]int{"invalid row": 1}},
	// A JSON array element on line 12 of an indented array.
	{file: "outcomes_element.bad.json", want: "12: score: -0.5 is outside [0, 1]",
		rows: 4, good: 3, records: 3, skipped: map[string]int{"invalid score": 1}},
	// Two blank lines before the array; elements of the wrong shape.
	{file: "outcomes_shape.bad.json", want: "5: want an object, got JSON number",
		rows: 4, good: 2, records: 2, skipped: map[string]int{"invalid row": 2}},
	{file: "outcomes_trailing.bad.json", want: "4: invalid JSON: data after the closing ]", fatal: true},
	{file: "arena_winner.bad.json", want: `5: winner: "model_c" is not model_a, model_b, tie or tie (bothbad)`,
		rows: 3, good: 2, records: 2, skipped: map[string]int{"invalid winner": 1}},
	{file: "arena_conv.bad.jsonl", want: "2: conversation_a: no user turn",
		rows: 4, good: 2, records: 2, skipped: map[string]int{"invalid conversation_a": 2}},
	// Row 3 spans lines 3-4; the row with two winners is on line 5.
	{file: "arena55k_winner.bad.csv", want: "5: winner_model_a: 2 of winner_model_a, winner_model_b, winner_tie are 1; want exactly one",
		rows: 4, good: 3, records: 3, skipped: map[string]int{"invalid winner_model_a": 1}},
	{file: "pairs_tie.bad.csv", want: `3: tie: "maybe" is not a number`,
		rows: 4, good: 2, records: 2, skipped: map[string]int{"invalid tie": 2}},
	{file: "scores_python.bad.json", want: "3: scores.llama-3-8b: 2 is outside [0, 1]",
		rows: 4, good: 2, records: 3, skipped: map[string]int{"invalid scores": 2}},
	{file: "performance.bad.json", want: "4: model_performance.gpt-4o.task_performance: 3 is outside [0, 1]",
		rows: 2, good: 1, records: 2, skipped: map[string]int{"invalid model_performance": 1}},
	{file: "feedback_signal.bad.jsonl", want: `2: signal: "meh" is not thumbs_up, thumbs_down, retry, completed or a score`,
		rows: 4, good: 2, records: 2, skipped: map[string]int{"invalid signal": 1, "invalid prompt": 1}},
	{file: "wide_score.bad.csv", want: "3: llama-3-8b: 1.5 is outside [0, 1]",
		rows: 3, good: 2, records: 3, skipped: map[string]int{"invalid llama-3-8b": 1}},
}

func datasetLen(ds *Dataset) int {
	if ds == nil {
		return 0
	}
	return len(ds.Outcomes) + len(ds.Battles) + len(ds.Feedback) + len(ds.Decisions)
}

// compressedCopy writes a fixture compressed by ext (".gz" or ".zst")
// under dir, keeping its name.
func compressedCopy(t *testing.T, dir, file, ext string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file+ext)
	writeSource(t, path, b)
	return path
}

func TestBadFiles(t *testing.T) {
	ctx := context.Background()
	for _, c := range badFiles {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			for _, ext := range []string{"", ".gz", ".zst"} {
				path := filepath.Join("testdata", c.file)
				if ext != "" {
					path = compressedCopy(t, dir, c.file, ext)
				}
				want := path + ":" + c.want

				// Stopping at the first bad row.
				ds, _, err := ReadFiles(ctx, []string{path}, Options{})
				if err == nil {
					t.Fatalf("%s: no error, read %d records", path, datasetLen(ds))
				}
				if !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error\n got %s\nwant %s...", err, want)
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("%s: error %T is not a *ParseError", path, err)
				} else if pe.File != path {
					t.Errorf("ParseError.File = %q, want %q", pe.File, path)
				}
				if c.is != nil && !errors.Is(err, c.is) {
					t.Errorf("error %v does not wrap %v", err, c.is)
				}

				// Skipping bad rows: the good ones are all read, the bad
				// ones counted and shown, nothing dropped silently.
				ds, rep, err := ReadFiles(ctx, []string{path}, Options{SkipInvalid: true})
				if c.fatal {
					if err == nil || !strings.HasPrefix(err.Error(), want) {
						t.Errorf("SkipInvalid: error\n got %v\nwant %s...", err, want)
					}
					continue
				}
				if err != nil {
					t.Fatalf("SkipInvalid: %v", err)
				}
				if rep.Rows != c.rows || datasetLen(ds) != c.records {
					t.Errorf("SkipInvalid: rows, records = %d, %d; want %d, %d", rep.Rows, datasetLen(ds), c.rows, c.records)
				}
				if d := cmp.Diff(c.skipped, rep.Skipped); d != "" {
					t.Errorf("Skipped (-want +got):\n%s", d)
				}
				if rep.Rows != c.good+rep.TotalSkipped() {
					t.Errorf("rows %d != good rows %d + skipped %d: a row went missing", rep.Rows, c.good, rep.TotalSkipped())
				}
				if len(rep.Examples) != rep.TotalSkipped() || len(rep.Examples) == 0 || !strings.HasPrefix(rep.Examples[0], want) {
					t.Errorf("Examples = %q, want %d, the first %q", rep.Examples, rep.TotalSkipped(), want)
				}
				for _, ex := range rep.Examples {
					if !strings.HasPrefix(ex, path+":") {
						t.Errorf("example %q names no position", ex)
					}
				}
			}
		})
	}
}

// TestBadFilesCovered checks that every *.bad.* fixture is in the table.
func TestBadFilesCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.bad.*"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range badFiles {
		known[c.file] = true
	}
	for _, f := range files {
		if !known[filepath.Base(f)] {
			t.Errorf("%s has no entry in badFiles", f)
		}
	}
	if len(files) != len(badFiles) {
		t.Errorf("%d fixtures, %d table entries", len(files), len(badFiles))
	}
}

func TestExamplesCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"prompt": "ok", "model": "m", "score": 1}` + "\n")
	for i := 0; i < 25; i++ {
		b.WriteString(`{"prompt": "bad", "model": "m", "score": 9}` + "\n")
	}
	path := filepath.Join(t.TempDir(), "many.jsonl")
	writeSource(t, path, []byte(b.String()))
	ds, rep, err := ReadFiles(context.Background(), []string{path}, Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Outcomes) != 1 || rep.Skipped["invalid score"] != 25 || len(rep.Examples) != maxExamples {
		t.Errorf("outcomes %d, skipped %v, examples %d; want 1, 25, %d", len(ds.Outcomes), rep.Skipped, len(rep.Examples), maxExamples)
	}
	if !strings.HasPrefix(rep.Examples[maxExamples-1], path+":11: score:") {
		t.Errorf("last example %q, want line 11", rep.Examples[maxExamples-1])
	}
}

// TestCorruptParquetSkipInvalid: a Parquet page that cannot be decoded is
// an error even when skipping bad rows (it is no row: retrying it looped).
func TestCorruptParquetSkipInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "o.parquet")
	w, err := Create(path, "", KindOutcome)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		o := Outcome{PromptID: "p", Prompt: strings.Repeat("abc ", i%17+1), Model: "m", Score: 0.5}
		if err := w.WriteOutcome(&o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 140; i++ { // inside the first column's data page
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		done := make(chan error, 1)
		go func() {
			_, _, err := ReadFiles(context.Background(), []string{path}, Options{SkipInvalid: skip})
			done <- err
		}()
		select {
		case err := <-done:
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "reading Parquet") {
				t.Errorf("SkipInvalid %v: error %v, want a Parquet ParseError", skip, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("SkipInvalid %v: the read does not end", skip)
		}
	}
}

func TestExclude(t *testing.T) {
	set, err := LoadPromptSet(filepath.Join("testdata", "contaminated_prompts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 3 { // the two France prompts normalise alike
		t.Errorf("prompt set holds %d prompts, want 3", set.Len())
	}
	ds, rep, err := ReadFiles(context.Background(), []string{filepath.Join("testdata", "exclude_outcomes.jsonl")}, Options{Exclude: set})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range ds.Outcomes {
		got = append(got, o.Prompt)
	}
	want := []string{"Write a haiku about rain, please.", "What is the capital of Spain?"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("prompts kept (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"excluded": 3}, rep.Skipped); d != "" {
		t.Errorf("Skipped (-want +got):\n%s", d)
	}
	if rep.Rows != 5 || rep.Outcomes != 2 {
		t.Errorf("rows, outcomes = %d, %d; want 5, 2", rep.Rows, rep.Outcomes)
	}

	// Battles are filtered too.
	ds, rep, err = ReadFiles(context.Background(), []string{filepath.Join("testdata", "pairs.jsonl")},
		Options{Exclude: NewPromptSet("  which IS better? ")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Battles) != 0 || rep.Skipped["excluded"] != 1 {
		t.Errorf("battles %d, skipped %v; want 0 and 1 excluded", len(ds.Battles), rep.Skipped)
	}
}

func TestDedup(t *testing.T) {
	paths := []string{filepath.Join("testdata", "dedup_a.jsonl"), filepath.Join("testdata", "dedup_b.csv")}
	ds, rep, err := ReadFiles(context.Background(), paths, Options{Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	type pm struct{ ID, Model string }
	var got []pm
	for _, o := range ds.Outcomes {
		got = append(got, pm{o.PromptID, o.Model})
	}
	// "Hello  World", "hello world" and "  HELLO\nworld " are one prompt,
	// under the first id seen; repeated (prompt, model) pairs are dropped.
	want := []pm{{"p1", "m1"}, {"p1", "m2"}, {"p1", "m3"}, {"p1", "m4"}, {"p5", "m1"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"duplicate": 2}, rep.Skipped); d != "" {
		t.Errorf("Skipped (-want +got):\n%s", d)
	}
	if rep.Rows != 7 || rep.Prompts() != 2 {
		t.Errorf("rows %d, prompts %d; want 7, 2", rep.Rows, rep.Prompts())
	}
	// The first answer is the one kept.
	if ds.Outcomes[1].Score != 0 {
		t.Errorf("kept the second (p1, m2) outcome, score %v", ds.Outcomes[1].Score)
	}

	// Without Dedup every row is an outcome under its own id.
	ds, _, err = ReadFiles(context.Background(), paths, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Outcomes) != 7 || ds.Outcomes[3].PromptID != "p9" || ds.Outcomes[5].PromptID != PromptIDOf("hello world") {
		t.Errorf("without Dedup: %d outcomes, ids %q, %q", len(ds.Outcomes), ds.Outcomes[3].PromptID, ds.Outcomes[5].PromptID)
	}
}

func TestUnexpectedKind(t *testing.T) {
	for _, skip := range []bool{false, true} {
		rd := NewReader(Options{SkipInvalid: skip})
		n := 0
		err := rd.Read(context.Background(), filepath.Join("testdata", "pairs.jsonl"), Handler{
			Outcome: func(*Outcome) error { n++; return nil },
		})
		if !errors.Is(err, ErrUnexpectedKind) {
			t.Fatalf("SkipInvalid %v: error %v, want ErrUnexpectedKind", skip, err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 1 || !strings.Contains(err.Error(), "the file holds battles") {
			t.Errorf("error %q: want a ParseError at line 1 naming battles", err)
		}
		if n != 0 {
			t.Errorf("handler called %d times", n)
		}
	}
	// A Writer of outcomes refuses battles the same way.
	w, err := Create(filepath.Join(t.TempDir(), "o.jsonl"), "", KindOutcome)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.WriteBattle(&Battle{}); !errors.Is(err, ErrUnexpectedKind) {
		t.Errorf("WriteBattle to an outcome file: %v, want ErrUnexpectedKind", err)
	}
}

const catalogYAML = `
- name: gpt-4o
  input_price: 2.5
  output_price: 10
  output_tokens: 300
  description: flagship, multimodal
  size: unknown
  upstream:
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY
- name: llama-3-8b
  cost_per_query: 0.0001
- name: unpriced
  family: test
- name: half-priced
  input_price: 1
`

// catalogJSON is LLMRouter's llm_candidates.json layout: an object keyed
// by model name.
const catalogJSON = `{
  "qwen2.5-7b-instruct": {"size": "7B", "feature": "Qwen, competitively priced", "input_price": 0.20, "output_price": 0.20,
    "model": "qwen/qwen2.5-7b-instruct", "service": "NVIDIA"},
  "gemma-2-9b-it": {"size": "9B", "input_price": 0.10, "output_price": 0.10, "name": "Gemma 2"}
}`

func TestCatalog(t *testing.T) {
	cat, err := ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"gpt-4o", "llama-3-8b", "unpriced", "half-priced"}, cat.Names()); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
	m, _ := cat.Lookup("gpt-4o")
	if d := cmp.Diff(map[string]any{"description": "flagship, multimodal", "size": "unknown"}, m.Extra); d != "" {
		t.Errorf("gpt-4o Extra (-want +got):\n%s", d)
	}
	if m.Upstream == nil || m.Upstream.BaseURL != "https://api.openai.com/v1" || m.Upstream.APIKeyEnv != "OPENAI_API_KEY" {
		t.Errorf("gpt-4o upstream = %+v", m.Upstream)
	}
	// 10 characters are 3 input tokens; 300 output tokens.
	c, err := cat.Cost("gpt-4o", "0123456789")
	if want := (3*2.5 + 300*10) / 1e6; err != nil || math.Abs(c-want) > 1e-15 {
		t.Errorf("Cost(gpt-4o) = %v, %v; want %v", c, err, want)
	}
	if c, err := cat.Cost("llama-3-8b", "anything"); err != nil || c != 0.0001 {
		t.Errorf("Cost(llama-3-8b) = %v, %v; want 0.0001", c, err)
	}
	for _, name := range []string{"unpriced", "half-priced"} {
		if c, err := cat.Cost(name, "x"); err == nil || !strings.Contains(err.Error(), "no price") {
			t.Errorf("Cost(%s) = %v, %v; want a no-price error, never 0", name, c, err)
		}
	}
	if _, err := cat.Cost("nope", "x"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("Cost(nope): %v, want ErrUnknownModel", err)
	}
	// Default output length for token prices.
	cat2, err := ParseCatalog([]byte("[{name: m, input_price: 1, output_price: 2}]"))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := cat2.Cost("m", "ab"); c != (1*1+DefaultOutputTokens*2)/1e6 {
		t.Errorf("Cost with default output tokens = %v", c)
	}

	// An object keyed by name; unknown fields kept.
	cat, err = ParseCatalog([]byte(catalogJSON))
	if err != nil {
		t.Fatal(err)
	}
	q, ok := cat.Lookup("qwen2.5-7b-instruct")
	if !ok || *q.InputPrice != 0.2 || q.Extra["model"] != "qwen/qwen2.5-7b-instruct" || q.Extra["service"] != "NVIDIA" || q.Extra["size"] != "7B" {
		t.Errorf("qwen entry = %+v", q)
	}
	if g, ok := cat.Lookup("gemma-2-9b-it"); !ok || g.Extra["extra_name"] != "Gemma 2" {
		t.Errorf("gemma entry = %+v (its own name field belongs in Extra)", g)
	}
	// Under a top-level "models" key.
	if cat, err := ParseCatalog([]byte("models:\n  - {name: a, cost_per_query: 1}\n")); err != nil || len(cat.Models) != 1 {
		t.Errorf("models: wrapper: %v", err)
	}
}

func TestCatalogErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"negative price", "- {name: a, input_price: -1, output_price: 1}", "price: -1 is not a finite number >= 0"},
		{"negative cost", `{"a": {"cost_per_query": -0.5}}`, "price: -0.5 is not a finite number >= 0"},
		{"NaN price", "- {name: a, cost_per_query: .nan}", "cost_per_query"},
		{"duplicate", "- {name: a, cost_per_query: 1}\n- {name: b, cost_per_query: 1}\n- {name: a, cost_per_query: 2}", `name: duplicate "a"`},
		{"duplicate key", "a: {cost_per_query: 1}\na: {cost_per_query: 2}\n", "already defined"},
		{"missing name", "- {cost_per_query: 1}", "entry 1: name: missing"},
		{"name not a string", "- {name: [x], cost_per_query: 1}", "name: missing or not a string"},
		{"price not a number", "- {name: a, cost_per_query: cheap}", `cost_per_query: "cheap" is not a number`},
		{"fractional tokens", "- {name: a, input_price: 1, output_price: 1, output_tokens: 2.5}", "output_tokens: 2.5 is not an integer"},
		{"negative tokens", "- {name: a, input_price: 1, output_price: 1, output_tokens: -3}", "output_tokens: -3 < 0"},
		{"upstream without URL", "- {name: a, cost_per_query: 1, upstream: {model: x}}", "upstream.base_url: missing"},
		{"entry not an object", "- a\n- b\n", "entry 1: not an object"},
		{"scalar", "42", "want a list of models or an object keyed by model name"},
		{"empty", "", "parsing"},
		{"bad YAML", "- {name: a", "parsing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cat, err := ParseCatalog([]byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParseCatalog: %v, %v; want an error with %q", cat, err, c.want)
			}
		})
	}
}

func TestCatalogFileRoundTrip(t *testing.T) {
	cat, err := ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"cat.yaml", "cat.json"} {
		path := filepath.Join(dir, name)
		if err := WriteCatalog(path, cat); err != nil {
			t.Fatal(err)
		}
		back, err := LoadCatalog(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(cat.Models, back.Models); d != "" {
			t.Errorf("%s: catalog changed (-wrote +read):\n%s", name, d)
		}
	}
	if _, err := LoadCatalog(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("LoadCatalog(missing): %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("- {name: a, cost_per_query: -1}"), 0o644)
	if _, err := LoadCatalog(bad); err == nil || !strings.HasPrefix(err.Error(), "catalog "+bad+": ") {
		t.Errorf("LoadCatalog(bad): %v, want the path in the error", err)
	}
}

func TestLoadPromptSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.jsonl")
	os.WriteFile(path, []byte("{\"question\": \"Q one\"}\n\n\"a JSON string\"\nplain text line\n{\"query\": \"Q  TWO\"}\n"), 0o644)
	set, err := LoadPromptSet(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"q one", "A JSON string", " plain  text line", "q two"} {
		if !set.Contains(p) {
			t.Errorf("set lacks %q", p)
		}
	}
	if set.Contains("Q three") || set.Len() != 4 {
		t.Errorf("set holds %d prompts, want 4", set.Len())
	}
	for _, c := range []struct{ src, want string }{
		{"ok\n{\"other\": 1}\n", ":2: prompt: none of prompt"},
		{"{\"prompt\": \"x\"}\n{bad\n", ":2: invalid JSON"},
		{"\"unterminated\n", ":1: invalid JSON string"},
	} {
		os.WriteFile(path, []byte(c.src), 0o644)
		if _, err := LoadPromptSet(path); err == nil || !strings.Contains(err.Error(), path+c.want) {
			t.Errorf("LoadPromptSet(%q): %v, want %q", c.src, err, c.want)
		}
	}
}

// TestNoScores: a row of per-model scores without a single score makes no
// record. It is an error naming its line, and with SkipInvalid a row
// counted as "no scores", never a silent drop.
func TestNoScores(t *testing.T) {
	dir := t.TempDir()
	wide := filepath.Join(dir, "wide_empty.csv")
	scores := filepath.Join(dir, "scores.jsonl")
	perf := filepath.Join(dir, "perf.jsonl")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(wide, "prompt,m1,m2\nq1,True,False\nq4,,\nq5,,0.5\n")
	write(scores, `{"question":"x","scores":{}}`+"\n"+`{"question":"y","scores":{"m":1,"n":null}}`+"\n"+`{"question":"z","scores":{"m":null}}`+"\n")
	write(perf, `{"query":"x","model_performance":{}}`+"\n"+`{"query":"y","model_performance":{"m":{"task_performance":1}}}`+"\n")
	for _, c := range []struct {
		path     string
		line     int
		outcomes int // with SkipInvalid
		skipped  int
		missing  int
	}{
		{wide, 3, 3, 1, 1},
		{scores, 1, 1, 2, 1},
		{perf, 1, 1, 1, 0},
	} {
		_, _, err := ReadFiles(context.Background(), []string{c.path}, Options{})
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line || !errors.Is(err, errNoScores) {
			t.Errorf("%s: err = %v, want a ParseError at line %d saying no scores", filepath.Base(c.path), err, c.line)
		}
		ds, rep, err := ReadFiles(context.Background(), []string{c.path}, Options{SkipInvalid: true})
		if err != nil {
			t.Fatalf("%s with SkipInvalid: %v", filepath.Base(c.path), err)
		}
		if len(ds.Outcomes) != c.outcomes || rep.Skipped["no scores"] != c.skipped || rep.TotalSkipped() != c.skipped || rep.Missing != c.missing {
			t.Errorf("%s: %d outcomes, skipped %v, %d missing; want %d, %d no scores, %d missing",
				filepath.Base(c.path), len(ds.Outcomes), rep.Skipped, rep.Missing, c.outcomes, c.skipped, c.missing)
		}
		if len(rep.Examples) != c.skipped || !strings.HasPrefix(rep.Examples[0], fmt.Sprintf("%s:%d:", c.path, c.line)) {
			t.Errorf("%s: examples %q, want the skipped rows' positions", filepath.Base(c.path), rep.Examples)
		}
	}
}

// TestMissingCounted: every empty score cell of a row handed on is counted,
// in the Report and its file's, also in a guessed model column whose
// first score comes late, and also when the row's outcomes are dropped as
// duplicates.
func TestMissingCounted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sparse.csv")
	// m3 is guessed a model on line 5; lines 2-4 had no m3 answer.
	csv := "prompt,m1,m2,m3,notes\n" +
		"a,1,,,x\n" +
		"b,,0,,y\n" +
		"a,1,1,,\n" +
		"c,0.5,,1,z\n" +
		",1,1,1,bad\n" // invalid: no prompt, skipped, its cells not counted
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, rep, err := ReadFiles(context.Background(), []string{path}, Options{SkipInvalid: true, Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	// Empty cells of the good rows: m2 on line 2, m1 on 3, m2 on 5, and
	// m3 on lines 2-4, found a model on line 5.
	if rep.Missing != 6 || rep.Files[0].Missing != 6 {
		t.Errorf("missing %d (file %d), want 6", rep.Missing, rep.Files[0].Missing)
	}
	if len(ds.Outcomes) != 5 || rep.Skipped["duplicate"] != 1 || rep.Skipped["invalid prompt"] != 1 {
		t.Errorf("%d outcomes, skipped %v; want 5, 1 duplicate, 1 invalid prompt", len(ds.Outcomes), rep.Skipped)
	}
	// Dedup's prompt ids are PromptIDOf's when the source has none.
	if ds.Outcomes[0].PromptID != PromptIDOf("a") || ds.Outcomes[4].PromptID != PromptIDOf("c") {
		t.Errorf("prompt ids %q, %q; want PromptIDOf's", ds.Outcomes[0].PromptID, ds.Outcomes[4].PromptID)
	}
	if got := rep.Files[0].Models; len(got) != 3 {
		t.Errorf("models %v, want m1, m2, m3", got)
	}
}

// TestOutputMode: Create's output is readable by others (0644 less the
// umask, as os.Create gives), not private as a temporary file.
func TestOutputMode(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref")
	f, err := os.OpenFile(ref, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := st.Mode().Perm()
	for _, name := range []string{"o.parquet", "o.jsonl", "o.csv.gz"} {
		path := filepath.Join(dir, name)
		w, err := Create(path, "", KindOutcome)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteOutcome(&Outcome{PromptID: "p", Prompt: "q", Model: "m", Score: 1}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want || got&0o600 != 0o600 {
			t.Errorf("%s: mode %v, want %v (0644 less the umask)", name, got, want)
		}
	}
}
