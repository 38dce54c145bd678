package models

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ThresholdForShare returns the threshold of a threshold policy that
// routes a target share of prompts to the strong model, given each
// calibration prompt's win score (WinScore of its scores, as compared by
// Policy.Choose). The rule: with n scores, k = round(share·n) prompts
// go to the strong model, and the threshold is the k-th largest score
// (the upper empirical (1−share)-quantile), so exactly k scores are >= it
// unless scores tie at it. For k = 0 it is the next float above the
// largest score (no prompt goes to the strong model); for k = n it is the
// smallest score. achieved is the share of scores >= threshold.
func ThresholdForShare(win []float64, share float64) (threshold, achieved float64, err error) {
	if len(win) == 0 {
		return 0, 0, errors.New("calibrate: no scores")
	}
	if !(share >= 0 && share <= 1) {
		return 0, 0, fmt.Errorf("calibrate: share %v, want a number in [0, 1]", share)
	}
	s := append([]float64(nil), win...)
	for _, v := range s {
		if math.IsNaN(v) {
			return 0, 0, errors.New("calibrate: NaN score")
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	n := len(s)
	k := int(math.Round(share * float64(n)))
	if k == 0 {
		threshold = math.Nextafter(s[0], math.Inf(1))
	} else {
		threshold = s[k-1]
	}
	return threshold, ShareAtThreshold(win, threshold), nil
}

// ShareAtThreshold returns the share of win scores >= threshold.
func ShareAtThreshold(win []float64, threshold float64) float64 {
	if len(win) == 0 {
		return 0
	}
	c := 0
	for _, v := range win {
		if v >= threshold {
			c++
		}
	}
	return float64(c) / float64(len(win))
}

// UtilityOutcome is the result of utility routing over calibration
// prompts: the mean expected cost per query (the models' costs) and the
// mean predicted quality (the chosen model's score).
type UtilityOutcome struct {
	Lambda  float64
	Cost    float64
	Quality float64
}

// UtilityAt routes every prompt (scores[i] in models order) with the
// utility policy of the given lambda and maxCost (0: none) and returns the
// mean cost and predicted quality of the choices.
func UtilityAt(scores [][]float64, costs []float64, lambda, maxCost float64) (UtilityOutcome, error) {
	p := Policy{Kind: PolicyUtility, Lambda: lambda, MaxCost: maxCost}
	names := make([]string, len(costs))
	out := UtilityOutcome{Lambda: lambda}
	if len(scores) == 0 {
		return out, errors.New("calibrate: no prompts")
	}
	for i, row := range scores {
		if len(row) != len(costs) {
			return out, fmt.Errorf("calibrate: prompt %d has %d scores for %d models", i, len(row), len(costs))
		}
		j, err := p.Choose(names, row, costs)
		if err != nil {
			return out, err
		}
		out.Cost += costs[j]
		out.Quality += row[j]
	}
	out.Cost /= float64(len(scores))
	out.Quality /= float64(len(scores))
	return out, nil
}

// lambdaBounds of the search: beyond them the search gives up.
const (
	lambdaMin = 1e-30
	lambdaMax = 1e30
)

// boundary finds, for a predicate false at lambda 0 and monotone in lambda
// (once true, true for every larger lambda), lo < hi with pred(lo) false
// and pred(hi) true, hi/lo within a relative 1e-12: a bisection on the log
// scale after doubling up from 1 and halving down. ok is false when pred
// is false up to lambdaMax. lo is 0 when pred is true down to lambdaMin.
func boundary(pred func(float64) (bool, error)) (lo, hi float64, ok bool, err error) {
	hi = 1
	for {
		t, err := pred(hi)
		if err != nil {
			return 0, 0, false, err
		}
		if t {
			break
		}
		if hi > lambdaMax {
			return hi, hi, false, nil
		}
		hi *= 2
	}
	lo = hi / 2
	for {
		t, err := pred(lo)
		if err != nil {
			return 0, 0, false, err
		}
		if !t {
			break
		}
		hi = lo
		if lo < lambdaMin {
			return 0, hi, true, nil
		}
		lo /= 2
	}
	for i := 0; i < 200 && hi > lo*(1+1e-12); i++ {
		mid := math.Sqrt(lo * hi)
		if mid <= lo || mid >= hi {
			break
		}
		t, err := pred(mid)
		if err != nil {
			return 0, 0, false, err
		}
		if t {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo, hi, true, nil
}

// LambdaForCost returns the smallest lambda (to a relative 1e-12) whose
// utility routing over the prompts has a mean cost per query at most
// target: the best predicted quality within the budget, since the chosen
// models' costs and scores both fall as lambda grows. Lambda 0 when the
// best-quality routing is within the budget; an error when even the
// cheapest routing exceeds it.
func LambdaForCost(scores [][]float64, costs []float64, target, maxCost float64) (UtilityOutcome, error) {
	if !(target >= 0) || math.IsInf(target, 0) {
		return UtilityOutcome{}, fmt.Errorf("calibrate: target cost %v, want a finite number >= 0", target)
	}
	at0, err := UtilityAt(scores, costs, 0, maxCost)
	if err != nil {
		return at0, err
	}
	if at0.Cost <= target {
		return at0, nil
	}
	_, hi, ok, err := boundary(func(l float64) (bool, error) {
		u, err := UtilityAt(scores, costs, l, maxCost)
		return u.Cost <= target, err
	})
	if err != nil {
		return UtilityOutcome{}, err
	}
	if !ok {
		c, _ := UtilityAt(scores, costs, lambdaMax, maxCost)
		return UtilityOutcome{}, fmt.Errorf("calibrate: target cost %v is below the cheapest routing's mean cost %v", target, c.Cost)
	}
	return UtilityAt(scores, costs, hi, maxCost)
}

// LambdaForQuality returns the largest lambda (to a relative 1e-12) whose
// utility routing over the prompts has a mean predicted quality at least
// target: the lowest cost reaching the quality. An error when even lambda
// 0 (the best predicted model everywhere) falls short; when the cheapest
// routing already reaches the target, a lambda large enough to choose it.
func LambdaForQuality(scores [][]float64, costs []float64, target, maxCost float64) (UtilityOutcome, error) {
	if math.IsNaN(target) || math.IsInf(target, 0) {
		return UtilityOutcome{}, fmt.Errorf("calibrate: target quality %v, want a finite number", target)
	}
	at0, err := UtilityAt(scores, costs, 0, maxCost)
	if err != nil {
		return at0, err
	}
	if at0.Quality < target {
		return UtilityOutcome{}, fmt.Errorf("calibrate: target quality %v is above the best routing's mean predicted quality %v", target, at0.Quality)
	}
	lo, hi, ok, err := boundary(func(l float64) (bool, error) {
		u, err := UtilityAt(scores, costs, l, maxCost)
		return u.Quality < target, err
	})
	if err != nil {
		return UtilityOutcome{}, err
	}
	if !ok {
		return UtilityAt(scores, costs, hi, maxCost) // hi is lambdaMax-ish: the cheapest routing
	}
	return UtilityAt(scores, costs, lo, maxCost)
}
