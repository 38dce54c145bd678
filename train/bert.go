package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/gomlx/exceptions"
	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the pure-Go backend "go"
	gr "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	mltrain "github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/routekit/routekit/internal/conf"
	"github.com/routekit/routekit/models"
)

// BackendEnv is the environment variable naming the GoMLX backend
// TrainBERT uses (a GoMLX backend configuration such as "go"); empty
// means DefaultBackend. Only the pure-Go backend "go" is compiled in.
const BackendEnv = "GOMLX_BACKEND"

// DefaultBackend is the GoMLX backend configuration TrainBERT uses when
// BackendEnv is empty: the pure-Go backend running the operations of a
// graph one after the other (each matrix product still uses every core).
// Its default, running independent operations in parallel, has a data
// race in GoMLX v0.26 (simplego exec.go) and is no faster for an MLP.
const DefaultBackend = "go:ops_sequential"

// Heads of BERTConfig.Head (see models.MLPMultiLabel and models.MLP3Way).
const (
	HeadMultiLabel = models.MLPMultiLabel
	Head3Way       = models.MLP3Way
)

// BERTConfig holds the hyperparameters of TrainBERT. The zero value of
// every field means its default (see DefaultBERTConfig); where a feature
// can be turned off, a negative value does so.
type BERTConfig struct {
	// Head is HeadMultiLabel (one sigmoid per model) or Head3Way
	// (RouteLLM's softmax over strong wins, tie, weak wins; two models
	// only); "" means HeadMultiLabel.
	Head string `json:"head"`
	// Strong names the strong model of a Head3Way router (usually the
	// more expensive one); required for Head3Way, unused otherwise.
	Strong string `json:"strong,omitempty"`
	// Hidden is the width of each hidden layer, 1 to models.MLPMaxWidth;
	// 0 means 128.
	Hidden int `json:"hidden"`
	// Layers is the number of hidden layers (ReLU), 0 to
	// models.MLPMaxLayers-1; 0 means 1, a negative value means none (a
	// linear head).
	Layers int `json:"layers"`
	// Dropout is the dropout rate after each hidden layer at training
	// time, in [0, 0.9]; 0 means none.
	Dropout float64 `json:"dropout"`
	// LearningRate is Adam's step size; 0 means 1e-3.
	LearningRate float64 `json:"learning_rate"`
	// Epochs is the maximum number of passes over the training data; 0
	// means 30.
	Epochs int `json:"epochs"`
	// BatchSize is the number of examples per Adam step; 0 means 256.
	BatchSize int `json:"batch_size"`
	// WeightDecay is the decoupled (AdamW) weight decay of every
	// parameter; 0 means 1e-4, a negative value means none.
	WeightDecay float64 `json:"weight_decay"`
	// Patience stops training after this many epochs without a lower
	// validation loss; 0 means 5, a negative value means no early
	// stopping. The best epoch's weights are kept when there is a
	// validation set.
	Patience int `json:"patience"`
	// ValFraction is the share of prompts held out for validation, in
	// [0, 0.5]; 0 means 0.1, a negative value means none (all Epochs
	// run and the last weights are kept). The split is by a seeded hash
	// of the prompt index, as in TrainMF.
	ValFraction float64 `json:"val_fraction"`
	// Ties is TiesDrop or TiesHalf for battles of a multi-label head; ""
	// means TiesDrop. (The 3-way head always keeps ties: they are its
	// middle class.)
	Ties string `json:"ties"`
	// Seed seeds the initialisation, the split, the shuffling and the
	// dropout; 0 means 1. Equal seeds and inputs give identical weights.
	Seed uint64 `json:"seed"`
}

// DefaultBERTConfig returns the default configuration: Head multilabel,
// one hidden layer of 128, no dropout, LearningRate 1e-3, Epochs 30,
// BatchSize 256, WeightDecay 1e-4, Patience 5, ValFraction 0.1, Ties
// "drop", Seed 1.
func DefaultBERTConfig() BERTConfig {
	return BERTConfig{
		Head:         HeadMultiLabel,
		Hidden:       128,
		Layers:       1,
		LearningRate: 1e-3,
		Epochs:       30,
		BatchSize:    256,
		WeightDecay:  1e-4,
		Patience:     5,
		ValFraction:  0.1,
		Ties:         TiesDrop,
		Seed:         1,
	}
}

// Effective returns the configuration TrainBERT uses for c: c with its
// zero fields replaced by their defaults (see DefaultBERTConfig). Negative
// values, which turn a feature off, are kept, and so are a zero Dropout
// (none) and Strong (which has no default). routekit train records it in
// the manifest.
func (c BERTConfig) Effective() BERTConfig {
	d := DefaultBERTConfig()
	conf.Default(&c.Head, d.Head)
	conf.Default(&c.Hidden, d.Hidden)
	conf.Default(&c.Layers, d.Layers)
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
// defaults (so BERTConfig{} is valid).
func (c BERTConfig) Validate() error {
	c = c.Effective()
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("train: bert: %s: %v, want %s", field, v, want))
	}
	if c.Head != HeadMultiLabel && c.Head != Head3Way {
		bad("Head", fmt.Sprintf("%q", c.Head), fmt.Sprintf("%q or %q", HeadMultiLabel, Head3Way))
	}
	if c.Head == Head3Way && c.Strong == "" {
		bad("Strong", `""`, "the strong model's name for the 3way head")
	}
	if c.Hidden < 1 || c.Hidden > models.MLPMaxWidth {
		bad("Hidden", c.Hidden, fmt.Sprintf("1 to %d", models.MLPMaxWidth))
	}
	if c.Layers > models.MLPMaxLayers-1 {
		bad("Layers", c.Layers, fmt.Sprintf("at most %d (negative: none)", models.MLPMaxLayers-1))
	}
	if !(c.Dropout >= 0 && c.Dropout <= 0.9) {
		bad("Dropout", c.Dropout, "in [0, 0.9]")
	}
	optimSettings{LearningRate: c.LearningRate, Epochs: c.Epochs, BatchSize: c.BatchSize, MaxBatch: 1 << 16,
		WeightDecay: c.WeightDecay, ValFraction: c.ValFraction, Ties: c.Ties}.check(bad)
	return errors.Join(errs...)
}

// bertExample is one training example. For the multi-label head it is
// either all graded answers of a prompt (a >= 0 is the index of its row
// in targets/mask) or a battle (b >= 0: model a against model b with
// target y). For the 3-way head, a is the class: 0 strong wins, 1 tie,
// 2 weak wins.
type bertExample struct {
	prompt int32
	row    int32 // multi-label points: row of targets and mask; -1 otherwise
	a, b   int32
	y      float32
}

// bertData holds the examples of a run.
type bertData struct {
	nm, d    int
	outs     int
	examples []bertExample
	targets  []float32 // per points row, nm soft labels
	mask     []float32 // per points row, 1 where observed
	pairwise bool      // multi-label with battles only
	strong   int
}

// TrainBERT fits the BERT-classifier router: an MLP head (see
// models.MLP) on frozen prompt embeddings emb (of any encoder, all of one
// dimension D), trained with GoMLX. modelNames names the models indexed
// by the Pair and Point fields.
//
// The multi-label head (the default) predicts each model's P(good
// answer): graded answers (Point.Score in [0, 1], soft labels) train it
// with a binary cross-entropy masked to the observed (prompt, model)
// pairs, and battles with a Bradley–Terry loss on the difference of the
// two models' logits, sigmoid(z_A - z_B) against Pair.Outcome (ties per
// Ties). Both may be mixed; with battles only the result is Pairwise.
//
// The 3-way head is RouteLLM's for two models (cfg.Strong and the other
// one): a softmax over {strong wins, tie, weak wins}, trained on battles
// (Outcome above, at or below 0.5) and on prompts where both models are
// graded (the higher score wins, equal scores tie). More models are an
// error: for N-model data use the multi-label head.
//
// Training is mini-batch Adam(W) on the GoMLX backend named by the
// environment variable BackendEnv (DefaultBackend when empty), with
// early stopping on a validation split by prompt. TrainBERT checks ctx
// before every batch. It is deterministic: equal inputs and
// configurations give identical weights. The Report's Train and Val
// count examples: battles, and prompts with graded answers (one example
// holds all of a prompt's answers).
func TrainBERT(ctx context.Context, emb [][]float32, modelNames []string, pairs []Pair, points []Point, cfg BERTConfig, hooks Hooks) (*models.MLP, *Report, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	cfg = cfg.Effective()
	bd, err := bertExamples(emb, modelNames, pairs, points, cfg)
	if err != nil {
		return nil, nil, err
	}
	trainSet, valSet := splitByPrompt(bd.examples, bertPrompt, cfg.Seed, cfg.ValFraction)
	if len(trainSet) == 0 {
		return nil, nil, errors.New("train: bert: every example fell in the validation split")
	}
	backendCfg := os.Getenv(BackendEnv)
	if backendCfg == "" {
		backendCfg = DefaultBackend
	}
	var backend backends.Backend
	if e := exceptions.TryCatch[error](func() { backend, err = backends.NewWithConfig(backendCfg) }); e != nil {
		err = e
	}
	if err != nil {
		return nil, nil, fmt.Errorf("train: bert: GoMLX backend %q (from %s): %w", backendCfg, BackendEnv, err)
	}
	defer backend.Finalize()

	r := rand.New(rand.NewPCG(cfg.Seed, 0x62657274))
	bt := newBERTTrainer(backend, emb, bd, cfg, r)
	rep := &Report{Train: len(trainSet), Val: len(valSet), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
	var best *models.MLP
	es := newEarlyStop(cfg.Patience, len(valSet) > 0, math.NaN())
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		r.Shuffle(len(trainSet), func(i, j int) { trainSet[i], trainSet[j] = trainSet[j], trainSet[i] })
		var sum, terms float64
		for lo := 0; lo < len(trainSet); lo += bt.batch {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			l, n, err := bt.step(trainSet[lo:min(lo+bt.batch, len(trainSet))])
			if err != nil {
				return nil, nil, fmt.Errorf("train: bert: epoch %d: %w", epoch, err)
			}
			sum, terms = sum+l*n, terms+n
		}
		m, err := bt.export(modelNames)
		if err != nil {
			return nil, nil, fmt.Errorf("train: bert: epoch %d: %w (lower the learning rate)", epoch, err)
		}
		st := EpochStats{Epoch: epoch, TrainLoss: sum / math.Max(terms, 1), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		if len(valSet) > 0 {
			st.ValLoss, st.ValAccuracy = bertEvaluate(m, emb, bd, valSet)
		}
		st.Elapsed = time.Since(start)
		rep.Epochs = epoch
		if hooks.OnEpoch != nil {
			hooks.OnEpoch(st)
		}
		if err := diverged("bert", epoch, st.TrainLoss); err != nil {
			return nil, nil, err
		}
		isBest, stop := es.observe(st)
		if isBest {
			best = m
			rep.keep(epoch, st)
		}
		if stop {
			break
		}
	}
	rep.Duration = time.Since(start)
	return best, rep, nil
}

// bertPrompt is the prompt of an example, for splitByPrompt.
func bertPrompt(ex *bertExample) int32 { return ex.prompt }

// bertExamples checks the inputs and turns them into examples.
func bertExamples(emb [][]float32, modelNames []string, pairs []Pair, points []Point, cfg BERTConfig) (*bertData, error) {
	nm := len(modelNames)
	if nm < 1 || nm > models.MLPMaxModels {
		return nil, fmt.Errorf("train: bert: %d models, want 1 to %d", nm, models.MLPMaxModels)
	}
	seen := make(map[string]bool, nm)
	for _, m := range modelNames {
		if m == "" || seen[m] {
			return nil, fmt.Errorf("train: bert: model name %q is empty or repeated", m)
		}
		seen[m] = true
	}
	if len(emb) == 0 || len(emb) > math.MaxInt32 {
		return nil, fmt.Errorf("train: bert: %d prompt embeddings", len(emb))
	}
	d := len(emb[0])
	if d < 1 || d > models.MLPMaxWidth {
		return nil, fmt.Errorf("train: bert: embedding dimension %d, want 1 to %d", d, models.MLPMaxWidth)
	}
	for i, e := range emb {
		if len(e) != d {
			return nil, fmt.Errorf("train: bert: embedding %d has %d components, want %d", i, len(e), d)
		}
		for _, x := range e {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("train: bert: embedding %d is not finite", i)
			}
		}
	}
	inRange := func(i, n int) bool { return i >= 0 && i < n }
	for i, p := range pairs {
		if !inRange(p.Prompt, len(emb)) || !inRange(p.A, nm) || !inRange(p.B, nm) || p.A == p.B {
			return nil, fmt.Errorf("train: bert: pair %d: prompt %d, models %d and %d out of range or equal", i, p.Prompt, p.A, p.B)
		}
		if !(p.Outcome >= 0 && p.Outcome <= 1) {
			return nil, fmt.Errorf("train: bert: pair %d: outcome %v, want 0 to 1", i, p.Outcome)
		}
	}
	for i, p := range points {
		if !inRange(p.Prompt, len(emb)) || !inRange(p.Model, nm) {
			return nil, fmt.Errorf("train: bert: point %d: prompt %d or model %d out of range", i, p.Prompt, p.Model)
		}
		if !(p.Score >= 0 && p.Score <= 1) {
			return nil, fmt.Errorf("train: bert: point %d: score %v, want 0 to 1", i, p.Score)
		}
	}
	bd := &bertData{nm: nm, d: d, outs: nm}
	if cfg.Head == Head3Way {
		if err := bert3WayExamples(bd, modelNames, pairs, points, cfg.Strong); err != nil {
			return nil, err
		}
	} else {
		// One example per prompt with graded answers (the mean score
		// where a (prompt, model) repeats), one per battle.
		rows := map[int]int{}
		var counts []float32
		for _, p := range points {
			r, ok := rows[p.Prompt]
			if !ok {
				r = len(rows)
				rows[p.Prompt] = r
				bd.targets = append(bd.targets, make([]float32, nm)...)
				bd.mask = append(bd.mask, make([]float32, nm)...)
				counts = append(counts, make([]float32, nm)...)
				bd.examples = append(bd.examples, bertExample{prompt: int32(p.Prompt), row: int32(r), a: -1, b: -1})
			}
			bd.targets[r*nm+p.Model] += float32(p.Score)
			counts[r*nm+p.Model]++
			bd.mask[r*nm+p.Model] = 1
		}
		for i, c := range counts {
			if c > 1 {
				bd.targets[i] /= c
			}
		}
		for _, p := range pairs {
			if p.Outcome == 0.5 && cfg.Ties == TiesDrop {
				continue
			}
			bd.examples = append(bd.examples, bertExample{prompt: int32(p.Prompt), row: -1, a: int32(p.A), b: int32(p.B), y: float32(p.Outcome)})
		}
		bd.pairwise = len(points) == 0
	}
	if len(bd.examples) == 0 {
		return nil, errors.New("train: bert: no battles or outcomes to train on (after dropping ties)")
	}
	return bd, nil
}

// bert3WayExamples fills bd with the classes of two-model data.
func bert3WayExamples(bd *bertData, modelNames []string, pairs []Pair, points []Point, strongName string) error {
	if len(modelNames) != 2 {
		return fmt.Errorf("train: bert: the %s head needs exactly 2 models, the data has %d (use the %s head)", Head3Way, len(modelNames), HeadMultiLabel)
	}
	strong := slices.Index(modelNames, strongName)
	if strong < 0 {
		return fmt.Errorf("train: bert: strong model %q is not one of %q", strongName, modelNames)
	}
	bd.outs, bd.strong = 3, strong
	class := func(strongScore, weakScore float64) int32 {
		switch {
		case strongScore > weakScore:
			return 0
		case strongScore == weakScore:
			return 1
		}
		return 2
	}
	for _, p := range pairs {
		sa := p.Outcome // A's share of the win
		if p.A != strong {
			sa = 1 - sa
		}
		bd.examples = append(bd.examples, bertExample{prompt: int32(p.Prompt), row: -1, a: class(sa, 1-sa), b: -1})
	}
	// Graded answers: mean score per (prompt, model), then a class for
	// each prompt where both models are graded.
	type acc struct{ sum, n [2]float64 }
	byPrompt := map[int]*acc{}
	var order []int
	for _, p := range points {
		a, ok := byPrompt[p.Prompt]
		if !ok {
			a = &acc{}
			byPrompt[p.Prompt] = a
			order = append(order, p.Prompt)
		}
		a.sum[p.Model] += p.Score
		a.n[p.Model]++
	}
	for _, pr := range order {
		a := byPrompt[pr]
		if a.n[0] == 0 || a.n[1] == 0 {
			continue
		}
		s, w := a.sum[strong]/a.n[strong], a.sum[1-strong]/a.n[1-strong]
		bd.examples = append(bd.examples, bertExample{prompt: int32(pr), row: -1, a: class(s, w), b: -1})
	}
	return nil
}

// bertTrainer holds the GoMLX state of a run.
type bertTrainer struct {
	emb     [][]float32
	bd      *bertData
	cfg     BERTConfig
	widths  []int // D, hidden..., outputs
	batch   int
	ctx     *mlctx.Context
	trainer *mltrain.Trainer
	// Batch buffers: x (batch×D), t, m, s (batch×outs), y, p (batch).
	x, t, m, s, y, p []float32
}

// bertScope names the variables of layer i.
func bertScope(i int) string { return fmt.Sprintf("dense_%d", i) }

func newBERTTrainer(backend backends.Backend, emb [][]float32, bd *bertData, cfg BERTConfig, r *rand.Rand) *bertTrainer {
	widths := []int{bd.d}
	for range max(cfg.Layers, 0) {
		widths = append(widths, cfg.Hidden)
	}
	widths = append(widths, bd.outs)
	bt := &bertTrainer{emb: emb, bd: bd, cfg: cfg, widths: widths, batch: min(cfg.BatchSize, len(bd.examples))}
	bt.ctx = mlctx.New()
	// He initialisation of the weights (ReLU), zero biases, drawn from
	// the run's seeded generator.
	for i := 0; i+1 < len(widths); i++ {
		in, out := widths[i], widths[i+1]
		w := make([]float32, in*out)
		sd := math.Sqrt(2 / float64(in))
		if i+1 == len(widths)-1 {
			sd = math.Sqrt(1 / float64(in))
		}
		for j := range w {
			w[j] = float32(r.NormFloat64() * sd)
		}
		lc := bt.ctx.In(bertScope(i))
		lc.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w, in, out))
		lc.VariableWithValue("biases", tensors.FromFlatDataAndDimensions(make([]float32, out), out))
	}
	if cfg.Dropout > 0 {
		_ = bt.ctx.SetRNGStateFromSeed(int64(cfg.Seed))
	}
	opt := optimizers.Adam().LearningRate(cfg.LearningRate)
	if cfg.WeightDecay > 0 {
		opt = opt.WeightDecay(cfg.WeightDecay)
	}
	bt.trainer = mltrain.NewTrainer(backend, bt.ctx, bt.model, bt.loss, opt.Done(), nil, nil)
	b, o := bt.batch, bd.outs
	bt.x, bt.t, bt.m, bt.s = make([]float32, b*bd.d), make([]float32, b*o), make([]float32, b*o), make([]float32, b*o)
	bt.y, bt.p = make([]float32, b), make([]float32, b)
	return bt
}

// model is the GoMLX graph of the head: dense layers with ReLU (and
// dropout when training) between them.
func (bt *bertTrainer) model(ctx *mlctx.Context, _ any, inputs []*gr.Node) []*gr.Node {
	return []*gr.Node{bertForward(ctx, inputs[0], len(bt.widths)-1, bt.cfg.Dropout)}
}

// bertForward builds the forward pass of nLayers dense layers whose
// variables live in ctx.
func bertForward(ctx *mlctx.Context, x *gr.Node, nLayers int, dropout float64) *gr.Node {
	g := x.Graph()
	for i := range nLayers {
		lc := ctx.In(bertScope(i))
		w := lc.GetVariableByScopeAndName(lc.Scope(), "weights").ValueGraph(g)
		b := lc.GetVariableByScopeAndName(lc.Scope(), "biases").ValueGraph(g)
		x = gr.Add(gr.MatMul(x, w), gr.InsertAxes(b, 0))
		if i < nLayers-1 {
			x = gr.MaxScalar(x, 0)
			x = layers.DropoutStatic(ctx, x, dropout)
		}
	}
	return x
}

// loss is the mean loss over the batch's observed terms: labels are t, m,
// s, y, p (see fill).
func (bt *bertTrainer) loss(labels, predictions []*gr.Node) *gr.Node {
	z := predictions[0]
	t, m, s, y, p := labels[0], labels[1], labels[2], labels[3], labels[4]
	if bt.bd.outs == 3 && bt.cfg.Head == Head3Way {
		// Cross-entropy of the softmax against the one-hot class t, on
		// the real rows p.
		ce := gr.Neg(gr.ReduceSum(gr.Mul(t, gr.LogSoftmax(z, 1)), 1))
		return gr.Div(gr.ReduceAllSum(gr.Mul(ce, p)), gr.MaxScalar(gr.ReduceAllSum(p), 1))
	}
	// Masked binary cross-entropy on graded answers plus Bradley–Terry
	// on battles: the logit difference is s · z with s = e_A - e_B.
	pointLoss := gr.ReduceAllSum(gr.Mul(m, bceLogits(z, t)))
	pairLoss := gr.ReduceAllSum(gr.Mul(p, bceLogits(gr.ReduceSum(gr.Mul(s, z), 1), y)))
	n := gr.MaxScalar(gr.Add(gr.ReduceAllSum(m), gr.ReduceAllSum(p)), 1)
	return gr.Div(gr.Add(pointLoss, pairLoss), n)
}

// bceLogits is the element-wise binary cross-entropy of target y and
// prediction sigmoid(z): max(z, 0) - y z + log(1 + exp(-|z|)).
func bceLogits(z, y *gr.Node) *gr.Node {
	return gr.Add(gr.Sub(gr.MaxScalar(z, 0), gr.Mul(y, z)), gr.Log1p(gr.Exp(gr.Neg(gr.Abs(z)))))
}

// fill writes a batch (padded with empty rows to bt.batch) into the
// buffers and returns the number of loss terms.
func (bt *bertTrainer) fill(batch []bertExample) float64 {
	d, o := bt.bd.d, bt.bd.outs
	clear(bt.x)
	clear(bt.t)
	clear(bt.m)
	clear(bt.s)
	clear(bt.y)
	clear(bt.p)
	var terms float64
	for i, ex := range batch {
		copy(bt.x[i*d:(i+1)*d], bt.emb[ex.prompt])
		switch {
		case bt.cfg.Head == Head3Way:
			bt.t[i*o+int(ex.a)], bt.p[i] = 1, 1
			terms++
		case ex.row >= 0:
			r := int(ex.row) * o
			copy(bt.t[i*o:(i+1)*o], bt.bd.targets[r:r+o])
			copy(bt.m[i*o:(i+1)*o], bt.bd.mask[r:r+o])
			for _, v := range bt.bd.mask[r : r+o] {
				terms += float64(v)
			}
		default:
			bt.s[i*o+int(ex.a)], bt.s[i*o+int(ex.b)] = 1, -1
			bt.y[i], bt.p[i] = ex.y, 1
			terms++
		}
	}
	return terms
}

// step runs one Adam step and returns the batch's mean loss and its
// number of terms.
func (bt *bertTrainer) step(batch []bertExample) (loss, terms float64, err error) {
	terms = bt.fill(batch)
	b, d, o := bt.batch, bt.bd.d, bt.bd.outs
	inputs := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(bt.x, b, d)}
	labels := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(bt.t, b, o), tensors.FromFlatDataAndDimensions(bt.m, b, o),
		tensors.FromFlatDataAndDimensions(bt.s, b, o), tensors.FromFlatDataAndDimensions(bt.y, b),
		tensors.FromFlatDataAndDimensions(bt.p, b),
	}
	var metrics []*tensors.Tensor
	if e := exceptions.TryCatch[error](func() { metrics, err = bt.trainer.TrainStep(nil, inputs, labels) }); e != nil {
		err = e
	}
	for _, t := range append(inputs, labels...) {
		t.FinalizeAll()
	}
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		for _, t := range metrics {
			t.FinalizeAll()
		}
	}()
	v, err := tensors.CopyFlatData[float32](metrics[0])
	if err != nil || len(v) != 1 {
		return 0, 0, fmt.Errorf("reading the batch loss: %v", err)
	}
	return float64(v[0]), terms, nil
}

// export copies the current weights into a models.MLP; a battles-only
// multi-label head is centred over the models (the Bradley–Terry loss
// does not see a per-prompt shift of the logits).
func (bt *bertTrainer) export(names []string) (*models.MLP, error) {
	ls := make([]models.MLPLayer, len(bt.widths)-1)
	for i := range ls {
		scope := bt.ctx.In(bertScope(i)).Scope()
		var err error
		get := func(name string) []float32 {
			if err != nil {
				return nil
			}
			v := bt.ctx.GetVariableByScopeAndName(scope, name)
			if v == nil {
				err = fmt.Errorf("variable %s/%s missing", scope, name)
				return nil
			}
			t, e := v.Value()
			if e != nil {
				err = e
				return nil
			}
			var out []float32
			out, err = tensors.CopyFlatData[float32](t)
			return out
		}
		ls[i] = models.MLPLayer{In: bt.widths[i], Out: bt.widths[i+1], W: get("weights"), B: get("biases")}
		if err != nil {
			return nil, fmt.Errorf("exporting layer %d: %w", i, err)
		}
	}
	if bt.bd.pairwise {
		last := &ls[len(ls)-1]
		centre := func(v []float32) {
			var s float64
			for _, x := range v {
				s += float64(x)
			}
			mean := float32(s / float64(len(v)))
			for k := range v {
				v[k] -= mean
			}
		}
		for j := 0; j < last.In; j++ {
			centre(last.W[j*last.Out : (j+1)*last.Out])
		}
		centre(last.B)
	}
	strong := 0
	if bt.cfg.Head == Head3Way {
		strong = bt.bd.strong
	}
	return models.NewMLP(slices.Clone(names), bt.cfg.Head, strong, bt.bd.pairwise, ls)
}

// bertEvaluate returns the mean loss (as in training, without dropout)
// and the accuracy of m on a set of examples: the share of the observed
// answers (scores of 0.5 excluded; above 0.5 is good) and of the decisive
// battles whose side m predicts, or for the 3-way head the share of
// examples whose class is the most probable.
func bertEvaluate(m *models.MLP, emb [][]float32, bd *bertData, set []bertExample) (loss, acc float64) {
	z := make([]float64, bd.outs)
	var terms, right, counted float64
	for _, ex := range set {
		m.Logits(emb[ex.prompt], z)
		switch {
		case m.Head == models.MLP3Way:
			mx := math.Max(z[0], math.Max(z[1], z[2]))
			lse := mx + math.Log(math.Exp(z[0]-mx)+math.Exp(z[1]-mx)+math.Exp(z[2]-mx))
			loss += lse - z[ex.a]
			terms++
			counted++
			if z[ex.a] == mx {
				right++
			}
		case ex.row >= 0:
			r := int(ex.row) * bd.nm
			for k := 0; k < bd.nm; k++ {
				if bd.mask[r+k] == 0 {
					continue
				}
				y := float64(bd.targets[r+k])
				loss += mfBCE(z[k], y)
				terms++
				if y != 0.5 {
					counted++
					if (z[k] > 0) == (y > 0.5) {
						right++
					}
				}
			}
		default:
			dz := z[ex.a] - z[ex.b]
			loss += mfBCE(dz, float64(ex.y))
			terms++
			if ex.y != 0.5 {
				counted++
				if (dz > 0) == (ex.y > 0.5) {
					right++
				}
			}
		}
	}
	acc = math.NaN()
	if counted > 0 {
		acc = right / counted
	}
	return loss / math.Max(terms, 1), acc
}
