package irt

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/routekit/routekit/data/synth"
)

// randParams returns random parameters of m models, dimension k and
// embedding dimension d, and a random unit embedding.
func randParams(m, k, d int) (*Params, []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := &Params{K: k, D: d, W0: 0.1, A0: make([]float64, k), W: make([]float64, d)}
	for i := 0; i < m; i++ {
		p.Models = append(p.Models, string(rune('a'+i%26))+string(rune('a'+i/26)))
		th := make([]float64, k)
		for j := range th {
			th[j] = rng.NormFloat64()
		}
		p.Theta = append(p.Theta, th)
	}
	for j := 0; j < k; j++ {
		row := make([]float64, d)
		for i := range row {
			row[i] = 0.1 * rng.NormFloat64()
		}
		p.A = append(p.A, row)
	}
	for i := range p.W {
		p.W[i] = 0.1 * rng.NormFloat64()
	}
	e := make([]float32, d)
	for i := range e {
		e[i] = float32(rng.NormFloat64() / 16)
	}
	return p, e
}

// BenchmarkProbs30 is the hot path: 30 models, D = 256, K = DefaultDims.
func BenchmarkProbs30(b *testing.B) {
	p, e := randParams(30, DefaultDims, 256)
	dst := make([]float64, 30)
	b.ReportAllocs()
	for b.Loop() {
		p.Probs(e, dst)
	}
}

// BenchmarkFit fits the shared test world (12 models, 3000 prompts, 36k
// outcomes, D = 256) with the default Config.
func BenchmarkFit(b *testing.B) {
	tw := getWorld(b)
	benchFit(b, tw)
}

func benchFit(b *testing.B, tw *testWorld) {
	var rep *FitReport
	for b.Loop() {
		var err error
		_, rep, err = Fit(context.Background(), tw.emb, tw.models, tw.resp, Config{}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	perOp := b.Elapsed().Seconds() / float64(b.N)
	rate := float64(len(tw.resp)) / perOp
	b.ReportMetric(rate, "outcomes/s")
	b.ReportMetric(250000/rate, "s/250k-linear")
	b.ReportMetric(float64(rep.Iterations), "iters")
	b.ReportMetric(float64(rep.FuncEvals), "evals")
	b.Logf("%d outcomes: %+v", len(tw.resp), *rep)
}

// BenchmarkFit250k fits 250k outcomes (20 models x 12,500 prompts, D =
// 256), the size of the training-time target. It takes tens of seconds,
// so it runs only with IRT_BENCH_250K=1 (use -benchtime 1x).
func BenchmarkFit250k(b *testing.B) {
	if os.Getenv("IRT_BENCH_250K") == "" {
		b.Skip("set IRT_BENCH_250K=1 to run")
	}
	t0 := time.Now()
	tw, err := makeWorld(synth.Config{Seed: 2, Models: 20, Prompts: 12500, Battles: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("world and embeddings: %v", time.Since(t0))
	b.ResetTimer()
	benchFit(b, tw)
}
