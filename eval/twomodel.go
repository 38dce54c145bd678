package eval

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// DefaultBins is the number of quantile bins of the win rate whose edges
// are the routing thresholds of TwoModel: RouteLLM's num_results, so APGR
// and CPT are comparable with its published tables.
const DefaultBins = 10

// TwoModelConfig configures TwoModel. The zero value is RouteLLM's setup.
type TwoModelConfig struct {
	// Bins is the number of equal-count quantile bins of the win rate; the
	// Bins+1 bin edges are the thresholds. Zero means DefaultBins (10, the
	// 11 edges RouteLLM uses). Reports should use at least 10; more bins
	// resolve the curve finer and, for a concave curve, raise the trapezoid
	// AUC slightly towards its limit.
	Bins int
}

// DefaultTwoModelConfig returns RouteLLM's configuration (10 bins).
func DefaultTwoModelConfig() TwoModelConfig { return TwoModelConfig{Bins: DefaultBins} }

// Validate reports a field out of range.
func (c TwoModelConfig) Validate() error {
	if c.Bins < 0 {
		return fmt.Errorf("%w: Bins %d < 0", ErrConfig, c.Bins)
	}
	return nil
}

func (c TwoModelConfig) bins() int {
	if c.Bins == 0 {
		return DefaultBins
	}
	return c.Bins
}

// SharePoint is one routing threshold of a two-model router: the prompts
// with win rate >= Threshold go to the strong model, a Share (fraction in
// [0, 1]) of all prompts, and the average recorded score of the routed
// answers is Quality. PGR is the performance gap recovered at that point.
type SharePoint struct {
	Threshold float64
	Share     float64
	Quality   float64
	PGR       float64
}

// TwoModelResult holds RouteLLM's scores of a strong/weak router.
type TwoModelResult struct {
	// N is the number of prompts.
	N int
	// Points is the quality curve by increasing Share, deduplicated (equal
	// thresholds give equal points). It always starts at (0, WeakQuality)
	// and ends at (1, StrongQuality).
	Points []SharePoint
	// WeakQuality and StrongQuality are the average scores of routing every
	// prompt to the weak or the strong model.
	WeakQuality, StrongQuality float64
	// AUC is the trapezoid area under Quality over Share in [0, 1] (in
	// score units).
	AUC float64
	// APGR is (AUC - WeakQuality) / (StrongQuality - WeakQuality): 0.5 for
	// random routing, higher is better.
	APGR float64
	// CPT20, CPT50 and CPT80 are the strong-call shares needed to recover
	// 20%, 50% and 80% of the gap (see CPT); lower is better.
	CPT20, CPT50, CPT80 float64
	// OracleAUC and OracleAPGR are the bound of a router that knows the
	// scores: at every share s it sends to the strong model at most a
	// fraction s of prompts, those where the strong model gains most
	// (RouteLLM's get_optimal_accuracy, fractional counts interpolated).
	OracleAUC, OracleAPGR float64
}

// CPT returns the smallest strong-call share at which the curve reaches a
// performance gap recovered of pgr (a fraction: 0.5 for CPT(50%)),
// interpolating linearly between the two points around the first crossing.
// It is NaN when the curve never reaches pgr (only possible for pgr > 1)
// and 0 for pgr <= 0.
//
// RouteLLM interpolates with np.interp(target, quality, share), which
// assumes quality increases with share; on such curves the two agree, and
// on non-monotone curves CPT takes the first crossing.
func (r *TwoModelResult) CPT(pgr float64) float64 { return cptOf(r.Points, pgr) }

func cptOf(pts []SharePoint, x float64) float64 {
	if len(pts) == 0 {
		return math.NaN()
	}
	if pts[0].PGR >= x {
		return pts[0].Share
	}
	for j := 1; j < len(pts); j++ {
		a, b := pts[j-1], pts[j]
		if b.PGR >= x {
			// a.PGR < x <= b.PGR, so the denominator is positive.
			return a.Share + (x-a.PGR)/(b.PGR-a.PGR)*(b.Share-a.Share)
		}
	}
	return math.NaN()
}

// TwoModel scores a strong/weak router as RouteLLM does. win[i] is the
// router's probability that prompt i needs the strong model (any finite
// number: only its order matters); strong[i] and weak[i] are the recorded
// scores of the two models on prompt i (in [0, 1]; any finite scale works).
//
// The thresholds are the cfg.Bins+1 edges of equal-count quantile bins of
// win (linearly interpolated quantiles, as numpy's and pandas.qcut's). A
// prompt goes to the strong model when win >= threshold, so prompts with
// equal win always go together; the last edge, the maximum, routes
// nothing (RouteLLM uses win > max there), and is reported as the next
// float above the maximum so that ">=" holds for every point.
//
// Errors: *InputError wrapping ErrEmpty, ErrLength or ErrNotFinite for bad
// input, and ErrNoGap (wrapped) when StrongQuality == WeakQuality, as APGR
// and CPT are then undefined; no result is returned with an error.
func TwoModel(win, strong, weak []float64, cfg TwoModelConfig) (*TwoModelResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := len(win)
	if n == 0 {
		return nil, &InputError{Arg: "win", Prompt: -1, Model: -1, Err: ErrEmpty}
	}
	for _, v := range []struct {
		name string
		xs   []float64
	}{{"win", win}, {"strong", strong}, {"weak", weak}} {
		if err := checkVector(v.name, v.xs, n); err != nil {
			return nil, err
		}
	}

	// Prompts by increasing win, with prefix sums of both scores in that
	// order; then the prompts with win >= t are a suffix and
	// quality = (weak on the prefix + strong on the suffix) / n.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return win[order[a]] < win[order[b]] })
	sorted := make([]float64, n)
	preS := make([]float64, n+1)
	preW := make([]float64, n+1)
	for k, i := range order {
		sorted[k] = win[i]
		preS[k+1] = preS[k] + strong[i]
		preW[k+1] = preW[k] + weak[i]
	}
	fn := float64(n)
	rStrong, rWeak := preS[n]/fn, preW[n]/fn
	gap := rStrong - rWeak
	if gap == 0 {
		return nil, fmt.Errorf("eval: strong and weak average %g: %w", rStrong, ErrNoGap)
	}

	bins := cfg.bins()
	pts := make([]SharePoint, 0, bins+1)
	for k := 0; k <= bins; k++ {
		var t float64
		if k == bins {
			t = math.Nextafter(sorted[n-1], math.Inf(1))
		} else {
			t = quantileSorted(sorted, float64(k)/float64(bins))
		}
		j := sort.SearchFloat64s(sorted, t) // first prompt with win >= t
		q := (preW[j] + preS[n] - preS[j]) / fn
		pts = append(pts, SharePoint{Threshold: t, Share: float64(n-j) / fn, Quality: q, PGR: (q - rWeak) / gap})
	}
	// Thresholds increase with k, so shares decrease: reverse, then drop
	// repeated shares (equal shares are equal prompt sets).
	slices.Reverse(pts)
	pts = slices.CompactFunc(pts, func(a, b SharePoint) bool { return a.Share == b.Share })
	if pts[0].Share != 0 {
		pts = slices.Insert(pts, 0, SharePoint{Threshold: math.Inf(1), Share: 0, Quality: rWeak, PGR: 0})
	}
	if pts[len(pts)-1].Share != 1 {
		pts = append(pts, SharePoint{Threshold: math.Inf(-1), Share: 1, Quality: rStrong, PGR: 1})
	}

	res := &TwoModelResult{N: n, Points: pts, WeakQuality: rWeak, StrongQuality: rStrong}
	for j := 1; j < len(pts); j++ {
		res.AUC += (pts[j].Share - pts[j-1].Share) * (pts[j].Quality + pts[j-1].Quality) / 2
	}
	res.APGR = (res.AUC - rWeak) / gap
	res.CPT20, res.CPT50, res.CPT80 = res.CPT(0.2), res.CPT(0.5), res.CPT(0.8)
	res.OracleAUC = oracleAUC(strong, weak, rWeak)
	res.OracleAPGR = (res.OracleAUC - rWeak) / gap
	return res, nil
}

// quantileSorted is the linearly interpolated p-quantile of sorted values
// (Hyndman and Fan type 7, numpy's default).
func quantileSorted(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// oracleAUC integrates the oracle curve over share in [0, 1]: at share k/n
// the k prompts with the largest positive gain strong - weak go to the
// strong model; between those shares the curve is linear.
func oracleAUC(strong, weak []float64, rWeak float64) float64 {
	n := len(strong)
	gains := make([]float64, n)
	for i := range gains {
		gains[i] = math.Max(strong[i]-weak[i], 0)
	}
	slices.Sort(gains)
	slices.Reverse(gains)
	// AUC = r_weak + (1/n) * sum_k (G_{k-1} + G_k) / 2 / n, with G_k the
	// sum of the k largest gains.
	var cum, area float64
	for _, g := range gains {
		next := cum + g
		area += (cum + next) / 2
		cum = next
	}
	fn := float64(n)
	return rWeak + area/(fn*fn)
}
