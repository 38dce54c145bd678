package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/routekit/routekit/data/synth"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

// mfFixture is the synthetic world of the MF tests, embedded once per
// test binary: 8 models, 3000 prompts, 20000 battles, a fifth of the
// prompts held out for testing.
type mfFixture struct {
	world  *synth.World
	ds     *Dataset
	emb    [][]float32
	isTest []bool
	err    error
}

var mfFix struct {
	once sync.Once
	f    mfFixture
}

func mfWorld(t testing.TB) *mfFixture {
	t.Helper()
	mfFix.once.Do(func() {
		f := &mfFix.f
		f.world, f.err = synth.Generate(synth.Config{Seed: 1, Models: 8, Prompts: 3000, Battles: 20000})
		if f.err != nil {
			return
		}
		b := NewBuilder()
		for i := range f.world.Outcomes {
			b.AddOutcome(&f.world.Outcomes[i])
		}
		for i := range f.world.Battles {
			b.AddBattle(&f.world.Battles[i])
		}
		if f.ds, f.err = b.Build(nil); f.err != nil {
			return
		}
		f.isTest = f.ds.SplitPrompts(0.2, 7)
		var fitTexts []string
		for i, txt := range f.ds.Texts {
			if !f.isTest[i] {
				fitTexts = append(fitTexts, txt)
			}
		}
		ctx := context.Background()
		enc, err := encoder.FitBuiltin(ctx, fitTexts, encoder.BuiltinConfig{Dim: 64})
		if err != nil {
			f.err = err
			return
		}
		f.emb, f.err = enc.Encode(ctx, f.ds.Texts)
	})
	if mfFix.f.err != nil {
		t.Fatal(mfFix.f.err)
	}
	return &mfFix.f
}

// trainPairs and trainPoints return the examples of the training prompts.
func (f *mfFixture) trainPairs() []Pair {
	var out []Pair
	for _, p := range f.ds.Pairs {
		if !f.isTest[p.Prompt] {
			out = append(out, p)
		}
	}
	return out
}

func (f *mfFixture) trainPoints() []Point {
	var out []Point
	for _, p := range f.ds.Points {
		if !f.isTest[p.Prompt] {
			out = append(out, p)
		}
	}
	return out
}

// fitBT fits per-model Bradley–Terry strengths (no query) to the decisive
// battles by Hunter's MM algorithm, with one pseudo-battle won and one lost
// against every other model (a mild prior keeping strengths finite).
func fitBT(nm int, pairs []Pair) []float64 {
	wins := make([]float64, nm)
	n := make([][]float64, nm)
	for i := range n {
		n[i] = make([]float64, nm)
		for j := range n[i] {
			if i != j {
				n[i][j] = 2 // the prior's two pseudo-battles
				wins[i]++
			}
		}
	}
	for _, p := range pairs {
		if p.Outcome == 0.5 {
			continue
		}
		n[p.A][p.B]++
		n[p.B][p.A]++
		if p.Outcome == 1 {
			wins[p.A]++
		} else {
			wins[p.B]++
		}
	}
	g := make([]float64, nm)
	for i := range g {
		g[i] = 1
	}
	for range 500 {
		for i := range g {
			var den float64
			for j := range g {
				if j != i {
					den += n[i][j] / (g[i] + g[j])
				}
			}
			g[i] = wins[i] / den
		}
	}
	for i := range g {
		g[i] = math.Log(g[i])
	}
	return g
}

// pairAccuracy is the share of the decisive test battles whose winner
// has the higher strength(prompt, model).
func (f *mfFixture) pairAccuracy(strength func(prompt, model int) float64) (float64, int) {
	right, n := 0, 0
	for _, p := range f.ds.Pairs {
		if !f.isTest[p.Prompt] || p.Outcome == 0.5 {
			continue
		}
		n++
		if (strength(p.Prompt, p.A) > strength(p.Prompt, p.B)) == (p.Outcome == 1) {
			right++
		}
	}
	return float64(right) / float64(n), n
}

// truthStrength is the true P(correct) of a model on a prompt.
func (f *mfFixture) truthStrength(prompt, model int) float64 {
	p, _ := f.world.Truth.PCorrect(f.ds.Models[model], f.ds.Prompts[prompt])
	return p
}

// mfLogits returns s(·, q) of every model of m for the embedding.
func mfLogits(m *models.MF, emb []float32) []float64 {
	out := make([]float64, len(m.ModelNames))
	m.Logits(emb, out)
	return out
}

// checkBestRestored recomputes the validation loss of the returned model
// on TrainMF's validation split and compares it with the report's.
func checkBestRestored(t *testing.T, m *models.MF, rep *Report, emb [][]float32, pairs []Pair, points []Point, cfg MFConfig) {
	t.Helper()
	cfg = cfg.Effective()
	var sum float64
	n := 0
	for _, p := range pairs {
		if p.Outcome == 0.5 && cfg.Ties == TiesDrop || !mfHeldOut(cfg.Seed, p.Prompt, cfg.ValFraction) {
			continue
		}
		l := mfLogits(m, emb[p.Prompt])
		sum += mfBCE(l[p.A]-l[p.B], p.Outcome)
		n++
	}
	for _, p := range points {
		if !mfHeldOut(cfg.Seed, p.Prompt, cfg.ValFraction) {
			continue
		}
		sum += mfBCE(mfLogits(m, emb[p.Prompt])[p.Model], p.Score)
		n++
	}
	if n != rep.Val {
		t.Fatalf("recomputed %d validation examples, report says %d", n, rep.Val)
	}
	if got := sum / float64(n); math.Abs(got-rep.ValLoss) > 1e-4 {
		t.Fatalf("validation loss of the returned model %.6f, report's best %.6f: best weights not restored", got, rep.ValLoss)
	}
	if rep.BestEpoch < 1 || rep.BestEpoch > rep.Epochs || rep.Epochs-rep.BestEpoch > cfg.Patience {
		t.Fatalf("report: best epoch %d of %d with patience %d", rep.BestEpoch, rep.Epochs, cfg.Patience)
	}
}

// TestTrainMFBattles trains on the battles of the training prompts and
// predicts the winners of the held-out prompts' decisive battles. On this
// world MF reaches about 0.70, the per-model Bradley–Terry baseline
// (strengths without the query) about 0.675 and the true P(correct)
// about 0.705 (battles are noisier than P(correct)).
func TestTrainMFBattles(t *testing.T) {
	f := mfWorld(t)
	pairs := f.trainPairs()
	var stats []EpochStats
	cfg := MFConfig{Seed: 1}
	m, rep, err := TrainMF(context.Background(), f.emb, f.ds.Models, pairs, nil, cfg, Hooks{OnEpoch: func(s EpochStats) { stats = append(stats, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Pairwise || len(stats) != rep.Epochs || stats[len(stats)-1].Epoch != rep.Epochs {
		t.Fatalf("pairwise %v, %d epoch callbacks, report %+v", m.Pairwise, len(stats), rep)
	}
	checkBestRestored(t, m, rep, f.emb, pairs, nil, cfg)

	mfAcc, n := f.pairAccuracy(func(p, k int) float64 { return mfLogits(m, f.emb[p])[k] })
	bt := fitBT(len(f.ds.Models), pairs)
	btAcc, _ := f.pairAccuracy(func(_, k int) float64 { return bt[k] })
	truthAcc, _ := f.pairAccuracy(f.truthStrength)
	t.Logf("held-out decisive battles: %d; accuracy MF %.4f, Bradley-Terry without query %.4f, true P(correct) %.4f; %d epochs (best %d), val loss %.4f, val accuracy %.4f, %v",
		n, mfAcc, btAcc, truthAcc, rep.Epochs, rep.BestEpoch, rep.ValLoss, rep.ValAccuracy, rep.Duration)
	if mfAcc < 0.65 {
		t.Errorf("MF accuracy %.4f, want at least 0.65", mfAcc)
	}
	// Paired comparison on ~3800 battles: a 1-point margin is about 3
	// standard errors of the difference here.
	if mfAcc < btAcc+0.01 {
		t.Errorf("MF accuracy %.4f does not beat the query-free Bradley-Terry baseline %.4f by 0.01", mfAcc, btAcc)
	}

	// Pairwise fits are centred: the logits sum to zero over the models,
	// and WinProb is the sigmoid of their difference.
	l := mfLogits(m, f.emb[0])
	var sum float64
	for _, x := range l {
		sum += x
	}
	if math.Abs(sum) > 1e-3 {
		t.Errorf("pairwise logits sum to %v, want 0", sum)
	}
	if p, want := m.WinProb(f.emb[0], 1, 2), 1/(1+math.Exp(l[2]-l[1])); math.Abs(p-want) > 1e-6 {
		t.Errorf("WinProb %v, want %v", p, want)
	}
}

// TestTrainMFOutcomes trains on graded answers and ranks the held-out
// answers: MF's AUC must beat that of each model's mean training score
// (on this world about 0.82 against 0.72; the true P(correct) gets 0.89).
func TestTrainMFOutcomes(t *testing.T) {
	f := mfWorld(t)
	points := f.trainPoints()
	cfg := MFConfig{Seed: 2}
	m, rep, err := TrainMF(context.Background(), f.emb, f.ds.Models, nil, points, cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Pairwise {
		t.Fatal("outcome fit marked pairwise")
	}
	checkBestRestored(t, m, rep, f.emb, nil, points, cfg)
	sc := Evaluate(m, f.ds, f.emb, f.isTest)

	sum := make([]float64, len(f.ds.Models))
	cnt := make([]float64, len(f.ds.Models))
	for _, p := range points {
		sum[p.Model] += p.Score
		cnt[p.Model]++
	}
	var base, truth, ys []float64
	for _, p := range f.ds.Points {
		if f.isTest[p.Prompt] {
			base = append(base, sum[p.Model]/cnt[p.Model])
			truth = append(truth, f.truthStrength(p.Prompt, p.Model))
			ys = append(ys, p.Score)
		}
	}
	baseAUC, truthAUC := auc(base, ys), auc(truth, ys)
	t.Logf("held-out answers: %d; AUC MF %.4f, per-model mean %.4f, true P(correct) %.4f; log-loss %.4f; %d epochs (best %d), %v",
		sc.Points, sc.AUC, baseAUC, truthAUC, sc.LogLoss, rep.Epochs, rep.BestEpoch, rep.Duration)
	if sc.AUC < baseAUC+0.03 {
		t.Errorf("MF AUC %.4f does not beat the per-model mean's %.4f by 0.03", sc.AUC, baseAUC)
	}
}

// TestTrainMFMixed fits battles and outcomes together: the model is not
// pairwise and does at least as well as the baselines on both.
func TestTrainMFMixed(t *testing.T) {
	f := mfWorld(t)
	pairs, points := f.trainPairs(), f.trainPoints()
	cfg := MFConfig{Seed: 3, Ties: TiesHalf}
	m, rep, err := TrainMF(context.Background(), f.emb, f.ds.Models, pairs, points, cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Pairwise || rep.Train+rep.Val != len(pairs)+len(points) {
		t.Fatalf("pairwise %v, %d+%d examples for %d pairs (ties kept) and %d points", m.Pairwise, rep.Train, rep.Val, len(pairs), len(points))
	}
	checkBestRestored(t, m, rep, f.emb, pairs, points, cfg)
	sc := Evaluate(m, f.ds, f.emb, f.isTest)
	bt := fitBT(len(f.ds.Models), pairs)
	btAcc, _ := f.pairAccuracy(func(_, k int) float64 { return bt[k] })
	t.Logf("mixed fit: pair accuracy %.4f (Bradley-Terry %.4f), AUC %.4f; %d epochs, %v", sc.PairAccuracy, btAcc, sc.AUC, rep.Epochs, rep.Duration)
	if sc.PairAccuracy < btAcc+0.01 || sc.AUC < 0.77 {
		t.Errorf("mixed fit: pair accuracy %.4f (baseline %.4f), AUC %.4f (want >= 0.77)", sc.PairAccuracy, btAcc, sc.AUC)
	}
}

func TestTrainMFDeterministic(t *testing.T) {
	emb, names, pairs := benchPairs(3000, 5, 400, 24)
	points := []Point{{Prompt: 1, Model: 2, Score: 1}, {Prompt: 7, Model: 0, Score: 0.3}, {Prompt: 9, Model: 4, Score: 0}}
	run := func(seed uint64) []byte {
		m, _, err := TrainMF(context.Background(), emb, names, pairs, points, MFConfig{Dim: 8, Epochs: 3, BatchSize: 64, Seed: seed}, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := run(5), run(5), run(6)
	if !bytes.Equal(a, b) {
		t.Fatal("equal seeds gave different weights")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave equal weights")
	}
}

func TestTrainMFCancel(t *testing.T) {
	emb, names, pairs := benchPairs(2000, 4, 300, 16)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := TrainMF(ctx, emb, names, pairs, nil, MFConfig{Dim: 8}, Hooks{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	epochs := 0
	_, _, err := TrainMF(ctx, emb, names, pairs, nil, MFConfig{Dim: 8, Patience: -1}, Hooks{OnEpoch: func(EpochStats) {
		epochs++
		cancel()
	}})
	if !errors.Is(err, context.Canceled) || epochs != 1 {
		t.Fatalf("cancel during training: err = %v after %d epochs", err, epochs)
	}
}

func TestMFConfigValidate(t *testing.T) {
	if err := (MFConfig{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	if err := DefaultMFConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if got := (MFConfig{}).Effective(); got != DefaultMFConfig() {
		t.Fatalf("zero config means %+v, want the default %+v", got, DefaultMFConfig())
	}
	ok := []MFConfig{{Alpha: -1, WeightDecay: -1, Patience: -1, ValFraction: -1}, {Ties: TiesHalf, Dim: 1, ValFraction: 0.5}}
	for _, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := map[string]MFConfig{
		"Dim":          {Dim: -1},
		"Alpha":        {Alpha: math.NaN()},
		"LearningRate": {LearningRate: -1},
		"Epochs":       {Epochs: -3},
		"BatchSize":    {BatchSize: -1},
		"WeightDecay":  {WeightDecay: math.Inf(1)},
		"ValFraction":  {ValFraction: 0.7},
		"Ties":         {Ties: "count"},
	}
	for field, c := range bad {
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	// Every invalid field is reported.
	err := MFConfig{Dim: -1, Ties: "x"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Dim") || !strings.Contains(err.Error(), "Ties") {
		t.Errorf("two bad fields: %v", err)
	}
	if _, _, err := TrainMF(context.Background(), [][]float32{{1}}, []string{"a", "b"}, []Pair{{0, 0, 1, 1}}, nil, MFConfig{Ties: "x"}, Hooks{}); err == nil {
		t.Error("TrainMF accepted an invalid config")
	}
}

func TestTrainMFInputErrors(t *testing.T) {
	emb := [][]float32{{1, 0}, {0, 1}}
	names := []string{"a", "b"}
	nan := float32(math.NaN())
	cases := map[string]struct {
		emb    [][]float32
		names  []string
		pairs  []Pair
		points []Point
	}{
		"no models":     {emb, nil, []Pair{{0, 0, 1, 1}}, nil},
		"dup model":     {emb, []string{"a", "a"}, []Pair{{0, 0, 1, 1}}, nil},
		"no embeddings": {nil, names, []Pair{{0, 0, 1, 1}}, nil},
		"ragged":        {[][]float32{{1, 0}, {1}}, names, []Pair{{0, 0, 1, 1}}, nil},
		"NaN embedding": {[][]float32{{1, nan}}, names, []Pair{{0, 0, 1, 1}}, nil},
		"no examples":   {emb, names, nil, nil},
		"only ties":     {emb, names, []Pair{{0, 0, 1, 0.5}}, nil},
		"prompt range":  {emb, names, []Pair{{2, 0, 1, 1}}, nil},
		"model range":   {emb, names, []Pair{{0, 0, 2, 1}}, nil},
		"self battle":   {emb, names, []Pair{{0, 1, 1, 1}}, nil},
		"outcome":       {emb, names, []Pair{{0, 0, 1, 2}}, nil},
		"NaN outcome":   {emb, names, []Pair{{0, 0, 1, math.NaN()}}, nil},
		"point model":   {emb, names, nil, []Point{{0, -1, 1}}},
		"point prompt":  {emb, names, nil, []Point{{5, 0, 1}}},
		"point score":   {emb, names, nil, []Point{{0, 0, -0.1}}},
	}
	for name, c := range cases {
		if _, _, err := TrainMF(context.Background(), c.emb, c.names, c.pairs, c.points, MFConfig{}, Hooks{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A validation split that takes everything is an error, not a panic.
	if _, _, err := TrainMF(context.Background(), emb, names, []Pair{{0, 0, 1, 1}}, nil, MFConfig{ValFraction: 0.5, Seed: findValSeed(0)}, Hooks{}); err == nil {
		t.Error("empty training split: no error")
	}
}

// findValSeed returns a seed that puts prompt p in a 0.5 validation split.
func findValSeed(p int) uint64 {
	for s := uint64(1); ; s++ {
		if mfHeldOut(s, p, 0.5) {
			return s
		}
	}
}

// TestMFGradient checks the closed-form gradient against central finite
// differences, on battles and outcomes mixed, without noise.
func TestMFGradient(t *testing.T) {
	const nm, d, dim = 4, 6, 5
	r := rand.New(rand.NewPCG(1, 1))
	emb := make([][]float32, 7)
	for i := range emb {
		emb[i] = make([]float32, d)
		for j := range emb[i] {
			emb[i][j] = float32(r.NormFloat64())
		}
	}
	batch := []mfSample{{0, 0, 1, 1}, {1, 2, 3, 0}, {2, 1, 3, 0.5}, {3, 3, 0, 0.8}, {4, 2, -1, 1}, {5, 0, -1, 0}, {6, 3, -1, 0.4}}
	cfg := MFConfig{Dim: dim, Alpha: -1}.Effective()
	tr := newMFTrainer(emb, nm, d, cfg, rand.New(rand.NewPCG(2, 2)))
	for i := range tr.b {
		tr.b[i] = float32(r.NormFloat64())
	}
	tr.lossGrad(batch, false)
	grad := append([]float32(nil), tr.grad...)
	const eps = 1e-2
	worst := 0.0
	for i := range tr.theta {
		x := tr.theta[i]
		tr.theta[i] = x + eps
		lp := tr.lossGrad(batch, false)
		tr.theta[i] = x - eps
		lm := tr.lossGrad(batch, false)
		tr.theta[i] = x
		num := (lp - lm) / (2 * eps * float64(len(batch)))
		if diff := math.Abs(num - float64(grad[i])); diff > 2e-4+1e-2*math.Abs(num) {
			t.Fatalf("parameter %d: analytic gradient %v, numeric %v", i, grad[i], num)
		} else if diff > worst {
			worst = diff
		}
	}
	t.Logf("%d parameters, worst absolute difference %.2g", len(tr.theta), worst)
}
