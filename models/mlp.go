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

// Heads of an MLP router.
const (
	// MLPMultiLabel has one logit per model; Score writes its sigmoid,
	// P(model answers the prompt well).
	MLPMultiLabel = "multilabel"
	// MLP3Way is RouteLLM's BERT-router head for two models: a softmax
	// over {strong wins, tie, weak wins}. Score writes P(strong wins) for
	// the strong model and P(tie) + P(weak wins) = 1 - P(strong wins) for
	// the weak one, so that a threshold policy ("route to the strong
	// model when its score >= t") routes as RouteLLM does.
	MLP3Way = "3way"
)

// Limits on the shapes of an MLP, to refuse absurd or hostile inputs.
const (
	MLPMaxModels = 1 << 16
	MLPMaxWidth  = 1 << 14
	MLPMaxLayers = 8
)

// MLPLayer is one dense layer y = x W + B of an MLP.
type MLPLayer struct {
	// In and Out are the input and output widths.
	In, Out int
	// W is In rows of Out, row-major: y_k = sum_j x_j W[j*Out+k] + B[k]
	// (GoMLX's layout).
	W []float32
	// B has Out elements.
	B []float32
}

// MLP is a router head on prompt embeddings: dense layers with ReLU
// between them (none after the last), trained in package train on frozen
// encoder embeddings (the BERT-classifier router). The last layer has
// one output per model (MLPMultiLabel) or three (MLP3Way, two models).
//
// An MLP is built by NewMLP (or UnmarshalBinary), which checks the shapes
// and values. Once built it is read-only: the exported fields must not be
// changed, and it is safe for concurrent use. Score does not allocate
// (scratch buffers come from a pool).
type MLP struct {
	// ModelNames are the candidate models, in Score order.
	ModelNames []string
	// Head is MLPMultiLabel or MLP3Way.
	Head string
	// Strong is, for MLP3Way, the index in ModelNames of the strong model
	// (the other one is the weak model); 0 otherwise.
	Strong int
	// Pairwise reports a multi-label head trained on battles only
	// (Bradley–Terry on logit differences). Its last layer is centred so
	// that the logits have mean zero over the models for every prompt:
	// Score's sigmoid is then the probability of beating a virtual
	// average model, meaningful in order and logit differences only.
	Pairwise bool
	// Layers are the dense layers, first to last.
	Layers []MLPLayer

	width int       // widest layer output
	pool  sync.Pool // of *[]float32, two buffers of width
}

// NewMLP checks an MLP's parameters and returns it ready to score. The
// slices are kept, not copied; the caller must not change them
// afterwards.
func NewMLP(names []string, head string, strong int, pairwise bool, layers []MLPLayer) (*MLP, error) {
	m := &MLP{ModelNames: names, Head: head, Strong: strong, Pairwise: pairwise, Layers: layers}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.prepare()
	return m, nil
}

// D returns the dimension of the prompt embeddings the MLP reads.
func (m *MLP) D() int { return m.Layers[0].In }

func (m *MLP) check() error {
	if err := checkNames("mlp", m.ModelNames, MLPMaxModels); err != nil {
		return err
	}
	n := len(m.ModelNames)
	outs := n
	switch m.Head {
	case MLPMultiLabel:
		if m.Strong != 0 {
			return fmt.Errorf("mlp: strong model %d set for a %s head", m.Strong, m.Head)
		}
	case MLP3Way:
		if n != 2 || m.Strong < 0 || m.Strong > 1 {
			return fmt.Errorf("mlp: %s head needs 2 models and a strong index 0 or 1, have %d models, strong %d", m.Head, n, m.Strong)
		}
		if m.Pairwise {
			return fmt.Errorf("mlp: %s head cannot be pairwise", m.Head)
		}
		outs = 3
	default:
		return fmt.Errorf("mlp: head %q, want %q or %q", m.Head, MLPMultiLabel, MLP3Way)
	}
	if len(m.Layers) < 1 || len(m.Layers) > MLPMaxLayers {
		return fmt.Errorf("mlp: %d layers, want 1 to %d", len(m.Layers), MLPMaxLayers)
	}
	for i, l := range m.Layers {
		if l.In < 1 || l.In > MLPMaxWidth || l.Out < 1 || l.Out > max(MLPMaxWidth, MLPMaxModels) {
			return fmt.Errorf("mlp: layer %d is %d×%d, want widths 1 to %d", i, l.In, l.Out, MLPMaxWidth)
		}
		if i > 0 && l.In != m.Layers[i-1].Out {
			return fmt.Errorf("mlp: layer %d reads %d inputs, layer %d writes %d", i, l.In, i-1, m.Layers[i-1].Out)
		}
		if len(l.W) != l.In*l.Out || len(l.B) != l.Out {
			return fmt.Errorf("mlp: layer %d has %d weights and %d biases, want %d×%d and %d", i, len(l.W), len(l.B), l.In, l.Out, l.Out)
		}
		if err := mlpFinite(i, "W", l.W); err != nil {
			return err
		}
		if err := mlpFinite(i, "B", l.B); err != nil {
			return err
		}
	}
	if last := m.Layers[len(m.Layers)-1]; last.Out != outs {
		return fmt.Errorf("mlp: last layer has %d outputs, the %s head of %d models needs %d", last.Out, m.Head, n, outs)
	}
	return nil
}

func mlpFinite(layer int, name string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("mlp: layer %d: %s[%d] is %v", layer, name, i, x)
		}
	}
	return nil
}

func (m *MLP) prepare() {
	m.width = 0
	for _, l := range m.Layers {
		m.width = max(m.width, l.Out)
	}
	w := m.width
	m.pool.New = func() any { b := make([]float32, 2*w); return &b }
}

// Models returns the candidate models, in Score order.
func (m *MLP) Models() []string { return m.ModelNames }

// forward runs the layers on emb and returns the last layer's outputs,
// held in the pooled buffer buf.
func (m *MLP) forward(emb []float32, buf []float32) []float32 {
	if len(m.Layers) == 0 || m.width == 0 {
		panic("models: MLP used without NewMLP or UnmarshalBinary")
	}
	if len(emb) != m.Layers[0].In {
		panic(fmt.Sprintf("models: MLP: prompt embedding has %d components, want %d", len(emb), m.Layers[0].In))
	}
	impl := blas32.Implementation()
	x := emb
	a, b := buf[:m.width], buf[m.width:]
	last := len(m.Layers) - 1
	for i, l := range m.Layers {
		y := a[:l.Out]
		copy(y, l.B)
		impl.Sgemv(blas.Trans, l.In, l.Out, 1, l.W, l.Out, x, 1, 1, y, 1)
		if i < last {
			for k, v := range y {
				if v < 0 {
					y[k] = 0
				}
			}
		}
		x = y
		a, b = b, a
	}
	return x
}

// Logits writes the last layer's outputs into dst: one logit per model
// for MLPMultiLabel, the three class logits (strong wins, tie, weak wins)
// for MLP3Way. emb must have D() components; Logits panics otherwise or
// if dst is too short.
func (m *MLP) Logits(emb []float32, dst []float64) {
	bp := m.pool.Get().(*[]float32)
	z := m.forward(emb, *bp)
	if len(dst) < len(z) {
		panic(fmt.Sprintf("models: MLP.Logits: dst has %d elements, want %d", len(dst), len(z)))
	}
	for i, v := range z {
		dst[i] = float64(v)
	}
	m.pool.Put(bp)
}

// Score writes each model's score into dst (see MLPMultiLabel and
// MLP3Way for their meaning). emb must have D() components and dst
// len(Models()) elements; Score panics otherwise.
func (m *MLP) Score(emb []float32, dst []float64) {
	if len(dst) != len(m.ModelNames) {
		panic(fmt.Sprintf("models: MLP.Score: dst has %d elements, want %d", len(dst), len(m.ModelNames)))
	}
	bp := m.pool.Get().(*[]float32)
	z := m.forward(emb, *bp)
	if m.Head == MLP3Way {
		p := softmax3(z)
		dst[m.Strong] = p[0]
		dst[1-m.Strong] = p[1] + p[2]
	} else {
		for i, v := range z {
			dst[i] = sigmoid(float64(v))
		}
	}
	m.pool.Put(bp)
}

// softmax3 returns the softmax of three logits, computed stably.
func softmax3(z []float32) [3]float64 {
	mx := math.Max(float64(z[0]), math.Max(float64(z[1]), float64(z[2])))
	var p [3]float64
	var s float64
	for i := range p {
		p[i] = math.Exp(float64(z[i]) - mx)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// Binary format of an MLP (little-endian):
//
//	"RKML" | version uint16 (1) | flags uint16 (bit 0: Pairwise)
//	| head uint16 (0 multilabel, 1 3way) | strong uint16
//	| models uint32 | layers uint32
//	| per model: name length uint32, name bytes
//	| per layer: In uint32, Out uint32
//	| per layer: W (In×Out float32), B (Out float32)
//	| CRC-32 (IEEE) of all preceding bytes, uint32
const (
	mlpMagic   = "RKML"
	mlpVersion = 1
	mlpHeader  = 4 + 2 + 2 + 2 + 2 + 4 + 4
)

// ErrMLPFormat is wrapped by the errors of UnmarshalBinary for input that
// is not a valid serialised MLP.
var ErrMLPFormat = errors.New("models: invalid MLP encoding")

// MarshalBinary encodes the MLP in the versioned "RKML" format.
func (m *MLP) MarshalBinary() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	size := mlpHeader + 4
	size += namesSize(m.ModelNames)
	for _, l := range m.Layers {
		size += 8 + 4*(len(l.W)+len(l.B))
	}
	buf := make([]byte, 0, size)
	le := binary.LittleEndian
	buf = append(buf, mlpMagic...)
	buf = le.AppendUint16(buf, mlpVersion)
	var flags, head uint16
	if m.Pairwise {
		flags |= 1
	}
	if m.Head == MLP3Way {
		head = 1
	}
	buf = le.AppendUint16(buf, flags)
	buf = le.AppendUint16(buf, head)
	buf = le.AppendUint16(buf, uint16(m.Strong))
	buf = le.AppendUint32(buf, uint32(len(m.ModelNames)))
	buf = le.AppendUint32(buf, uint32(len(m.Layers)))
	buf = appendNames(buf, m.ModelNames)
	for _, l := range m.Layers {
		buf = le.AppendUint32(buf, uint32(l.In))
		buf = le.AppendUint32(buf, uint32(l.Out))
	}
	for _, l := range m.Layers {
		for _, v := range [][]float32{l.W, l.B} {
			for _, x := range v {
				buf = le.AppendUint32(buf, math.Float32bits(x))
			}
		}
	}
	return le.AppendUint32(buf, crc32.ChecksumIEEE(buf)), nil
}

// UnmarshalMLP decodes an MLP written by MarshalBinary.
func UnmarshalMLP(data []byte) (*MLP, error) {
	var m MLP
	if err := m.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return &m, nil
}

// UnmarshalBinary decodes an MLP written by MarshalBinary into m, which
// must not be in use. It refuses unknown versions, flags and heads, wrong
// sizes (checked before allocating), checksum mismatches and invalid
// parameters, with errors wrapping ErrMLPFormat; m is unchanged on error.
func (m *MLP) UnmarshalBinary(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMLPFormat}, args...)...)
	}
	body, err := checkFrame(data, mlpMagic, mlpVersion, mlpHeader)
	if err != nil {
		return bad("%v", err)
	}
	le := binary.LittleEndian
	flags, headCode, strong := le.Uint16(data[6:]), le.Uint16(data[8:]), le.Uint16(data[10:])
	if flags&^1 != 0 {
		return bad("unknown flags %#x", flags)
	}
	var head string
	switch headCode {
	case 0:
		head = MLPMultiLabel
	case 1:
		head = MLP3Way
	default:
		return bad("unknown head %d", headCode)
	}
	n, nl := uint64(le.Uint32(data[12:])), uint64(le.Uint32(data[16:]))
	if n < 1 || n > MLPMaxModels || nl < 1 || nl > MLPMaxLayers {
		return bad("%d models and %d layers out of range", n, nl)
	}
	rest := body[mlpHeader:]
	names, rest, err := decodeNames(rest, n)
	if err != nil {
		return bad("%v", err)
	}
	if uint64(len(rest)) < 8*nl {
		return bad("truncated layer shapes")
	}
	layers := make([]MLPLayer, nl)
	var floats uint64
	for i := range layers {
		in, out := uint64(le.Uint32(rest)), uint64(le.Uint32(rest[4:]))
		rest = rest[8:]
		if in < 1 || in > MLPMaxWidth || out < 1 || out > max(MLPMaxWidth, MLPMaxModels) {
			return bad("layer %d: shape %d×%d out of range", i, in, out)
		}
		layers[i].In, layers[i].Out = int(in), int(out)
		floats += in*out + out
	}
	if uint64(len(rest)) != 4*floats {
		return bad("%d bytes of parameters, want %d", len(rest), 4*floats)
	}
	vals := make([]float32, floats)
	for i := range vals {
		vals[i] = math.Float32frombits(le.Uint32(rest[4*i:]))
	}
	off := 0
	for i := range layers {
		l := &layers[i]
		nw := l.In * l.Out
		l.W = vals[off : off+nw : off+nw]
		off += nw
		l.B = vals[off : off+l.Out : off+l.Out]
		off += l.Out
	}
	out, err := NewMLP(names, head, int(strong), flags&1 != 0, layers)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMLPFormat, err)
	}
	m.ModelNames, m.Head, m.Strong, m.Pairwise, m.Layers = out.ModelNames, out.Head, out.Strong, out.Pairwise, out.Layers
	m.prepare()
	return nil
}

var _ Scorer = (*MLP)(nil)
