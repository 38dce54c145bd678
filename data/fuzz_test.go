package data

// Fuzz tests of everything that parses user input. A panic on any input
// is a bug: the library must return an error. Seed corpora are in
// testdata/fuzz/<FuzzName>/ (realistic files of every layout), with a
// few more added below.
//
//	go test -run '^$' -fuzz '^FuzzReadJSONL$' -fuzztime 45s ./data/

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/google/go-cmp/cmp"
)

// fuzzRead reads b as the file path (rewritten for each input), stopping
// at errors and skipping them, and checks the invariants of what comes
// back. The input's length picks LastTurn and Dedup.
func fuzzRead(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opt := Options{LastTurn: len(b)%2 == 1, Dedup: len(b)%3 == 0}
	strict, _, err := ReadFiles(ctx, []string{path}, opt)
	if err != nil {
		checkReadError(t, path, err)
	} else {
		checkRecords(t, strict)
	}
	opt.SkipInvalid = true
	lenient, rep, lerr := ReadFiles(ctx, []string{path}, opt)
	if lerr != nil {
		checkReadError(t, path, lerr)
		if err == nil {
			t.Fatalf("the read succeeds, but fails when skipping bad rows: %v", lerr)
		}
		return
	}
	checkRecords(t, lenient)
	// Every skipped bad row leaves an example; duplicates and excluded
	// prompts are not errors, leave none, and are counted by record (a
	// wide table's row holds many).
	bad := rep.TotalSkipped() - rep.Skipped["duplicate"] - rep.Skipped["excluded"]
	if bad > rep.Rows {
		t.Fatalf("skipped %d of %d rows", bad, rep.Rows)
	}
	if len(rep.Examples) != min(bad, maxExamples) {
		t.Fatalf("%d skipped (%v), %d examples", rep.TotalSkipped(), rep.Skipped, len(rep.Examples))
	}
	for _, ex := range rep.Examples {
		if !strings.HasPrefix(ex, path+":") {
			t.Fatalf("example %q has no position", ex)
		}
	}
	if err == nil {
		// Nothing to skip: the same records.
		if n := rep.TotalSkipped() - rep.Skipped["duplicate"]; n != 0 {
			t.Fatalf("a read without errors skipped %v", rep.Skipped)
		}
		if d := cmp.Diff(strict, lenient); d != "" {
			t.Fatalf("SkipInvalid changed a good read (-strict +lenient):\n%s", d)
		}
	}
}

// checkReadError: an error is a *ParseError about the file, or an I/O
// error.
func checkReadError(t *testing.T, path string, err error) {
	t.Helper()
	var pe *ParseError
	if errors.As(err, &pe) {
		if pe.File != path || pe.Line < 0 {
			t.Fatalf("ParseError names %s:%d, want %s", pe.File, pe.Line, path)
		}
		if !strings.HasPrefix(err.Error(), path) {
			t.Fatalf("error %q does not start with the file", err)
		}
		return
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	t.Fatalf("error %T %q is neither a *ParseError nor an I/O error", err, err)
}

func checkRecords(t *testing.T, ds *Dataset) {
	t.Helper()
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	for _, o := range ds.Outcomes {
		switch {
		case o.PromptID == "":
			t.Fatalf("outcome without a prompt id: %+v", o)
		case o.Model == "":
			t.Fatalf("outcome without a model: %+v", o)
		case !(o.Score >= 0 && o.Score <= 1):
			t.Fatalf("outcome score %v outside [0, 1]", o.Score)
		case o.HasCost && !(o.Cost >= 0 && finite(o.Cost)):
			t.Fatalf("outcome cost %v", o.Cost)
		case !o.HasCost && o.Cost != 0:
			t.Fatalf("outcome cost %v without HasCost", o.Cost)
		}
	}
	for _, b := range ds.Battles {
		switch {
		case !b.Winner.Valid():
			t.Fatalf("battle winner %q", b.Winner)
		case b.ModelA == "" || b.ModelB == "":
			t.Fatalf("battle without models: %+v", b)
		case b.PromptID == "" || strings.TrimSpace(b.Prompt) == "":
			t.Fatalf("battle without a prompt: %+v", b)
		case b.Turn < 0:
			t.Fatalf("battle turn %d", b.Turn)
		}
	}
	for _, f := range ds.Feedback {
		switch {
		case f.RequestID == "" || f.Model == "":
			t.Fatalf("feedback without request id or model: %+v", f)
		case f.PromptID == "":
			t.Fatalf("feedback without a prompt id: %+v", f)
		case f.HasScore && !(f.Score >= 0 && f.Score <= 1):
			t.Fatalf("feedback score %v", f.Score)
		case !f.HasScore && f.Signal == "":
			t.Fatalf("feedback without a signal: %+v", f)
		case f.HasCost && !(f.Cost >= 0 && finite(f.Cost)):
			t.Fatalf("feedback cost %v", f.Cost)
		}
	}
	for _, d := range ds.Decisions {
		if d.RequestID == "" || d.ChosenModel == "" {
			t.Fatalf("decision without request id or model: %+v", d)
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{
		`{"prompt": "2+2?", "model": "m", "score": 1, "cost": 0.001, "timestamp": "2024-01-01T00:00:00Z"}` + "\n",
		`{"question": "q", "scores": "{'a': 1.0, 'b': None}"}` + "\n" + `{"question": "r", "scores": {"a": 0}}`,
		`{"model_a": "a", "model_b": "b", "winner": "tie", "conversation_a": [{"role": "user", "content": "hi"}], "tstamp": 1.7e9}`,
		`{"request_id": "r", "prompt_id": "p", "model": "m", "signal": "retry"}` + "\n\n{",
		`{"prompt": "p", "winner": "a", "loser": "b", "tie": true}`,
		"{}\n{\"prompt\": \"p\", \"model\": \"m\", \"score\": 1}\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "fuzz.jsonl")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, path, b) })
}

func FuzzReadJSONArray(f *testing.F) {
	for _, s := range []string{
		`[{"prompt": "2+2?", "model": "m", "score": 1}, {"prompt": "3+3?", "model": "m", "score": 0}]`,
		"[\n {\"query\": \"q\", \"model_performance\": {\"m\": {\"success\": true}}}\n]",
		`[{"question": "q", "scores": {"a": 0.5}, "cluster_id": 3}]`,
		`[{"model_a": "a", "model_b": "b", "winner": "model_a", "conversation_a": "[{'role': 'user', 'content': 'x'}]"}]`,
		"[1, null, {\"prompt\": \"p\", \"model\": \"m\", \"score\": 1}] []",
		`{"prompt": "not an array", "model": "m", "score": 0}`,
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "fuzz.json")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, path, b) })
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"prompt,model,score,cost\n\"a\nb\",m,1,0.1\n",
		"prompt,gpt-4,mixtral,gpt-4_response\nq,True,False,\"yes\"\n",
		"prompt,a,a|total_cost,sample_id,eval_name\nq,0.5,0.01,s1,mmlu\n",
		"id,model_a,model_b,prompt,response_a,response_b,winner_model_a,winner_model_b,winner_tie\n1,a,b,\"[\"\"hi\"\"]\",x,y,1,0,0\n",
		"prompt,winner,loser,tie\np,a,b,maybe\n",
		"\ufeffprompt,model,score\np,m,0.5\np,m\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "fuzz.csv")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, path, b) })
}

// literalDepth is the nesting depth of a parsed literal.
func literalDepth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, literalDepth(e))
		}
		return d + 1
	case []any:
		for _, e := range x {
			d = max(d, literalDepth(e))
		}
		return d + 1
	}
	return 0
}

// checkLiteral checks the types of a parsed literal.
func checkLiteral(t *testing.T, v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			checkLiteral(t, e)
		}
	case []any:
		for _, e := range x {
			checkLiteral(t, e)
		}
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			t.Fatalf("number %q does not parse: %v", x, err)
		}
	case string, bool, nil:
	default:
		t.Fatalf("literal holds a %T", v)
	}
}

func FuzzParsePython(f *testing.F) {
	for _, s := range []string{
		"{'gpt-4': 1.0, 'llama': 0, \"m'q\": None}",
		"[{'role': 'user', 'content': 'it\\'s \\n \\u00e9 \\x41'}, ('a', True, False)]",
		"{'a': [1, -2.5e-3, +3, .5], 'b': {'c': ()}}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"{'unterminated': 'x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parsePython(s)
		if err == nil {
			if d := literalDepth(v); d > maxLiteralDepth+1 {
				t.Fatalf("depth %d beyond the bound %d", d, maxLiteralDepth)
			}
			checkLiteral(t, v)
		}
		if v, err := decodeLiteral(s); err == nil && literalDepth(v) > 10001 {
			t.Fatalf("decodeLiteral: depth %d", literalDepth(v))
		}
	})
}

func FuzzParseCatalog(f *testing.F) {
	for _, s := range []string{
		catalogYAML,
		catalogJSON,
		"models:\n  - {name: a, cost_per_query: 0.5, upstream: {base_url: 'http://x/v1', model: y}}\n",
		"- {name: a, input_price: 1e308, output_price: 1e308, output_tokens: 1000000}\n",
		"a: &x {cost_per_query: 1}\nb: *x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cat, err := ParseCatalog(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for i := range cat.Models {
			m := &cat.Models[i]
			if strings.TrimSpace(m.Name) == "" || seen[m.Name] {
				t.Fatalf("entry %d: name %q empty or repeated", i, m.Name)
			}
			seen[m.Name] = true
			if got, ok := cat.Lookup(m.Name); !ok || got != m {
				t.Fatalf("Lookup(%q) does not find its entry", m.Name)
			}
			for _, p := range []*float64{m.CostPerQuery, m.InputPrice, m.OutputPrice} {
				if p != nil && !(*p >= 0 && !math.IsInf(*p, 0)) {
					t.Fatalf("%s: price %v", m.Name, *p)
				}
			}
			c, err := cat.Cost(m.Name, "a prompt of some length")
			if m.Priced() != (err == nil) {
				t.Fatalf("%s: priced %v, Cost error %v", m.Name, m.Priced(), err)
			}
			if err == nil && !(c >= 0) {
				t.Fatalf("%s: cost %v", m.Name, c)
			}
		}
		if _, err := cat.Cost("\x00not a model", "p"); !errors.Is(err, ErrUnknownModel) {
			t.Fatalf("unknown model: %v", err)
		}
	})
}

func FuzzLoadPromptSet(f *testing.F) {
	for _, s := range []string{
		`{"train_prompt": "A", "eval_prompt": "b", "similarity": 0.9}` + "\n",
		"plain prompt\n\n  another one  \n",
		"\"a JSON \\\"string\\\"\"\n{\"query\": \"q\"}\n",
		"{\"x\": 1}\n",
		"{broken\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "prompts.jsonl")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := LoadPromptSet(path)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) && !strings.HasPrefix(err.Error(), "reading ") {
				t.Fatalf("error %T %q", err, err)
			}
			return
		}
		// Every plain-text line is in the set, as is every JSON string.
		lines := strings.Split(string(b), "\n")
		for _, l := range lines {
			l = strings.TrimSpace(l)
			switch {
			case l == "" || l[0] == '{':
			case l[0] == '"':
				var s string
				if json.Unmarshal([]byte(l), &s) == nil && !set.Contains(s) {
					t.Fatalf("set lacks the JSON string %q", s)
				}
			default:
				if !set.Contains(l) {
					t.Fatalf("set lacks the line %q", l)
				}
			}
		}
		if set.Len() > 5*len(lines) {
			t.Fatalf("%d prompts from %d lines", set.Len(), len(lines))
		}
	})
}

// parquetRows returns the row count of a Parquet file's footer, false
// when the footer does not parse (or arrow-go panics on it).
func parquetRows(path string) (n int64, ok bool) {
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	pr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, false
	}
	defer pr.Close()
	return pr.NumRows(), true
}

// FuzzReadParquet reads mutated Parquet files. The seeds in
// testdata/fuzz/FuzzReadParquet are small canonical outcomes, battles and
// feedback files, a RouteLLM-style wide table, and corrupt files on which
// arrow-go panicked (an invalid logical type, a page length out of range,
// a missing dictionary page header, a footer counting rows the pages do
// not hold). Besides fuzzRead's invariants: a read without error read
// every row of the file. Inputs are kilobytes, so minimise briefly:
//
//	go test -run '^$' -fuzz '^FuzzReadParquet$' -fuzztime 2m -fuzzminimizetime 20x ./data/
func FuzzReadParquet(f *testing.F) {
	path := filepath.Join(f.TempDir(), "fuzz.parquet")
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRead(t, path, b)
		_, rep, err := ReadFiles(context.Background(), []string{path}, Options{})
		if err != nil {
			return
		}
		n, ok := parquetRows(path)
		if !ok {
			t.Fatalf("read %d rows without error from a file whose footer does not parse", rep.Rows)
		}
		if int64(rep.Rows) != n {
			t.Fatalf("read %d rows without error, the file has %d", rep.Rows, n)
		}
		if rep.Rows > 0 && rep.Outcomes+rep.Battles+rep.Feedback+rep.Decisions == 0 {
			t.Fatalf("read %d rows without error and no records", rep.Rows)
		}
	})
}

// FuzzReadEmbeddings checks that no embedding cache file, however
// damaged, panics the reader, and that its errors name the file.
func FuzzReadEmbeddings(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.parquet")
	rows := []Embedding{
		{PromptID: "p1", EncoderID: "builtin:abc", Vector: []float32{0.6, 0.8}, TextSHA256: TextSHA256("one")},
		{PromptID: "p2", EncoderID: "builtin:abc", Vector: []float32{1, 0}},
		{PromptID: "p3", EncoderID: "onnx:def", Vector: []float32{0, 0, 1}, TextSHA256: TextSHA256("three")},
	}
	if err := WriteEmbeddings(seed, rows); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	path := filepath.Join(dir, "fuzz.parquet")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var n int
		err := ReadEmbeddings(context.Background(), path, func(e *Embedding) error {
			n++
			return nil
		})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != path {
				t.Fatalf("error %v (%T) does not name the file", err, err)
			}
		}
	})
}
