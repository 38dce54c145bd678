package encoder

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
// ROUTEKIT_BENCH_FIT100K=1 to also fit on 100,000 prompts.
func BenchmarkFitBuiltin(b *testing.B) {
	sizes := []int{20000}
	if os.Getenv("ROUTEKIT_BENCH_FIT100K") != "" {
		sizes = append(sizes, 100000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("prompts=%d", n), func(b *testing.B) {
			texts := builtinPrompts(b, n, 1)
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
			b.ReportMetric(float64(enc.NumFeatures()), "features")
		})
	}
}

// BenchmarkBuiltinEncode1 encodes one prompt per call, and reports the
// median and 99th percentile of the calls.
func BenchmarkBuiltinEncode1(b *testing.B) {
	enc, texts := benchBuiltin(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	var chars int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := texts[i%len(texts)]
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
	b.ReportMetric(float64(chars)/float64(b.N), "chars/prompt")
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
