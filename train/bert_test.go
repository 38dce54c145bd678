package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	gr "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/routekit/routekit/models"
)

// bertTestConfig trains fast on the small test world: a higher learning
// rate than the default, few epochs.
func bertTestConfig(seed uint64) BERTConfig {
	return BERTConfig{Hidden: 64, LearningRate: 3e-3, Epochs: 12, BatchSize: 128, Seed: seed}
}

// TestTrainBERTOutcomes trains the multi-label head on graded answers
// and checks, on held-out prompts, that it beats a constant predictor
// (each model's mean training score) in log-loss, and that routing each
// prompt to the model with the highest score beats routing at random in
// true P(correct). On this world: log-loss about 0.53 against 0.62 and
// P(correct) about 0.78 against 0.52.
func TestTrainBERTOutcomes(t *testing.T) {
	f := mfWorld(t)
	points := f.trainPoints()
	var epochs []EpochStats
	cfg := bertTestConfig(2)
	m, rep, err := TrainBERT(context.Background(), f.emb, f.ds.Models, nil, points, cfg, Hooks{OnEpoch: func(s EpochStats) { epochs = append(epochs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if m.Head != models.MLPMultiLabel || m.Pairwise || len(m.Layers) != 2 || m.Layers[0].Out != 64 {
		t.Fatalf("head %s pairwise %v with %d layers", m.Head, m.Pairwise, len(m.Layers))
	}
	if len(epochs) != rep.Epochs || epochs[0].Epoch != 1 || math.IsNaN(epochs[0].ValLoss) || math.IsNaN(epochs[0].ValAccuracy) {
		t.Fatalf("hooks saw %d epochs (%+v), report %d", len(epochs), epochs[0], rep.Epochs)
	}
	checkBERTBest(t, m, rep, f.emb, nil, points, cfg)
	sc := Evaluate(m, f.ds, f.emb, f.isTest)

	sum := make([]float64, len(f.ds.Models))
	cnt := make([]float64, len(f.ds.Models))
	for _, p := range points {
		sum[p.Model] += p.Score
		cnt[p.Model]++
	}
	var constLoss float64
	n := 0
	for _, p := range f.ds.Points {
		if f.isTest[p.Prompt] {
			q := sum[p.Model] / cnt[p.Model]
			constLoss -= p.Score*math.Log(q) + (1-p.Score)*math.Log(1-q)
			n++
		}
	}
	constLoss /= float64(n)

	var routed, random float64
	prompts := 0
	dst := make([]float64, len(f.ds.Models))
	for p := range f.ds.Prompts {
		if !f.isTest[p] {
			continue
		}
		m.Score(f.emb[p], dst)
		best := 0
		for i := range dst {
			if dst[i] > dst[best] {
				best = i
			}
			random += f.truthStrength(p, i) / float64(len(dst))
		}
		routed += f.truthStrength(p, best)
		prompts++
	}
	routed, random = routed/float64(prompts), random/float64(prompts)
	t.Logf("held-out: log-loss %.4f (constant %.4f), AUC %.4f; routed P(correct) %.4f, random %.4f; %d epochs (best %d), %v",
		sc.LogLoss, constLoss, sc.AUC, routed, random, rep.Epochs, rep.BestEpoch, rep.Duration)
	if sc.LogLoss > constLoss-0.02 {
		t.Errorf("log-loss %.4f does not beat the constant predictor's %.4f by 0.02", sc.LogLoss, constLoss)
	}
	if routed < random+0.05 {
		t.Errorf("routing by the head gets P(correct) %.4f, random %.4f", routed, random)
	}
}

// checkBERTBest recomputes the validation loss of the returned head on
// TrainBERT's validation split and compares it with the report's.
func checkBERTBest(t *testing.T, m *models.MLP, rep *Report, emb [][]float32, pairs []Pair, points []Point, cfg BERTConfig) {
	t.Helper()
	cfg = cfg.Effective()
	bd, err := bertExamples(emb, m.ModelNames, pairs, points, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var val []bertExample
	for _, ex := range bd.examples {
		if mfHeldOut(cfg.Seed, int(ex.prompt), cfg.ValFraction) {
			val = append(val, ex)
		}
	}
	if len(val) != rep.Val {
		t.Fatalf("recomputed %d validation examples, report says %d", len(val), rep.Val)
	}
	if got, _ := bertEvaluate(m, emb, bd, val); math.Abs(got-rep.ValLoss) > 1e-6 {
		t.Fatalf("validation loss of the returned head %.6f, report's best %.6f: best weights not kept", got, rep.ValLoss)
	}
	if rep.BestEpoch < 1 || rep.BestEpoch > rep.Epochs || (rep.Epochs < cfg.Epochs && rep.Epochs-rep.BestEpoch != cfg.Patience) {
		t.Fatalf("report: best epoch %d of %d with patience %d", rep.BestEpoch, rep.Epochs, cfg.Patience)
	}
}

// TestTrainBERTBattles trains on battles only (Bradley–Terry on logit
// differences): the head is pairwise, its logits have mean zero over the
// models, and it predicts held-out winners better than chance and about
// as well as per-model strengths (about 0.70 against 0.675 here).
func TestTrainBERTBattles(t *testing.T) {
	f := mfWorld(t)
	pairs := f.trainPairs()
	cfg := bertTestConfig(3)
	cfg.Epochs, cfg.BatchSize = 4, 256
	m, rep, err := TrainBERT(context.Background(), f.emb, f.ds.Models, pairs, nil, cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Pairwise {
		t.Fatal("battles-only head not marked pairwise")
	}
	z := make([]float64, len(f.ds.Models))
	m.Logits(f.emb[0], z)
	var mean float64
	for _, v := range z {
		mean += v / float64(len(z))
	}
	if math.Abs(mean) > 1e-4 {
		t.Fatalf("logits %v have mean %v, want 0", z, mean)
	}
	sc := Evaluate(m, f.ds, f.emb, f.isTest)
	bt := fitBT(len(f.ds.Models), pairs)
	base, n := f.pairAccuracy(func(_, model int) float64 { return bt[model] })
	t.Logf("held-out decisive battles %d: accuracy %.4f, per-model Bradley–Terry %.4f; %d epochs, %v", n, sc.PairAccuracy, base, rep.Epochs, rep.Duration)
	if sc.PairAccuracy < base-0.02 || sc.PairAccuracy < 0.6 {
		t.Errorf("pair accuracy %.4f, per-model baseline %.4f", sc.PairAccuracy, base)
	}
}

// TestTrainBERT3Way trains RouteLLM's 3-way head on the graded answers
// of two models of the world (the most and the least expensive): scores
// sum to 1 and P(strong wins) ranks the held-out prompts where only the
// strong model answers well above the others (AUC about 0.7 here).
func TestTrainBERT3Way(t *testing.T) {
	f := mfWorld(t)
	strong, weak := 0, 0
	for i, c := range f.ds.Costs {
		if c > f.ds.Costs[strong] {
			strong = i
		}
		if c < f.ds.Costs[weak] {
			weak = i
		}
	}
	names := []string{f.ds.Models[weak], f.ds.Models[strong]}
	remap := map[int]int{weak: 0, strong: 1}
	var points []Point
	score := map[[2]int]float64{}
	for _, p := range f.ds.Points {
		if j, ok := remap[p.Model]; ok {
			score[[2]int{p.Prompt, j}] = p.Score
			if !f.isTest[p.Prompt] {
				points = append(points, Point{Prompt: p.Prompt, Model: j, Score: p.Score})
			}
		}
	}
	cfg := bertTestConfig(4)
	cfg.Head, cfg.Strong = Head3Way, names[1]
	m, rep, err := TrainBERT(context.Background(), f.emb, names, nil, points, cfg, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Head != models.MLP3Way || m.Strong != 1 {
		t.Fatalf("head %s strong %d", m.Head, m.Strong)
	}
	checkBERTBest(t, m, rep, f.emb, nil, points, cfg)
	var ps, ys []float64
	dst := make([]float64, 2)
	for p := range f.ds.Prompts {
		s, ok1 := score[[2]int{p, 1}]
		w, ok2 := score[[2]int{p, 0}]
		if !f.isTest[p] || !ok1 || !ok2 {
			continue
		}
		m.Score(f.emb[p], dst)
		if math.Abs(dst[0]+dst[1]-1) > 1e-9 {
			t.Fatalf("scores %v do not sum to 1", dst)
		}
		y := 0.0
		if s > w {
			y = 1
		}
		ps, ys = append(ps, dst[1]), append(ys, y)
	}
	a := auc(ps, ys)
	t.Logf("held-out prompts %d: AUC of P(strong wins) %.4f, val accuracy %.4f; %d epochs, %v", len(ps), a, rep.ValAccuracy, rep.Epochs, rep.Duration)
	if a < 0.6 {
		t.Errorf("AUC of P(strong wins) %.4f, want >= 0.6", a)
	}

	if _, _, err := TrainBERT(context.Background(), f.emb, f.ds.Models, nil, f.trainPoints(), cfg, Hooks{}); err == nil || !strings.Contains(err.Error(), "exactly 2 models") {
		t.Errorf("3way head on %d models: err = %v", len(f.ds.Models), err)
	}
}

// TestTrainBERTDeterministic trains twice with one seed (with dropout,
// which draws from GoMLX's generator) and once with another.
func TestTrainBERTDeterministic(t *testing.T) {
	f := mfWorld(t)
	points := f.trainPoints()[:4000]
	pairs := f.trainPairs()[:2000]
	run := func(seed uint64) []byte {
		cfg := BERTConfig{Hidden: 16, Epochs: 2, Dropout: 0.1, Seed: seed, Ties: TiesHalf}
		m, _, err := TrainBERT(context.Background(), f.emb, f.ds.Models, pairs, points, cfg, Hooks{})
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

// TestBERTMatchesGoMLX runs the GoMLX graph of the head (the one training
// uses, without dropout) on weights loaded from a trained models.MLP and
// compares its logits with the pure-Go inference.
func TestBERTMatchesGoMLX(t *testing.T) {
	f := mfWorld(t)
	m, _, err := TrainBERT(context.Background(), f.emb, f.ds.Models, nil, f.trainPoints()[:3000],
		BERTConfig{Hidden: 32, Layers: 2, Epochs: 2, Dropout: 0.2}, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	backend, err := backends.NewWithConfig(DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	ctx := mlctx.New()
	for i, l := range m.Layers {
		lc := ctx.In(bertScope(i))
		lc.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(slices.Clone(l.W), l.In, l.Out))
		lc.VariableWithValue("biases", tensors.FromFlatDataAndDimensions(slices.Clone(l.B), l.Out))
	}
	const rows = 50
	d := m.D()
	x := make([]float32, rows*d)
	for i := range rows {
		copy(x[i*d:], f.emb[i*7])
	}
	exec, err := mlctx.NewExec(backend, ctx, func(ctx *mlctx.Context, in *gr.Node) *gr.Node {
		return bertForward(ctx, in, len(m.Layers), 0.2)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, rows, d))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tensors.CopyFlatData[float32](out[0])
	if err != nil {
		t.Fatal(err)
	}
	nm := len(m.ModelNames)
	want := make([]float64, nm)
	var maxErr float64
	for i := range rows {
		m.Logits(f.emb[i*7], want)
		for k := range want {
			maxErr = math.Max(maxErr, math.Abs(float64(got[i*nm+k])-want[k]))
		}
	}
	t.Logf("max abs difference of %d×%d logits: %.2g", rows, nm, maxErr)
	if maxErr > 1e-5 {
		t.Fatalf("pure-Go logits differ from GoMLX's by %g", maxErr)
	}
}

func TestTrainBERTCancel(t *testing.T) {
	f := mfWorld(t)
	points := f.trainPoints()[:3000]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := TrainBERT(ctx, f.emb, f.ds.Models, nil, points, BERTConfig{Hidden: 8}, Hooks{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	epochs := 0
	_, _, err := TrainBERT(ctx, f.emb, f.ds.Models, nil, points, BERTConfig{Hidden: 8, Patience: -1}, Hooks{OnEpoch: func(EpochStats) {
		epochs++
		cancel()
	}})
	if !errors.Is(err, context.Canceled) || epochs != 1 {
		t.Fatalf("cancel during training: err = %v after %d epochs", err, epochs)
	}
}

func TestBERTConfigValidate(t *testing.T) {
	if err := (BERTConfig{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	if got := (BERTConfig{}).Effective(); got != DefaultBERTConfig() {
		t.Fatalf("zero config means %+v, want the default %+v", got, DefaultBERTConfig())
	}
	ok := []BERTConfig{{Layers: -1, WeightDecay: -1, Patience: -1, ValFraction: -1}, {Head: Head3Way, Strong: "x", Dropout: 0.5}}
	for _, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := map[string]BERTConfig{
		"Head":         {Head: "softmax"},
		"Strong":       {Head: Head3Way},
		"Hidden":       {Hidden: -1},
		"Layers":       {Layers: 8},
		"Dropout":      {Dropout: 1},
		"LearningRate": {LearningRate: math.NaN()},
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
}

func TestTrainBERTInputErrors(t *testing.T) {
	emb := [][]float32{{1, 0}, {0, 1}}
	names := []string{"a", "b"}
	nan := float32(math.NaN())
	cases := map[string]struct {
		emb    [][]float32
		names  []string
		pairs  []Pair
		points []Point
		cfg    BERTConfig
	}{
		"no models":      {emb, nil, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{}},
		"dup model":      {emb, []string{"a", "a"}, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{}},
		"no embeddings":  {nil, names, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{}},
		"ragged":         {[][]float32{{1, 0}, {1}}, names, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{}},
		"NaN embedding":  {[][]float32{{1, nan}}, names, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{}},
		"no examples":    {emb, names, nil, nil, BERTConfig{}},
		"only ties":      {emb, names, []Pair{{0, 0, 1, 0.5}}, nil, BERTConfig{}},
		"prompt range":   {emb, names, []Pair{{2, 0, 1, 1}}, nil, BERTConfig{}},
		"self battle":    {emb, names, []Pair{{0, 1, 1, 1}}, nil, BERTConfig{}},
		"NaN outcome":    {emb, names, []Pair{{0, 0, 1, math.NaN()}}, nil, BERTConfig{}},
		"point model":    {emb, names, nil, []Point{{0, -1, 1}}, BERTConfig{}},
		"point score":    {emb, names, nil, []Point{{0, 0, 1.5}}, BERTConfig{}},
		"unknown strong": {emb, names, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{Head: Head3Way, Strong: "c"}},
	}
	for name, c := range cases {
		if _, _, err := TrainBERT(context.Background(), c.emb, c.names, c.pairs, c.points, c.cfg, Hooks{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := TrainBERT(context.Background(), emb, names, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{ValFraction: 0.5, Seed: findValSeed(0)}, Hooks{}); err == nil {
		t.Error("empty training split: no error")
	}
	t.Setenv(BackendEnv, "no-such-backend")
	if _, _, err := TrainBERT(context.Background(), emb, names, []Pair{{0, 0, 1, 1}}, nil, BERTConfig{ValFraction: -1}, Hooks{}); err == nil || !strings.Contains(err.Error(), BackendEnv) {
		t.Errorf("unknown backend: err = %v", err)
	}
}
