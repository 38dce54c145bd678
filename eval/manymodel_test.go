package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// toy is 4 prompts and 3 models priced 1, 2 and 4 USD per query on every
// prompt. small answers only p0, mid p0 and p1, large p0..p2; nobody p3.
//
//	singles: small (1, .25), mid (2, .5), large (4, .75); best = large,
//	Q* = .75, C* = 4.
//	oracle: p0 small (1), p1 mid (2), p2 large (4), p3 all tie at 0 ->
//	small (1): cost 8/4 = 2, quality 3/4.
func toy() (scores, costs [][]float64, models []string) {
	scores = [][]float64{
		{1, 1, 1},
		{0, 1, 1},
		{0, 0, 1},
		{0, 0, 0},
	}
	costs = [][]float64{{1, 2, 4}, {1, 2, 4}, {1, 2, 4}, {1, 2, 4}}
	return scores, costs, []string{"small", "mid", "large"}
}

func TestManyModelToy(t *testing.T) {
	scores, costs, models := toy()
	// A router that knows the scores: probs = scores.
	//   lambda 0: argmax P, ties to the cheaper: p0 small, p1 mid,
	//     p2 large, p3 small = the oracle, (2, .75).
	//   p2 leaves large for small at lambda (1-0)/(4-1) = 1/3 (mid's
	//     line crosses later, at (1-0)/(4-2) = 1/2): (1.25, .5).
	//   p1 leaves mid for small at (1-0)/(2-1) = 1: (1, .25).
	// The automatic grid is 0 and 100 values from 1/3 to 1.
	//
	// quality_at_best_cost: every point costs <= C* = 4: best .75.
	// cost_at_best_quality: only (2, .75) reaches .75: 2; saving
	//   1 - 2/4 = .5.
	// AIQ over [1, 4]: hull (1,.25) (1.25,.5) (2,.75) (slopes 1, 1/3:
	//   concave), flat .75 to 4. Area .25*(.25+.5)/2 + .75*(.5+.75)/2 +
	//   2*.75 = .09375 + .46875 + 1.5 = 2.0625; AIQ = 2.0625/3 = .6875.
	// Zero router: hull (1,.25) (2,.5) (4,.75) (slopes .25, .125).
	//   Area (.25+.5)/2 + 2*(.5+.75)/2 = 1.625; ZeroAIQ = 1.625/3.
	// Uniform random: mean of singles (7/3, .5).
	r, err := ManyModel(scores, scores, costs, models, ManyModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	approx := cmpopts.EquateApprox(0, exactTol)
	wantSingles := []ModelPoint{{"small", 1, 0.25}, {"mid", 2, 0.5}, {"large", 4, 0.75}}
	if d := cmp.Diff(wantSingles, r.Singles, approx); d != "" {
		t.Errorf("singles (-want +got):\n%s", d)
	}
	if len(r.Curve) != 1+DefaultNumLambdas {
		t.Errorf("%d curve points, want %d", len(r.Curve), 1+DefaultNumLambdas)
	}
	first, last := r.Curve[0], r.Curve[len(r.Curve)-1]
	if d := cmp.Diff(LambdaPoint{0, 2, 0.75}, first, approx); d != "" {
		t.Errorf("best-quality end (-want +got):\n%s", d)
	}
	if d := cmp.Diff(LambdaPoint{1, 1, 0.25}, last, approx); d != "" {
		t.Errorf("cheapest end (-want +got):\n%s", d)
	}
	// The second grid value is the first breakpoint, 1/3.
	if d := cmp.Diff(LambdaPoint{1.0 / 3, 1.25, 0.5}, r.Curve[1], approx); d != "" {
		t.Errorf("first breakpoint (-want +got):\n%s", d)
	}
	wantHull := []Point{{1, 0.25}, {1.25, 0.5}, {2, 0.75}}
	if d := cmp.Diff(wantHull, r.Hull, approx); d != "" {
		t.Errorf("hull (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"Best", float64(r.Best), 2},
		{"BestQuality", r.BestQuality, 0.75},
		{"BestCost", r.BestCost, 4},
		{"QualityAtBestCost", r.QualityAtBestCost, 0.75},
		{"CostAtBestQuality", r.CostAtBestQuality, 2},
		{"Saving", r.Saving, 0.5},
		{"MinCost", r.MinCost, 1},
		{"MaxCost", r.MaxCost, 4},
		{"AIQ", r.AIQ, 0.6875},
		{"ZeroAIQ", r.ZeroAIQ, 1.625 / 3},
		{"Uniform.Cost", r.Uniform.Cost, 7.0 / 3},
		{"Uniform.Quality", r.Uniform.Quality, 0.5},
		{"Oracle.Cost", r.Oracle.Cost, 2},
		{"Oracle.Quality", r.Oracle.Quality, 0.75},
	} {
		if math.Abs(c.got-c.want) > exactTol {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !r.ReachesBestQuality {
		t.Error("ReachesBestQuality = false")
	}
	if r.AIQ < r.ZeroAIQ {
		t.Errorf("AIQ %v < zero router's %v for a router that dominates the single models", r.AIQ, r.ZeroAIQ)
	}

	// The exact sweep has one point per distinct breakpoint.
	ex, err := ManyModel(scores, scores, costs, models, ManyModelConfig{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	wantExact := []LambdaPoint{{0, 2, 0.75}, {1.0 / 3, 1.25, 0.5}, {1, 1, 0.25}}
	if d := cmp.Diff(wantExact, ex.Curve, approx); d != "" {
		t.Errorf("exact curve (-want +got):\n%s", d)
	}
	// An explicit sweep, unsorted: lambda .5 sits between the breakpoints.
	exp, err := ManyModel(scores, scores, costs, models, ManyModelConfig{Lambdas: []float64{2, 0.5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	wantExp := []LambdaPoint{{0, 2, 0.75}, {0.5, 1.25, 0.5}, {2, 1, 0.25}}
	if d := cmp.Diff(wantExp, exp.Curve, approx); d != "" {
		t.Errorf("explicit curve (-want +got):\n%s", d)
	}
}

func TestManyModelNeverReachesBest(t *testing.T) {
	scores, costs, models := toy()
	// An uninformed router, equal P everywhere, sends every prompt to the
	// cheapest model at every lambda: the curve is the one point (1, .25).
	// It never reaches Q* = .75; its hull is flat at .25, so AIQ = .25,
	// below the zero router's 1.625/3.
	flat := [][]float64{{.5, .5, .5}, {.5, .5, .5}, {.5, .5, .5}, {.5, .5, .5}}
	r, err := ManyModel(flat, scores, costs, models, ManyModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]LambdaPoint{{0, 1, 0.25}}, r.Curve); d != "" {
		t.Errorf("curve (-want +got):\n%s", d)
	}
	if r.ReachesBestQuality || !math.IsNaN(r.CostAtBestQuality) || !math.IsNaN(r.Saving) {
		t.Errorf("reaches %v, cost %v, saving %v; want false, NaN, NaN", r.ReachesBestQuality, r.CostAtBestQuality, r.Saving)
	}
	if r.QualityAtBestCost != 0.25 || r.AIQ != 0.25 {
		t.Errorf("QualityAtBestCost %v, AIQ %v, want .25, .25", r.QualityAtBestCost, r.AIQ)
	}
}

func TestManyModelRecordedCosts(t *testing.T) {
	// Costs differ per prompt: cheap costs 1 and 3, dear 10 and 30, so the
	// decision prices are the means 2 and 20. Scores: cheap 0,1; dear 1,1.
	//   lambda 0: p0 dear (1 > 0), p1 tie -> cheaper: cheap. The average
	//     recorded cost is (10 + 3)/2 = 6.5 (at prices it would be 11).
	//   p0 moves to cheap at (1-0)/(20-2) = 1/18: (2, .5).
	// Best = dear (20, 1): cost_at_best_quality 6.5, saving
	//   1 - 6.5/20 = .675.
	// Oracle: p0 dear (10), p1 both 1 -> cheaper recorded (3): (6.5, 1).
	// AIQ over [2, 20]: hull (2,.5) (6.5,1) then flat:
	//   (4.5*.75 + 13.5*1)/18 = 16.875/18 = .9375; zero: .75.
	scores := [][]float64{{0, 1}, {1, 1}}
	costs := [][]float64{{1, 10}, {3, 30}}
	r, err := ManyModel(scores, scores, costs, []string{"cheap", "dear"}, ManyModelConfig{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	approx := cmpopts.EquateApprox(0, exactTol)
	if d := cmp.Diff([]LambdaPoint{{0, 6.5, 1}, {1.0 / 18, 2, 0.5}}, r.Curve, approx); d != "" {
		t.Errorf("curve (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"CostAtBestQuality", r.CostAtBestQuality, 6.5},
		{"Saving", r.Saving, 0.675},
		{"QualityAtBestCost", r.QualityAtBestCost, 1},
		{"Oracle.Cost", r.Oracle.Cost, 6.5},
		{"AIQ", r.AIQ, 0.9375},
		{"ZeroAIQ", r.ZeroAIQ, 0.75},
	} {
		if math.Abs(c.got-c.want) > exactTol {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Explicit prices change the decision, not the accounting: pricing
	// dear at 2 as well makes lambda irrelevant (no cheaper model).
	r2, err := ManyModel(scores, scores, costs, []string{"cheap", "dear"}, ManyModelConfig{Price: []float64{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]LambdaPoint{{0, 6.5, 1}}, r2.Curve, approx); d != "" {
		t.Errorf("curve at equal prices (-want +got):\n%s", d)
	}
}

func TestManyModelInterpolatedSaving(t *testing.T) {
	// Models a, b, c cost 2, 10 and 8 on every prompt.
	// Scores: p0 a 0, b 1, c 1; p1 a 1, b 1, c .5.
	//   singles a (2, .5), b (10, 1), c (8, .75); best b: Q* = 1, C* = 10.
	// Probs: p0 favours b, p1 ties a and b; c always has 0.
	//   lambda 0: p0 b, p1 a (tie -> cheaper): (6, 1).
	//   p0 leaves b for a at (1-0)/(10-2) = 1/8 (c would be at
	//     (1-0)/(10-8) = 1/2): (2, .5).
	// Q* is reached at cost 6: saving 1 - 6/10 = .4.
	scores := [][]float64{{0, 1, 1}, {1, 1, 0.5}}
	probs := [][]float64{{0, 1, 0}, {1, 1, 0}}
	costs := [][]float64{{2, 10, 8}, {2, 10, 8}}
	r, err := ManyModel(probs, scores, costs, []string{"a", "b", "c"}, ManyModelConfig{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	approx := cmpopts.EquateApprox(0, exactTol)
	if d := cmp.Diff([]LambdaPoint{{0, 6, 1}, {0.125, 2, 0.5}}, r.Curve, approx); d != "" {
		t.Errorf("curve (-want +got):\n%s", d)
	}
	if math.Abs(r.Saving-0.4) > exactTol {
		t.Errorf("Saving = %v, want .4", r.Saving)
	}
	// Against c's bar (Q .75, C 8) the crossing is interpolated: on the
	// segment (6,1) -> (2,.5), quality .75 is at cost 4.
	if got := costAtQuality(r.Curve, 0.75); math.Abs(got-4) > exactTol {
		t.Errorf("costAtQuality(.75) = %v, want 4", got)
	}
	// And a budget of 4 buys quality .75 on that segment.
	if got := qualityAtCost(r.Curve, 4); math.Abs(got-0.75) > exactTol {
		t.Errorf("qualityAtCost(4) = %v, want .75", got)
	}
	// A budget below the cheapest point buys nothing.
	if got := qualityAtCost(r.Curve, 1); !math.IsNaN(got) {
		t.Errorf("qualityAtCost(1) = %v, want NaN", got)
	}
}

func TestManyModelBestSingleTie(t *testing.T) {
	// Equal quality .5: the cheaper model (b, cost 1) is best.
	scores := [][]float64{{1, 0}, {0, 1}}
	costs := [][]float64{{2, 1}, {2, 1}}
	r, err := ManyModel(scores, scores, costs, []string{"a", "b"}, ManyModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Best != 1 || r.BestCost != 1 {
		t.Errorf("Best %d (cost %v), want 1 (cost 1)", r.Best, r.BestCost)
	}
}

func TestManyModelDominatingRouter(t *testing.T) {
	// A noisy but informed router on a random 4-model world: its curve
	// spans the best-quality and the cheapest routing, and its AIQ beats
	// the zero router's.
	const n = 400 // prompts
	rng := rand.New(rand.NewPCG(3, 4))
	price := []float64{0.1, 0.4, 1.0, 3.0}
	ability := []float64{0.3, 0.5, 0.65, 0.8}
	probs, scores, costs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range n {
		probs[i], scores[i], costs[i] = make([]float64, 4), make([]float64, 4), make([]float64, 4)
		for m := range 4 {
			p := ability[m]
			if rng.Float64() < p {
				scores[i][m] = 1
			}
			// The router sees the outcome through noise.
			probs[i][m] = 0.6*scores[i][m] + 0.4*rng.Float64()
			costs[i][m] = price[m] * (0.5 + rng.Float64())
		}
	}
	models := []string{"a", "b", "c", "d"}
	r, err := ManyModel(probs, scores, costs, models, ManyModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r.AIQ < r.ZeroAIQ {
		t.Errorf("AIQ %v < zero router's %v", r.AIQ, r.ZeroAIQ)
	}
	// The cheapest end: every prompt on the cheapest-priced model a.
	last := r.Curve[len(r.Curve)-1]
	if math.Abs(last.Cost-r.Singles[0].Cost) > exactTol || math.Abs(last.Quality-r.Singles[0].Quality) > exactTol {
		t.Errorf("cheapest end %+v, want model a %+v", last, r.Singles[0])
	}
	// The best-quality end: argmax P per prompt, recomputed directly.
	var c, q float64
	for i := range n {
		best := 0
		for m := 1; m < 4; m++ {
			if probs[i][m] > probs[i][best] {
				best = m
			}
		}
		c += costs[i][best] / n
		q += scores[i][best] / n
	}
	if first := r.Curve[0]; math.Abs(first.Cost-c) > exactTol || math.Abs(first.Quality-q) > exactTol {
		t.Errorf("best-quality end %+v, want (%v, %v)", first, c, q)
	}
	// The exact sweep's hull is at least as high as the grid's.
	ex, err := ManyModel(probs, scores, costs, models, ManyModelConfig{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	if ex.AIQ < r.AIQ-exactTol {
		t.Errorf("exact AIQ %v < grid AIQ %v", ex.AIQ, r.AIQ)
	}
	// No routing beats the oracle.
	for _, p := range ex.Curve {
		if p.Quality > r.Oracle.Quality+exactTol {
			t.Errorf("curve point %+v above the oracle %+v", p, r.Oracle)
		}
	}
}

func TestManyModelErrors(t *testing.T) {
	scores, costs, models := toy()
	bad := func(f func(p, s, c [][]float64)) [3][][]float64 {
		p, s, c := clone2(scores), clone2(scores), clone2(costs)
		f(p, s, c)
		return [3][][]float64{p, s, c}
	}
	tests := []struct {
		name   string
		in     [3][][]float64
		models []string
		cfg    ManyModelConfig
		want   error
	}{
		{"no prompts", [3][][]float64{nil, nil, nil}, models, ManyModelConfig{}, ErrEmpty},
		{"no models", bad(func(p, s, c [][]float64) {}), nil, ManyModelConfig{}, ErrEmpty},
		{"short row", bad(func(p, s, c [][]float64) { p[1] = p[1][:2] }), models, ManyModelConfig{}, ErrLength},
		{"NaN prob", bad(func(p, s, c [][]float64) { p[2][0] = math.NaN() }), models, ManyModelConfig{}, ErrNotFinite},
		{"Inf score", bad(func(p, s, c [][]float64) { s[0][1] = math.Inf(-1) }), models, ManyModelConfig{}, ErrNotFinite},
		{"negative cost", bad(func(p, s, c [][]float64) { c[3][2] = -1 }), models, ManyModelConfig{}, ErrNegativeCost},
		{"price length", bad(func(p, s, c [][]float64) {}), models, ManyModelConfig{Price: []float64{1, 2}}, ErrConfig},
		{"negative price", bad(func(p, s, c [][]float64) {}), models, ManyModelConfig{Price: []float64{1, -2, 3}}, ErrConfig},
		{"negative lambda", bad(func(p, s, c [][]float64) {}), models, ManyModelConfig{Lambdas: []float64{-1}}, ErrConfig},
		{"negative NumLambdas", bad(func(p, s, c [][]float64) {}), models, ManyModelConfig{NumLambdas: -1}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ManyModel(tt.in[0], tt.in[1], tt.in[2], tt.models, tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	_, err := ManyModel(scores, scores[:3], costs, models, ManyModelConfig{})
	if !errors.Is(err, ErrLength) {
		t.Errorf("scores with 3 of 4 prompts: error %v, want ErrLength", err)
	}
}

func clone2(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i, r := range m {
		out[i] = append([]float64(nil), r...)
	}
	return out
}

func TestHull(t *testing.T) {
	tests := []struct {
		name string
		in   []Point
		want []Point
		// area is HullArea over [0, 4], by hand.
		area float64
	}{
		{
			// (2,.4) lies below the chord (1,.5)-(3,.9) (.7 there) and
			// goes; (4,.8) is past the top (3,.9) and goes.
			// Over [0,4]: flat .5 on [0,1], (.5+.9)/2 on [1,3] (width 2),
			// flat .9 on [3,4]: (.5 + 1.4 + .9)/4 = .7.
			name: "below chord and past the top",
			in:   []Point{{4, 0.8}, {2, 0.4}, {1, 0.5}, {3, 0.9}},
			want: []Point{{1, 0.5}, {3, 0.9}},
			area: 0.7,
		},
		{
			// Equal costs keep the better point; collinear points drop.
			// Hull (0,0)-(2,1), then flat: (2*.5 + 2*1)/4 = .75.
			name: "ties and collinear",
			in:   []Point{{0, 0}, {1, 0.5}, {1, 0.2}, {2, 1}},
			want: []Point{{0, 0}, {2, 1}},
			area: 0.75,
		},
		{
			// The cheapest point is also the best: one point, flat .6.
			name: "falling",
			in:   []Point{{1, 0.6}, {2, 0.5}, {3, 0.4}},
			want: []Point{{1, 0.6}},
			area: 0.6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Hull(tt.in)
			if d := cmp.Diff(tt.want, h, cmpopts.EquateApprox(0, exactTol)); d != "" {
				t.Errorf("hull (-want +got):\n%s", d)
			}
			if a := HullArea(h, 0, 4); math.Abs(a-tt.area) > exactTol {
				t.Errorf("HullArea = %v, want %v", a, tt.area)
			}
		})
	}
	if Hull(nil) != nil {
		t.Error("Hull(nil) != nil")
	}
	if a := HullArea([]Point{{1, 0.5}, {3, 0.9}}, 2, 2); math.Abs(a-0.7) > exactTol {
		t.Errorf("HullArea over a point = %v, want the height .7", a)
	}
	if a := HullArea(nil, 0, 1); !math.IsNaN(a) {
		t.Errorf("HullArea(nil) = %v, want NaN", a)
	}
}
