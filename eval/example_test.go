package eval_test

import (
	"fmt"

	"github.com/routekit/routekit/eval"
)

// Ten prompts with distinct win rates: with the default 10 bins each
// quantile edge adds one prompt, so the shares are 0, .1, ..., 1. The
// strong model gains on the prompts ranked 1, 2 and 6 by win, so quality
// climbs .5, .6, .7 (flat to share .5), .8. AUC = .055 + .065 + 3*.07 +
// .075 + 4*.08 = .725 and APGR = (.725 - .5)/(.8 - .5) = .75.
func ExampleTwoModel() {
	win := []float64{0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1}
	strong := []float64{1, 1, 1, 0, 1, 1, 0, 1, 1, 1}
	weak := []float64{0, 0, 1, 0, 1, 0, 0, 1, 1, 1}
	r, err := eval.TwoModel(win, strong, weak, eval.TwoModelConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("weak %.2f strong %.2f\n", r.WeakQuality, r.StrongQuality)
	for _, p := range r.Points {
		fmt.Printf("share %.1f quality %.1f PGR %.2f\n", p.Share, p.Quality, p.PGR)
	}
	fmt.Printf("AUC %.3f APGR %.3f\n", r.AUC, r.APGR)
	fmt.Printf("CPT(20%%) %.3f CPT(50%%) %.3f CPT(80%%) %.3f\n", r.CPT20, r.CPT50, r.CPT80)
	// Output:
	// weak 0.50 strong 0.80
	// share 0.0 quality 0.5 PGR 0.00
	// share 0.1 quality 0.6 PGR 0.33
	// share 0.2 quality 0.7 PGR 0.67
	// share 0.3 quality 0.7 PGR 0.67
	// share 0.4 quality 0.7 PGR 0.67
	// share 0.5 quality 0.7 PGR 0.67
	// share 0.6 quality 0.8 PGR 1.00
	// share 0.7 quality 0.8 PGR 1.00
	// share 0.8 quality 0.8 PGR 1.00
	// share 0.9 quality 0.8 PGR 1.00
	// share 1.0 quality 0.8 PGR 1.00
	// AUC 0.725 APGR 0.750
	// CPT(20%) 0.060 CPT(50%) 0.150 CPT(80%) 0.540
}
