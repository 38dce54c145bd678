package irt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"time"

	"github.com/routekit/routekit/internal/conf"
)

// Response is one graded answer: model index Model (into the models slice
// of Fit) answered the prompt of index Prompt (into the embeddings slice)
// with a score in [0, 1] (0/1, or graded; graded scores are soft targets).
type Response struct {
	Prompt, Model int
	Score         float64
}

// Optimizer names a fitting method.
type Optimizer string

const (
	// LBFGS minimises the full-batch objective with gonum's L-BFGS,
	// checking the validation log-loss after every iteration. The default.
	LBFGS Optimizer = "lbfgs"
	// Adam runs Adam on mini-batches of prompts, checking the validation
	// log-loss after every epoch.
	Adam Optimizer = "adam"
)

// Defaults of Config. DefaultDims, DefaultL2 and DefaultL2Theta apply only
// where Fit does not select K and the penalties on the validation split
// (see the package documentation).
const (
	DefaultDims         = 8
	DefaultL2           = 1e-4
	DefaultL2Theta      = 1e-4
	DefaultMaxIter      = 1000
	DefaultValFraction  = 0.1
	DefaultPatience     = 20
	DefaultSeed         = 1
	DefaultLearningRate = 0.01
	DefaultBatchPrompts = 256
)

// Config configures Fit. The zero value of every field means its default,
// so Config{} is valid.
type Config struct {
	// Dims is the latent dimension K, 1 to MaxDims; 0 means selected on
	// the validation split from SelectDims (DefaultDims without
	// validation).
	Dims int `json:"dims"`
	// L2 is the strength of the L2 penalty (L2/2)·(‖A‖² + ‖W‖²) added to
	// the mean log-loss per response. With L2 and L2Theta both 0, both are
	// selected on the validation split (see the package documentation);
	// otherwise 0 means DefaultL2.
	L2 float64 `json:"l2"`
	// L2Theta is the strength of the penalty (L2Theta/2)·‖Θ‖² on the
	// abilities; 0 means selected together with L2 or DefaultL2Theta, as
	// for L2.
	L2Theta float64 `json:"l2_theta"`
	// MaxIter bounds the L-BFGS iterations or the Adam epochs; 0 means
	// DefaultMaxIter.
	MaxIter int `json:"max_iter"`
	// ValFraction is the share of prompts held out for early stopping, in
	// (0, 0.5]; 0 means DefaultValFraction. Prompts are assigned by a
	// seeded hash of their index, so all responses to a prompt fall on one
	// side. Ignored with NoValidation.
	ValFraction float64 `json:"val_fraction"`
	// NoValidation trains on every response and stops on convergence or
	// MaxIter only.
	NoValidation bool `json:"no_validation"`
	// Patience is the number of iterations (L-BFGS) or epochs (Adam)
	// without improvement of the validation log-loss after which fitting
	// stops; the parameters of the best validation log-loss are returned.
	// 0 means DefaultPatience.
	Patience int `json:"patience"`
	// Seed seeds the initialisation, the split and the Adam batches;
	// 0 means DefaultSeed.
	Seed uint64 `json:"seed"`
	// Optimizer is LBFGS or Adam; "" means LBFGS.
	Optimizer Optimizer `json:"optimizer"`
	// LearningRate is Adam's step size; 0 means DefaultLearningRate.
	LearningRate float64 `json:"learning_rate"`
	// BatchPrompts is the number of prompts per Adam mini-batch; 0 means
	// DefaultBatchPrompts.
	BatchPrompts int `json:"batch_prompts"`
	// Workers is the number of goroutines that evaluate the objective;
	// 0 means GOMAXPROCS. Results do not depend on it, so it is left out
	// of the JSON form.
	Workers int `json:"-"`
}

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Dims:         DefaultDims,
		L2:           DefaultL2,
		L2Theta:      DefaultL2Theta,
		MaxIter:      DefaultMaxIter,
		ValFraction:  DefaultValFraction,
		Patience:     DefaultPatience,
		Seed:         DefaultSeed,
		Optimizer:    LBFGS,
		LearningRate: DefaultLearningRate,
		BatchPrompts: DefaultBatchPrompts,
		Workers:      runtime.GOMAXPROCS(0),
	}
}

// Effective returns c with its zero fields replaced by their defaults
// (see DefaultConfig): the configuration Fit uses, except that where Fit
// selects Dims or the penalties on the validation split (see Config), the
// values it chose are in FitReport, not here. Workers, which does not
// change the results, is not part of the JSON form. routekit train records
// it in the manifest, with the chosen Dims, L2 and L2Theta.
func (c Config) Effective() Config {
	d := DefaultConfig()
	conf.Default(&c.Dims, d.Dims)
	conf.Default(&c.L2, d.L2)
	conf.Default(&c.L2Theta, d.L2Theta)
	conf.Default(&c.MaxIter, d.MaxIter)
	conf.Default(&c.ValFraction, d.ValFraction)
	conf.Default(&c.Patience, d.Patience)
	conf.Default(&c.Seed, d.Seed)
	conf.Default(&c.Optimizer, d.Optimizer)
	conf.Default(&c.LearningRate, d.LearningRate)
	conf.Default(&c.BatchPrompts, d.BatchPrompts)
	conf.Default(&c.Workers, d.Workers)
	return c
}

// Validate reports every invalid field of c, after zero fields take their
// defaults.
func (c Config) Validate() error {
	c = c.Effective()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("irt: "+format, args...))
	}
	if c.Dims < 1 || c.Dims > MaxDims {
		bad("Dims: %d, want 1 to %d", c.Dims, MaxDims)
	}
	if !(c.L2 > 0) || math.IsInf(c.L2, 0) {
		bad("L2: %v, want a finite number > 0", c.L2)
	}
	if !(c.L2Theta > 0) || math.IsInf(c.L2Theta, 0) {
		bad("L2Theta: %v, want a finite number > 0", c.L2Theta)
	}
	if c.MaxIter < 1 {
		bad("MaxIter: %d, want at least 1", c.MaxIter)
	}
	if !(c.ValFraction > 0 && c.ValFraction <= 0.5) {
		bad("ValFraction: %v, want a share in (0, 0.5]", c.ValFraction)
	}
	if c.Patience < 1 {
		bad("Patience: %d, want at least 1", c.Patience)
	}
	if c.Optimizer != LBFGS && c.Optimizer != Adam {
		bad("Optimizer: %q, want %q or %q", c.Optimizer, LBFGS, Adam)
	}
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		bad("LearningRate: %v, want a finite number > 0", c.LearningRate)
	}
	if c.BatchPrompts < 1 {
		bad("BatchPrompts: %d, want at least 1", c.BatchPrompts)
	}
	if c.Workers < 1 {
		bad("Workers: %d, want at least 1", c.Workers)
	}
	return errors.Join(errs...)
}

// FitProgress is reported after every L-BFGS iteration or Adam epoch.
type FitProgress struct {
	// Iter counts iterations (L-BFGS) or epochs (Adam) from 1.
	Iter int
	// Objective is the regularised training objective (L-BFGS) or the
	// mean training log-loss of the epoch's batches (Adam).
	Objective float64
	// ValLogLoss is the validation log-loss (NaN without validation).
	ValLogLoss float64
	// BestIter is the iteration of the best validation log-loss so far.
	BestIter int
	Elapsed  time.Duration
}

// FitReport describes a fit. Log-losses are the mean binary cross-entropy
// per response (graded scores as soft targets), without the penalty. AUC
// and accuracy binarise the scores at 0.5; they are NaN without
// validation responses (AUC also when only one class occurs).
type FitReport struct {
	Optimizer      Optimizer
	Iterations     int // iterations or epochs run
	BestIter       int // iteration of the returned parameters
	FuncEvals      int // objective evaluations (full-batch equivalents for Adam)
	Stop           string
	TrainLogLoss   float64
	ValLogLoss     float64
	ValAUC         float64
	ValAccuracy    float64
	TrainResponses int
	ValResponses   int
	TrainPrompts   int
	ValPrompts     int
	Duration       time.Duration
	// The configuration of the returned parameters: with model selection,
	// the chosen K and penalties.
	Dims        int
	L2, L2Theta float64
	// Candidates is the number of configurations fitted (1 without model
	// selection); TotalIterations and TotalFuncEvals sum over them
	// (Iterations and FuncEvals describe the returned fit only).
	Candidates      int
	TotalIterations int
	TotalFuncEvals  int
}

// Fit fits the model to the responses. emb holds the prompt embeddings
// (each of the same length D, L2-normalised; entries no response refers to
// may be nil); models names the models of the Response.Model indices; resp
// are the graded answers. progress, if non-nil, is called after every
// iteration from the calling goroutine (with model selection, for every
// candidate in turn, Iter restarting at 1).
//
// Fit is deterministic: equal inputs and Config give identical Params,
// whatever the number of workers. It returns ctx.Err() if ctx is cancelled.
func Fit(ctx context.Context, emb [][]float32, models []string, resp []Response, cfg Config, progress func(FitProgress)) (*Params, *FitReport, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	autoL2 := cfg.L2 == 0 && cfg.L2Theta == 0 && !cfg.NoValidation
	autoK := cfg.Dims == 0 && !cfg.NoValidation
	cfg = cfg.Effective()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ds, err := buildDataset(emb, models, resp, cfg)
	if err != nil {
		return nil, nil, err
	}
	if !autoL2 && !autoK || ds.nVal == 0 {
		return fitOne(ctx, ds, models, cfg, progress, start)
	}
	return fitSelect(ctx, ds, models, cfg, autoL2, autoK, progress, start)
}

// fitSelect chooses K and/or the penalties on the validation split: every
// candidate is fitted on the training prompts with early stopping, and the
// fit of the lowest validation log-loss is returned (ties go to the
// simpler candidate: smaller K, then stronger penalty).
func fitSelect(ctx context.Context, ds *dataset, models []string, cfg Config, autoL2, autoK bool, progress func(FitProgress), start time.Time) (*Params, *FitReport, error) {
	dims := []int{cfg.Dims}
	if autoK {
		dims = SelectDims
	}
	type pen struct{ l2, l2Theta float64 }
	pens := []pen{{cfg.L2, cfg.L2Theta}}
	if autoL2 {
		pens = pens[:0]
		n := float64(ds.nTrain)
		for i := len(SelectPriorPrecisions) - 1; i >= 0; i-- {
			pens = append(pens, pen{SelectPriorPrecisions[i] / n, AbilityPriorPrecision / n})
		}
	}
	var bestP *Params
	var bestRep *FitReport
	evals, iters, cands := 0, 0, 0
	for _, k := range dims {
		for _, pn := range pens {
			c := cfg
			c.Dims, c.L2, c.L2Theta = k, pn.l2, pn.l2Theta
			p, rep, err := fitOne(ctx, ds, models, c, progress, start)
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, err
				}
				continue // a diverged candidate is skipped
			}
			cands++
			evals += rep.FuncEvals
			iters += rep.Iterations
			if bestRep == nil || rep.ValLogLoss < bestRep.ValLogLoss {
				bestP, bestRep = p, rep
			}
		}
	}
	if bestRep == nil {
		return nil, nil, errors.New("irt: fit diverged for every candidate configuration")
	}
	bestRep.Candidates = cands
	bestRep.TotalFuncEvals = evals
	bestRep.TotalIterations = iters
	bestRep.Duration = time.Since(start)
	return bestP, bestRep, nil
}

// Model selection grids of Fit, used when Config.Dims (SelectDims) or
// both Config.L2 and Config.L2Theta (SelectPriorPrecisions) are zero and
// there is a validation split.
var (
	// SelectDims are the candidate latent dimensions K.
	SelectDims = []int{1, 2, 4, 8}
	// SelectPriorPrecisions are the candidate precisions λ of the Gaussian
	// prior on the entries of A and W: the penalty strength of the mean
	// log-loss is L2 = λ / (number of training responses), i.e. the MAP
	// estimate under a N(0, 1/λ) prior.
	SelectPriorPrecisions = []float64{1, 10, 100, 1000, 10000}
	// AbilityPriorPrecision is the precision of the N(0, I/λ) prior on the
	// abilities Θ with penalty selection: L2Theta = λ / (number of
	// training responses), a standard normal prior, as usual in IRT.
	AbilityPriorPrecision = 1.0
)

// fitOne fits one configuration on ds.
func fitOne(ctx context.Context, ds *dataset, models []string, cfg Config, progress func(FitProgress), start time.Time) (*Params, *FitReport, error) {
	l := newLayout(len(models), cfg.Dims, ds.D)
	obj := newObjective(l, ds, cfg.L2, cfg.L2Theta, cfg.Workers)
	x := initParams(l, ds, cfg.Seed)

	rep := &FitReport{
		Optimizer:      cfg.Optimizer,
		TrainResponses: ds.nTrain,
		ValResponses:   ds.nVal,
		TrainPrompts:   len(ds.train),
		ValPrompts:     len(ds.val),
		Dims:           cfg.Dims,
		L2:             cfg.L2,
		L2Theta:        cfg.L2Theta,
		Candidates:     1,
	}
	var err error
	switch cfg.Optimizer {
	case Adam:
		x, err = fitAdam(ctx, obj, x, cfg, rep, progress, start)
	default:
		x, err = fitLBFGS(ctx, obj, x, cfg, rep, progress, start)
	}
	if err != nil {
		return nil, nil, err
	}
	rep.TrainLogLoss = obj.eval(x, nil, ds.train, ds.nTrain)
	rep.ValLogLoss, rep.ValAUC, rep.ValAccuracy = math.NaN(), math.NaN(), math.NaN()
	if ds.nVal > 0 {
		rep.ValLogLoss = obj.eval(x, nil, ds.val, ds.nVal)
		rep.ValAUC, rep.ValAccuracy = classification(obj, x, ds.val)
	}
	rep.Duration = time.Since(start)
	rep.TotalIterations, rep.TotalFuncEvals = rep.Iterations, rep.FuncEvals
	p := unpack(l, x, models)
	if err := p.check(); err != nil {
		return nil, nil, fmt.Errorf("irt: fit diverged: %w", err)
	}
	return p, rep, nil
}

// buildDataset validates the inputs and groups the responses by prompt.
func buildDataset(emb [][]float32, models []string, resp []Response, cfg Config) (*dataset, error) {
	if len(models) == 0 {
		return nil, errors.New("irt: no models")
	}
	seen := make(map[string]bool, len(models))
	for i, m := range models {
		if m == "" {
			return nil, fmt.Errorf("irt: model %d has an empty name", i)
		}
		if seen[m] {
			return nil, fmt.Errorf("irt: duplicate model name %q", m)
		}
		seen[m] = true
	}
	if len(resp) == 0 {
		return nil, errors.New("irt: no responses")
	}
	D := -1
	count := make([]int, len(emb))
	for i, r := range resp {
		if r.Prompt < 0 || r.Prompt >= len(emb) {
			return nil, fmt.Errorf("irt: response %d: prompt index %d out of range [0, %d)", i, r.Prompt, len(emb))
		}
		if r.Model < 0 || r.Model >= len(models) {
			return nil, fmt.Errorf("irt: response %d: model index %d out of range [0, %d)", i, r.Model, len(models))
		}
		if !(r.Score >= 0 && r.Score <= 1) {
			return nil, fmt.Errorf("irt: response %d: score %v, want a number in [0, 1]", i, r.Score)
		}
		e := emb[r.Prompt]
		if D < 0 {
			D = len(e)
			if D == 0 {
				return nil, fmt.Errorf("irt: response %d: prompt %d has no embedding", i, r.Prompt)
			}
		}
		if len(e) != D {
			return nil, fmt.Errorf("irt: prompt %d: embedding of length %d, want %d", r.Prompt, len(e), D)
		}
		count[r.Prompt]++
	}
	ds := &dataset{D: D}
	// Rows in prompt-index order; responses grouped by prompt, in input
	// order within a prompt.
	rowOf := make([]int, len(emb))
	offs := make([]int, len(emb)+1)
	nRows := 0
	for q, c := range count {
		rowOf[q] = -1
		if c > 0 {
			rowOf[q] = nRows
			nRows++
		}
		offs[q+1] = offs[q] + c
	}
	ds.emb = make([]float64, 0, nRows*D)
	for q, c := range count {
		if c == 0 {
			continue
		}
		for _, v := range emb[q] {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("irt: prompt %d: non-finite embedding", q)
			}
			ds.emb = append(ds.emb, f)
		}
	}
	ds.model = make([]int32, len(resp))
	ds.score = make([]float64, len(resp))
	fill := append([]int(nil), offs[:len(emb)]...)
	for _, r := range resp {
		i := fill[r.Prompt]
		fill[r.Prompt]++
		ds.model[i] = int32(r.Model)
		ds.score[i] = r.Score
	}
	for q, c := range count {
		if c == 0 {
			continue
		}
		pr := promptRec{row: rowOf[q], start: offs[q], end: offs[q+1]}
		if !cfg.NoValidation && splitHash(cfg.Seed, q) < cfg.ValFraction {
			ds.val = append(ds.val, pr)
			ds.nVal += c
		} else {
			ds.train = append(ds.train, pr)
			ds.nTrain += c
		}
	}
	if ds.nTrain == 0 {
		return nil, errors.New("irt: no training responses after the validation split")
	}
	return ds, nil
}

// splitHash maps (seed, prompt index) to [0, 1) with splitmix64.
func splitHash(seed uint64, q int) float64 {
	z := seed ^ (uint64(q)+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// initParams initialises x: a_q ≈ 1 in every dimension (A small random,
// softplus(A0) = 1), b_q = -logit(mean score), and Θ such that a·θ_m - b
// starts at the logit of the model's mean training score, plus small
// random jitter that breaks the symmetry between the dimensions.
func initParams(l layout, ds *dataset, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x1e2f3a4b5c6d7e8f))
	x := make([]float64, l.len)
	sum := make([]float64, l.M)
	cnt := make([]float64, l.M)
	tot, n := 0.0, 0.0
	for _, pr := range ds.train {
		for r := pr.start; r < pr.end; r++ {
			m := ds.model[r]
			sum[m] += ds.score[r]
			cnt[m]++
			tot += ds.score[r]
			n++
		}
	}
	logit := func(p float64) float64 {
		p = math.Min(math.Max(p, 0.02), 0.98)
		return math.Log(p / (1 - p))
	}
	g := logit(tot / n)
	for m := 0; m < l.M; m++ {
		lm := g
		if cnt[m] > 0 {
			lm = logit((sum[m] + tot/n) / (cnt[m] + 1))
		}
		for j := 0; j < l.K; j++ {
			x[l.theta+m*l.K+j] = (lm-g)/float64(l.K) + 0.1*rng.NormFloat64()
		}
	}
	sd := 0.1
	for i := l.a; i < l.a0; i++ {
		x[i] = sd * rng.NormFloat64()
	}
	for j := 0; j < l.K; j++ {
		x[l.a0+j] = math.Log(math.E - 1) // softplus = 1
	}
	x[l.w0] = -g
	return x
}

// unpack copies x into a Params.
func unpack(l layout, x []float64, models []string) *Params {
	p := &Params{
		Models: append([]string(nil), models...),
		K:      l.K,
		D:      l.D,
		Theta:  make([][]float64, l.M),
		A:      make([][]float64, l.K),
		A0:     append([]float64(nil), x[l.a0:l.w]...),
		W:      append([]float64(nil), x[l.w:l.w0]...),
		W0:     x[l.w0],
	}
	for m := range p.Theta {
		p.Theta[m] = append([]float64(nil), x[l.theta+m*l.K:l.theta+(m+1)*l.K]...)
	}
	for j := range p.A {
		p.A[j] = append([]float64(nil), x[l.a+j*l.D:l.a+(j+1)*l.D]...)
	}
	return p
}

// earlyStop tracks the best validation log-loss.
type earlyStop struct {
	obj      *objective
	patience int
	best     float64
	bestX    []float64
	bestIter int
	since    int
}

// observe records iteration iter at x and reports whether to stop.
func (e *earlyStop) observe(iter int, x []float64) (val float64, stop bool) {
	ds := e.obj.ds
	if ds.nVal == 0 {
		copy(e.bestX, x)
		e.bestIter = iter
		return math.NaN(), false
	}
	val = e.obj.eval(x, nil, ds.val, ds.nVal)
	if val < e.best-1e-7 || e.bestIter == 0 {
		if val < e.best {
			e.best = val
		}
		copy(e.bestX, x)
		e.bestIter = iter
		e.since = 0
		return val, false
	}
	e.since++
	return val, e.since >= e.patience
}

func fitLBFGS(ctx context.Context, obj *objective, x []float64, cfg Config, rep *FitReport, progress func(FitProgress), start time.Time) ([]float64, error) {
	ds := obj.ds
	es := &earlyStop{obj: obj, patience: cfg.Patience, best: math.Inf(1), bestX: make([]float64, len(x))}
	copy(es.bestX, x)
	evals := 0
	fg := func(z, g []float64) (float64, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		evals++
		return obj.eval(z, g, ds.train, ds.nTrain), nil
	}
	var prevF float64
	flat := 0
	step := func(iter int, z []float64, f float64) bool {
		val, stop := es.observe(iter, z)
		if progress != nil {
			progress(FitProgress{Iter: iter, Objective: f, ValLogLoss: val, BestIter: es.bestIter, Elapsed: time.Since(start)})
		}
		if stop {
			rep.Stop = fmt.Sprintf("early stopping: no validation improvement for %d iterations", cfg.Patience)
			return true
		}
		if iter > 1 && prevF-f <= 1e-9*math.Max(1, math.Abs(f)) {
			flat++
		} else {
			flat = 0
		}
		prevF = f
		if flat >= 10 {
			rep.Stop = "converged: objective flat for 10 iterations"
			return true
		}
		return false
	}
	iters, stop, err := lbfgs(x, fg, cfg.MaxIter, 20, step)
	if err != nil {
		return nil, err
	}
	rep.Iterations = iters
	rep.FuncEvals = evals
	if rep.Stop == "" {
		rep.Stop = stop
	}
	rep.BestIter = es.bestIter
	return es.bestX, nil
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fitAdam(ctx context.Context, obj *objective, x []float64, cfg Config, rep *FitReport, progress func(FitProgress), start time.Time) ([]float64, error) {
	ds := obj.ds
	es := &earlyStop{obj: obj, patience: cfg.Patience, best: math.Inf(1), bestX: make([]float64, len(x))}
	copy(es.bestX, x)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xada))
	order := append([]promptRec(nil), ds.train...)
	g := make([]float64, len(x))
	m1 := make([]float64, len(x))
	m2 := make([]float64, len(x))
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	step := 0
	batch := make([]promptRec, 0, cfg.BatchPrompts)
	evals := 0.0
	for epoch := 1; epoch <= cfg.MaxIter; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		sum, nsum := 0.0, 0
		for lo := 0; lo < len(order); lo += cfg.BatchPrompts {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			hi := min(lo+cfg.BatchPrompts, len(order))
			batch = append(batch[:0], order[lo:hi]...)
			n := 0
			for _, pr := range batch {
				n += pr.end - pr.start
			}
			f := obj.eval(x, g, batch, n)
			sum += f * float64(n)
			nsum += n
			step++
			c1 := 1 - math.Pow(beta1, float64(step))
			c2 := 1 - math.Pow(beta2, float64(step))
			for i, gi := range g {
				m1[i] = beta1*m1[i] + (1-beta1)*gi
				m2[i] = beta2*m2[i] + (1-beta2)*gi*gi
				x[i] -= cfg.LearningRate * (m1[i] / c1) / (math.Sqrt(m2[i]/c2) + eps)
			}
		}
		evals++
		rep.Iterations = epoch
		val, stop := es.observe(epoch, x)
		if progress != nil {
			progress(FitProgress{Iter: epoch, Objective: sum / float64(nsum), ValLogLoss: val, BestIter: es.bestIter, Elapsed: time.Since(start)})
		}
		if stop {
			rep.Stop = fmt.Sprintf("early stopping: no validation improvement for %d epochs", cfg.Patience)
			break
		}
	}
	if rep.Stop == "" {
		rep.Stop = "stopped: MaxIter reached"
	}
	rep.FuncEvals = int(evals)
	rep.BestIter = es.bestIter
	return es.bestX, nil
}

// classification returns the AUC and the accuracy of the predictions on
// prompts, with the scores binarised at 0.5.
func classification(obj *objective, x []float64, prompts []promptRec) (auc, acc float64) {
	type py struct{ p, y float64 }
	var all []py
	correct := 0
	obj.predict(x, prompts, func(p, y float64) {
		all = append(all, py{p, y})
		if (p >= 0.5) == (y >= 0.5) {
			correct++
		}
	})
	if len(all) == 0 {
		return math.NaN(), math.NaN()
	}
	acc = float64(correct) / float64(len(all))
	sort.Slice(all, func(i, j int) bool { return all[i].p < all[j].p })
	// Mann-Whitney U with mid-ranks for ties.
	var pos, neg, rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].p == all[i].p {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1 .. j
		for k := i; k < j; k++ {
			if all[k].y >= 0.5 {
				pos++
				rankSum += mid
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN(), acc
	}
	auc = (rankSum - pos*(pos+1)/2) / (pos * neg)
	return auc, acc
}
