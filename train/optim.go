package train

import (
	"fmt"
	"math"
)

// optimSettings are the optimiser and early-stopping settings that the
// gradient-trained routers (MFConfig, BERTConfig) share, after defaults.
type optimSettings struct {
	LearningRate float64
	Epochs       int
	BatchSize    int
	MaxBatch     int // the largest BatchSize the router accepts
	WeightDecay  float64
	ValFraction  float64
	Ties         string
}

// check reports each invalid setting through bad(field, value, want).
func (o optimSettings) check(bad func(field string, v any, want string)) {
	if !finite(o.LearningRate) || o.LearningRate <= 0 || o.LearningRate > 1 {
		bad("LearningRate", o.LearningRate, "in (0, 1]")
	}
	if o.Epochs < 1 || o.Epochs > 1_000_000 {
		bad("Epochs", o.Epochs, "1 to 1000000")
	}
	if o.BatchSize < 1 || o.BatchSize > o.MaxBatch {
		bad("BatchSize", o.BatchSize, fmt.Sprintf("1 to %d", o.MaxBatch))
	}
	if !finite(o.WeightDecay) || o.WeightDecay > 1 {
		bad("WeightDecay", o.WeightDecay, "at most 1 (negative: none)")
	}
	if o.ValFraction > 0.5 || math.IsNaN(o.ValFraction) {
		bad("ValFraction", o.ValFraction, "at most 0.5 (negative: no validation)")
	}
	if o.Ties != TiesDrop && o.Ties != TiesHalf {
		bad("Ties", fmt.Sprintf("%q", o.Ties), fmt.Sprintf("%q or %q", TiesDrop, TiesHalf))
	}
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
