package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// DefaultNumLambdas is the number of geometrically spaced prices of quality
// that ManyModel sweeps between the first and the last breakpoint.
const DefaultNumLambdas = 100

// sumTol is the relative slack allowed when an average summed in one order
// is compared with the same average summed in another (the router's curve
// against the best single model): 1e-9 is far above float64 rounding over
// millions of prompts and far below any real difference of averages.
const sumTol = 1e-9

// ManyModelConfig configures ManyModel. The zero value sweeps 100
// geometrically spaced lambdas and prices models at their mean recorded
// cost.
type ManyModelConfig struct {
	// Price is the cost per query in USD of each model that the router
	// weighs in its decision argmax_m P[m] - lambda*Price[m]. Nil means
	// each model's mean recorded cost over the prompts (the router never
	// sees a prompt's recorded cost, which depends on the answer). The
	// curve's average cost always uses the recorded per-prompt costs.
	Price []float64
	// Lambdas, when set, is the sweep itself (values >= 0, any order).
	// Nil means automatic: 0 (best quality), then NumLambdas geometrically
	// spaced values from the smallest to the largest lambda at which any
	// prompt changes model; at the largest every prompt is on a cheapest
	// model, so the curve spans from the best-quality to the cheapest
	// routing exactly.
	Lambdas []float64
	// NumLambdas is the number of automatic grid values; zero means
	// DefaultNumLambdas. Ignored when Lambdas or Exact is set.
	NumLambdas int
	// Exact sweeps every breakpoint, giving the exact curve: one point per
	// distinct lambda at which some prompt changes model (up to
	// prompts*(models-1) points).
	Exact bool
}

// DefaultManyModelConfig returns the default configuration.
func DefaultManyModelConfig() ManyModelConfig {
	return ManyModelConfig{NumLambdas: DefaultNumLambdas}
}

// Validate reports a field out of range. The length of Price is checked
// by ManyModel, which knows the number of models.
func (c ManyModelConfig) Validate() error {
	if c.NumLambdas < 0 {
		return fmt.Errorf("%w: NumLambdas %d < 0", ErrConfig, c.NumLambdas)
	}
	for i, l := range c.Lambdas {
		if !finite(l) || l < 0 {
			return fmt.Errorf("%w: Lambdas[%d] = %g, want finite and >= 0", ErrConfig, i, l)
		}
	}
	for i, p := range c.Price {
		if !finite(p) || p < 0 {
			return fmt.Errorf("%w: Price[%d] = %g, want finite and >= 0", ErrConfig, i, p)
		}
	}
	return nil
}

// LambdaPoint is the routing at one price of quality Lambda (quality per
// USD): its average recorded cost per query (USD) and average quality.
type LambdaPoint struct {
	Lambda  float64
	Cost    float64
	Quality float64
}

// ModelPoint is a single model's average cost per query (USD) and average
// quality over the prompts.
type ModelPoint struct {
	Model   string
	Cost    float64
	Quality float64
}

// ManyModelResult holds the cost-quality scores of a router over any
// number of priced models. Costs are average USD per query, qualities
// average scores.
type ManyModelResult struct {
	// N is the number of prompts.
	N int
	// Curve is the router's routing at each lambda, by increasing lambda:
	// from the best-quality routing (lambda 0) towards the cheapest.
	Curve []LambdaPoint
	// Singles are the models routed to alone, in input order.
	Singles []ModelPoint
	// Best is the index in Singles of the best single model B: highest
	// quality, the cheaper among ties, then the first.
	Best int
	// BestQuality (Q*) and BestCost (C*) are B's quality and cost.
	BestQuality, BestCost float64
	// QualityAtBestCost is the best quality on the curve at average cost
	// <= C*, the curve read as straight segments between consecutive
	// points (a point between two routings is reached by mixing them at
	// random). NaN if the curve never costs <= C*.
	QualityAtBestCost float64
	// CostAtBestQuality is the lowest average cost on the curve (read the
	// same way) with quality >= Q*, and Saving = 1 - CostAtBestQuality/C*.
	// Both are NaN, and ReachesBestQuality false, when the curve never
	// reaches Q* (Saving also when C* is 0). Comparisons with C* and Q*
	// allow a relative 1e-9 for summation order.
	CostAtBestQuality  float64
	Saving             float64
	ReachesBestQuality bool
	// MinCost and MaxCost are the cheapest and the dearest single model's
	// average cost: the range over which AIQ is averaged.
	MinCost, MaxCost float64
	// Hull is the non-decreasing convex hull of Curve (see Hull), and AIQ
	// its average height over [MinCost, MaxCost] (see HullArea), in
	// quality units: higher is better.
	Hull []Point
	AIQ  float64
	// ZeroHull is the hull of the single models, the "zero router", and
	// ZeroAIQ its AIQ. It is also the random-mixture baseline: sending
	// each prompt at random to model a with probability p and to b
	// otherwise has expected point p*a + (1-p)*b, so the best random
	// mixtures at each budget trace exactly this hull.
	ZeroHull []Point
	ZeroAIQ  float64
	// Uniform is the expected point of routing each prompt to a model
	// drawn uniformly at random: the mean of the single models' points.
	Uniform Point
	// Oracle is the ceiling: each prompt to its best-scoring model, the
	// cheapest (by recorded cost) among ties.
	Oracle Point
}

// ManyModel scores a utility router over len(models) models on len(probs)
// prompts. probs[i][m] is the router's probability that model m answers
// prompt i well, scores[i][m] the recorded score (in [0, 1]) and
// costs[i][m] the recorded cost in USD of model m on prompt i.
//
// At price of quality lambda the router sends prompt i to
// argmax_m probs[i][m] - lambda*Price[m] (ties to the lower Price, then
// the lower index), and the routing's point is the average recorded score
// and cost of the chosen models. See ManyModelConfig for the sweep.
//
// Errors are *InputError wrapping ErrEmpty, ErrLength, ErrNotFinite or
// ErrNegativeCost, or ErrConfig.
func ManyModel(probs, scores, costs [][]float64, models []string, cfg ManyModelConfig) (*ManyModelResult, error) {
	p, err := newManyPlan(probs, scores, costs, models, cfg)
	if err != nil {
		return nil, err
	}
	return p.result(nil), nil
}

// result scores the plan with prompt weights w (nil: all 1).
func (p *manyPlan) result(w []float64) *ManyModelResult {
	curve := p.curve(w)
	singles := p.singles(w)
	res := &ManyModelResult{N: p.n, Curve: curve, Singles: singles}
	res.Best = bestSingle(singles)
	b := singles[res.Best]
	res.BestQuality, res.BestCost = b.Quality, b.Cost
	res.QualityAtBestCost = qualityAtCost(curve, b.Cost)
	res.CostAtBestQuality = costAtQuality(curve, b.Quality)
	res.ReachesBestQuality = !math.IsNaN(res.CostAtBestQuality)
	res.Saving = math.NaN()
	if res.ReachesBestQuality && b.Cost > 0 {
		res.Saving = 1 - res.CostAtBestQuality/b.Cost
	}

	res.MinCost, res.MaxCost = math.Inf(1), math.Inf(-1)
	sp := make([]Point, len(singles))
	for m, s := range singles {
		sp[m] = Point{s.Cost, s.Quality}
		res.MinCost = math.Min(res.MinCost, s.Cost)
		res.MaxCost = math.Max(res.MaxCost, s.Cost)
		res.Uniform.Cost += s.Cost / float64(len(singles))
		res.Uniform.Quality += s.Quality / float64(len(singles))
	}
	cp := make([]Point, len(curve))
	for k, c := range curve {
		cp[k] = Point{c.Cost, c.Quality}
	}
	res.Hull = Hull(cp)
	res.AIQ = HullArea(res.Hull, res.MinCost, res.MaxCost)
	res.ZeroHull = Hull(sp)
	res.ZeroAIQ = HullArea(res.ZeroHull, res.MinCost, res.MaxCost)

	var sumW float64
	for i := range p.n {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		sumW += wi
		best := 0
		for m := 1; m < p.m; m++ {
			s, c := p.scores[i][m], p.costs[i][m]
			if s > p.scores[i][best] || (s == p.scores[i][best] && c < p.costs[i][best]) {
				best = m
			}
		}
		res.Oracle.Cost += wi * p.costs[i][best]
		res.Oracle.Quality += wi * p.scores[i][best]
	}
	res.Oracle.Cost /= sumW
	res.Oracle.Quality /= sumW
	return res
}

// bestSingle is the index of the highest quality, the cheaper among ties,
// then the first.
func bestSingle(singles []ModelPoint) int {
	best := 0
	for m, s := range singles {
		b := singles[best]
		if s.Quality > b.Quality || (s.Quality == b.Quality && s.Cost < b.Cost) {
			best = m
		}
	}
	return best
}

// qualityAtCost is the best quality on the polyline curve at cost <= c*
// (1 + sumTol), NaN if none.
func qualityAtCost(curve []LambdaPoint, c float64) float64 {
	limit := c + sumTol*math.Abs(c)
	best := math.NaN()
	take := func(q float64) {
		if math.IsNaN(best) || q > best {
			best = q
		}
	}
	for k, a := range curve {
		if a.Cost <= limit {
			take(a.Quality)
		}
		if k+1 < len(curve) {
			b := curve[k+1]
			if (a.Cost < c && b.Cost > c) || (a.Cost > c && b.Cost < c) {
				take(a.Quality + (c-a.Cost)/(b.Cost-a.Cost)*(b.Quality-a.Quality))
			}
		}
	}
	return best
}

// costAtQuality is the lowest cost on the polyline curve at quality >=
// q*(1 - sumTol), NaN if none.
func costAtQuality(curve []LambdaPoint, q float64) float64 {
	limit := q - sumTol*math.Abs(q)
	best := math.NaN()
	take := func(c float64) {
		if math.IsNaN(best) || c < best {
			best = c
		}
	}
	for k, a := range curve {
		if a.Quality >= limit {
			take(a.Cost)
		}
		if k+1 < len(curve) {
			b := curve[k+1]
			if (a.Quality < q && b.Quality > q) || (a.Quality > q && b.Quality < q) {
				take(a.Cost + (q-a.Quality)/(b.Quality-a.Quality)*(b.Cost-a.Cost))
			}
		}
	}
	return best
}

// manyPlan is a utility router's routing over the whole lambda sweep: the
// choice of every prompt at lambda 0 and the switches (events) at which
// prompts move to a cheaper model as lambda grows. Replaying the events
// with any prompt weights gives the curve, so the bootstrap reuses it.
type manyPlan struct {
	n, m          int
	models        []string
	scores, costs [][]float64
	init          []int32
	events        []switchEvent // by increasing lambda
	lambdas       []float64     // the sweep, increasing
}

type switchEvent struct {
	lambda   float64
	prompt   int32
	from, to int32
}

func newManyPlan(probs, scores, costs [][]float64, models []string, cfg ManyModelConfig) (*manyPlan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n, m := len(probs), len(models)
	if n == 0 {
		return nil, &InputError{Arg: "probs", Prompt: -1, Model: -1, Err: ErrEmpty}
	}
	if m == 0 {
		return nil, &InputError{Arg: "models", Prompt: -1, Model: -1, Err: ErrEmpty}
	}
	if err := checkMatrix("probs", probs, n, m, false); err != nil {
		return nil, err
	}
	if err := checkMatrix("scores", scores, n, m, false); err != nil {
		return nil, err
	}
	if err := checkMatrix("costs", costs, n, m, true); err != nil {
		return nil, err
	}
	price := cfg.Price
	if price == nil {
		price = make([]float64, m)
		for _, row := range costs {
			for j, c := range row {
				price[j] += c / float64(n)
			}
		}
	} else if len(price) != m {
		return nil, fmt.Errorf("%w: %d prices for %d models", ErrConfig, len(price), m)
	}

	p := &manyPlan{n: n, m: m, models: models, scores: scores, costs: costs, init: make([]int32, n)}
	for i, row := range probs {
		// Lambda 0: highest probability, the lower price among ties.
		cur := 0
		for j := 1; j < m; j++ {
			if row[j] > row[cur] || (row[j] == row[cur] && price[j] < price[cur]) {
				cur = j
			}
		}
		p.init[i] = int32(cur)
		// Walk the upper envelope of the lines row[j] - lambda*price[j]:
		// as lambda grows the prompt moves to the cheaper model whose line
		// crosses first (the cheapest among equal crossings).
		at := 0.0
		for {
			next, cross := -1, math.Inf(1)
			for j := range m {
				if price[j] >= price[cur] {
					continue
				}
				l := math.Max((row[cur]-row[j])/(price[cur]-price[j]), at)
				if next < 0 || l < cross || (l == cross && price[j] < price[next]) {
					next, cross = j, l
				}
			}
			if next < 0 {
				break
			}
			p.events = append(p.events, switchEvent{lambda: cross, prompt: int32(i), from: int32(cur), to: int32(next)})
			cur, at = next, cross
		}
	}
	slices.SortStableFunc(p.events, func(a, b switchEvent) int { return cmp.Compare(a.lambda, b.lambda) })

	switch {
	case cfg.Lambdas != nil:
		p.lambdas = slices.Clone(cfg.Lambdas)
		slices.Sort(p.lambdas)
		p.lambdas = slices.Compact(p.lambdas)
	case cfg.Exact:
		p.lambdas = []float64{0}
		for _, e := range p.events {
			if e.lambda > p.lambdas[len(p.lambdas)-1] {
				p.lambdas = append(p.lambdas, e.lambda)
			}
		}
	default:
		p.lambdas = []float64{0}
		if len(p.events) > 0 {
			k := cfg.NumLambdas
			if k == 0 {
				k = DefaultNumLambdas
			}
			p.lambdas = append(p.lambdas, geomGrid(p.events[0].lambda, p.events[len(p.events)-1].lambda, k)...)
		}
	}
	return p, nil
}

// geomGrid returns k values from lo to hi (both included, lo > 0) with
// equal ratios, the last exactly hi.
func geomGrid(lo, hi float64, k int) []float64 {
	if k == 1 || lo == hi {
		return []float64{hi}
	}
	g := make([]float64, k)
	r := math.Log(hi / lo)
	for j := range k {
		g[j] = lo * math.Exp(r*float64(j)/float64(k-1))
	}
	g[0], g[k-1] = lo, hi
	return g
}

// curve replays the sweep with prompt weights w (nil: all 1) and returns
// one point per lambda.
func (p *manyPlan) curve(w []float64) []LambdaPoint {
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	var sumW, sumC, sumQ float64
	for i, c := range p.init {
		wi := weight(i)
		sumW += wi
		sumC += wi * p.costs[i][c]
		sumQ += wi * p.scores[i][c]
	}
	out := make([]LambdaPoint, 0, len(p.lambdas))
	e := 0
	for _, l := range p.lambdas {
		for ; e < len(p.events) && p.events[e].lambda <= l; e++ {
			ev := p.events[e]
			wi := weight(int(ev.prompt))
			if wi == 0 {
				continue
			}
			sumC += wi * (p.costs[ev.prompt][ev.to] - p.costs[ev.prompt][ev.from])
			sumQ += wi * (p.scores[ev.prompt][ev.to] - p.scores[ev.prompt][ev.from])
		}
		out = append(out, LambdaPoint{Lambda: l, Cost: sumC / sumW, Quality: sumQ / sumW})
	}
	return out
}

// singles returns each model's weighted average cost and quality.
func (p *manyPlan) singles(w []float64) []ModelPoint {
	out := make([]ModelPoint, p.m)
	var sumW float64
	for i := range p.n {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		sumW += wi
		for j := range p.m {
			out[j].Cost += wi * p.costs[i][j]
			out[j].Quality += wi * p.scores[i][j]
		}
	}
	for j := range out {
		out[j].Model = p.models[j]
		out[j].Cost /= sumW
		out[j].Quality /= sumW
	}
	return out
}
