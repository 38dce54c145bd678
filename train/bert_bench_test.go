package train

import (
	"context"
	"math/rand/v2"
	"testing"
)

// benchPoints returns graded answers of nm models on every prompt of
// benchPairs' embeddings, drawn from a query-dependent logistic model.
func benchPoints(nm, np, d int) ([][]float32, []string, []Point) {
	emb, names, _ := benchPairs(1, nm, np, d)
	r := rand.New(rand.NewPCG(3, 4))
	dirs := make([][]float32, nm)
	for m := range dirs {
		dirs[m] = emb[r.IntN(np)]
	}
	points := make([]Point, 0, nm*np)
	for p := range np {
		for m := range nm {
			z := 4*float64(mfDot(dirs[m], emb[p])) + 0.1*float64(m-nm/2)
			y := 0.0
			if r.Float64() < float64(mfSigmoid(float32(z))) {
				y = 1
			}
			points = append(points, Point{Prompt: p, Model: m, Score: y})
		}
	}
	return emb, names, points
}

// BenchmarkTrainBERTEpoch times one epoch of the multi-label head (one
// hidden layer of 128) on 10k prompts × 10 models with D = 384 on the
// pure-Go GoMLX backend, the defaults otherwise (no validation split).
func BenchmarkTrainBERTEpoch(b *testing.B) {
	emb, names, points := benchPoints(10, 10_000, 384)
	cfg := BERTConfig{Epochs: 1, ValFraction: -1, Seed: 3}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := TrainBERT(context.Background(), emb, names, nil, points, cfg, Hooks{}); err != nil {
			b.Fatal(err)
		}
	}
}
