package eval

import (
	"math/rand/v2"
	"testing"
)

// benchWorld is a synthetic evaluation set of the size of the synthetic
// default world's prompts: n prompts, m models with rising prices.
func benchWorld(n, m int) (probs, scores, costs [][]float64) {
	rng := rand.New(rand.NewPCG(1, 1))
	probs, scores, costs = make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range n {
		probs[i], scores[i], costs[i] = make([]float64, m), make([]float64, m), make([]float64, m)
		for j := range m {
			ability := 0.3 + 0.6*float64(j)/float64(m)
			if rng.Float64() < ability {
				scores[i][j] = 1
			}
			probs[i][j] = 0.5*scores[i][j] + 0.5*rng.Float64()
			costs[i][j] = 1e-4 * float64(j+1) * (0.5 + rng.Float64())
		}
	}
	return probs, scores, costs
}

func BenchmarkTwoModel(b *testing.B) {
	const n = 20000
	probs, scores, _ := benchWorld(n, 2)
	win, strong, weak := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		win[i], weak[i], strong[i] = probs[i][1]-probs[i][0], scores[i][0], scores[i][1]
	}
	for b.Loop() {
		if _, err := TwoModel(win, strong, weak, TwoModelConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkManyModel(b *testing.B) {
	const n, m = 20000, 20
	probs, scores, costs := benchWorld(n, m)
	models := make([]string, m)
	for j := range models {
		models[j] = string(rune('a' + j))
	}
	for _, c := range []struct {
		name string
		cfg  ManyModelConfig
	}{{"grid", ManyModelConfig{}}, {"exact", ManyModelConfig{Exact: true}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ManyModel(probs, scores, costs, models, c.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("bootstrap200", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(2, 2))
		for b.Loop() {
			if _, _, err := BootstrapQualityAtBestCost(probs, scores, costs, models, ManyModelConfig{}, MinResamples, rng); err != nil {
				b.Fatal(err)
			}
		}
	})
}
