package serve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routekit/routekit/data"
)

// fakeClock is a settable clock for the decision log.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func testDecision(i int) *data.Decision {
	return &data.Decision{RequestID: fmt.Sprintf("req-%04d", i), Prompt: fmt.Sprintf("What is %d plus  %d?", i, i),
		Router: "knn", RouterVersion: "v1", ChosenModel: "cheap", Scores: map[string]float64{"big": 0.9, "cheap": 0.75},
		Policy: `{"kind":"utility","lambda":20}`, LatencyUS: 123}
}

// readDecisions reads log files with the data package's reader, as
// `routekit data stats` does.
func readDecisions(t *testing.T, paths ...string) []data.Decision {
	t.Helper()
	ds, rep, err := data.ReadFiles(context.Background(), paths, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.Layout != data.LayoutDecisions {
			t.Errorf("%s: read as layout %q, want decisions", f.File, f.Layout)
		}
	}
	return ds.Decisions
}

func TestDecisionLogRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_prompt=%v", include), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "logs", "decisions.jsonl")
			l, err := OpenDecisionLog(DecisionLogConfig{Path: path, IncludePrompt: include}, func() time.Time { return at }, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if err := l.Write(testDecision(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			got := readDecisions(t, path)
			if len(got) != 3 {
				t.Fatalf("%d decisions read back, want 3", len(got))
			}
			for i, d := range got {
				want := testDecision(i)
				if d.RequestID != want.RequestID || !d.Time.Equal(at) || d.Router != "knn" || d.RouterVersion != "v1" ||
					d.ChosenModel != "cheap" || d.Scores["big"] != 0.9 || d.Scores["cheap"] != 0.75 || d.LatencyUS != 123 ||
					d.Policy != `{"kind":"utility","lambda":20}` {
					t.Errorf("decision %d read back as %+v", i, d)
				}
				// The hash is the data package's prompt id, so decisions
				// join outcomes and feedback on it.
				if d.PromptHash != data.PromptIDOf(want.Prompt) || d.PromptHash != data.PromptIDOf(strings.ToUpper(want.Prompt)) {
					t.Errorf("decision %d: prompt_hash %q, want %q", i, d.PromptHash, data.PromptIDOf(want.Prompt))
				}
				if wantPrompt := map[bool]string{true: want.Prompt}[include]; d.Prompt != wantPrompt {
					t.Errorf("decision %d: prompt %q, want %q", i, d.Prompt, wantPrompt)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !include && strings.Contains(string(raw), "plus") {
				t.Errorf("prompt text logged without include_prompt:\n%s", raw)
			}
		})
	}
}

func TestDecisionLogRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "decisions.jsonl")
	clock := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	const maxBytes = 800 // three lines of about 247 bytes
	l, err := OpenDecisionLog(DecisionLogConfig{Path: path, MaxBytes: maxBytes, MaxFiles: 3}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := 0; i < n; i++ {
		// Two lines per clock second: rotations in the same second must
		// not overwrite each other.
		clock.set(clock.now().Add(500 * time.Millisecond))
		if err := l.Write(testDecision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rotated, err := filepath.Glob(filepath.Join(dir, "decisions-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 3 {
		t.Fatalf("rotated files %v, want MaxFiles = 3", rotated)
	}
	var all []string
	for _, f := range append(rotated, path) {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > maxBytes {
			t.Errorf("%s: %d bytes > MaxBytes %d", f, st.Size(), maxBytes)
		}
		for _, d := range readDecisions(t, f) {
			all = append(all, d.RequestID)
		}
	}
	// The files kept hold the newest decisions, without gaps or repeats.
	sort.Strings(all)
	if len(all) == 0 || all[len(all)-1] != fmt.Sprintf("req-%04d", n-1) {
		t.Fatalf("kept decisions %v do not end with the last one", all)
	}
	first := n - len(all)
	for i, id := range all {
		if want := fmt.Sprintf("req-%04d", first+i); id != want {
			t.Fatalf("kept decisions %v: %s where %s was expected", all, id, want)
		}
	}
	if len(all) < 10 { // three full rotated files of 3 lines, and the live one
		t.Errorf("only %d decisions kept in 3 rotated files of %d bytes and the live one", len(all), maxBytes)
	}
}

func TestDecisionLogRotatesByDay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "decisions.jsonl")
	clock := &fakeClock{t: time.Date(2026, 11, 27, 23, 59, 58, 0, time.UTC)}
	l, err := OpenDecisionLog(DecisionLogConfig{Path: path}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := l.Write(testDecision(i)); err != nil {
			t.Fatal(err)
		}
	}
	clock.set(time.Date(2026, 11, 28, 0, 0, 1, 0, time.UTC))
	if err := l.Write(testDecision(2)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "decisions-20261128T000001.jsonl")
	if got := readDecisions(t, old); len(got) != 2 || got[0].RequestID != "req-0000" || got[1].RequestID != "req-0001" {
		t.Errorf("rotated file holds %+v, want the two decisions of Nov 27", got)
	}
	if got := readDecisions(t, path); len(got) != 1 || got[0].RequestID != "req-0002" {
		t.Errorf("live file holds %+v, want the decision of Nov 28", got)
	}
}

func TestDecisionLogConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "decisions.jsonl")
	l, err := OpenDecisionLog(DecisionLogConfig{Path: path, MaxBytes: 16 << 10, MaxFiles: 1000, FlushInterval: time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 150
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := l.Write(testDecision(w*each + i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) < 2 {
		t.Errorf("%d files: want rotations under concurrent writes", len(files))
	}
	seen := map[string]bool{}
	for _, d := range readDecisions(t, files...) {
		if seen[d.RequestID] {
			t.Errorf("decision %s logged twice", d.RequestID)
		}
		seen[d.RequestID] = true
	}
	if len(seen) != writers*each || l.Errors() != 0 {
		t.Errorf("%d decisions read back, %d errors; want %d and 0", len(seen), l.Errors(), writers*each)
	}
}

func TestDecisionLogCountsLostLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	l, err := OpenDecisionLog(DecisionLogConfig{Path: path, FlushInterval: time.Hour}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		l.Write(testDecision(i))
	}
	// The file goes bad under the writer: the buffered lines are lost.
	l.mu.Lock()
	l.f.Close()
	l.mu.Unlock()
	if err := l.Flush(); err == nil {
		t.Fatal("flush to a closed file succeeded")
	}
	if l.Errors() != 3 {
		t.Errorf("Errors() = %d, want the 3 lost lines", l.Errors())
	}
	// The next write reopens the file.
	if err := l.Write(testDecision(3)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readDecisions(t, path); len(got) != 1 || got[0].RequestID != "req-0003" {
		t.Errorf("after the error the log holds %+v, want req-0003", got)
	}
	if err := l.Write(testDecision(4)); err == nil || l.Errors() != 4 {
		t.Errorf("a write after Close: err %v, Errors() %d; want an error counted", err, l.Errors())
	}
}

func TestDecisionLogConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  DecisionLogConfig
		want string
	}{
		{DecisionLogConfig{}, ""},
		{DecisionLogConfig{Path: "d.jsonl"}, ""},
		{DecisionLogConfig{Path: "d.log"}, "must end in .jsonl"},
		{DecisionLogConfig{Path: "d.jsonl", MaxBytes: -1}, "max_bytes"},
		{DecisionLogConfig{Path: "d.jsonl", MaxFiles: -1}, "max_files"},
	} {
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestRequestID(t *testing.T) {
	for _, c := range []struct {
		header string
		keep   bool
	}{
		{"abc-123_X.y:z", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{"has space", false},
		{"new\nline", false},
		{"é", false},
	} {
		got := requestID(c.header)
		if c.keep && got != c.header || !c.keep && (got == c.header || len(got) != 32) {
			t.Errorf("requestID(%q) = %q (keep %v)", c.header, got, c.keep)
		}
	}
	if requestID("") == requestID("") {
		t.Error("two random request ids are equal")
	}
}

// BenchmarkDecisionLogWrite measures one decision appended to the log
// (JSON encoding and the buffered write), from parallel writers.
func BenchmarkDecisionLogWrite(b *testing.B) {
	l, err := OpenDecisionLog(DecisionLogConfig{Path: filepath.Join(b.TempDir(), "decisions.jsonl")}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	d := testDecision(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Write(d); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
