package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// progressCall is one call of Options.Progress.
type progressCall struct {
	file        string
	done, total int64
}

// recordProgress returns a Progress hook and the calls it saw.
func recordProgress() (func(string, int64, int64), func() []progressCall) {
	var mu sync.Mutex
	var calls []progressCall
	return func(file string, done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, progressCall{file, done, total})
		}, func() []progressCall {
			mu.Lock()
			defer mu.Unlock()
			return append([]progressCall(nil), calls...)
		}
}

// checkProgress checks that calls start at 0 of total, never go back and
// end at total.
func checkProgress(t *testing.T, calls []progressCall, file string, total int64) {
	t.Helper()
	if len(calls) < 2 {
		t.Fatalf("%d progress calls, want at least 2: %v", len(calls), calls)
	}
	if c := calls[0]; c.done != 0 {
		t.Errorf("first call %+v, want done 0 on opening", c)
	}
	for i, c := range calls {
		if c.file != file || c.total != total {
			t.Fatalf("call %d: %+v, want file %s, total %d", i, c, file, total)
		}
		if i > 0 && c.done < calls[i-1].done {
			t.Fatalf("call %d: done %d after %d", i, c.done, calls[i-1].done)
		}
	}
	if last := calls[len(calls)-1]; last.done != total {
		t.Errorf("last call %+v, want done = total %d", last, total)
	}
}

// writeOutcomes writes n outcomes of distinct prompts to path.
func writeTestOutcomes(t *testing.T, path string, n int) {
	t.Helper()
	w, err := Create(path, "", KindOutcome)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		o := Outcome{Prompt: fmt.Sprintf("prompt number %d: what is %d squared?", i, i), Model: []string{"gpt-4", "mixtral"}[i%2], Score: float64(i%5) / 4, Task: "math"}
		o.PromptID = PromptIDOf(o.Prompt)
		if err := w.WriteOutcome(&o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParquetProgressRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.parquet")
	const n = parquetBatch + 7 // two record batches
	writeTestOutcomes(t, path, n)
	fn, calls := recordProgress()
	ds, _, err := ReadFiles(context.Background(), []string{path}, Options{Progress: fn})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Outcomes) != n {
		t.Fatalf("read %d outcomes, want %d", len(ds.Outcomes), n)
	}
	c := calls()
	checkProgress(t, c, path, n)
	// One call on opening, one per batch, one at the end.
	if len(c) != 4 {
		t.Errorf("%d calls %v, want 4 (open, two batches, end)", len(c), c)
	}
}

func TestCompressedProgressBytes(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 5000 {
		fmt.Fprintf(zw, `{"prompt": "prompt %d", "model": "m%d", "score": %d}`+"\n", i, i%3, i%2)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "o.jsonl.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fn, calls := recordProgress()
	ds, _, err := ReadFiles(context.Background(), []string{path}, Options{Progress: fn})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Outcomes) != 5000 {
		t.Fatalf("read %d outcomes", len(ds.Outcomes))
	}
	// In compressed bytes: the total is the file's size, not unknown.
	checkProgress(t, calls(), path, int64(buf.Len()))
}

// readSeed returns the file bytes of a go-fuzz corpus entry.
func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/fuzz/FuzzReadParquet", name))
	if err != nil {
		t.Fatal(err)
	}
	_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
	lit = strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")")
	s, err := strconv.Unquote(lit)
	if !ok || err != nil {
		t.Fatalf("%s: not a go-fuzz corpus entry: %v", name, err)
	}
	return []byte(s)
}

// TestCorruptParquet: files on which arrow-go panicked, ran out of memory
// or lost rows give a ParseError naming the file and where the damage is.
func TestCorruptParquet(t *testing.T) {
	for _, c := range []struct{ seed, want string }{
		{"crash_f23_logical_type", "corrupt Parquet file: reading the footer: invalid logical type"},
		{"crash_f39_makeslice", "corrupt Parquet file: opening the columns: runtime error: makeslice"},
		{"crash_f182_page_header", ":1: row group 0: corrupt Parquet data: runtime error: invalid memory address"},
		// Its stored Arrow schema claims billions of fields: arrow-go
		// died out of memory before the schema was dropped.
		{"crash_arrow_schema_oom", ":1: row group 0: reading Parquet: parquet: could not decompress page: CRC check failed"},
		{"crash_rows_lost", "corrupt Parquet file: the footer counts 2 rows"},
	} {
		t.Run(c.seed, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.seed+".parquet")
			if err := os.WriteFile(path, readSeed(t, c.seed), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, skip := range []bool{false, true} {
				fn, _ := recordProgress()
				_, _, err := ReadFiles(context.Background(), []string{path}, Options{SkipInvalid: skip, Progress: fn})
				var pe *ParseError
				if !errors.As(err, &pe) || pe.File != path {
					t.Fatalf("SkipInvalid %v: error %v, want a ParseError about %s", skip, err, path)
				}
				if !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("SkipInvalid %v: error %q, want %q", skip, err, c.want)
				}
			}
		})
	}
}

// TestParquetWithoutStoredSchema: the readers ignore the Arrow schema
// stored in the footer; the Parquet schema alone gives back the records
// as written (the seeds were written by Create, with the schema stored).
func TestParquetWithoutStoredSchema(t *testing.T) {
	read := func(seed string) *Dataset {
		path := filepath.Join(t.TempDir(), seed+".parquet")
		if err := os.WriteFile(path, readSeed(t, seed), 0o644); err != nil {
			t.Fatal(err)
		}
		ds, _, err := ReadFiles(context.Background(), []string{path}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", seed, err)
		}
		return ds
	}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	o := read("outcomes").Outcomes
	if len(o) != 4 {
		t.Fatalf("%d outcomes, want 4", len(o))
	}
	if o[0].Model != "gpt-4" || o[0].Score != 1 || !o[0].HasCost || o[0].Cost != 0.0021 || o[0].Task != "arithmetic" || !o[0].Time.Equal(ts) {
		t.Errorf("outcome 0: %+v", o[0])
	}
	if o[2].HasCost || !o[2].Time.IsZero() || o[3].PromptID != "p-peru" || o[3].Meta["response"] != "Lima" {
		t.Errorf("outcomes 2, 3: %+v, %+v", o[2], o[3])
	}
	b := read("battles").Battles
	if len(b) != 3 {
		t.Fatalf("%d battles, want 3", len(b))
	}
	if b[0].Turn != 1 || b[0].Language != "English" || !b[0].Time.Equal(ts) || b[1].Winner != TieBothBad || b[1].Judge != "arena_user_1" || b[2].Meta["question_id"] != "q9" {
		t.Errorf("battles: %+v", b)
	}
	if f := read("feedback").Feedback; len(f) != 2 {
		t.Errorf("%d feedback rows, want 2", len(f))
	}
}

// TestParquetCloseEarly stops reading a file of several batches after one
// row: Close must stop the decoding goroutine and free its batches.
func TestParquetCloseEarly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.parquet")
	writeTestOutcomes(t, path, 2*parquetBatch+10)
	s, err := newParquetSource(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, row, err := s.next(); err != nil || row != 1 {
		t.Fatalf("first row: %d, %v", row, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	default:
		t.Fatal("the decoding goroutine is still running after Close")
	}
}

// TestParquetReadsEveryBatch reads a file of several batches to the end:
// every row comes back once, in order, and the end is sticky.
func TestParquetReadsEveryBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.parquet")
	n := 2*parquetBatch + 10
	writeTestOutcomes(t, path, n)
	s, err := newParquetSource(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for want := 1; ; want++ {
		_, row, err := s.next()
		if err == io.EOF {
			if want != n+1 {
				t.Fatalf("EOF after %d rows, want %d", want-1, n)
			}
			break
		}
		if err != nil || row != want {
			t.Fatalf("row %d: got %d, %v", want, row, err)
		}
	}
	if _, _, err := s.next(); err != io.EOF {
		t.Fatalf("after the end: %v, want io.EOF", err)
	}
}

// TestParquetRowGroupsBoundedByBytes writes outcomes with long prompts:
// row groups are cut by the bytes of text they buffer, not only by rows,
// and every row reads back.
func TestParquetRowGroupsBoundedByBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long.parquet")
	w, err := Create(path, "", KindOutcome)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a long prompt with many words ", 1000) // 30 KB
	const n = 3000                                                 // ~90 MB of prompts
	for i := range n {
		o := Outcome{Prompt: fmt.Sprintf("%d %s", i, long), Model: "m", Score: 1}
		o.PromptID = PromptIDOf(o.Prompt)
		if err := w.WriteOutcome(&o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if g := pr.NumRowGroups(); g < 3 {
		t.Errorf("%d row groups for ~90 MB of text, want >= 3 (at most %d MB each)", g, parquetRowGroupBytes>>20)
	}
	pr.Close()
	got := 0
	if err := NewReader(Options{}).Read(context.Background(), path, Handler{Outcome: func(o *Outcome) error {
		if !strings.HasSuffix(o.Prompt, long) {
			t.Fatalf("row %d: prompt changed", got)
		}
		got++
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("read %d rows, want %d", got, n)
	}
}
