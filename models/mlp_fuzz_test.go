package models

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func FuzzMLPUnmarshal(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzMLPUnmarshal: a valid encoding of
	// each head, a truncated one and one with a bad magic.
	f.Fuzz(func(t *testing.T, b []byte) {
		var m MLP
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMLPFormat) {
				t.Fatalf("error %v does not wrap ErrMLPFormat", err)
			}
			return
		}
		out, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("accepted encoding does not round-trip")
		}
		dst := make([]float64, len(m.ModelNames))
		m.Score(make([]float32, m.D()), dst)
	})
}

var updateMLPSeeds = flag.Bool("update-mlp-seeds", false, "rewrite the FuzzMLPUnmarshal seeds")

// fuzzSeedMLP is a small 3-way MLP with one hidden layer.
func fuzzSeedMLP(t testing.TB) *MLP {
	m, err := NewMLP([]string{"weak", "strong"}, MLP3Way, 1, false, []MLPLayer{
		{In: 3, Out: 2, W: []float32{0.1, 0.2, 0.3, -0.1, 0, 0.4}, B: []float32{0.5, -0.5}},
		{In: 2, Out: 3, W: []float32{1, -1, 0.5, 2, 0, -2}, B: []float32{0.25, 0, -0.25}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMLPFuzzSeeds checks that the fuzz seeds are what MarshalBinary
// writes (so the fuzzer starts from valid encodings). Run with
// -update-mlp-seeds to rewrite them.
func TestMLPFuzzSeeds(t *testing.T) {
	buf, err := fuzzSeedMLP(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	ml, err := NewMLP([]string{"a", "b", "c"}, MLPMultiLabel, 0, true, []MLPLayer{
		{In: 2, Out: 3, W: []float32{1, 0, -1, 0.5, 0.5, -1}, B: []float32{0, 0.1, -0.1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	buf2, err := ml.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzMLPUnmarshal")
	seeds := map[string][]byte{
		"valid3way":       buf,
		"validmultilabel": buf2,
		"truncated":       buf[:len(buf)/2],
		"badmagic":        append([]byte("RKMX"), buf[4:]...),
	}
	if *updateMLPSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range seeds {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSpace(strings.TrimPrefix(string(raw), "go test fuzz v1\n"))
		s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
		got, err := strconv.Unquote(s)
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		if got != string(want) {
			t.Errorf("seed %s is stale; run go test -run TestMLPFuzzSeeds -update-mlp-seeds", name)
		}
	}
}
