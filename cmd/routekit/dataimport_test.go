package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/routekit/routekit/data"
)

// CLI round trips, one per record kind that "data import" writes: a
// source in a common layout is imported to Parquet and back to JSONL; all
// three read as the same records, and "data stats" says the same of the
// source and of the Parquet.

// writeImportSource writes a test source.
func writeImportSource(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// importJSONReport is the part of "data import --json" the tests check.
type importJSONReport struct {
	Files []struct {
		File    string
		Rows    int
		Records int
		Missing int
	} `json:"files"`
	Skipped map[string]int `json:"skipped"`
}

// cliRoundTrip imports src to Parquet and back to JSONL, checks that the
// three read alike and that their stats agree, and returns the first
// import's report.
func cliRoundTrip(t *testing.T, src string, records int) importJSONReport {
	t.Helper()
	dir := t.TempDir()
	pq := filepath.Join(dir, "canonical.parquet")
	back := filepath.Join(dir, "back.jsonl")
	var rep importJSONReport
	if err := json.Unmarshal([]byte(mustRun(t, "data", "import", "--json", "--in", src, "--out", pq)), &rep); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "data", "import", "--in", pq, "--out", back)
	if want := fmt.Sprintf("wrote %d ", records); !strings.Contains(out, want) {
		t.Errorf("import of %s: %q, want %q", pq, out, want)
	}
	var sets []*data.Dataset
	for _, p := range []string{src, pq, back} {
		ds, _, err := data.ReadFiles(context.Background(), []string{p}, data.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, ds)
	}
	if n := len(sets[0].Outcomes) + len(sets[0].Battles) + len(sets[0].Feedback); n != records {
		t.Fatalf("%s holds %d records, want %d", src, n, records)
	}
	for i, name := range []string{"the Parquet import", "its JSONL export"} {
		if d := cmp.Diff(sets[0], sets[i+1]); d != "" {
			t.Errorf("%s differs from the source (-source +import):\n%s", name, d)
		}
	}
	summary := func(p string) json.RawMessage {
		var v struct {
			Summary json.RawMessage `json:"summary"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, "data", "stats", "--json", p)), &v); err != nil {
			t.Fatal(err)
		}
		return v.Summary
	}
	if a, b := summary(src), summary(pq); string(a) != string(b) {
		t.Errorf("stats differ:\nsource  %s\nparquet %s", a, b)
	}
	return rep
}

// TestImportRoundTripOutcomes: a RouteLLM-style wide table, with costs,
// responses and a model without an answer to one prompt (counted as
// missing, never dropped silently).
func TestImportRoundTripOutcomes(t *testing.T) {
	src := filepath.Join(t.TempDir(), "mmlu_astronomy.csv")
	writeImportSource(t, src, "prompt,gpt-4-1106-preview,gpt-4-1106-preview|total_cost,gpt-4-1106-preview|model_response,mistralai/Mixtral-8x7B-Instruct-v0.1,eval_name\n"+
		"\"What is the closest star to Earth?\nA) Sirius B) The Sun\",True,0.0031,\"B) The Sun, at 1 AU\",False,mmlu-astronomy\n"+
		"Why do stars twinkle?,1.0,0.0042,Atmospheric turbulence.,,mmlu-astronomy\n"+
		"\"Résumé: what is a \"\"light year\"\"?\",0,,a unit of time,1,\n")
	rep := cliRoundTrip(t, src, 5)
	if len(rep.Files) != 1 || rep.Files[0].Rows != 3 || rep.Files[0].Records != 5 || rep.Files[0].Missing != 1 {
		t.Errorf("import report %+v, want 3 rows, 5 records, 1 missing score", rep.Files)
	}
}

// TestImportRoundTripBattles: Chatbot Arena conversations, multi-turn.
func TestImportRoundTripBattles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "arena.jsonl")
	var b strings.Builder
	winners := []string{"model_a", "model_b", "tie", "tie (bothbad)"}
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, `{"question_id":"q%d","model_a":"gpt-4-0613","model_b":"llama-2-13b-chat","winner":%q,"judge":"arena_user_%d","language":"English","turn":2,"anony":true,"tstamp":%d.25,`+
			`"conversation_a":[{"role":"user","content":"Question %d: name a prime above %d, then explain\n"},{"role":"assistant","content":"%d"},{"role":"user","content":"why?"},{"role":"assistant","content":"because"}],`+
			`"conversation_b":[{"role":"user","content":"Question %d: name a prime above %d, then explain\n"},{"role":"assistant","content":"no idea"},{"role":"user","content":"why?"},{"role":"assistant","content":"hmm"}]}`+"\n",
			i, winners[i%4], 100+i, 1690000000+i*3600, i, 10*i, 10*i+1, i, 10*i)
	}
	writeImportSource(t, src, b.String())
	rep := cliRoundTrip(t, src, 12)
	if len(rep.Skipped) != 0 {
		t.Errorf("skipped %v", rep.Skipped)
	}
}

// TestImportRoundTripFeedback: a production feedback log with signals,
// float scores, costs and latencies, some absent.
func TestImportRoundTripFeedback(t *testing.T) {
	src := filepath.Join(t.TempDir(), "feedback.jsonl")
	var b strings.Builder
	signals := []string{`"thumbs_up"`, `"thumbs_down"`, `"retry"`, `"completed"`, `0.75`}
	for i := 0; i < 10; i++ {
		extra := ""
		if i%2 == 0 {
			extra = fmt.Sprintf(`,"cost":0.00%d,"latency_ms":%d.5`, i+1, 100+i)
		}
		fmt.Fprintf(&b, `{"request_id":"req-%04d","timestamp":"2026-03-0%dT10:00:00Z","prompt":"Summarise ticket #%d, please","model":"claude-3.5-sonnet","router_version":"mf-2026.01.%d","signal":%s%s}`+"\n",
			i, 1+i%9, i, i%3, signals[i%len(signals)], extra)
	}
	writeImportSource(t, src, b.String())
	cliRoundTrip(t, src, 10)
}

// TestImportNoScores: a wide row whose every score is empty stops the
// import at its line; with --skip-invalid it is counted as "no scores".
func TestImportNoScores(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "wide_empty.csv")
	writeImportSource(t, src, "prompt,m1,m2\nq1,True,False\nq4,,\nq5,,0.5\n")
	out := filepath.Join(dir, "o.parquet")
	code, _, errs := runCLI(t, "data", "import", "--in", src, "--out", out)
	if code == exitOK || !strings.Contains(errs, src+":3:") || !strings.Contains(errs, "no scores") {
		t.Errorf("exit %d, stderr %q; want a failure naming %s:3 and no scores", code, errs, src)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed import left %s (%v)", out, err)
	}
	stdout := mustRun(t, "data", "import", "--skip-invalid", "--in", src, "--out", out)
	if !strings.Contains(stdout, "no scores: 1") || !strings.Contains(stdout, "wrote 3 outcomes") {
		t.Errorf("import --skip-invalid said:\n%s\nwant 3 outcomes written and 1 row skipped for no scores", stdout)
	}
}
