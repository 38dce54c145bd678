package models

import (
	"math"
	"testing"
)

func TestThresholdForShare(t *testing.T) {
	win := []float64{0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0}
	for _, c := range []struct {
		share, want, achieved float64
	}{
		{0.3, 0.7, 0.3},  // k = 3: the 3rd largest
		{0.5, 0.5, 0.5},  // k = 5
		{1, 0.0, 1},      // k = n: the smallest
		{0.34, 0.7, 0.3}, // round(3.4) = 3
		{0.36, 0.6, 0.4}, // round(3.6) = 4
	} {
		th, got, err := ThresholdForShare(win, c.share)
		if err != nil {
			t.Fatal(err)
		}
		if th != c.want || got != c.achieved {
			t.Errorf("share %v: threshold %v achieved %v, want %v and %v", c.share, th, got, c.want, c.achieved)
		}
	}
	th, got, err := ThresholdForShare(win, 0)
	if err != nil || th <= 0.9 || got != 0 {
		t.Errorf("share 0: threshold %v achieved %v err %v", th, got, err)
	}
	// Ties at the threshold all go to the strong model.
	th, got, _ = ThresholdForShare([]float64{0.5, 0.5, 0.5, 0.1}, 0.25)
	if th != 0.5 || got != 0.75 {
		t.Errorf("ties: threshold %v achieved %v, want 0.5 and 0.75", th, got)
	}
	if _, _, err := ThresholdForShare(win, 1.5); err == nil {
		t.Error("share 1.5: no error")
	}
	if _, _, err := ThresholdForShare(nil, 0.5); err == nil {
		t.Error("no scores: no error")
	}
}

// Two prompts, models cheap (cost 1) and dear (cost 3). Prompt A: P =
// 0.5, 0.9, so dear wins while lambda < 0.4/2 = 0.2; prompt B: P = 0.6,
// 0.7, dear wins while lambda < 0.05.
var (
	calScores = [][]float64{{0.5, 0.9}, {0.6, 0.7}}
	calCosts  = []float64{1, 3}
)

func TestUtilityAt(t *testing.T) {
	for _, c := range []struct{ lambda, cost, quality float64 }{
		{0, 3, 0.8},
		{0.1, 2, 0.75}, // A dear, B cheap
		{0.2, 1, 0.55}, // tie at A goes to the cheaper model
		{1, 1, 0.55},
	} {
		u, err := UtilityAt(calScores, calCosts, c.lambda, 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(u.Cost-c.cost) > 1e-12 || math.Abs(u.Quality-c.quality) > 1e-12 {
			t.Errorf("lambda %v: cost %v quality %v, want %v %v", c.lambda, u.Cost, u.Quality, c.cost, c.quality)
		}
	}
	// MaxCost 2 excludes the dear model.
	if u, _ := UtilityAt(calScores, calCosts, 0, 2); u.Cost != 1 {
		t.Errorf("max cost 2: cost %v, want 1", u.Cost)
	}
}

func TestLambdaForCost(t *testing.T) {
	// Budget 2.5: the smallest lambda reaching it is 0.05 (B goes cheap).
	u, err := LambdaForCost(calScores, calCosts, 2.5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(u.Lambda-0.05) > 1e-9 || u.Cost != 2 || math.Abs(u.Quality-0.75) > 1e-12 {
		t.Errorf("budget 2.5: %+v, want lambda 0.05, cost 2, quality 0.75", u)
	}
	// Budget 1.5: lambda 0.2, everything cheap.
	u, err = LambdaForCost(calScores, calCosts, 1.5, 0)
	if err != nil || math.Abs(u.Lambda-0.2) > 1e-9 || u.Cost != 1 {
		t.Errorf("budget 1.5: %+v %v, want lambda 0.2, cost 1", u, err)
	}
	// Budget 3: lambda 0.
	if u, err = LambdaForCost(calScores, calCosts, 3, 0); err != nil || u.Lambda != 0 || u.Cost != 3 {
		t.Errorf("budget 3: %+v %v", u, err)
	}
	// Below the cheapest model: an error.
	if _, err = LambdaForCost(calScores, calCosts, 0.5, 0); err == nil {
		t.Error("budget 0.5: no error")
	}
}

func TestLambdaForQuality(t *testing.T) {
	// Quality 0.75 needs A on the dear model: lambda just below 0.2.
	u, err := LambdaForQuality(calScores, calCosts, 0.75, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(u.Lambda-0.2) > 1e-9 || u.Lambda >= 0.2 || u.Cost != 2 || math.Abs(u.Quality-0.75) > 1e-12 {
		t.Errorf("quality 0.75: %+v, want lambda just below 0.2, cost 2", u)
	}
	// Quality 0.78 needs both dear: lambda just below 0.05.
	u, err = LambdaForQuality(calScores, calCosts, 0.78, 0)
	if err != nil || math.Abs(u.Lambda-0.05) > 1e-9 || u.Cost != 3 {
		t.Errorf("quality 0.78: %+v %v", u, err)
	}
	// Quality 0.5: the cheapest routing suffices.
	u, err = LambdaForQuality(calScores, calCosts, 0.5, 0)
	if err != nil || u.Cost != 1 {
		t.Errorf("quality 0.5: %+v %v", u, err)
	}
	if _, err = LambdaForQuality(calScores, calCosts, 0.9, 0); err == nil {
		t.Error("quality 0.9: no error")
	}
}
