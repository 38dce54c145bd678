package irt

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal checks that UnmarshalBinary never panics, and that what it
// accepts is valid and re-encodes to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	f.Add(tinyParams().mustMarshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Params
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		if err := p.check(); err != nil {
			t.Fatalf("accepted invalid parameters: %v", err)
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("re-encoding differs from the input")
		}
		p.Probs(make([]float32, p.D), make([]float64, len(p.Models)))
	})
}

// tinyParams returns small valid parameters: 2 models, K = 2, D = 3.
func tinyParams() *Params {
	return &Params{
		Models: []string{"alpha", "beta"},
		K:      2, D: 3,
		Theta: [][]float64{{0.5, -0.25}, {1, 2}},
		A:     [][]float64{{0.1, 0.2, 0.3}, {-0.1, 0, 0.5}},
		A0:    []float64{0.54, 0.54},
		W:     []float64{0.3, -0.2, 0.1},
		W0:    -0.5,
	}
}

func (p *Params) mustMarshal() []byte {
	b, err := p.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}
