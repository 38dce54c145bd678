package data

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// benchRows is the size of the ingestion benchmarks' files (the issue's
// target is stated for 1M outcome rows).
const benchRows = 1_000_000

var benchFiles struct {
	once sync.Once
	dir  string
	err  error
}

// TestMain removes the benchmarks' files (266 MB) once every test and
// benchmark of the binary has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		if err := os.RemoveAll(benchFiles.dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// benchOutcomes writes 1M realistic outcome rows (50k prompts x 20
// models) as JSONL and Parquet, once per test binary.
func benchData(b *testing.B) (jsonl, pq string) {
	b.Helper()
	benchFiles.once.Do(func() {
		dir, err := os.MkdirTemp("", "routekit-bench")
		if err != nil {
			benchFiles.err = err
			return
		}
		benchFiles.dir = dir
		r := rand.New(rand.NewPCG(1, 2))
		jw, err := Create(filepath.Join(dir, "outcomes.jsonl"), "", KindOutcome)
		if err != nil {
			benchFiles.err = err
			return
		}
		pw, err := Create(filepath.Join(dir, "outcomes.parquet"), "", KindOutcome)
		if err != nil {
			benchFiles.err = err
			return
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		const models = 20
		for p := 0; p < benchRows/models; p++ {
			prompt := fmt.Sprintf("Question %d: a train leaves the station at %d km/h; after %d minutes how far has it gone? Explain step by step.", p, r.IntN(200), r.IntN(600))
			id := PromptIDOf(prompt)
			for m := 0; m < models; m++ {
				o := Outcome{PromptID: id, Prompt: prompt, Model: fmt.Sprintf("model-%02d", m), Score: float64(r.IntN(2)),
					Cost: r.Float64() / 100, HasCost: true, Task: "gsm8k", Time: start.Add(time.Duration(p) * time.Minute)}
				if err := jw.WriteOutcome(&o); err != nil {
					benchFiles.err = err
					return
				}
				if err := pw.WriteOutcome(&o); err != nil {
					benchFiles.err = err
					return
				}
			}
		}
		if err := jw.Close(); err != nil {
			benchFiles.err = err
			return
		}
		benchFiles.err = pw.Close()
	})
	if benchFiles.err != nil {
		b.Fatal(benchFiles.err)
	}
	return filepath.Join(benchFiles.dir, "outcomes.jsonl"), filepath.Join(benchFiles.dir, "outcomes.parquet")
}

func benchRead(b *testing.B, path string, opt Options) {
	b.Helper()
	n := 0
	h := Handler{Outcome: func(*Outcome) error { n++; return nil }}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rd := NewReader(opt)
		if err := rd.Read(context.Background(), path, h); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n != benchRows*b.N {
		b.Fatalf("read %d outcomes, want %d", n, benchRows*b.N)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkIngestJSONL reads 1M outcome rows from JSONL (target: >= 200k
// rows/s on 2 cores).
func BenchmarkIngestJSONL(b *testing.B) {
	jsonl, _ := benchData(b)
	benchRead(b, jsonl, Options{})
}

// BenchmarkIngestJSONLDedup is the same with de-duplication on, as
// "routekit data import" does by default.
func BenchmarkIngestJSONLDedup(b *testing.B) {
	jsonl, _ := benchData(b)
	benchRead(b, jsonl, Options{Dedup: true})
}

// BenchmarkReadParquet reads 1M canonical outcome rows from Parquet
// (target: >= 1M rows/s).
func BenchmarkReadParquet(b *testing.B) {
	_, pq := benchData(b)
	benchRead(b, pq, Options{})
}

// BenchmarkImportJSONLToParquet imports 1M outcome rows from JSONL into
// canonical Parquet the way "routekit data import" does: a Reader with
// de-duplication on, each record written as it is read, the output
// renamed into place on Close.
func BenchmarkImportJSONLToParquet(b *testing.B) {
	jsonl, _ := benchData(b)
	out := filepath.Join(b.TempDir(), "imported.parquet")
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; i < b.N; i++ {
		w, err := Create(out, "", KindOutcome)
		if err != nil {
			b.Fatal(err)
		}
		rd := NewReader(Options{Dedup: true})
		if err := rd.Read(context.Background(), jsonl, Handler{Outcome: w.WriteOutcome}); err != nil {
			w.Abort()
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if w.Count() != benchRows {
			b.Fatalf("wrote %d outcomes, want %d", w.Count(), benchRows)
		}
		n += w.Count()
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
	if st, err := os.Stat(out); err == nil {
		b.ReportMetric(float64(st.Size())/(1<<20), "MB-out")
	}
}
