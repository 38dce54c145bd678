package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

const (
	// DefaultResamples is the number of bootstrap resamples used when
	// zero is asked for.
	DefaultResamples = 1000
	// MinResamples is the fewest resamples a 95% percentile interval may
	// rest on.
	MinResamples = 200
)

// ErrUndefined means too many bootstrap resamples left the statistic
// undefined (NaN, or ErrNoGap) for an interval to mean anything.
var ErrUndefined = errors.New("statistic undefined on most resamples")

// Bootstrap returns the percentile 95% interval of a statistic of n
// prompts: it draws resamples sets of n prompt indices with replacement
// from rng, calls stat on each, and returns the 2.5% and 97.5% quantiles
// (linearly interpolated) of the values. stat must not keep idx, which is
// reused.
//
// Resamples on which stat returns NaN or an error wrapping ErrNoGap are
// skipped (the interval is then conditional on the statistic being
// defined); if more than half are skipped the error wraps ErrUndefined.
// Any other error from stat aborts. Zero resamples means
// DefaultResamples; fewer than MinResamples is an ErrConfig.
func Bootstrap(n int, resamples int, rng *rand.Rand, stat func(idx []int) (float64, error)) (lo, hi float64, err error) {
	if rng == nil || stat == nil {
		panic("eval: Bootstrap: nil rng or stat")
	}
	if n <= 0 {
		return math.NaN(), math.NaN(), &InputError{Arg: "n", Prompt: -1, Model: -1, Err: ErrEmpty}
	}
	if resamples == 0 {
		resamples = DefaultResamples
	}
	if resamples < MinResamples {
		return math.NaN(), math.NaN(), fmt.Errorf("%w: %d resamples, want at least %d", ErrConfig, resamples, MinResamples)
	}
	idx := make([]int, n)
	vals := make([]float64, 0, resamples)
	for r := range resamples {
		for j := range idx {
			idx[j] = rng.IntN(n)
		}
		v, err := stat(idx)
		switch {
		case errors.Is(err, ErrNoGap):
			continue
		case err != nil:
			return math.NaN(), math.NaN(), fmt.Errorf("eval: bootstrap resample %d: %w", r, err)
		case math.IsNaN(v):
			continue
		}
		vals = append(vals, v)
	}
	if 2*len(vals) < resamples {
		return math.NaN(), math.NaN(), fmt.Errorf("eval: bootstrap: %d of %d resamples defined: %w", len(vals), resamples, ErrUndefined)
	}
	slices.Sort(vals)
	return quantileSorted(vals, 0.025), quantileSorted(vals, 0.975), nil
}

// BootstrapTwoModel bootstraps any number pick reads off TwoModel's result
// (APGR, a CPT, ...) by resampling prompts; see Bootstrap. The input is
// checked once on the full sample first.
func BootstrapTwoModel(win, strong, weak []float64, cfg TwoModelConfig, resamples int, rng *rand.Rand, pick func(*TwoModelResult) float64) (lo, hi float64, err error) {
	if _, err := TwoModel(win, strong, weak, cfg); err != nil {
		return math.NaN(), math.NaN(), err
	}
	n := len(win)
	w, s, k := make([]float64, n), make([]float64, n), make([]float64, n)
	return Bootstrap(n, resamples, rng, func(idx []int) (float64, error) {
		for j, i := range idx {
			w[j], s[j], k[j] = win[i], strong[i], weak[i]
		}
		r, err := TwoModel(w, s, k, cfg)
		if err != nil {
			return math.NaN(), err
		}
		return pick(r), nil
	})
}

// BootstrapAPGR is the percentile 95% interval of TwoModel's APGR.
func BootstrapAPGR(win, strong, weak []float64, cfg TwoModelConfig, resamples int, rng *rand.Rand) (lo, hi float64, err error) {
	return BootstrapTwoModel(win, strong, weak, cfg, resamples, rng, func(r *TwoModelResult) float64 { return r.APGR })
}

// BootstrapManyModel bootstraps any number pick reads off ManyModel's
// result by resampling prompts; see Bootstrap. The router is held fixed:
// the prices and the lambda sweep are those of the full sample, while the
// single models, the best single model and every average are recomputed
// on each resample.
func BootstrapManyModel(probs, scores, costs [][]float64, models []string, cfg ManyModelConfig, resamples int, rng *rand.Rand, pick func(*ManyModelResult) float64) (lo, hi float64, err error) {
	p, err := newManyPlan(probs, scores, costs, models, cfg)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	w := make([]float64, p.n)
	return Bootstrap(p.n, resamples, rng, func(idx []int) (float64, error) {
		clear(w)
		for _, i := range idx {
			w[i]++
		}
		return pick(p.result(w)), nil
	})
}

// BootstrapQualityAtBestCost is the percentile 95% interval of
// ManyModel's QualityAtBestCost.
func BootstrapQualityAtBestCost(probs, scores, costs [][]float64, models []string, cfg ManyModelConfig, resamples int, rng *rand.Rand) (lo, hi float64, err error) {
	return BootstrapManyModel(probs, scores, costs, models, cfg, resamples, rng, func(r *ManyModelResult) float64 { return r.QualityAtBestCost })
}
