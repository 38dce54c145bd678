package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// exactTol is for values computed from a handful of dyadic fractions,
// where only float64 rounding separates the code from the hand arithmetic.
const exactTol = 1e-12

func TestTwoModelHandComputed(t *testing.T) {
	tests := []struct {
		name               string
		win, strong, weak  []float64
		bins               int
		want               []SharePoint // Threshold is not compared
		auc, apgr          float64
		cpt20, cpt50, cpt8 float64
		oracleAPGR         float64
	}{
		{
			// Sorted win .1 .4 .6 .9; r_strong = 3/4, r_weak = 2/4.
			// Edges (type-7 quantiles, h = 3p): .1, .325, .5, .675, then
			// "> .9". Strong sets: all; {.9,.6,.4}; {.9,.6}; {.9}; none.
			//   s=1:   1,1,0,1 -> .75      s=.75: 1,1,0,0 -> .5
			//   s=.5:  1,1,1,0 -> .75      s=.25: 1,1,1,0 -> .75
			//   s=0:   0,1,1,0 -> .5
			// AUC = .25*(.5+.75)/2 + .25*.75 + .25*(.75+.5)/2 + .25*(.5+.75)/2
			//     = .15625 + .1875 + .15625 + .15625 = .65625
			// APGR = (.65625 - .5) / .25 = .625
			// PGR: 0, 1, 1, 0, 1: CPT(x) = .25*x on the first segment.
			// Oracle: gains 1,0,0,1 -> cumulative G = 0,1,2,2,2, so
			// AUC* = .5 + (.5+1.5+2+2)/16 = .875, APGR* = .375/.25 = 1.5.
			name:   "mixed",
			win:    []float64{0.9, 0.6, 0.4, 0.1},
			strong: []float64{1, 1, 0, 1},
			weak:   []float64{0, 1, 1, 0},
			bins:   4,
			want: []SharePoint{
				{Share: 0, Quality: 0.5, PGR: 0},
				{Share: 0.25, Quality: 0.75, PGR: 1},
				{Share: 0.5, Quality: 0.75, PGR: 1},
				{Share: 0.75, Quality: 0.5, PGR: 0},
				{Share: 1, Quality: 0.75, PGR: 1},
			},
			auc: 0.65625, apgr: 0.625,
			cpt20: 0.05, cpt50: 0.125, cpt8: 0.2,
			oracleAPGR: 1.5,
		},
		{
			// The two prompts with win .5 straddle the edges .425 and .5
			// (h = .75, 1.5) and must move together: both edges give the
			// strong set {.5,.5,.9}, share .75. Edge .6 (h = 2.25) gives
			// {.9}. Scores in win order: strong 1,0,1,1; weak 1,1,0,0;
			// r_strong = .75, r_weak = .5.
			//   s=0: .5   s=.25: 1,1,0,1 -> .75   s=.75: 1,0,1,1 -> .75
			//   s=1: .75
			// AUC = .25*(.5+.75)/2 + .5*.75 + .25*.75 = .71875
			// APGR = .21875/.25 = .875; CPT(x) = .25*x.
			// Oracle gains 0,0,1,1: as above AUC* = .875, APGR* = 1.5.
			name:   "ties move together",
			win:    []float64{0.2, 0.5, 0.5, 0.9},
			strong: []float64{1, 0, 1, 1},
			weak:   []float64{1, 1, 0, 0},
			bins:   4,
			want: []SharePoint{
				{Share: 0, Quality: 0.5, PGR: 0},
				{Share: 0.25, Quality: 0.75, PGR: 1},
				{Share: 0.75, Quality: 0.75, PGR: 1},
				{Share: 1, Quality: 0.75, PGR: 1},
			},
			auc: 0.71875, apgr: 0.875,
			cpt20: 0.05, cpt50: 0.125, cpt8: 0.2,
			oracleAPGR: 1.5,
		},
		{
			// All win equal: every edge is .5, so the curve is the two
			// endpoints (0, .25) and (1, .75), a straight line:
			// AUC = .5, APGR = .25/.5 = .5, CPT(x) = x.
			// Oracle gains 1,1,0,0: AUC* = .25 + 6/16 = .625,
			// APGR* = .375/.5 = .75. Default bins (10).
			name:   "all tied",
			win:    []float64{0.5, 0.5, 0.5, 0.5},
			strong: []float64{1, 1, 1, 0},
			weak:   []float64{0, 0, 1, 0},
			want: []SharePoint{
				{Share: 0, Quality: 0.25, PGR: 0},
				{Share: 1, Quality: 0.75, PGR: 1},
			},
			auc: 0.5, apgr: 0.5,
			cpt20: 0.2, cpt50: 0.5, cpt8: 0.8,
			oracleAPGR: 0.75,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TwoModel(tt.win, tt.strong, tt.weak, TwoModelConfig{Bins: tt.bins})
			if err != nil {
				t.Fatal(err)
			}
			opts := cmp.Options{cmpopts.EquateApprox(0, exactTol), cmpopts.IgnoreFields(SharePoint{}, "Threshold")}
			if d := cmp.Diff(tt.want, got.Points, opts); d != "" {
				t.Errorf("points (-want +got):\n%s", d)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"AUC", got.AUC, tt.auc},
				{"APGR", got.APGR, tt.apgr},
				{"CPT20", got.CPT20, tt.cpt20},
				{"CPT50", got.CPT50, tt.cpt50},
				{"CPT80", got.CPT80, tt.cpt8},
				{"OracleAPGR", got.OracleAPGR, tt.oracleAPGR},
			} {
				if math.Abs(c.got-c.want) > exactTol {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			// Every point's threshold reproduces its share under win >= t.
			for _, p := range got.Points {
				k := 0
				for _, w := range tt.win {
					if w >= p.Threshold {
						k++
					}
				}
				if s := float64(k) / float64(len(tt.win)); s != p.Share {
					t.Errorf("threshold %v routes share %v, point says %v", p.Threshold, s, p.Share)
				}
			}
		})
	}
}

func TestTwoModelCPTOutOfRange(t *testing.T) {
	r, err := TwoModel([]float64{0.9, 0.6, 0.4, 0.1}, []float64{1, 1, 0, 1}, []float64{0, 1, 1, 0}, TwoModelConfig{Bins: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.CPT(0); got != 0 {
		t.Errorf("CPT(0) = %v, want 0", got)
	}
	if got := r.CPT(-1); got != 0 {
		t.Errorf("CPT(-1) = %v, want 0", got)
	}
	if got := r.CPT(1); got != 0.25 {
		t.Errorf("CPT(1) = %v, want .25 (first point with PGR 1)", got)
	}
	if got := r.CPT(1.01); !math.IsNaN(got) {
		t.Errorf("CPT(1.01) = %v, want NaN (never reached)", got)
	}
}

// bernoulli draws n scores that are 1 with probability p.
func bernoulli(rng *rand.Rand, n int, p float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		if rng.Float64() < p {
			xs[i] = 1
		}
	}
	return xs
}

func TestTwoModelKnownRouters(t *testing.T) {
	const n = 2000 // prompts; enough that every value of win spans a quantile edge
	rng := rand.New(rand.NewPCG(1, 2))
	strong := bernoulli(rng, n, 0.7)
	weak := bernoulli(rng, n, 0.5)
	diff := make([]float64, n)
	anti := make([]float64, n)
	var fNeg float64
	for i := range diff {
		diff[i] = strong[i] - weak[i]
		anti[i] = -diff[i]
		if diff[i] < 0 {
			fNeg += 1.0 / n
		}
	}

	perfect, err := TwoModel(diff, strong, weak, TwoModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// The perfect router matches the oracle up to share 1 - fNeg; past it
	// the oracle stays flat at its best while the router must route the
	// fNeg prompts that lose a point each, falling linearly by fNeg. The
	// triangle between them has area fNeg^2/2.
	gap := perfect.StrongQuality - perfect.WeakQuality
	wantDiff := fNeg * fNeg / 2 / gap
	if d := perfect.OracleAPGR - perfect.APGR; math.Abs(d-wantDiff) > exactTol {
		t.Errorf("OracleAPGR - APGR = %v, want fNeg²/2/gap = %v", d, wantDiff)
	}
	if perfect.APGR <= 1 {
		t.Errorf("perfect APGR = %v, want > 1 (it beats the strong model)", perfect.APGR)
	}

	antiR, err := TwoModel(anti, strong, weak, TwoModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if antiR.APGR >= 0.5 {
		t.Errorf("anti-correlated APGR = %v, want < .5", antiR.APGR)
	}
	if antiR.APGR > antiR.OracleAPGR || perfect.APGR > perfect.OracleAPGR {
		t.Errorf("a router beats the oracle bound: anti %v, perfect %v, bound %v", antiR.APGR, perfect.APGR, perfect.OracleAPGR)
	}
	// Higher is better for APGR, lower for CPT.
	if antiR.CPT50 <= perfect.CPT50 {
		t.Errorf("CPT50 anti %v <= perfect %v", antiR.CPT50, perfect.CPT50)
	}
}

func TestTwoModelNoNegativeGainMatchesOracle(t *testing.T) {
	// When the strong model never loses, routing by the gain is the
	// oracle on the quantile shares, and both curves are straight between
	// them: 0 up to the share of gains, then flat. APGR equals the bound.
	strong := []float64{1, 1, 1, 1, 0, 1, 1, 0, 1, 1}
	weak := []float64{0, 1, 0, 1, 0, 0, 1, 0, 1, 1}
	win := make([]float64, len(strong))
	for i := range win {
		win[i] = strong[i] - weak[i]
	}
	r, err := TwoModel(win, strong, weak, TwoModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.APGR-r.OracleAPGR) > exactTol {
		t.Errorf("APGR %v != OracleAPGR %v", r.APGR, r.OracleAPGR)
	}
	// Gains on 3 of 10 prompts; the oracle reaches r_strong at share .3
	// and APGR = area of PGR: .3*1/2 + .7*1 = .85.
	if math.Abs(r.APGR-0.85) > exactTol {
		t.Errorf("APGR = %v, want .85", r.APGR)
	}
}

func TestTwoModelErrors(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name              string
		win, strong, weak []float64
		cfg               TwoModelConfig
		want              error
	}{
		{"empty", nil, nil, nil, TwoModelConfig{}, ErrEmpty},
		{"short strong", []float64{1, 2}, []float64{1}, []float64{0, 0}, TwoModelConfig{}, ErrLength},
		{"long weak", []float64{1, 2}, []float64{1, 0}, []float64{0, 0, 0}, TwoModelConfig{}, ErrLength},
		{"NaN win", []float64{1, nan}, []float64{1, 0}, []float64{0, 0}, TwoModelConfig{}, ErrNotFinite},
		{"Inf weak", []float64{1, 2}, []float64{1, 0}, []float64{0, inf}, TwoModelConfig{}, ErrNotFinite},
		{"NaN strong", []float64{1, 2}, []float64{nan, 0}, []float64{0, 0}, TwoModelConfig{}, ErrNotFinite},
		{"no gap", []float64{1, 2}, []float64{1, 0}, []float64{0, 1}, TwoModelConfig{}, ErrNoGap},
		{"negative bins", []float64{1, 2}, []float64{1, 0}, []float64{0, 0}, TwoModelConfig{Bins: -1}, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := TwoModel(tt.win, tt.strong, tt.weak, tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if r != nil {
				t.Errorf("result %+v with error", r)
			}
		})
	}
	_, err := TwoModel([]float64{1, nan}, []float64{1, 0}, []float64{0, 0}, TwoModelConfig{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Arg != "win" || ie.Prompt != 1 {
		t.Errorf("error %v, want an *InputError at win[1]", err)
	}
}

func TestRandomTwoModel(t *testing.T) {
	if testing.Short() {
		t.Skip("randomized: 10 routers over 5000 prompts")
	}
	const (
		n = 5000 // prompts
		// apgrTol: the mean of 10 random routers' APGR has a standard
		// error near 0.01 here, so 0.03 is a 3-sigma band around 0.5.
		apgrTol = 0.03
	)
	rng := rand.New(rand.NewPCG(7, 11))
	strong := bernoulli(rng, n, 0.7)
	weak := bernoulli(rng, n, 0.5)
	r, err := RandomTwoModel(strong, weak, 0, rng, TwoModelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seeds != DefaultSeeds {
		t.Errorf("Seeds = %d, want %d", r.Seeds, DefaultSeeds)
	}
	if math.Abs(r.APGR-0.5) > apgrTol {
		t.Errorf("random APGR = %v ± %v, want .5 ± %v", r.APGR, r.APGRStd, apgrTol)
	}
	// A random router recovers the gap in proportion to its calls, so
	// CPT(x) is near x.
	for _, c := range []struct{ got, want float64 }{{r.CPT20, 0.2}, {r.CPT50, 0.5}, {r.CPT80, 0.8}} {
		if math.Abs(c.got-c.want) > 0.1 { // 0.1: a tenth of the share axis
			t.Errorf("random CPT = %v, want about %v", c.got, c.want)
		}
	}
	if len(r.Points) != DefaultBins+1 || r.Points[0].Share != 0 || r.Points[len(r.Points)-1].Share != 1 {
		t.Errorf("mean curve %+v, want %d points from share 0 to 1", r.Points, DefaultBins+1)
	}

	if _, err := RandomTwoModel(strong, weak, 3, rng, TwoModelConfig{}); !errors.Is(err, ErrConfig) {
		t.Errorf("3 seeds: error %v, want ErrConfig", err)
	}
}
