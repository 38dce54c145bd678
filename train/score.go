package train

import (
	"math"
	"sort"

	"github.com/routekit/routekit/models"
)

// Scores are offline quality numbers of a scorer on held-out prompts.
type Scores struct {
	// Points is the number of graded answers scored; LogLoss, Brier and
	// AUC are over them (AUC of P against score >= 0.5).
	Points  int     `json:"points"`
	LogLoss float64 `json:"log_loss,omitempty"`
	Brier   float64 `json:"brier,omitempty"`
	AUC     float64 `json:"auc,omitempty"`
	// Pairs is the number of decisive battles scored; PairAccuracy is the
	// share whose winner had the higher score.
	Pairs        int     `json:"pairs,omitempty"`
	PairAccuracy float64 `json:"pair_accuracy,omitempty"`
}

// probClip keeps log-loss finite.
const probClip = 1e-6

// Evaluate scores s on the prompts marked in use (nil: all).
func Evaluate(s models.Scorer, ds *Dataset, emb [][]float32, use []bool) Scores {
	probs := make([][]float64, len(ds.Prompts))
	get := func(p int) []float64 {
		if probs[p] == nil {
			probs[p] = make([]float64, len(ds.Models))
			s.Score(emb[p], probs[p])
		}
		return probs[p]
	}
	var sc Scores
	var ps, ys []float64
	for _, pt := range ds.Points {
		if use != nil && !use[pt.Prompt] {
			continue
		}
		p := get(pt.Prompt)[pt.Model]
		q := math.Min(math.Max(p, probClip), 1-probClip)
		sc.LogLoss -= pt.Score*math.Log(q) + (1-pt.Score)*math.Log(1-q)
		sc.Brier += (p - pt.Score) * (p - pt.Score)
		ps, ys = append(ps, p), append(ys, pt.Score)
		sc.Points++
	}
	if sc.Points > 0 {
		sc.LogLoss /= float64(sc.Points)
		sc.Brier /= float64(sc.Points)
		sc.AUC = auc(ps, ys)
	}
	right := 0
	for _, pr := range ds.Pairs {
		if (use != nil && !use[pr.Prompt]) || pr.Outcome == 0.5 {
			continue
		}
		p := get(pr.Prompt)
		if (p[pr.A] > p[pr.B]) == (pr.Outcome == 1) {
			right++
		}
		sc.Pairs++
	}
	if sc.Pairs > 0 {
		sc.PairAccuracy = float64(right) / float64(sc.Pairs)
	}
	return sc
}

// auc is the area under the ROC curve of scores p for labels y >= 0.5,
// with tied scores counted half (the Mann-Whitney statistic).
func auc(p, y []float64) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] >= 0.5 {
				pos++
				rankSum += mid
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// PointScores returns the [prompt][model] training targets of the marked
// prompts for pointwise scorers such as kNN: graded answers as they are,
// battles as half a point each way for a tie and 1/0 otherwise, averaged
// when a (prompt, model) has several; NaN where a model has none.
func PointScores(ds *Dataset, use []bool) (prompts []int, scores [][]float64) {
	row := map[int]int{}
	sums := [][]float64{}
	counts := [][]int{}
	add := func(p, m int, s float64) {
		if use != nil && !use[p] {
			return
		}
		r, ok := row[p]
		if !ok {
			r = len(prompts)
			row[p] = r
			prompts = append(prompts, p)
			sums = append(sums, make([]float64, len(ds.Models)))
			counts = append(counts, make([]int, len(ds.Models)))
		}
		sums[r][m] += s
		counts[r][m]++
	}
	for _, pt := range ds.Points {
		add(pt.Prompt, pt.Model, pt.Score)
	}
	for _, pr := range ds.Pairs {
		add(pr.Prompt, pr.A, pr.Outcome)
		add(pr.Prompt, pr.B, 1-pr.Outcome)
	}
	scores = make([][]float64, len(prompts))
	for r := range prompts {
		scores[r] = make([]float64, len(ds.Models))
		for m := range scores[r] {
			if counts[r][m] == 0 {
				scores[r][m] = math.NaN()
			} else {
				scores[r][m] = sums[r][m] / float64(counts[r][m])
			}
		}
	}
	return prompts, scores
}

// TrainKNN builds a kNN scorer from the marked prompts.
func TrainKNN(ds *Dataset, emb [][]float32, use []bool, cfg models.KNNConfig) (*models.KNN, error) {
	prompts, scores := PointScores(ds, use)
	e := make([][]float32, len(prompts))
	for i, p := range prompts {
		e[i] = emb[p]
	}
	return models.NewKNN(ds.Models, e, scores, cfg)
}
