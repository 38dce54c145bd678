package models

import (
	"math"
	"testing"
)

// FuzzUnmarshalKNN feeds arbitrary bytes to the kNN decoder: it must
// return an error or a scorer that scores without panicking.
func FuzzUnmarshalKNN(f *testing.F) {
	k, err := NewKNN([]string{"a", "b"}, [][]float32{{1, 0}, {0, 1}, {0.6, 0.8}}, [][]float64{{1, 0}, {0, math.NaN()}, {1, 1}}, KNNConfig{K: 2})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := k.MarshalBinary()
	f.Add(good)
	f.Add(good[:len(good)-4])
	f.Add([]byte("RKKN\x01\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := UnmarshalKNN(b)
		if err != nil {
			return
		}
		dst := make([]float64, len(k.Models()))
		emb := make([]float32, k.dim)
		if len(emb) > 0 {
			emb[0] = 1
		}
		k.Score(emb, dst)
	})
}
