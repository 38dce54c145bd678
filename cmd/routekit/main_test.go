package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
)

// runCLI runs the CLI in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("routekit %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestSynthImportStatsSplit(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "3", "--models", "6", "--prompts", "400", "--battles", "300", "--out-dir", world)
	for _, f := range []string{"outcomes.parquet", "battles.parquet", "catalog.yaml", "truth.json"} {
		if _, err := os.Stat(filepath.Join(world, f)); err != nil {
			t.Fatal(err)
		}
	}

	// Stats as JSON: 400 prompts x 6 models, full coverage.
	var stats struct {
		Summary data.Summary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "data", "stats", "--json", filepath.Join(world, "outcomes.parquet"))), &stats); err != nil {
		t.Fatal(err)
	}
	if s := stats.Summary; s.Outcomes != 2400 || s.Prompts != 400 || len(s.Models) != 6 {
		t.Errorf("stats: %d outcomes, %d prompts, %d models; want 2400, 400, 6", s.Outcomes, s.Prompts, len(s.Models))
	}
	for _, m := range stats.Summary.Models {
		if m.Coverage != 1 || m.CostKnown != 400 || m.MeanScore <= 0 || m.MeanScore >= 1 {
			t.Errorf("model stats %+v", m)
		}
	}

	// Import to JSONL and back to Parquet loses nothing.
	jsonl := filepath.Join(dir, "o.jsonl")
	mustRun(t, "data", "import", "--in", filepath.Join(world, "outcomes.parquet"), "--out", jsonl)
	back := filepath.Join(dir, "o.parquet")
	mustRun(t, "data", "import", jsonl, "--out", back)
	a, _, err := data.ReadFiles(context.Background(), []string{filepath.Join(world, "outcomes.parquet")}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := data.ReadFiles(context.Background(), []string{back}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Outcomes) != len(b.Outcomes) {
		t.Fatalf("round trip: %d outcomes, then %d", len(a.Outcomes), len(b.Outcomes))
	}
	for i := range a.Outcomes {
		x, y := a.Outcomes[i], b.Outcomes[i]
		if x.PromptID != y.PromptID || x.Prompt != y.Prompt || x.Model != y.Model || x.Score != y.Score ||
			x.Cost != y.Cost || x.HasCost != y.HasCost || x.Task != y.Task || !x.Time.Equal(y.Time) {
			t.Fatalf("round trip changed outcome %d:\n%+v\n%+v", i, x, y)
		}
	}

	// A split puts every prompt on one side only, and loses no record.
	for _, by := range []string{"hash", "time"} {
		sp := filepath.Join(dir, "split-"+by)
		var res struct {
			Parts []struct {
				Part    string
				File    string
				Records int
				Prompts int
			} `json:"parts"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, "data", "split", "--json", "--by", by, "--seed", "7", "--in", filepath.Join(world, "outcomes.parquet"), "--out-dir", sp)), &res); err != nil {
			t.Fatal(err)
		}
		owner := map[string]string{}
		total := 0
		for _, p := range res.Parts {
			ds, _, err := data.ReadFiles(context.Background(), []string{p.File}, data.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds.Outcomes) != p.Records {
				t.Errorf("%s: %s has %d outcomes, the report says %d", by, p.Part, len(ds.Outcomes), p.Records)
			}
			total += len(ds.Outcomes)
			for _, o := range ds.Outcomes {
				if prev, ok := owner[o.PromptID]; ok && prev != p.Part {
					t.Fatalf("%s: prompt %s in both %s and %s", by, o.PromptID, prev, p.Part)
				}
				owner[o.PromptID] = p.Part
			}
		}
		if total != 2400 || len(owner) != 400 {
			t.Errorf("%s: %d outcomes over %d prompts, want 2400 over 400", by, total, len(owner))
		}
		if res.Parts[0].Prompts < 280 || res.Parts[0].Prompts > 360 {
			t.Errorf("%s: train has %d of 400 prompts, want about 80%%", by, res.Parts[0].Prompts)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"prompt\":\"a\",\"model\":\"m\",\"score\":1}\n{\"prompt\":\"b\",\"model\":\"m\",\"score\":\"high\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		wantErr string
		wantOut string
	}{
		{"no command", nil, exitUsage, "", "Commands:"},
		{"help", []string{"help"}, exitOK, "", "data"},
		{"group help", []string{"data", "--help"}, exitOK, "", "import"},
		{"leaf help", []string{"data", "import", "--help"}, exitOK, "", "--out"},
		{"help path", []string{"help", "data", "split"}, exitOK, "", "--fractions"},
		{"unknown command", []string{"nope"}, exitUsage, `unknown command "nope"`, ""},
		{"unknown flag", []string{"data", "stats", "--bogus"}, exitUsage, "-bogus", ""},
		{"no inputs", []string{"data", "stats"}, exitUsage, "no input files", ""},
		{"missing out", []string{"data", "import", bad}, exitUsage, "--out is required", ""},
		{"bad log format", []string{"data", "stats", "--log-format", "xml", bad}, exitUsage, "--log-format", ""},
		{"bad data", []string{"data", "stats", bad}, exitData, "bad.jsonl:2: score: \"high\" is not a number", ""},
		{"skip invalid", []string{"data", "stats", "--skip-invalid", bad}, exitOK, "", "skipped 1 (invalid score: 1)"},
		{"missing file", []string{"data", "stats", filepath.Join(dir, "none.jsonl")}, exitError, "no such file", ""},
		{"bad fractions", []string{"data", "split", "--fractions", "0.5,0.1", "--out-dir", dir, bad}, exitUsage, "three numbers", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errs)
			}
			if c.wantErr != "" && !strings.Contains(errs, c.wantErr) {
				t.Errorf("stderr %q lacks %q", errs, c.wantErr)
			}
			if c.wantOut != "" && !strings.Contains(out, c.wantOut) {
				t.Errorf("stdout %q lacks %q", out, c.wantOut)
			}
		})
	}
	// A failed import leaves no output file behind.
	out := filepath.Join(dir, "out.parquet")
	if code, _, _ := runCLI(t, "data", "import", bad, "--out", out); code != exitData {
		t.Fatalf("import of bad data: exit %d, want %d", code, exitData)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after a failed import the folder holds %d entries, want only the input", len(entries))
	}
}

func TestJSONLogs(t *testing.T) {
	dir := t.TempDir()
	_, _, errs := runCLI(t, "--log-format", "json", "data", "synth", "--models", "3", "--prompts", "50", "--battles", "0", "--out-dir", dir)
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(errs)), &rec); err != nil {
		t.Fatalf("stderr is not one JSON log line: %q: %v", errs, err)
	}
	if rec["msg"] != "synthesised" || rec["prompts"] != float64(50) {
		t.Errorf("log record %v", rec)
	}
	ds, _, err := data.ReadFiles(context.Background(), []string{filepath.Join(dir, "battles.parquet")}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Battles) != 0 {
		t.Errorf("--battles 0 wrote %d battles", len(ds.Battles))
	}
}

func TestInputPatterns(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.jsonl", "b.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`{"prompt":"`+name+`","model":"m","score":1}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := mustRun(t, "data", "stats", "--in", filepath.Join(dir, "*.jsonl"))
	if !strings.Contains(out, "from 2 files") {
		t.Errorf("a quoted pattern read: %q", out)
	}
	if code, _, errs := runCLI(t, "data", "stats", "--in", filepath.Join(dir, "*.csv")); code == exitOK || !strings.Contains(errs, "matches no file") {
		t.Errorf("a pattern matching nothing: exit %d, %q", code, errs)
	}
}
