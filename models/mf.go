package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// MF is RouteLLM's matrix-factorisation router generalised to any number
// of models. Each model m has an embedding v_m in R^Dim; a prompt
// embedding e in R^D is projected to W e in R^Dim, and the model's score
// on the prompt is
//
//	s(m, q) = Wc · (v_m ⊙ (W e)) + B[m]
//
// (⊙ is the element-wise product). Score writes sigmoid(s(m, q)) for each
// model. Its meaning depends on what the router was trained on:
//
//   - Outcomes (graded answers), possibly mixed with battles: sigmoid(s) is
//     P(model m answers prompt q well), and B is a per-model bias.
//   - Battles only (Pairwise): the Bradley–Terry model
//     P(a beats b | q) = sigmoid(s(a, q) - s(b, q)) fixes the scores only up
//     to a per-prompt constant, so the trainer centres them: the v_m and B
//     have mean zero over the models, hence the mean of s(·, q) over the
//     models is 0 for every prompt, and Score's sigmoid(s(m, q)) is the
//     probability that m beats a virtual "average" model of the catalog on
//     q. Only its order and its differences on the logit scale are
//     meaningful; WinProb gives P(a beats b | q) directly.
//
// For both kinds WinProb(emb, a, b) = sigmoid(s(a, q) - s(b, q)).
//
// An MF is built by NewMF (or UnmarshalBinary), which checks the shapes and
// precomputes u_m = Wc ⊙ v_m, so that Score costs one Dim×D matrix-vector
// product and len(ModelNames) dot products of length Dim, without
// allocating. Once built it is read-only: the exported fields must not be
// changed, and it is safe for concurrent use.
type MF struct {
	// ModelNames are the candidate models, in the order of V, B and Score.
	ModelNames []string
	// D is the dimension of the prompt embeddings (the encoder's Dim) and
	// Dim the dimension of the latent space (RouteLLM's d, 128 by default).
	D, Dim int
	// V holds the model embeddings v_m: len(ModelNames) rows of Dim.
	V [][]float32
	// W is the projection of the prompt embedding, Dim rows of D,
	// row-major: (W e)_k = sum_j W[k*D+j] e_j.
	W []float32
	// Wc is RouteLLM's classifier vector w, of length Dim.
	Wc []float32
	// B is the per-model bias on the logit scale (0 for RouteLLM's
	// original battles-only model; the trainer learns it).
	B []float32
	// Pairwise reports that the router was trained on battles only; see
	// the type's documentation for what Score means then.
	Pairwise bool

	// u holds u_m = Wc ⊙ v_m, row-major len(ModelNames)×Dim.
	u    []float32
	pool *sync.Pool // of *mfScratch
}

type mfScratch struct{ p, s []float32 }

// Limits on the shapes of an MF, to refuse absurd or hostile inputs.
const (
	MFMaxModels = 1 << 16
	MFMaxDim    = 1 << 14
)

// NewMF checks the shapes and values of an MF's parameters and returns it
// ready to score. The slices are kept, not copied; the caller must not
// change them afterwards.
func NewMF(names []string, d, dim int, v [][]float32, w, wc, b []float32, pairwise bool) (*MF, error) {
	m := &MF{ModelNames: names, D: d, Dim: dim, V: v, W: w, Wc: wc, B: b, Pairwise: pairwise}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.prepare()
	return m, nil
}

func (m *MF) check() error {
	if err := checkNames("mf", m.ModelNames, MFMaxModels); err != nil {
		return err
	}
	n := len(m.ModelNames)
	if m.D < 1 || m.D > MFMaxDim || m.Dim < 1 || m.Dim > MFMaxDim {
		return fmt.Errorf("mf: dimensions D %d and Dim %d, want 1 to %d", m.D, m.Dim, MFMaxDim)
	}
	if len(m.V) != n {
		return fmt.Errorf("mf: %d model embeddings for %d models", len(m.V), n)
	}
	for i, row := range m.V {
		if len(row) != m.Dim {
			return fmt.Errorf("mf: embedding of model %s has %d components, want %d", m.ModelNames[i], len(row), m.Dim)
		}
		if err := finite("V", row); err != nil {
			return err
		}
	}
	if len(m.W) != m.Dim*m.D {
		return fmt.Errorf("mf: projection has %d elements, want %d×%d", len(m.W), m.Dim, m.D)
	}
	if len(m.Wc) != m.Dim {
		return fmt.Errorf("mf: classifier has %d elements, want %d", len(m.Wc), m.Dim)
	}
	if len(m.B) != n {
		return fmt.Errorf("mf: %d biases for %d models", len(m.B), n)
	}
	for _, x := range []struct {
		name string
		v    []float32
	}{{"W", m.W}, {"Wc", m.Wc}, {"B", m.B}} {
		if err := finite(x.name, x.v); err != nil {
			return err
		}
	}
	return nil
}

func finite(name string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("mf: %s[%d] is %v", name, i, x)
		}
	}
	return nil
}

// prepare precomputes u and the scratch pool.
func (m *MF) prepare() {
	n := len(m.ModelNames)
	m.u = make([]float32, n*m.Dim)
	for i, v := range m.V {
		u := m.u[i*m.Dim : (i+1)*m.Dim]
		for k, x := range v {
			u[k] = m.Wc[k] * x
		}
	}
	dim := m.Dim
	m.pool = &sync.Pool{New: func() any { return &mfScratch{p: make([]float32, dim), s: make([]float32, n)} }}
}

// Models returns the candidate models, in Score order.
func (m *MF) Models() []string { return m.ModelNames }

// logits writes s(·, q) into sc.s. It panics if emb does not have D
// components or m was not built by NewMF or UnmarshalBinary.
func (m *MF) logits(emb []float32) *mfScratch {
	if m.pool == nil {
		panic("models: MF used without NewMF or UnmarshalBinary")
	}
	if len(emb) != m.D {
		panic(fmt.Sprintf("models: MF: prompt embedding has %d components, want %d", len(emb), m.D))
	}
	sc := m.pool.Get().(*mfScratch)
	impl := blas32.Implementation()
	// p = W e, then s = U p.
	impl.Sgemv(blas.NoTrans, m.Dim, m.D, 1, m.W, m.D, emb, 1, 0, sc.p, 1)
	impl.Sgemv(blas.NoTrans, len(m.ModelNames), m.Dim, 1, m.u, m.Dim, sc.p, 1, 0, sc.s, 1)
	for i, b := range m.B {
		sc.s[i] += b
	}
	return sc
}

// Score writes sigmoid(s(m, q)) for every model into dst (see the type's
// documentation for its meaning). emb must have D components and dst
// len(Models()) elements; Score panics otherwise.
func (m *MF) Score(emb []float32, dst []float64) {
	if len(dst) != len(m.ModelNames) {
		panic(fmt.Sprintf("models: MF.Score: dst has %d elements, want %d", len(dst), len(m.ModelNames)))
	}
	sc := m.logits(emb)
	for i, s := range sc.s {
		dst[i] = sigmoid(float64(s))
	}
	m.pool.Put(sc)
}

// Logits writes s(m, q) (the scores before the sigmoid) into dst, with
// the same requirements as Score.
func (m *MF) Logits(emb []float32, dst []float64) {
	if len(dst) != len(m.ModelNames) {
		panic(fmt.Sprintf("models: MF.Logits: dst has %d elements, want %d", len(dst), len(m.ModelNames)))
	}
	sc := m.logits(emb)
	for i, s := range sc.s {
		dst[i] = float64(s)
	}
	m.pool.Put(sc)
}

// WinProb returns the Bradley–Terry probability that model a beats model b
// (indices into Models()) on the prompt: sigmoid(s(a, q) - s(b, q)). It
// panics if a or b is out of range or emb does not have D components.
func (m *MF) WinProb(emb []float32, a, b int) float64 {
	n := len(m.ModelNames)
	if a < 0 || a >= n || b < 0 || b >= n {
		panic(fmt.Sprintf("models: MF.WinProb: models %d and %d, want 0 to %d", a, b, n-1))
	}
	sc := m.logits(emb)
	p := sigmoid(float64(sc.s[a]) - float64(sc.s[b]))
	m.pool.Put(sc)
	return p
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Binary format of an MF (little-endian):
//
//	"RKMF" | version uint16 (1) | flags uint16 (bit 0: Pairwise)
//	| models uint32 | D uint32 | Dim uint32
//	| per model: name length uint32, name bytes
//	| V (models×Dim float32) | W (Dim×D float32) | Wc (Dim float32) | B (models float32)
//	| CRC-32 (IEEE) of all preceding bytes, uint32
const (
	mfMagic   = "RKMF"
	mfVersion = 1
	mfHeader  = 4 + 2 + 2 + 4 + 4 + 4
)

// ErrMFFormat is wrapped by the errors of UnmarshalBinary for input that
// is not a valid serialised MF.
var ErrMFFormat = errors.New("models: invalid MF encoding")

// MarshalBinary encodes the router in the versioned "RKMF" format.
func (m *MF) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	n := len(m.ModelNames)
	size := mfHeader + 4*(n*m.Dim+m.Dim*m.D+m.Dim+n) + 4
	size += namesSize(m.ModelNames)
	buf := make([]byte, 0, size)
	le := binary.LittleEndian
	buf = append(buf, mfMagic...)
	buf = le.AppendUint16(buf, mfVersion)
	var flags uint16
	if m.Pairwise {
		flags |= 1
	}
	buf = le.AppendUint16(buf, flags)
	buf = le.AppendUint32(buf, uint32(n))
	buf = le.AppendUint32(buf, uint32(m.D))
	buf = le.AppendUint32(buf, uint32(m.Dim))
	buf = appendNames(buf, m.ModelNames)
	put := func(v []float32) {
		for _, x := range v {
			buf = le.AppendUint32(buf, math.Float32bits(x))
		}
	}
	for _, v := range m.V {
		put(v)
	}
	put(m.W)
	put(m.Wc)
	put(m.B)
	buf = le.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	return buf, nil
}

// UnmarshalBinary decodes an MF written by MarshalBinary into m, which
// must not be in use. It refuses unknown versions and flags, wrong sizes,
// checksum mismatches and invalid parameters, with errors wrapping
// ErrMFFormat; m is unchanged on error.
func (m *MF) UnmarshalBinary(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMFFormat}, args...)...)
	}
	body, err := checkFrame(data, mfMagic, mfVersion, mfHeader)
	if err != nil {
		return bad("%v", err)
	}
	le := binary.LittleEndian
	flags := le.Uint16(data[6:])
	if flags&^1 != 0 {
		return bad("unknown flags %#x", flags)
	}
	n, d, dim := uint64(le.Uint32(data[8:])), uint64(le.Uint32(data[12:])), uint64(le.Uint32(data[16:]))
	if n < 1 || n > MFMaxModels || d < 1 || d > MFMaxDim || dim < 1 || dim > MFMaxDim {
		return bad("shape %d models, D %d, Dim %d out of range", n, d, dim)
	}
	rest := body[mfHeader:]
	names, rest, err := decodeNames(rest, n)
	if err != nil {
		return bad("%v", err)
	}
	floats := n*dim + dim*d + dim + n
	if uint64(len(rest)) != 4*floats {
		return bad("%d bytes of parameters, want %d", len(rest), 4*floats)
	}
	vals := make([]float32, floats)
	for i := range vals {
		vals[i] = math.Float32frombits(le.Uint32(rest[4*i:]))
	}
	v := make([][]float32, n)
	for i := range v {
		v[i] = vals[uint64(i)*dim : uint64(i+1)*dim : uint64(i+1)*dim]
	}
	off := n * dim
	w := vals[off : off+dim*d : off+dim*d]
	off += dim * d
	wc := vals[off : off+dim : off+dim]
	off += dim
	b := vals[off:]
	out, err := NewMF(names, int(d), int(dim), v, w, wc, b, flags&1 != 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMFFormat, err)
	}
	*m = *out
	return nil
}

var _ Scorer = (*MF)(nil)
