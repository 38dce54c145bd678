package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultSeeds is the number of random routers RandomTwoModel averages
// when asked for zero, the minimum a report may show.
const DefaultSeeds = 10

// RandomTwoModelResult is the mean of TwoModel over random routers, each
// drawing every prompt's win rate uniformly from [0, 1) (RouteLLM's
// random router).
type RandomTwoModelResult struct {
	// Seeds is the number of random routers averaged.
	Seeds int
	// Points is the mean curve: point k is the average over seeds of each
	// router's point k. With continuous random win rates every seed has
	// the same shares, so only qualities vary.
	Points []SharePoint
	// AUC, APGR and the CPTs are means over seeds; APGRStd is the standard
	// deviation of APGR across seeds (n-1 denominator; 0 for one seed).
	AUC, APGR, APGRStd  float64
	CPT20, CPT50, CPT80 float64
	// WeakQuality and StrongQuality are as in TwoModelResult.
	WeakQuality, StrongQuality float64
}

// RandomTwoModel scores seeds random routers on the prompts of strong and
// weak (see TwoModel) with thresholds per cfg, drawing from rng, and
// returns their mean. Its APGR is 0.5 in expectation. Zero seeds means
// DefaultSeeds; fewer than DefaultSeeds is an ErrConfig, as reports show
// the mean of at least 10.
func RandomTwoModel(strong, weak []float64, seeds int, rng *rand.Rand, cfg TwoModelConfig) (*RandomTwoModelResult, error) {
	if rng == nil {
		panic("eval: RandomTwoModel: nil rng")
	}
	if seeds == 0 {
		seeds = DefaultSeeds
	}
	if seeds < DefaultSeeds {
		return nil, fmt.Errorf("%w: %d seeds, want at least %d", ErrConfig, seeds, DefaultSeeds)
	}
	win := make([]float64, len(strong))
	out := &RandomTwoModelResult{Seeds: seeds}
	apgrs := make([]float64, 0, seeds)
	for s := range seeds {
		for i := range win {
			win[i] = rng.Float64()
		}
		r, err := TwoModel(win, strong, weak, cfg)
		if err != nil {
			return nil, err
		}
		if s == 0 {
			out.Points = make([]SharePoint, len(r.Points))
			for k, p := range r.Points {
				out.Points[k].Share = p.Share
			}
			out.WeakQuality, out.StrongQuality = r.WeakQuality, r.StrongQuality
		}
		if !sameShares(r.Points, out.Points) {
			// Only when random draws tie, which float64 draws almost
			// never do; averaging curves over different shares would be
			// meaningless.
			return nil, fmt.Errorf("eval: random router %d: curve shares differ from router 0's", s)
		}
		for k, p := range r.Points {
			q := &out.Points[k]
			q.Threshold += p.Threshold / float64(seeds)
			q.Quality += p.Quality / float64(seeds)
			q.PGR += p.PGR / float64(seeds)
		}
		out.AUC += r.AUC / float64(seeds)
		out.CPT20 += r.CPT20 / float64(seeds)
		out.CPT50 += r.CPT50 / float64(seeds)
		out.CPT80 += r.CPT80 / float64(seeds)
		apgrs = append(apgrs, r.APGR)
	}
	out.APGR, out.APGRStd = meanStd(apgrs)
	return out, nil
}

func meanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func sameShares(a, b []SharePoint) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k].Share != b[k].Share {
			return false
		}
	}
	return true
}
