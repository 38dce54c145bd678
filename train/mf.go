package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/routekit/routekit/internal/conf"
	"github.com/routekit/routekit/models"
)

// Tie handling of MFConfig.Ties.
const (
	// TiesDrop drops battles with Outcome 0.5 (RouteLLM's choice).
	TiesDrop = "drop"
	// TiesHalf keeps them as half a win each way: target 0.5 in the
	// Bradley–Terry loss.
	TiesHalf = "half"
)

// MFConfig holds the hyperparameters of TrainMF. The zero value of every
// field means its default (see DefaultMFConfig), so MFConfig{} is the
// default configuration; where a feature can be turned off, a negative
// value does so.
type MFConfig struct {
	// Dim is the dimension d of the latent space (model embeddings and
	// projected prompts), 1 to models.MFMaxDim; 0 means 128 (RouteLLM).
	Dim int `json:"dim"`
	// Alpha is the standard deviation of the Gaussian noise added to each
	// component of the prompt embedding at training time, as in RouteLLM;
	// 0 means 0.1, a negative value means no noise.
	Alpha float64 `json:"alpha"`
	// LearningRate is Adam's step size; 0 means 1e-3.
	LearningRate float64 `json:"learning_rate"`
	// Epochs is the maximum number of passes over the training data; 0
	// means 100.
	Epochs int `json:"epochs"`
	// BatchSize is the number of battles and outcomes per Adam step; 0
	// means 256.
	BatchSize int `json:"batch_size"`
	// WeightDecay is the decoupled (AdamW) weight decay of the model
	// embeddings, the projection and the classifier vector (not the
	// biases); 0 means 1e-4, a negative value means none.
	WeightDecay float64 `json:"weight_decay"`
	// Patience stops training after this many epochs without a lower
	// validation loss, restoring the best weights; 0 means 5, a negative
	// value means no early stopping (the best epoch's weights are still
	// restored when there is a validation set).
	Patience int `json:"patience"`
	// ValFraction is the share of prompts held out for validation, in
	// [0, 0.5]; 0 means 0.1, a negative value means no validation (all
	// Epochs run and the last weights are kept; the same happens when no
	// prompt falls in the split). The split is by a seeded hash of the
	// prompt index: all battles and outcomes of a prompt are on the same
	// side.
	ValFraction float64 `json:"val_fraction"`
	// Ties is TiesDrop or TiesHalf; "" means TiesDrop.
	Ties string `json:"ties"`
	// Seed seeds the initialisation, the split, the shuffling and the
	// noise; 0 means 1. Equal seeds and inputs give identical weights.
	Seed uint64 `json:"seed"`
}

// DefaultMFConfig returns the default configuration: Dim 128, Alpha 0.1,
// LearningRate 1e-3, Epochs 100, BatchSize 256, WeightDecay 1e-4,
// Patience 5, ValFraction 0.1, Ties "drop", Seed 1.
func DefaultMFConfig() MFConfig {
	return MFConfig{
		Dim:          128,
		Alpha:        0.1,
		LearningRate: 1e-3,
		Epochs:       100,
		BatchSize:    256,
		WeightDecay:  1e-4,
		Patience:     5,
		ValFraction:  0.1,
		Ties:         TiesDrop,
		Seed:         1,
	}
}

// Effective returns the configuration TrainMF uses for c: c with its zero
// fields replaced by their defaults (see DefaultMFConfig). Negative values,
// which turn a feature off, are kept. routekit train records it in the
// manifest.
func (c MFConfig) Effective() MFConfig {
	d := DefaultMFConfig()
	conf.Default(&c.Dim, d.Dim)
	conf.Default(&c.Alpha, d.Alpha)
	conf.Default(&c.LearningRate, d.LearningRate)
	conf.Default(&c.Epochs, d.Epochs)
	conf.Default(&c.BatchSize, d.BatchSize)
	conf.Default(&c.WeightDecay, d.WeightDecay)
	conf.Default(&c.Patience, d.Patience)
	conf.Default(&c.ValFraction, d.ValFraction)
	conf.Default(&c.Ties, d.Ties)
	conf.Default(&c.Seed, d.Seed)
	return c
}

// Validate reports every invalid field of c, after zero fields take their
// defaults (so MFConfig{} is valid).
func (c MFConfig) Validate() error {
	c = c.Effective()
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("train: mf: %s: %v, want %s", field, v, want))
	}
	if c.Dim < 1 || c.Dim > models.MFMaxDim {
		bad("Dim", c.Dim, fmt.Sprintf("1 to %d", models.MFMaxDim))
	}
	if !finite(c.Alpha) || c.Alpha > 10 {
		bad("Alpha", c.Alpha, "at most 10 (negative: no noise)")
	}
	optimSettings{LearningRate: c.LearningRate, Epochs: c.Epochs, BatchSize: c.BatchSize, MaxBatch: 1 << 20,
		WeightDecay: c.WeightDecay, ValFraction: c.ValFraction, Ties: c.Ties}.check(bad)
	return errors.Join(errs...)
}

// EpochStats describes one finished training epoch.
type EpochStats struct {
	// Epoch counts from 1.
	Epoch int
	// TrainLoss is the mean binary cross-entropy over the epoch's
	// training batches (with the noise of training).
	TrainLoss float64
	// ValLoss is the mean binary cross-entropy on the validation set
	// (without noise) and ValAccuracy the share of its battles (ties
	// excluded) and outcomes (scores of 0.5 excluded; a score above 0.5
	// is good) whose side the model predicts; both are NaN without a
	// validation set.
	ValLoss, ValAccuracy float64
	// Elapsed is the time since training started.
	Elapsed time.Duration
}

// Hooks are optional callbacks of a training run; they run on the
// training goroutine.
type Hooks struct {
	// OnEpoch, when not nil, is called after every epoch.
	OnEpoch func(EpochStats)
}

// Report summarises a training run.
type Report struct {
	// Epochs is the number of epochs run and BestEpoch the one whose
	// weights were kept.
	Epochs, BestEpoch int
	// TrainLoss, ValLoss and ValAccuracy are those of BestEpoch (see
	// EpochStats).
	TrainLoss, ValLoss, ValAccuracy float64
	// Train and Val count the training and validation examples (battles
	// plus outcomes, after dropping ties).
	Train, Val int
	// Duration is the wall time of the run.
	Duration time.Duration
}

// mfSample is one training example: a battle (b >= 0) or an outcome
// (b < 0) with its target.
type mfSample struct {
	prompt, a, b int32
	y            float32
}

// TrainMF fits RouteLLM's matrix-factorisation router (see models.MF) on
// battles (Bradley–Terry loss on s(A) - s(B)), outcomes (binary
// cross-entropy on s(Model), with the per-model bias) or both mixed.
// Pair.Outcome 0.5 is a tie (see MFConfig.Ties); other values in [0, 1]
// are soft targets, as are Point.Score values.
// emb holds the prompt embeddings (all of one dimension D), indexed by
// the Prompt fields; models names the models indexed by A, B and Model.
//
// Training is mini-batch Adam with closed-form gradients in float32 (the
// two D×Dim products per batch use gonum's BLAS), RouteLLM's Gaussian
// noise on the prompt embeddings, and early stopping on a validation
// split by prompt. With battles only, the result is Pairwise and its
// scores are centred over the models (see models.MF).
//
// TrainMF checks ctx before every batch and returns its error when it is
// done. It is deterministic: equal inputs and configurations give
// identical weights.
func TrainMF(ctx context.Context, emb [][]float32, modelNames []string, pairs []Pair, points []Point, cfg MFConfig, hooks Hooks) (*models.MF, *Report, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	cfg = cfg.Effective()
	samples, d, err := mfSamples(emb, modelNames, pairs, points, cfg)
	if err != nil {
		return nil, nil, err
	}
	pairwise := true
	for _, s := range samples {
		if s.b < 0 {
			pairwise = false
			break
		}
	}

	trainSet, valSet := splitByPrompt(samples, func(s *mfSample) int32 { return s.prompt }, cfg.Seed, cfg.ValFraction)
	if len(trainSet) == 0 {
		return nil, nil, errors.New("train: mf: every example fell in the validation split")
	}

	r := rand.New(rand.NewPCG(cfg.Seed, 0x6d66))
	t := newMFTrainer(emb, len(modelNames), d, cfg, r)
	rep := &Report{Train: len(trainSet), Val: len(valSet), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
	best := slices.Clone(t.theta)
	es := newEarlyStop(cfg.Patience, len(valSet) > 0, math.NaN())
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		r.Shuffle(len(trainSet), func(i, j int) { trainSet[i], trainSet[j] = trainSet[j], trainSet[i] })
		var sum float64
		for lo := 0; lo < len(trainSet); lo += cfg.BatchSize {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			batch := trainSet[lo:min(lo+cfg.BatchSize, len(trainSet))]
			sum += t.step(batch)
		}
		st := EpochStats{Epoch: epoch, TrainLoss: sum / float64(len(trainSet)), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		if len(valSet) > 0 {
			st.ValLoss, st.ValAccuracy = t.evaluate(valSet)
		}
		st.Elapsed = time.Since(start)
		rep.Epochs = epoch
		if hooks.OnEpoch != nil {
			hooks.OnEpoch(st)
		}
		if err := diverged("mf", epoch, st.TrainLoss); err != nil {
			return nil, nil, err
		}
		isBest, stop := es.observe(st)
		if isBest {
			copy(best, t.theta)
			rep.keep(epoch, st)
		}
		if stop {
			break
		}
	}
	copy(t.theta, best)
	m, err := t.export(modelNames, pairwise)
	if err != nil {
		return nil, nil, err
	}
	rep.Duration = time.Since(start)
	return m, rep, nil
}

// mfSamples checks the inputs and returns the examples and the embedding
// dimension.
func mfSamples(emb [][]float32, modelNames []string, pairs []Pair, points []Point, cfg MFConfig) ([]mfSample, int, error) {
	if len(modelNames) < 1 || len(modelNames) > models.MFMaxModels {
		return nil, 0, fmt.Errorf("train: mf: %d models, want 1 to %d", len(modelNames), models.MFMaxModels)
	}
	seen := make(map[string]bool, len(modelNames))
	for _, m := range modelNames {
		if m == "" || seen[m] {
			return nil, 0, fmt.Errorf("train: mf: model name %q is empty or repeated", m)
		}
		seen[m] = true
	}
	if len(emb) == 0 || len(emb) > math.MaxInt32 {
		return nil, 0, fmt.Errorf("train: mf: %d prompt embeddings", len(emb))
	}
	d := len(emb[0])
	if d < 1 || d > models.MFMaxDim {
		return nil, 0, fmt.Errorf("train: mf: embedding dimension %d, want 1 to %d", d, models.MFMaxDim)
	}
	for i, e := range emb {
		if len(e) != d {
			return nil, 0, fmt.Errorf("train: mf: embedding %d has %d components, want %d", i, len(e), d)
		}
		for _, x := range e {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, 0, fmt.Errorf("train: mf: embedding %d is not finite", i)
			}
		}
	}
	nm := len(modelNames)
	inRange := func(i, n int) bool { return i >= 0 && i < n }
	samples := make([]mfSample, 0, len(pairs)+len(points))
	for i, p := range pairs {
		if !inRange(p.Prompt, len(emb)) || !inRange(p.A, nm) || !inRange(p.B, nm) || p.A == p.B {
			return nil, 0, fmt.Errorf("train: mf: pair %d: prompt %d, models %d and %d out of range or equal", i, p.Prompt, p.A, p.B)
		}
		if !(p.Outcome >= 0 && p.Outcome <= 1) {
			return nil, 0, fmt.Errorf("train: mf: pair %d: outcome %v, want 0 to 1", i, p.Outcome)
		}
		if p.Outcome == 0.5 && cfg.Ties == TiesDrop {
			continue
		}
		samples = append(samples, mfSample{int32(p.Prompt), int32(p.A), int32(p.B), float32(p.Outcome)})
	}
	for i, p := range points {
		if !inRange(p.Prompt, len(emb)) || !inRange(p.Model, nm) {
			return nil, 0, fmt.Errorf("train: mf: point %d: prompt %d or model %d out of range", i, p.Prompt, p.Model)
		}
		if !(p.Score >= 0 && p.Score <= 1) {
			return nil, 0, fmt.Errorf("train: mf: point %d: score %v, want 0 to 1", i, p.Score)
		}
		samples = append(samples, mfSample{int32(p.Prompt), int32(p.Model), -1, float32(p.Score)})
	}
	if len(samples) == 0 {
		return nil, 0, errors.New("train: mf: no battles or outcomes to train on (after dropping ties)")
	}
	return samples, d, nil
}

// mfHeldOut reports whether a prompt belongs to the validation split.
func mfHeldOut(seed uint64, prompt int, frac float64) bool {
	h := mfMix(seed ^ mfMix(uint64(prompt)+0x9e3779b97f4a7c15))
	return float64(h>>11)/(1<<53) < frac
}

func mfMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mfTrainer holds the parameters, their gradients, Adam's moments and the
// scratch buffers of one run. theta is laid out as W (dim×D), V
// (models×dim), Wc (dim), B (models); only the first nDecay parameters
// (all but B) are decayed.
type mfTrainer struct {
	emb          [][]float32
	nm, d, dim   int
	cfg          MFConfig
	r            *rand.Rand
	theta, grad  []float32
	m1, m2       []float32
	step1        int
	nDecay       int
	w, v, wc, b  []float32 // views of theta
	gw, gv, gwc  []float32 // views of grad
	gb           []float32
	u, gu        []float32 // u = wc ⊙ v and its gradient, models×dim
	e, p, gp     []float32 // batch scratch: noisy embeddings, projections, their gradients
	alpha, decay float32
}

func newMFTrainer(emb [][]float32, nm, d int, cfg MFConfig, r *rand.Rand) *mfTrainer {
	dim := cfg.Dim
	n := dim*d + nm*dim + dim + nm
	t := &mfTrainer{emb: emb, nm: nm, d: d, dim: dim, cfg: cfg, r: r,
		theta: make([]float32, n), grad: make([]float32, n), m1: make([]float32, n), m2: make([]float32, n),
		nDecay: n - nm,
		u:      make([]float32, nm*dim), gu: make([]float32, nm*dim),
	}
	views := func(x []float32) (w, v, wc, b []float32) {
		o := 0
		w, o = x[o:o+dim*d], o+dim*d
		v, o = x[o:o+nm*dim], o+nm*dim
		wc, o = x[o:o+dim], o+dim
		return w, v, wc, x[o:]
	}
	t.w, t.v, t.wc, t.b = views(t.theta)
	t.gw, t.gv, t.gwc, t.gb = views(t.grad)
	if cfg.Alpha > 0 {
		t.alpha = float32(cfg.Alpha)
	}
	if cfg.WeightDecay > 0 {
		t.decay = float32(cfg.WeightDecay)
	}
	// Initialisation as PyTorch's for RouteLLM's layers: uniform
	// ±1/sqrt(fan-in) for the projection and the classifier; model
	// embeddings N(0, 1) rows scaled to unit norm (RouteLLM normalises
	// them in the forward pass).
	uni := func(x []float32, fanIn int) {
		s := 1 / math.Sqrt(float64(fanIn))
		for i := range x {
			x[i] = float32((2*r.Float64() - 1) * s)
		}
	}
	uni(t.w, d)
	uni(t.wc, dim)
	for m := 0; m < nm; m++ {
		row := t.v[m*dim : (m+1)*dim]
		var ss float64
		for k := range row {
			x := r.NormFloat64()
			row[k] = float32(x)
			ss += x * x
		}
		for k := range row {
			row[k] /= float32(math.Sqrt(ss))
		}
	}
	return t
}

// ensure sizes the batch scratch for n examples.
func (t *mfTrainer) ensure(n int) {
	if cap(t.e) < n*t.d {
		t.e = make([]float32, n*t.d)
		t.p = make([]float32, n*t.dim)
		t.gp = make([]float32, n*t.dim)
	}
	t.e, t.p, t.gp = t.e[:n*t.d], t.p[:n*t.dim], t.gp[:n*t.dim]
}

// project fills t.e with the batch's embeddings (plus noise when noisy)
// and t.p with their projections W e, and refreshes u = wc ⊙ v.
func (t *mfTrainer) project(batch []mfSample, noisy bool) {
	t.ensure(len(batch))
	d, dim := t.d, t.dim
	for i, s := range batch {
		row := t.e[i*d : (i+1)*d]
		copy(row, t.emb[s.prompt])
		if noisy && t.alpha > 0 {
			for j := range row {
				row[j] += t.alpha * float32(t.r.NormFloat64())
			}
		}
	}
	blas32.Implementation().Sgemm(blas.NoTrans, blas.Trans, len(batch), dim, d, 1, t.e, d, t.w, d, 0, t.p, dim)
	for m := 0; m < t.nm; m++ {
		u, v := t.u[m*dim:(m+1)*dim], t.v[m*dim:(m+1)*dim]
		for k := range u {
			u[k] = t.wc[k] * v[k]
		}
	}
}

// logit returns s(a) - s(b) (or s(a) for an outcome) of example i of the
// projected batch.
func (t *mfTrainer) logit(i int, s mfSample) float32 {
	dim := t.dim
	p := t.p[i*dim : (i+1)*dim]
	z := mfDot(t.u[int(s.a)*dim:int(s.a+1)*dim], p) + t.b[s.a]
	if s.b >= 0 {
		z -= mfDot(t.u[int(s.b)*dim:int(s.b+1)*dim], p) + t.b[s.b]
	}
	return z
}

// step runs one Adam step on a batch and returns the batch's summed loss.
func (t *mfTrainer) step(batch []mfSample) float64 {
	loss := t.lossGrad(batch, true)
	t.adam()
	return loss
}

// lossGrad sets t.grad to the gradient of the batch's mean loss and
// returns its summed loss.
func (t *mfTrainer) lossGrad(batch []mfSample, noisy bool) float64 {
	t.project(batch, noisy)
	dim, d := t.dim, t.d
	clear(t.gu)
	clear(t.gb)
	inv := 1 / float32(len(batch))
	var loss float64
	for i, s := range batch {
		z := t.logit(i, s)
		loss += mfBCE(float64(z), float64(s.y))
		g := (mfSigmoid(z) - s.y) * inv
		p := t.p[i*dim : (i+1)*dim]
		gp := t.gp[i*dim : (i+1)*dim]
		ua, gua := t.u[int(s.a)*dim:int(s.a+1)*dim], t.gu[int(s.a)*dim:int(s.a+1)*dim]
		t.gb[s.a] += g
		if s.b < 0 {
			for k := range gp {
				gp[k] = g * ua[k]
				gua[k] += g * p[k]
			}
			continue
		}
		ub, gub := t.u[int(s.b)*dim:int(s.b+1)*dim], t.gu[int(s.b)*dim:int(s.b+1)*dim]
		t.gb[s.b] -= g
		for k := range gp {
			gp[k] = g * (ua[k] - ub[k])
			gua[k] += g * p[k]
			gub[k] -= g * p[k]
		}
	}
	// dL/dW = GP^T E, dL/dv_m = gu_m ⊙ wc, dL/dwc = sum_m gu_m ⊙ v_m.
	blas32.Implementation().Sgemm(blas.Trans, blas.NoTrans, dim, d, len(batch), 1, t.gp, dim, t.e, d, 0, t.gw, d)
	clear(t.gwc)
	for m := 0; m < t.nm; m++ {
		gu, v, gv := t.gu[m*dim:(m+1)*dim], t.v[m*dim:(m+1)*dim], t.gv[m*dim:(m+1)*dim]
		for k := range gu {
			gv[k] = gu[k] * t.wc[k]
			t.gwc[k] += gu[k] * v[k]
		}
	}
	return loss
}

// adam applies one AdamW update of theta with grad.
func (t *mfTrainer) adam() {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	t.step1++
	lr := t.cfg.LearningRate
	c1 := 1 - math.Pow(b1, float64(t.step1))
	c2 := 1 - math.Pow(b2, float64(t.step1))
	alpha := float32(lr * math.Sqrt(c2) / c1)
	epsHat := float32(eps * math.Sqrt(c2))
	shrink := 1 - float32(lr)*t.decay
	m1, m2, th, gr := t.m1, t.m2[:len(t.m1)], t.theta[:len(t.m1)], t.grad[:len(t.m1)]
	for i, g := range gr {
		a := b1*m1[i] + (1-b1)*g
		b := b2*m2[i] + (1-b2)*g*g
		m1[i], m2[i] = a, b
		x := th[i]
		if i < t.nDecay {
			x *= shrink
		}
		th[i] = x - alpha*a/(mfSqrt(b)+epsHat)
	}
}

// evaluate returns the mean loss and the accuracy on examples, without
// noise.
func (t *mfTrainer) evaluate(set []mfSample) (loss, acc float64) {
	const chunk = 1024
	var right, counted int
	for lo := 0; lo < len(set); lo += chunk {
		batch := set[lo:min(lo+chunk, len(set))]
		t.project(batch, false)
		for i, s := range batch {
			z := t.logit(i, s)
			loss += mfBCE(float64(z), float64(s.y))
			if s.y != 0.5 {
				counted++
				if (z > 0) == (s.y > 0.5) {
					right++
				}
			}
		}
	}
	acc = math.NaN()
	if counted > 0 {
		acc = float64(right) / float64(counted)
	}
	return loss / float64(len(set)), acc
}

// export builds the models.MF of the current parameters; battles-only
// fits are centred over the models.
func (t *mfTrainer) export(names []string, pairwise bool) (*models.MF, error) {
	dim := t.dim
	v := make([][]float32, t.nm)
	for m := range v {
		v[m] = slices.Clone(t.v[m*dim : (m+1)*dim])
	}
	b := slices.Clone(t.b)
	if pairwise {
		// s(a) - s(b) is unchanged by subtracting the mean model
		// embedding and the mean bias; afterwards sum_m s(m, q) = 0.
		mean := make([]float64, dim)
		var mb float64
		for m := range v {
			for k, x := range v[m] {
				mean[k] += float64(x)
			}
			mb += float64(b[m])
		}
		for m := range v {
			for k := range v[m] {
				v[m][k] -= float32(mean[k] / float64(t.nm))
			}
			b[m] -= float32(mb / float64(t.nm))
		}
	}
	return models.NewMF(slices.Clone(names), t.d, dim, v, slices.Clone(t.w), slices.Clone(t.wc), b, pairwise)
}

func mfDot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func mfSigmoid(z float32) float32 {
	if z >= 0 {
		return 1 / (1 + float32(math.Exp(float64(-z))))
	}
	e := float32(math.Exp(float64(z)))
	return e / (1 + e)
}

// mfBCE is the binary cross-entropy of target y and prediction
// sigmoid(z): softplus(z) - y z, computed stably.
func mfBCE(z, y float64) float64 {
	return math.Max(z, 0) - y*z + math.Log1p(math.Exp(-math.Abs(z)))
}

func mfSqrt(x float32) float32 { return float32(math.Sqrt(float64(x))) }
