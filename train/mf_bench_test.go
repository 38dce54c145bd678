package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// benchPairs returns n random battles among nm models on np prompts
// with random unit embeddings of dimension d, the winners drawn from a
// query-dependent Bradley–Terry model so that training has signal.
func benchPairs(n, nm, np, d int) ([][]float32, []string, []Pair) {
	r := rand.New(rand.NewPCG(1, 2))
	emb := make([][]float32, np)
	for i := range emb {
		e := make([]float32, d)
		var ss float64
		for j := range e {
			x := r.NormFloat64()
			e[j] = float32(x)
			ss += x * x
		}
		for j := range e {
			e[j] /= float32(math.Sqrt(ss))
		}
		emb[i] = e
	}
	names := make([]string, nm)
	dirs := make([][]float32, nm)
	for m := range names {
		names[m] = "model-" + string(rune('a'+m%26)) + string(rune('a'+m/26))
		dirs[m] = emb[r.IntN(np)]
	}
	pairs := make([]Pair, n)
	for i := range pairs {
		p, a := r.IntN(np), r.IntN(nm)
		b := (a + 1 + r.IntN(nm-1)) % nm
		z := 0.1*float64(a-b) + 4*float64(mfDot(dirs[a], emb[p])-mfDot(dirs[b], emb[p]))
		y := 0.0
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
		}
		pairs[i] = Pair{Prompt: p, A: a, B: b, Outcome: y}
	}
	return emb, names, pairs
}

// BenchmarkTrainMFEpoch times one epoch of MF training on 100k battles
// (20 models, 20k prompts) with D = 256 and Dim = 128, the defaults
// otherwise (no validation split, so every pair trains).
func BenchmarkTrainMFEpoch(b *testing.B) {
	const n = 100_000
	emb, names, pairs := benchPairs(n, 20, 20_000, 256)
	cfg := MFConfig{Epochs: 1, ValFraction: -1, Seed: 3}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := TrainMF(context.Background(), emb, names, pairs, nil, cfg, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/epoch")
	b.ReportMetric(n/sec, "pairs/s")
}
