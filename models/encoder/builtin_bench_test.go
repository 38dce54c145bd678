package encoder

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/internal/sharedtest"
)

var (
	benchOnce  sync.Once
	benchEnc   *Builtin
	benchTexts []string
	benchErr   error
)

// benchBuiltin is the default encoder fitted on 20,000 synthetic prompts,
// and 2,000 other synthetic prompts to encode.
func benchBuiltin(b *testing.B) (*Builtin, []string) {
	b.Helper()
	benchOnce.Do(func() {
		benchEnc, benchErr = FitBuiltin(context.Background(), builtinPrompts(b, 20000, 1), BuiltinConfig{})
		benchTexts = builtinPrompts(b, 2000, 2)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchEnc, benchTexts
}

// BenchmarkFitBuiltin fits the default encoder on 20,000 synthetic
// prompts and reports the time extrapolated linearly to 100,000 (the cost
// grows with the number of feature occurrences). Set
// ROUTEKIT_BENCH_FIT100K=1 to also fit on 100,000 synthetic prompts and on
// 100,000 distinct real-length prompts (realPromptsN: the public data's
// ~20k prompts, then perturbed copies; skipped without ../shared/data):
//
//	ROUTEKIT_BENCH_FIT100K=1 go test ./models/encoder/ -run '^$' -bench 'FitBuiltin' -benchtime 1x
func BenchmarkFitBuiltin(b *testing.B) {
	type set struct {
		name  string
		texts func(b *testing.B) []string
	}
	sets := []set{{"prompts=20000", func(b *testing.B) []string { return builtinPrompts(b, 20000, 1) }}}
	if os.Getenv("ROUTEKIT_BENCH_FIT100K") != "" {
		sets = append(sets,
			set{"prompts=100000", func(b *testing.B) []string { return builtinPrompts(b, 100000, 1) }},
			set{"real-prompts=100000", func(b *testing.B) []string { return realPromptsN(b, 100000) }})
	}
	for _, s := range sets {
		b.Run(s.name, func(b *testing.B) {
			texts := s.texts(b)
			n := len(texts)
			var chars int
			for _, t := range texts {
				chars += len(t)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var enc *Builtin
			for i := 0; i < b.N; i++ {
				var err error
				enc, err = FitBuiltin(context.Background(), texts, BuiltinConfig{})
				if err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/sec, "prompts/s")
			b.ReportMetric(sec*100000/float64(n), "s/100k-prompts")
			b.ReportMetric(float64(chars)/float64(n), "bytes/prompt")
			b.ReportMetric(float64(enc.NumFeatures()), "features")
		})
	}
}

// BenchmarkBuiltinEncode1 encodes one prompt per call, and reports the
// median and 99th percentile of the calls.
func BenchmarkBuiltinEncode1(b *testing.B) {
	enc, texts := benchBuiltin(b)
	chars := benchEncode1(b, enc, func(i int) string { return texts[i%len(texts)] })
	b.ReportMetric(float64(chars)/float64(b.N), "chars/prompt")
}

// benchEncode1 encodes the prompt text(i) of each iteration alone, reports
// the median and 99th percentile of the calls, and returns the bytes
// encoded.
func benchEncode1(b *testing.B, enc *Builtin, text func(i int) string) (chars int) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := text(i)
		chars += len(t)
		start := time.Now()
		if _, err := enc.Encode(ctx, []string{t}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	return chars
}

// BenchmarkBuiltinEncode32 encodes batches of 32 prompts.
func BenchmarkBuiltinEncode32(b *testing.B) {
	enc, texts := benchBuiltin(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lo := (i * 32) % (len(texts) - 32)
		if _, err := enc.Encode(ctx, texts[lo:lo+32]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkBuiltinEncodeLong encodes one prompt of 2,000 words, cut to
// the 512-token budget.
func BenchmarkBuiltinEncodeLong(b *testing.B) {
	enc, texts := benchBuiltin(b)
	long := strings.Join(texts[:200], " ")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := enc.Encode(ctx, []string{long}); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	realOnce    sync.Once
	realTexts   []string
	realErr     error
	realMissing string
)

// realPrompts returns the distinct prompts of the public router data in a
// fixed order: RouteLLM's MMLU (14,042, median 307 bytes) and GSM8K, and
// LLMRouter's dcrouter train set (5,608, median 108 bytes). It skips when
// the data is absent.
func realPrompts(t testing.TB) []string {
	t.Helper()
	dir := sharedtest.Dir(t)
	realOnce.Do(func() {
		paths, err := filepath.Glob(filepath.Join(dir, "routellm", "mmlu", "mmlu_*.csv"))
		if err != nil {
			realErr = err
			return
		}
		slices.Sort(paths)
		paths = append(paths, filepath.Join(dir, "routellm", "gsm8k", "gsm8k_responses.csv"),
			filepath.Join(dir, "llmrouter", "dcrouter_train.json"))
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				realMissing = p
				return
			}
		}
		ds, _, err := data.ReadFiles(context.Background(), paths, data.Options{})
		if err != nil {
			realErr = err
			return
		}
		seen := map[string]bool{}
		for _, o := range ds.Outcomes {
			if !seen[o.Prompt] {
				seen[o.Prompt] = true
				realTexts = append(realTexts, o.Prompt)
			}
		}
	})
	if realMissing != "" {
		t.Skipf("no %s: skipping", realMissing)
	}
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realTexts
}

// realPromptsN returns n distinct texts of real length: the real prompts,
// then perturbed copies of them (copy k of a prompt drops one word and
// swaps two neighbouring ones, at positions chosen by hashing k and the
// prompt), skipping any text already present.
func realPromptsN(t testing.TB, n int) []string {
	t.Helper()
	base := realPrompts(t)
	out := make([]string, 0, n)
	seen := make(map[string]bool, n)
	add := func(s string) {
		if len(out) < n && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range base {
		add(s)
	}
	for k := uint64(1); len(out) < n && k < 1000; k++ {
		for _, s := range base {
			words := strings.Fields(s)
			if len(words) < 3 {
				continue
			}
			h := fnv.New64a()
			fmt.Fprintf(h, "%d\x00%s", k, s)
			x := h.Sum64()
			drop := int(x % uint64(len(words)))
			words = slices.Delete(words, drop, drop+1)
			sw := int((x >> 32) % uint64(len(words)-1))
			words[sw], words[sw+1] = words[sw+1], words[sw]
			add(strings.Join(words, " "))
		}
	}
	if len(out) < n {
		t.Fatalf("only %d distinct texts from %d real prompts, want %d", len(out), len(base), n)
	}
	return out
}

var (
	realEncOnce sync.Once
	realEnc     *Builtin
	realEncErr  error
)

// BenchmarkBuiltinEncode1Real encodes one real prompt per call (MMLU,
// GSM8K and dcrouter prompts: realPrompts) with the default encoder fitted
// on them, and reports the median and 99th percentile of the calls, and
// the throughput of the single-prompt calls in texts/s and bytes/s.
func BenchmarkBuiltinEncode1Real(b *testing.B) {
	texts := realPrompts(b)
	realEncOnce.Do(func() {
		realEnc, realEncErr = FitBuiltin(context.Background(), texts, BuiltinConfig{})
	})
	if realEncErr != nil {
		b.Fatal(realEncErr)
	}
	chars := benchEncode1(b, realEnc, func(i int) string { return texts[(i*7919)%len(texts)] }) // stride through the tasks
	b.ReportMetric(float64(chars)/float64(b.N), "bytes/prompt")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64(chars)/b.Elapsed().Seconds(), "bytes/s")
}
