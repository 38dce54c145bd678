package models

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// randMLP returns a random multi-label MLP for n models on embeddings of
// dimension d with the given hidden widths.
func randMLP(t testing.TB, seed uint64, n, d int, hidden ...int) *MLP {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	widths := append(append([]int{d}, hidden...), n)
	layers := make([]MLPLayer, len(widths)-1)
	for i := range layers {
		in, out := widths[i], widths[i+1]
		l := MLPLayer{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
		for j := range l.W {
			l.W[j] = float32(r.NormFloat64() / math.Sqrt(float64(in)))
		}
		for j := range l.B {
			l.B[j] = float32(r.NormFloat64() * 0.3)
		}
		layers[i] = l
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("model-%d", i)
	}
	m, err := NewMLP(names, MLPMultiLabel, 0, false, layers)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// naiveMLP is the definition of the forward pass, in float64.
func naiveMLP(m *MLP, emb []float32) []float64 {
	x := make([]float64, len(emb))
	for i, v := range emb {
		x[i] = float64(v)
	}
	for li, l := range m.Layers {
		y := make([]float64, l.Out)
		for k := range y {
			s := float64(l.B[k])
			for j := 0; j < l.In; j++ {
				s += x[j] * float64(l.W[j*l.Out+k])
			}
			if li < len(m.Layers)-1 {
				s = math.Max(s, 0)
			}
			y[k] = s
		}
		x = y
	}
	return x
}

func TestMLPScoreMatchesDefinition(t *testing.T) {
	for _, hidden := range [][]int{nil, {17}, {32, 9}} {
		m := randMLP(t, 1, 7, 33, hidden...)
		r := rand.New(rand.NewPCG(2, 2))
		got := make([]float64, 7)
		logits := make([]float64, 7)
		for range 20 {
			e := randEmb(r, 33)
			m.Score(e, got)
			m.Logits(e, logits)
			want := naiveMLP(m, e)
			for i := range got {
				if math.Abs(logits[i]-want[i]) > 1e-5 || math.Abs(got[i]-sigmoid(want[i])) > 1e-6 {
					t.Fatalf("hidden %v model %d: logit %v score %v, want %v and %v", hidden, i, logits[i], got[i], want[i], sigmoid(want[i]))
				}
			}
		}
	}
}

func TestMLP3WayScoreSemantics(t *testing.T) {
	// Strong model at index 1: its score is P(strong wins), the weak
	// model's P(tie) + P(weak wins); the two sum to 1.
	layer := MLPLayer{In: 2, Out: 3, W: []float32{1, 0, -1, 0, 1, 0}, B: []float32{0, 0.5, 0}}
	m, err := NewMLP([]string{"cheap", "gpt"}, MLP3Way, 1, false, []MLPLayer{layer})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 2)
	e := []float32{2, -1}
	m.Score(e, dst)
	z := []float64{2, -1 + 0.5, -2}
	den := math.Exp(z[0]) + math.Exp(z[1]) + math.Exp(z[2])
	if want := math.Exp(z[0]) / den; math.Abs(dst[1]-want) > 1e-9 || math.Abs(dst[0]+dst[1]-1) > 1e-12 {
		t.Fatalf("scores %v, want strong %v and their sum 1", dst, want)
	}
	// Routing: the threshold policy compares the win score, which for the
	// 3-way head is P(strong wins) (up to rounding), with the threshold.
	win := WinScore(dst, 1, 0)
	if math.Abs(win-dst[1]) > 1e-12 {
		t.Fatalf("win score %v, want P(strong wins) %v", win, dst[1])
	}
	p := Policy{Kind: PolicyThreshold, Strong: "gpt", Weak: "cheap", Threshold: win}
	if i, _ := p.Choose(m.Models(), dst, []float64{0, 1}); i != 1 {
		t.Fatal("threshold equal to P(strong wins) did not route to the strong model")
	}
	p.Threshold = dst[1] + 1e-9
	if i, _ := p.Choose(m.Models(), dst, []float64{0, 1}); i != 0 {
		t.Fatal("threshold above P(strong wins) did not route to the weak model")
	}
}

func TestMLPScoreNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	m := randMLP(t, 1, 30, 384, 128)
	e := randEmb(rand.New(rand.NewPCG(1, 1)), 384)
	dst := make([]float64, 30)
	if n := testing.AllocsPerRun(100, func() { m.Score(e, dst) }); n != 0 {
		t.Fatalf("Score allocates %v times per call", n)
	}
}

func TestMLPConcurrentScore(t *testing.T) {
	m := randMLP(t, 3, 9, 40, 16)
	r := rand.New(rand.NewPCG(4, 4))
	embs := make([][]float32, 32)
	want := make([][]float64, len(embs))
	for i := range embs {
		embs[i] = randEmb(r, 40)
		want[i] = make([]float64, 9)
		m.Score(embs[i], want[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]float64, 9)
			for k := range 200 {
				i := (k + g) % len(embs)
				m.Score(embs[i], dst)
				for j := range dst {
					if dst[j] != want[i][j] {
						errs <- fmt.Errorf("goroutine %d prompt %d model %d: %v, want %v", g, i, j, dst[j], want[i][j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestMLPScorePanicsOnBadInput(t *testing.T) {
	m := randMLP(t, 1, 3, 8, 4)
	for name, f := range map[string]func(){
		"short embedding": func() { m.Score(make([]float32, 7), make([]float64, 3)) },
		"short dst":       func() { m.Score(make([]float32, 8), make([]float64, 2)) },
		"zero value":      func() { new(MLP).Score(nil, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestNewMLPValidates(t *testing.T) {
	ok := func() []MLPLayer {
		return []MLPLayer{
			{In: 3, Out: 2, W: make([]float32, 6), B: make([]float32, 2)},
			{In: 2, Out: 2, W: make([]float32, 4), B: make([]float32, 2)},
		}
	}
	names := []string{"a", "b"}
	if _, err := NewMLP(names, MLPMultiLabel, 0, false, ok()); err != nil {
		t.Fatalf("valid MLP refused: %v", err)
	}
	cases := map[string]func() (*MLP, error){
		"no layers":      func() (*MLP, error) { return NewMLP(names, MLPMultiLabel, 0, false, nil) },
		"unknown head":   func() (*MLP, error) { return NewMLP(names, "4way", 0, false, ok()) },
		"duplicate name": func() (*MLP, error) { return NewMLP([]string{"a", "a"}, MLPMultiLabel, 0, false, ok()) },
		"empty name":     func() (*MLP, error) { return NewMLP([]string{"a", ""}, MLPMultiLabel, 0, false, ok()) },
		"3way outputs":   func() (*MLP, error) { return NewMLP(names, MLP3Way, 0, false, ok()) },
		"3way strong": func() (*MLP, error) {
			l := ok()
			l[1] = MLPLayer{In: 2, Out: 3, W: make([]float32, 6), B: make([]float32, 3)}
			return NewMLP(names, MLP3Way, 2, false, l)
		},
		"multilabel strong": func() (*MLP, error) { return NewMLP(names, MLPMultiLabel, 1, false, ok()) },
		"chain mismatch": func() (*MLP, error) {
			l := ok()
			l[1].In = 3
			return NewMLP(names, MLPMultiLabel, 0, false, l)
		},
		"weights length": func() (*MLP, error) {
			l := ok()
			l[0].W = l[0].W[:5]
			return NewMLP(names, MLPMultiLabel, 0, false, l)
		},
		"NaN weight": func() (*MLP, error) {
			l := ok()
			l[0].W[2] = float32(math.NaN())
			return NewMLP(names, MLPMultiLabel, 0, false, l)
		},
		"Inf bias": func() (*MLP, error) {
			l := ok()
			l[1].B[1] = float32(math.Inf(1))
			return NewMLP(names, MLPMultiLabel, 0, false, l)
		},
	}
	for name, f := range cases {
		if _, err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMLPRoundTrip(t *testing.T) {
	for _, m := range []*MLP{randMLP(t, 5, 9, 24, 12), randMLP(t, 6, 2, 5), fuzzSeedMLP(t)} {
		buf, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalMLP(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got.Head != m.Head || got.Strong != m.Strong || got.Pairwise != m.Pairwise || len(got.Layers) != len(m.Layers) {
			t.Fatalf("decoded %s/%d/%v with %d layers, want %s/%d/%v with %d", got.Head, got.Strong, got.Pairwise, len(got.Layers), m.Head, m.Strong, m.Pairwise, len(m.Layers))
		}
		r := rand.New(rand.NewPCG(9, 9))
		a, b := make([]float64, len(m.ModelNames)), make([]float64, len(m.ModelNames))
		for range 5 {
			e := randEmb(r, m.D())
			m.Score(e, a)
			got.Score(e, b)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("decoded MLP scores %v, want %v", b, a)
				}
			}
		}
		again, _ := got.MarshalBinary()
		if !bytes.Equal(again, buf) {
			t.Fatal("re-encoding differs")
		}
	}
}

func TestMLPUnmarshalRefuses(t *testing.T) {
	m := randMLP(t, 7, 3, 6, 4)
	buf, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	mut := func(f func(b []byte)) []byte {
		b := bytes.Clone(buf)
		f(b)
		return reseal(b)
	}
	cases := map[string][]byte{
		"empty":      nil,
		"bad magic":  mut(func(b []byte) { b[0] = 'X' }),
		"version":    mut(func(b []byte) { le.PutUint16(b[4:], 2) }),
		"flags":      mut(func(b []byte) { le.PutUint16(b[6:], 4) }),
		"head":       mut(func(b []byte) { le.PutUint16(b[8:], 7) }),
		"3way shape": mut(func(b []byte) { le.PutUint16(b[8:], 1) }),
		"models":     mut(func(b []byte) { le.PutUint32(b[12:], 1<<30) }),
		"layers":     mut(func(b []byte) { le.PutUint32(b[16:], 1<<20) }),
		"checksum":   func() []byte { b := bytes.Clone(buf); b[len(b)-10] ^= 1; return b }(),
		"huge layer": mut(func(b []byte) {
			// First layer shape follows the names ("model-0".."model-2").
			off := mlpHeader + 3*(4+7)
			le.PutUint32(b[off:], 1<<14)
			le.PutUint32(b[off+4:], 1<<16)
		}),
		"NaN weight": mut(func(b []byte) {
			le.PutUint32(b[len(b)-8:], math.Float32bits(float32(math.NaN())))
		}),
	}
	for name, b := range cases {
		var got MLP
		err := got.UnmarshalBinary(b)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !errors.Is(err, ErrMLPFormat) {
			t.Errorf("%s: error %v does not wrap ErrMLPFormat", name, err)
		}
	}
	for n := 0; n < len(buf); n++ {
		var got MLP
		if got.UnmarshalBinary(buf[:n]) == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
}

// BenchmarkMLPScore30 scores one prompt for 30 models with D = 384 and one
// hidden layer of 128 (target: < 20 µs, no allocation).
func BenchmarkMLPScore30(b *testing.B) {
	m := randMLP(b, 1, 30, 384, 128)
	e := randEmb(rand.New(rand.NewPCG(1, 1)), 384)
	dst := make([]float64, 30)
	b.ReportAllocs()
	for b.Loop() {
		m.Score(e, dst)
	}
}
