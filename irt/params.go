package irt

import (
	"errors"
	"fmt"
	"math"
)

// MaxDims is the largest latent dimension K. It bounds the stack scratch of
// the allocation-free hot path (Params.Probs).
const MaxDims = 64

// Params are the fitted parameters of the IRT-Router MIRT model:
//
//	a_q = softplus(A e + A0)       discrimination, in R^K, positive
//	b_q = W·e + W0                 difficulty, a logit
//	P(correct | m, q) = sigmoid(a_q · Theta[m] - b_q)
//
// where e is the prompt's embedding (length D). Params are plain values:
// read-only once built, they are safe for concurrent use by any number of
// goroutines. Methods never modify the receiver.
type Params struct {
	// Models names the models; Theta[i] is the ability of Models[i].
	Models []string
	// K is the latent dimension, D the embedding dimension.
	K, D int
	// Theta is len(Models) x K: the ability vectors θ_m.
	Theta [][]float64
	// A is K x D and A0 has length K: the discrimination head.
	A  [][]float64
	A0 []float64
	// W has length D: the difficulty head, with intercept W0.
	W  []float64
	W0 float64
}

// check verifies the shapes and finiteness of p.
func (p *Params) check() error {
	if p == nil {
		return errors.New("irt: nil Params")
	}
	if p.K < 1 || p.K > MaxDims {
		return fmt.Errorf("irt: K = %d, want 1 to %d", p.K, MaxDims)
	}
	if p.D < 1 {
		return fmt.Errorf("irt: D = %d, want at least 1", p.D)
	}
	if len(p.Models) == 0 {
		return errors.New("irt: no models")
	}
	if len(p.Theta) != len(p.Models) {
		return fmt.Errorf("irt: %d ability vectors for %d models", len(p.Theta), len(p.Models))
	}
	seen := make(map[string]bool, len(p.Models))
	for i, name := range p.Models {
		if name == "" {
			return fmt.Errorf("irt: model %d has an empty name", i)
		}
		if seen[name] {
			return fmt.Errorf("irt: duplicate model name %q", name)
		}
		seen[name] = true
		if err := finiteVec(p.Theta[i], p.K); err != nil {
			return fmt.Errorf("irt: Theta[%d] (%s): %w", i, name, err)
		}
	}
	if len(p.A) != p.K {
		return fmt.Errorf("irt: A has %d rows, want K = %d", len(p.A), p.K)
	}
	for j, row := range p.A {
		if err := finiteVec(row, p.D); err != nil {
			return fmt.Errorf("irt: A[%d]: %w", j, err)
		}
	}
	if err := finiteVec(p.A0, p.K); err != nil {
		return fmt.Errorf("irt: A0: %w", err)
	}
	if err := finiteVec(p.W, p.D); err != nil {
		return fmt.Errorf("irt: W: %w", err)
	}
	if math.IsNaN(p.W0) || math.IsInf(p.W0, 0) {
		return fmt.Errorf("irt: W0 = %v, want a finite number", p.W0)
	}
	return nil
}

func finiteVec(v []float64, n int) error {
	if len(v) != n {
		return fmt.Errorf("length %d, want %d", len(v), n)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("entry %d is %v, want a finite number", i, x)
		}
	}
	return nil
}

// Clone returns a deep copy of p.
func (p *Params) Clone() *Params {
	q := &Params{
		Models: append([]string(nil), p.Models...),
		K:      p.K,
		D:      p.D,
		Theta:  cloneRows(p.Theta),
		A:      cloneRows(p.A),
		A0:     append([]float64(nil), p.A0...),
		W:      append([]float64(nil), p.W...),
		W0:     p.W0,
	}
	return q
}

func cloneRows(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = append([]float64(nil), r...)
	}
	return out
}

// ModelIndex returns the index of the named model, or -1.
func (p *Params) ModelIndex(name string) int {
	for i, m := range p.Models {
		if m == name {
			return i
		}
	}
	return -1
}

// AddModel returns a copy of p with one more model, name, of ability theta
// (length K, typically from FitAbility). p is not modified. It is an error
// if name is empty or already present, or theta has the wrong length or a
// non-finite entry.
func (p *Params) AddModel(name string, theta []float64) (*Params, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errors.New("irt: AddModel: empty model name")
	}
	if p.ModelIndex(name) >= 0 {
		return nil, fmt.Errorf("irt: AddModel: model %q already present", name)
	}
	if err := finiteVec(theta, p.K); err != nil {
		return nil, fmt.Errorf("irt: AddModel: theta: %w", err)
	}
	q := p.Clone()
	q.Models = append(q.Models, name)
	q.Theta = append(q.Theta, append([]float64(nil), theta...))
	return q, nil
}

// dot32 returns row · e with a float64 accumulation of a float32 vector;
// four accumulators break the dependency chain of the additions. The
// summation order is fixed, so results are reproducible.
func dot32(row []float64, e []float32) float64 {
	n := len(e)
	row = row[:n]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += row[i] * float64(e[i])
		s1 += row[i+1] * float64(e[i+1])
		s2 += row[i+2] * float64(e[i+2])
		s3 += row[i+3] * float64(e[i+3])
	}
	for ; i < n; i++ {
		s0 += row[i] * float64(e[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func (p *Params) checkEmb(emb []float32) {
	if len(emb) != p.D {
		panic(fmt.Sprintf("irt: embedding of length %d, want D = %d", len(emb), p.D))
	}
}

// item writes a_q into a (length K) and returns b_q.
func (p *Params) item(emb []float32, a []float64) float64 {
	for j := range a {
		a[j] = softplus(dot32(p.A[j], emb) + p.A0[j])
	}
	return dot32(p.W, emb) + p.W0
}

// Item returns the prompt's item parameters: the discrimination a_q
// (length K, positive) and the difficulty b_q (a logit). It panics if
// len(emb) != D.
func (p *Params) Item(emb []float32) (a []float64, b float64) {
	p.checkEmb(emb)
	a = make([]float64, p.K)
	b = p.item(emb, a)
	return a, b
}

// Difficulty returns the prompt's difficulty b_q. It panics if
// len(emb) != D.
func (p *Params) Difficulty(emb []float32) float64 {
	p.checkEmb(emb)
	return dot32(p.W, emb) + p.W0
}

// Ability returns a copy of the ability vector θ of model index m.
func (p *Params) Ability(m int) []float64 {
	return append([]float64(nil), p.Theta[m]...)
}

// Prob returns P(correct | model m, prompt emb). It panics if len(emb) != D
// or m is out of range.
func (p *Params) Prob(m int, emb []float32) float64 {
	p.checkEmb(emb)
	var buf [MaxDims]float64
	a := buf[:p.K]
	b := p.item(emb, a)
	return sigmoid(dotK(a, p.Theta[m]) - b)
}

// Probs writes P(correct | m, prompt emb) for every model m into dst[m]
// (len(dst) >= len(Models)). It does not allocate. It panics if
// len(emb) != D or dst is too short.
func (p *Params) Probs(emb []float32, dst []float64) {
	p.checkEmb(emb)
	if len(dst) < len(p.Theta) {
		panic(fmt.Sprintf("irt: Probs: dst of length %d for %d models", len(dst), len(p.Theta)))
	}
	var buf [MaxDims]float64
	a := buf[:p.K]
	b := p.item(emb, a)
	for m, th := range p.Theta {
		dst[m] = sigmoid(dotK(a, th) - b)
	}
}

func dotK(a, b []float64) float64 {
	b = b[:len(a)]
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// softplus returns log(1 + e^x) without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// sigmoid returns 1 / (1 + e^-x) without overflow.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
