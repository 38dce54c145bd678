package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBootstrapMean(t *testing.T) {
	const resamples = 400 // above MinResamples, cheap for a mean
	rng := rand.New(rand.NewPCG(5, 6))
	width := map[int]float64{}
	for _, n := range []int{100, 2500} {
		xs := make([]float64, n)
		var mean float64
		for i := range xs {
			xs[i] = rng.Float64()
			mean += xs[i] / float64(n)
		}
		lo, hi, err := Bootstrap(n, resamples, rng, func(idx []int) (float64, error) {
			var s float64
			for _, i := range idx {
				s += xs[i]
			}
			return s / float64(len(idx)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !(lo <= mean && mean <= hi) {
			t.Errorf("n=%d: interval [%v, %v] misses the mean %v", n, lo, hi, mean)
		}
		// The 95% interval of a mean of uniforms is about
		// 2*1.96*sqrt(1/12/n) wide: .113 at n=100, .023 at n=2500.
		want := 2 * 1.96 * math.Sqrt(1.0/12/float64(n))
		if w := hi - lo; w < want/2 || w > want*2 { // factor 2: generous for 400 resamples
			t.Errorf("n=%d: width %v, want about %v", n, w, want)
		}
		width[n] = hi - lo
	}
	// 25 times the prompts: the width shrinks about 5-fold.
	if width[2500] > width[100]/2.5 {
		t.Errorf("width at n=2500 (%v) not well below n=100 (%v)", width[2500], width[100])
	}
}

func TestBootstrapDeterministic(t *testing.T) {
	stat := func(idx []int) (float64, error) { return float64(idx[0] + idx[1]), nil }
	lo1, hi1, err1 := Bootstrap(50, MinResamples, rand.New(rand.NewPCG(1, 1)), stat)
	lo2, hi2, err2 := Bootstrap(50, MinResamples, rand.New(rand.NewPCG(1, 1)), stat)
	if err1 != nil || err2 != nil || lo1 != lo2 || hi1 != hi2 {
		t.Errorf("same seed, different intervals: [%v %v] %v, [%v %v] %v", lo1, hi1, err1, lo2, hi2, err2)
	}
}

func TestBootstrapErrors(t *testing.T) {
	boom := errors.New("boom")
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name      string
		n, resamp int
		stat      func([]int) (float64, error)
		want      error
	}{
		{"no prompts", 0, 0, func([]int) (float64, error) { return 0, nil }, ErrEmpty},
		{"too few resamples", 10, MinResamples - 1, func([]int) (float64, error) { return 0, nil }, ErrConfig},
		{"stat error", 10, 0, func([]int) (float64, error) { return 0, boom }, boom},
		{"always NaN", 10, 0, func([]int) (float64, error) { return math.NaN(), nil }, ErrUndefined},
		{"always no gap", 10, 0, func([]int) (float64, error) { return 0, ErrNoGap }, ErrUndefined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, err := Bootstrap(tt.n, tt.resamp, rng, tt.stat)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !math.IsNaN(lo) || !math.IsNaN(hi) {
				t.Errorf("interval [%v, %v] with an error, want NaN", lo, hi)
			}
		})
	}
}

func TestBootstrapAPGR(t *testing.T) {
	const n = 600 // prompts
	rng := rand.New(rand.NewPCG(8, 9))
	strong := bernoulli(rng, n, 0.7)
	weak := bernoulli(rng, n, 0.5)
	win := make([]float64, n)
	for i := range win {
		// A fair router: the gain plus noise.
		win[i] = strong[i] - weak[i] + rng.NormFloat64()
	}
	point, err := TwoModel(win, strong, weak, TwoModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, err := BootstrapAPGR(win, strong, weak, TwoModelConfig{}, MinResamples, rng)
	if err != nil {
		t.Fatal(err)
	}
	if !(lo <= point.APGR && point.APGR <= hi) || hi-lo > 0.5 { // .5: half the 0..1 scale, a sanity bound
		t.Errorf("APGR %v, interval [%v, %v]", point.APGR, lo, hi)
	}
	if _, _, err := BootstrapAPGR(win, strong[:1], weak, TwoModelConfig{}, 0, rng); !errors.Is(err, ErrLength) {
		t.Errorf("bad input: error %v, want ErrLength", err)
	}
}

func TestBootstrapQualityAtBestCost(t *testing.T) {
	const n = 300 // prompts
	rng := rand.New(rand.NewPCG(10, 11))
	price := []float64{1, 2, 5}
	ability := []float64{0.4, 0.6, 0.8}
	probs, scores, costs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range n {
		probs[i], scores[i], costs[i] = make([]float64, 3), make([]float64, 3), make([]float64, 3)
		for m := range 3 {
			if rng.Float64() < ability[m] {
				scores[i][m] = 1
			}
			probs[i][m] = 0.5*scores[i][m] + 0.5*rng.Float64()
			costs[i][m] = price[m]
		}
	}
	models := []string{"a", "b", "c"}
	point, err := ManyModel(probs, scores, costs, models, ManyModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, err := BootstrapQualityAtBestCost(probs, scores, costs, models, ManyModelConfig{}, MinResamples, rng)
	if err != nil {
		t.Fatal(err)
	}
	if !(lo <= point.QualityAtBestCost && point.QualityAtBestCost <= hi) {
		t.Errorf("quality at best cost %v outside [%v, %v]", point.QualityAtBestCost, lo, hi)
	}
	// With all weights 1 the plan replays ManyModel exactly.
	p, err := newManyPlan(probs, scores, costs, models, ManyModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	if got := p.result(ones).AIQ; got != point.AIQ {
		t.Errorf("weighted replay AIQ %v, ManyModel %v", got, point.AIQ)
	}
}
