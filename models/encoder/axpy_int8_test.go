package encoder

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAxpyInt8 checks axpyInt8 (the AVX2 kernel where the CPU has it)
// against the plain loop bit for bit, and against the float64 result, on
// lengths around the kernel's block of 32.
func TestAxpyInt8(t *testing.T) {
	t.Logf("AVX2 kernel in use: %v", useAVX2)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 31, 32, 33, 63, 64, 100, 256, 1024, 1031} {
		x := make([]int8, n)
		for i := range x {
			x[i] = int8(rng.IntN(255) - 127)
		}
		x = append(x, -128)[:n] // a spare value past the end must not be read
		y0 := make([]float32, n+1)
		for i := range y0 {
			y0[i] = float32(rng.NormFloat64())
		}
		alpha := float32(rng.NormFloat64()) / 127
		got := append([]float32(nil), y0...)
		want := append([]float32(nil), y0...)
		axpyInt8(alpha, x, got)
		axpyInt8Generic(alpha, x, want)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: y[%d] = %v, the plain loop gives %v", n, i, got[i], want[i])
			}
			exact := float64(y0[i])
			if i < n {
				exact += float64(alpha) * float64(x[i])
			}
			if d := math.Abs(float64(got[i]) - exact); d > 1e-6*(1+math.Abs(exact)) {
				t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, got[i], exact)
			}
		}
	}
}

// TestQuantisedMatchesFloat compares the int8 encoder FitBuiltin makes
// with the same fit kept in float32: the vectors of training and unseen
// prompts point the same way.
func TestQuantisedMatchesFloat(t *testing.T) {
	q, texts := smallBuiltin(t)
	f := floatBuiltin(t)
	if len(q.qproj) != len(f.proj) || q.proj != nil || f.qproj != nil {
		t.Fatalf("int8 rows %d and float32 rows %d", len(q.qproj), len(f.proj))
	}
	probe := append(append([]string(nil), texts[:200]...), builtinPrompts(t, 200, 99)...)
	vq := mustEncode(t, q, probe...)
	vf := mustEncode(t, f, probe...)
	worst, sum := 1.0, 0.0
	for i := range probe {
		var dot float64
		for j := range vq[i] {
			dot += float64(vq[i][j]) * float64(vf[i][j])
		}
		worst = min(worst, dot)
		sum += dot
	}
	t.Logf("cosine of int8 and float32 vectors over %d prompts: mean %.6f, worst %.6f", len(probe), sum/float64(len(probe)), worst)
	if worst < 0.9999 || sum/float64(len(probe)) < 0.99999 {
		t.Errorf("cosine of int8 and float32 vectors: mean %.6f, worst %.6f; want at least 0.99999 and 0.9999", sum/float64(len(probe)), worst)
	}
	// Encoding the same prompts twice gives the same bits (no state
	// leaks between calls through the scratch space).
	again, err := q.Encode(context.Background(), probe)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		for j := range again[i] {
			if again[i][j] != vq[i][j] {
				t.Fatalf("prompt %d encodes differently the second time", i)
			}
		}
	}
}
