package models

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// randMF returns a random MF of n models, prompt dimension d and latent
// dimension dim.
func randMF(t testing.TB, seed uint64, n, d, dim int, pairwise bool) *MF {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	f := func(k int, sd float64) []float32 {
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64() * sd)
		}
		return x
	}
	names := make([]string, n)
	v := make([][]float32, n)
	for i := range names {
		names[i] = fmt.Sprintf("model-%d", i)
		v[i] = f(dim, 1)
	}
	m, err := NewMF(names, d, dim, v, f(dim*d, 1/math.Sqrt(float64(d))), f(dim, 1/math.Sqrt(float64(dim))), f(n, 0.5), pairwise)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randEmb(r *rand.Rand, d int) []float32 {
	e := make([]float32, d)
	var ss float64
	for i := range e {
		e[i] = float32(r.NormFloat64())
		ss += float64(e[i] * e[i])
	}
	for i := range e {
		e[i] /= float32(math.Sqrt(ss))
	}
	return e
}

// naiveLogit is the definition s(m, q) = Wc · (v_m ⊙ (W e)) + B[m], in float64.
func naiveLogit(m *MF, emb []float32, i int) float64 {
	var s float64
	for k := 0; k < m.Dim; k++ {
		var p float64
		for j := 0; j < m.D; j++ {
			p += float64(m.W[k*m.D+j]) * float64(emb[j])
		}
		s += float64(m.Wc[k]) * float64(m.V[i][k]) * p
	}
	return s + float64(m.B[i])
}

func TestMFScoreMatchesDefinition(t *testing.T) {
	m := randMF(t, 1, 7, 33, 17, false)
	r := rand.New(rand.NewPCG(2, 2))
	got := make([]float64, 7)
	logits := make([]float64, 7)
	for range 20 {
		e := randEmb(r, 33)
		m.Score(e, got)
		m.Logits(e, logits)
		for i := range got {
			want := naiveLogit(m, e, i)
			if math.Abs(logits[i]-want) > 1e-4 {
				t.Fatalf("logit %d = %v, want %v", i, logits[i], want)
			}
			if math.Abs(got[i]-1/(1+math.Exp(-want))) > 1e-5 {
				t.Fatalf("score %d = %v, want sigmoid(%v)", i, got[i], want)
			}
		}
		for a := range 7 {
			for b := range 7 {
				want := 1 / (1 + math.Exp(-(naiveLogit(m, e, a) - naiveLogit(m, e, b))))
				if p := m.WinProb(e, a, b); math.Abs(p-want) > 1e-5 {
					t.Fatalf("WinProb(%d, %d) = %v, want %v", a, b, p, want)
				}
			}
		}
	}
	if got := m.Models(); len(got) != 7 || got[3] != "model-3" {
		t.Fatalf("Models() = %v", got)
	}
}

func TestMFScoreNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops items)")
	}
	m := randMF(t, 1, 30, 256, 128, false)
	e := randEmb(rand.New(rand.NewPCG(1, 1)), 256)
	dst := make([]float64, 30)
	if n := testing.AllocsPerRun(100, func() { m.Score(e, dst) }); n != 0 {
		t.Fatalf("Score allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { m.WinProb(e, 1, 2) }); n != 0 {
		t.Fatalf("WinProb allocates %v times per call", n)
	}
}

func TestMFConcurrentScore(t *testing.T) {
	m := randMF(t, 3, 5, 16, 8, false)
	r := rand.New(rand.NewPCG(4, 4))
	embs := make([][]float32, 50)
	want := make([][]float64, len(embs))
	for i := range embs {
		embs[i] = randEmb(r, 16)
		want[i] = make([]float64, 5)
		m.Score(embs[i], want[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]float64, 5)
			for rep := 0; rep < 20; rep++ {
				for i, e := range embs {
					m.Score(e, dst)
					for k := range dst {
						if dst[k] != want[i][k] {
							errs <- fmt.Errorf("prompt %d model %d: %v != %v", i, k, dst[k], want[i][k])
							return
						}
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

func TestMFScorePanicsOnBadInput(t *testing.T) {
	m := randMF(t, 1, 3, 8, 4, false)
	for name, f := range map[string]func(){
		"short emb":    func() { m.Score(make([]float32, 7), make([]float64, 3)) },
		"short dst":    func() { m.Score(make([]float32, 8), make([]float64, 2)) },
		"winprob idx":  func() { m.WinProb(make([]float32, 8), 0, 3) },
		"not prepared": func() { (&MF{}).Score(nil, nil) },
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

func TestNewMFValidates(t *testing.T) {
	good := func() (names []string, v [][]float32, w, wc, b []float32) {
		return []string{"a", "b"}, [][]float32{{1, 2}, {3, 4}}, make([]float32, 6), []float32{1, 1}, []float32{0, 0}
	}
	cases := map[string]func(names []string, v [][]float32, w, wc, b []float32) (*MF, error){
		"ok": func(names []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			return NewMF(names, 3, 2, v, w, wc, b, false)
		},
		"no models": func(_ []string, _ [][]float32, w, wc, _ []float32) (*MF, error) {
			return NewMF(nil, 3, 2, nil, w, wc, nil, false)
		},
		"dup name": func(_ []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			return NewMF([]string{"a", "a"}, 3, 2, v, w, wc, b, false)
		},
		"empty name": func(_ []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			return NewMF([]string{"a", ""}, 3, 2, v, w, wc, b, false)
		},
		"short row": func(names []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			v[1] = v[1][:1]
			return NewMF(names, 3, 2, v, w, wc, b, false)
		},
		"W size": func(names []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			return NewMF(names, 4, 2, v, w, wc, b, false)
		},
		"Wc size": func(names []string, v [][]float32, w, _, b []float32) (*MF, error) {
			return NewMF(names, 3, 2, v, w, []float32{1}, b, false)
		},
		"B size": func(names []string, v [][]float32, w, wc, _ []float32) (*MF, error) {
			return NewMF(names, 3, 2, v, w, wc, []float32{0}, false)
		},
		"NaN": func(names []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			w[4] = float32(math.NaN())
			return NewMF(names, 3, 2, v, w, wc, b, false)
		},
		"Inf": func(names []string, v [][]float32, w, wc, b []float32) (*MF, error) {
			b[1] = float32(math.Inf(1))
			return NewMF(names, 3, 2, v, w, wc, b, false)
		},
		"zero dim": func(names []string, v [][]float32, _, wc, b []float32) (*MF, error) {
			return NewMF(names, 0, 2, v, nil, wc, b, false)
		},
	}
	for name, f := range cases {
		_, err := f(good())
		if (err == nil) != (name == "ok") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestMFRoundTrip(t *testing.T) {
	for _, pairwise := range []bool{false, true} {
		m := randMF(t, 5, 4, 12, 6, pairwise)
		m.ModelNames[2] = "ünïcode/model:v2"
		m, _ = NewMF(m.ModelNames, m.D, m.Dim, m.V, m.W, m.Wc, m.B, m.Pairwise)
		buf, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got MF
		if err := got.UnmarshalBinary(buf); err != nil {
			t.Fatal(err)
		}
		if got.Pairwise != pairwise || got.D != 12 || got.Dim != 6 || fmt.Sprint(got.ModelNames) != fmt.Sprint(m.ModelNames) {
			t.Fatalf("header mismatch: %+v", got)
		}
		e := randEmb(rand.New(rand.NewPCG(9, 9)), 12)
		a, b := make([]float64, 4), make([]float64, 4)
		m.Score(e, a)
		got.Score(e, b)
		for i := range a {
			// The BLAS kernels' summation order depends on the alignment
			// of the slices, so the last float32 bit may differ.
			if math.Abs(a[i]-b[i]) > 1e-6 {
				t.Fatalf("score %d: %v after round trip, want %v", i, b[i], a[i])
			}
		}
		buf2, _ := got.MarshalBinary()
		if !bytes.Equal(buf, buf2) {
			t.Fatal("re-encoding differs")
		}
	}
}

// reseal recomputes the trailing checksum of a modified encoding.
func reseal(buf []byte) []byte {
	binary.LittleEndian.PutUint32(buf[len(buf)-4:], crc32.ChecksumIEEE(buf[:len(buf)-4]))
	return buf
}

func TestMFUnmarshalRefuses(t *testing.T) {
	m := randMF(t, 6, 3, 5, 4, false)
	buf, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), buf...)) }
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     mod(func(b []byte) []byte { b[0] = 'X'; return reseal(b) }),
		"version 2": mod(func(b []byte) []byte { b[4] = 2; return reseal(b) }),
		"version 0": mod(func(b []byte) []byte { b[4] = 0; return reseal(b) }),
		"flags":     mod(func(b []byte) []byte { b[6] = 2; return reseal(b) }),
		"checksum":  mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
		"bit flip":  mod(func(b []byte) []byte { b[40] ^= 0x10; return b }),
		"truncated": buf[:len(buf)-8],
		"trailing":  mod(func(b []byte) []byte { return reseal(append(b, 0, 0, 0, 0, 0)) }),
		"models 0":  mod(func(b []byte) []byte { b[8] = 0; return reseal(b) }),
		"models":    mod(func(b []byte) []byte { b[8] = 4; return reseal(b) }),
		"huge dim":  mod(func(b []byte) []byte { b[19] = 0x7f; return reseal(b) }),
		"name len":  mod(func(b []byte) []byte { b[20] = 200; return reseal(b) }),
		"NaN": mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-8:], math.Float32bits(float32(math.NaN())))
			return reseal(b)
		}),
	}
	for name, b := range cases {
		var got MF
		err := got.UnmarshalBinary(b)
		if !errors.Is(err, ErrMFFormat) {
			t.Errorf("%s: err = %v, want ErrMFFormat", name, err)
		}
		if got.ModelNames != nil {
			t.Errorf("%s: receiver changed on error", name)
		}
	}
	// Every truncation is refused.
	for n := 0; n < len(buf); n++ {
		var got MF
		if got.UnmarshalBinary(buf[:n]) == nil {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
}

func FuzzMFUnmarshal(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzMFUnmarshal: a valid encoding, a
	// truncated one and one with a bad magic.
	f.Fuzz(func(t *testing.T, b []byte) {
		var m MF
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMFFormat) {
				t.Fatalf("error %v does not wrap ErrMFFormat", err)
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
		m.Score(make([]float32, m.D), dst)
	})
}

// TestMFFuzzSeeds checks that the valid fuzz seed still decodes and is
// what MarshalBinary writes for fuzzSeedMF (so the fuzzer starts from a
// valid encoding). Run with -update-mf-seeds to rewrite the seeds.
func TestMFFuzzSeeds(t *testing.T) {
	m := fuzzSeedMF(t)
	buf, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzMFUnmarshal")
	seeds := map[string][]byte{
		"valid":     buf,
		"truncated": buf[:len(buf)/2],
		"badmagic":  append([]byte("RKMX"), buf[4:]...),
	}
	if *updateMFSeeds {
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
			t.Errorf("seed %s is stale; run go test -run TestMFFuzzSeeds -update-mf-seeds", name)
		}
	}
}

var updateMFSeeds = flag.Bool("update-mf-seeds", false, "rewrite the FuzzMFUnmarshal seeds")

func fuzzSeedMF(t testing.TB) *MF {
	m, err := NewMF([]string{"weak", "strong"}, 3, 2, [][]float32{{1, -1}, {0.5, 2}},
		[]float32{0.1, 0.2, 0.3, -0.1, 0, 0.4}, []float32{1, -0.5}, []float32{0.25, -0.25}, true)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// BenchmarkMFScore30 scores one prompt for 30 models with D = 256 and
// Dim = 128 (target: < 20 µs, no allocation).
func BenchmarkMFScore30(b *testing.B) {
	m := randMF(b, 1, 30, 256, 128, false)
	e := randEmb(rand.New(rand.NewPCG(1, 1)), 256)
	dst := make([]float64, 30)
	b.ReportAllocs()
	for b.Loop() {
		m.Score(e, dst)
	}
}
