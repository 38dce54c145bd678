package models

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"

	"github.com/routekit/routekit/internal/conf"
)

// KNNConfig configures a k-nearest-neighbour scorer. Zero fields mean
// the defaults.
type KNNConfig struct {
	// K is the number of neighbours; default 40.
	K int `json:"k"`
	// PriorWeight is the weight of the model's overall mean score, as if
	// it were one more neighbour of weight PriorWeight (a neighbour of
	// similarity s has weight 10^(s/s_max), between 1 and 10, as in
	// RouteLLM's similarity-weighted ranking); default 1.
	PriorWeight float64 `json:"prior_weight"`
}

// DefaultKNNConfig returns the defaults.
func DefaultKNNConfig() KNNConfig { return KNNConfig{K: 40, PriorWeight: 1} }

// Effective returns the configuration NewKNN uses for c: c with its zero
// fields replaced by their defaults (see DefaultKNNConfig). routekit train
// records it in the manifest.
func (c KNNConfig) Effective() KNNConfig {
	d := DefaultKNNConfig()
	conf.Default(&c.K, d.K)
	conf.Default(&c.PriorWeight, d.PriorWeight)
	return c
}

// Validate checks the configuration.
func (c KNNConfig) Validate() error {
	c = c.Effective()
	if c.K < 1 {
		return fmt.Errorf("knn: K %d < 1", c.K)
	}
	if c.PriorWeight < 0 || math.IsNaN(c.PriorWeight) {
		return fmt.Errorf("knn: prior weight %v < 0", c.PriorWeight)
	}
	return nil
}

// KNN scores a prompt by its most similar training prompts: for each
// model, the similarity-weighted mean of the neighbours' scores for that
// model, shrunk toward the model's overall mean. Similarity is the cosine
// of the (L2-normalised) embeddings; the weight of a neighbour of
// similarity s is 10^(s/s_max), s_max the best similarity among the
// neighbours, RouteLLM's weighting. It is the baseline that router
// studies find hard to beat. A KNN is read-only and safe for concurrent
// use.
type KNN struct {
	names []string
	cfg   KNNConfig
	dim   int
	emb   []float32 // n x dim, L2-normalised
	score []float32 // n x models; NaN when the model did not answer
	prior []float64 // per model mean score
	pool  sync.Pool // *knnScratch
}

type knnScratch struct {
	h    neighbourHeap
	norm []float32
	wsum []float64
}

// NewKNN builds a KNN from training prompts' embeddings and their scores
// ([prompt][model], NaN for no answer).
func NewKNN(models []string, emb [][]float32, scores [][]float64, cfg KNNConfig) (*KNN, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Effective()
	if len(models) == 0 || len(emb) == 0 {
		return nil, errors.New("knn: no models or no training prompts")
	}
	if len(scores) != len(emb) {
		return nil, fmt.Errorf("knn: %d score rows for %d embeddings", len(scores), len(emb))
	}
	dim := len(emb[0])
	k := &KNN{names: append([]string(nil), models...), cfg: cfg, dim: dim,
		emb: make([]float32, 0, len(emb)*dim), score: make([]float32, 0, len(emb)*len(models)),
		prior: make([]float64, len(models))}
	counts := make([]int, len(models))
	for i, e := range emb {
		if len(e) != dim {
			return nil, fmt.Errorf("knn: embedding %d has %d components, want %d", i, len(e), dim)
		}
		if len(scores[i]) != len(models) {
			return nil, fmt.Errorf("knn: score row %d has %d models, want %d", i, len(scores[i]), len(models))
		}
		k.emb = append(k.emb, normalized(e)...)
		for m, s := range scores[i] {
			k.score = append(k.score, float32(s))
			if !math.IsNaN(s) {
				k.prior[m] += float64(float32(s)) // as stored, so a decoded copy agrees
				counts[m]++
			}
		}
	}
	for m := range k.prior {
		if counts[m] == 0 {
			return nil, fmt.Errorf("knn: model %s has no training score", models[m])
		}
		k.prior[m] /= float64(counts[m])
	}
	return k, nil
}

func normalized(e []float32) []float32 {
	var ss float64
	for _, x := range e {
		ss += float64(x) * float64(x)
	}
	out := make([]float32, len(e))
	if ss == 0 {
		return out
	}
	inv := float32(1 / math.Sqrt(ss))
	for i, x := range e {
		out[i] = x * inv
	}
	return out
}

// Models returns the candidate models.
func (k *KNN) Models() []string { return k.names }

// Config returns the configuration.
func (k *KNN) Config() KNNConfig { return k.cfg }

// Len is the number of training prompts.
func (k *KNN) Len() int { return len(k.emb) / k.dim }

// Score writes each model's neighbour-weighted score into dst.
func (k *KNN) Score(emb []float32, dst []float64) {
	if len(emb) != k.dim {
		panic(fmt.Sprintf("knn: embedding of %d components, want %d", len(emb), k.dim))
	}
	sc, _ := k.pool.Get().(*knnScratch)
	if sc == nil {
		sc = &knnScratch{norm: make([]float32, k.dim), wsum: make([]float64, len(k.names))}
	}
	defer k.pool.Put(sc)
	var ss float64
	for _, x := range emb {
		ss += float64(x) * float64(x)
	}
	inv := float32(0)
	if ss > 0 {
		inv = float32(1 / math.Sqrt(ss))
	}
	for i, x := range emb {
		sc.norm[i] = x * inv
	}
	// Top K by cosine with a min-heap.
	sc.h = sc.h[:0]
	n := k.Len()
	for i := 0; i < n; i++ {
		row := k.emb[i*k.dim : (i+1)*k.dim]
		var s float32
		for j, x := range row {
			s += x * sc.norm[j]
		}
		if len(sc.h) < k.cfg.K {
			sc.h.push(neighbour{i, s})
		} else if s > sc.h[0].sim {
			sc.h[0] = neighbour{i, s}
			sc.h.down(0)
		}
	}
	maxSim := float32(math.Inf(-1))
	for _, nb := range sc.h {
		maxSim = max(maxSim, nb.sim)
	}
	M := len(k.names)
	for m := range dst {
		dst[m] = k.cfg.PriorWeight * k.prior[m]
	}
	wsum := sc.wsum
	for m := range wsum {
		wsum[m] = k.cfg.PriorWeight
	}
	for _, nb := range sc.h {
		w := 1.0
		if maxSim > 0 {
			w = math.Pow(10, float64(nb.sim/maxSim))
		}
		row := k.score[nb.i*M : (nb.i+1)*M]
		for m, s := range row {
			if s == s { // not NaN
				dst[m] += w * float64(s)
				wsum[m] += w
			}
		}
	}
	for m := range dst {
		if wsum[m] > 0 {
			dst[m] /= wsum[m]
		} else {
			dst[m] = k.prior[m]
		}
	}
}

type neighbour struct {
	i   int
	sim float32
}

// neighbourHeap is a min-heap by similarity (by hand: container/heap
// would allocate on every push).
type neighbourHeap []neighbour

func (h *neighbourHeap) push(n neighbour) {
	*h = append(*h, n)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].sim <= a[i].sim {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h neighbourHeap) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(h) && h[l].sim < h[small].sim {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].sim < h[small].sim {
			small = r
		}
		if small == i {
			return
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}

// knnMagic and knnVersion head the binary format: magic, version uint32,
// K uint32, prior weight float64, dim uint32, models uint32, prompts
// uint32, model names (uint32 length + bytes each), embeddings float32
// (prompts x dim), scores float32 (prompts x models, NaN for none), and
// a CRC-32C of everything before it. Little-endian.
const (
	knnMagic   = "RKKN"
	knnVersion = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the scorer.
func (k *KNN) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(knnMagic)
	le := binary.LittleEndian
	w := func(v any) { binary.Write(&b, le, v) }
	w(uint32(knnVersion))
	w(uint32(k.cfg.K))
	w(k.cfg.PriorWeight)
	w(uint32(k.dim))
	w(uint32(len(k.names)))
	w(uint32(k.Len()))
	for _, n := range k.names {
		w(uint32(len(n)))
		b.WriteString(n)
	}
	w(k.emb)
	w(k.score)
	w(crc32.Checksum(b.Bytes(), crcTable))
	return b.Bytes(), nil
}

// UnmarshalKNN decodes MarshalBinary's format, refusing other versions
// and corrupt input.
func UnmarshalKNN(p []byte) (*KNN, error) {
	if len(p) < len(knnMagic)+4 || string(p[:4]) != knnMagic {
		return nil, errors.New("knn: not a routekit knn file (bad magic)")
	}
	if len(p) < 8 {
		return nil, errors.New("knn: truncated")
	}
	body, sum := p[:len(p)-4], binary.LittleEndian.Uint32(p[len(p)-4:])
	le := binary.LittleEndian
	if v := le.Uint32(p[4:8]); v != knnVersion {
		return nil, fmt.Errorf("knn: format version %d, this binary reads version %d", v, knnVersion)
	}
	if crc32.Checksum(body, crcTable) != sum {
		return nil, errors.New("knn: checksum mismatch (corrupt file)")
	}
	r := bytes.NewReader(body[8:])
	var hdr struct {
		K     uint32
		Prior float64
		Dim   uint32
		M     uint32
		N     uint32
	}
	if err := binary.Read(r, le, &hdr); err != nil {
		return nil, fmt.Errorf("knn: header: %w", err)
	}
	// Sizes are checked in 64 bits against the bytes present before any
	// allocation, so a forged header cannot ask for more memory than the
	// file holds.
	if hdr.Dim == 0 || hdr.M == 0 || hdr.N == 0 || uint64(hdr.M)*4 > uint64(r.Len()) ||
		uint64(hdr.N)*(uint64(hdr.Dim)+uint64(hdr.M))*4 > uint64(r.Len()) {
		return nil, errors.New("knn: sizes do not match the data")
	}
	names := make([]string, hdr.M)
	for i := range names {
		var l uint32
		if err := binary.Read(r, le, &l); err != nil || int(l) > r.Len() {
			return nil, errors.New("knn: truncated model names")
		}
		nb := make([]byte, l)
		r.Read(nb)
		names[i] = string(nb)
	}
	k := &KNN{names: names, cfg: KNNConfig{K: int(hdr.K), PriorWeight: hdr.Prior}, dim: int(hdr.Dim)}
	if err := k.cfg.Validate(); err != nil {
		return nil, err
	}
	k.emb = make([]float32, int(hdr.N)*k.dim)
	k.score = make([]float32, int(hdr.N)*int(hdr.M))
	if err := binary.Read(r, le, k.emb); err != nil {
		return nil, errors.New("knn: truncated embeddings")
	}
	if err := binary.Read(r, le, k.score); err != nil {
		return nil, errors.New("knn: truncated scores")
	}
	if r.Len() != 0 {
		return nil, errors.New("knn: trailing data")
	}
	k.prior = make([]float64, hdr.M)
	counts := make([]int, hdr.M)
	for i, s := range k.score {
		if s == s {
			k.prior[i%int(hdr.M)] += float64(s)
			counts[i%int(hdr.M)]++
		}
	}
	for m := range k.prior {
		if counts[m] == 0 {
			return nil, fmt.Errorf("knn: model %s has no training score", names[m])
		}
		k.prior[m] /= float64(counts[m])
	}
	return k, nil
}
