package sharedtest

import (
	"math"
	"slices"
	"testing"
)

func TestSpearman(t *testing.T) {
	if got := Spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}); math.Abs(got-1) > 1e-12 {
		t.Errorf("Spearman of a monotone pair = %v, want 1", got)
	}
	if got := Spearman([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); math.Abs(got+1) > 1e-12 {
		t.Errorf("Spearman of a reversed pair = %v, want -1", got)
	}
	if got := Ranks([]float64{5, 1, 5, 2}); !slices.Equal(got, []float64{2.5, 0, 2.5, 1}) {
		t.Errorf("Ranks = %v", got)
	}
	// Hand-computed: x = 1,2,3, y = 1,3,2: means 2, 2; sxy = 1*... = (−1)(−1)+0+(1)(0) = 1,
	// sxx = 2, syy = 2: r = 0.5.
	if got := Pearson([]float64{1, 2, 3}, []float64{1, 3, 2}); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("Pearson = %v, want 0.5", got)
	}
}
