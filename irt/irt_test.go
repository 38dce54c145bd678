package irt

import (
	"context"
	"encoding/binary"
	"errors"
	"github.com/routekit/routekit/internal/sharedtest"
	"hash/crc32"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// isTest holds out every fifth prompt from all fits of the tests.
func isTest(prompt int) bool { return prompt%5 == 0 }

func splitResp(resp []Response) (train, test []Response) {
	for _, r := range resp {
		if isTest(r.Prompt) {
			test = append(test, r)
		} else {
			train = append(train, r)
		}
	}
	return train, test
}

var (
	fitOnce sync.Once
	fitP    *Params
	fitRep  *FitReport
	fitErr  error
)

// getFit returns the default fit of the shared world's training prompts.
func getFit(t testing.TB) (*testWorld, *Params, *FitReport) {
	t.Helper()
	tw := getWorld(t)
	fitOnce.Do(func() {
		train, _ := splitResp(tw.resp)
		fitP, fitRep, fitErr = Fit(context.Background(), tw.emb, tw.models, train, Config{}, nil)
	})
	if fitErr != nil {
		t.Fatal(fitErr)
	}
	return tw, fitP, fitRep
}

// meanProbs returns each model's mean predicted probability over the
// prompts for which keep is true.
func meanProbs(p *Params, emb [][]float32, keep func(int) bool) []float64 {
	out := make([]float64, len(p.Models))
	dst := make([]float64, len(p.Models))
	n := 0.0
	for q, e := range emb {
		if !keep(q) {
			continue
		}
		p.Probs(e, dst)
		for m, v := range dst {
			out[m] += v
		}
		n++
	}
	for m := range out {
		out[m] /= n
	}
	return out
}

func TestRecovery(t *testing.T) {
	tw, p, rep := getFit(t)
	t.Logf("fit: %+v", *rep)
	if rep.ValAUC < 0.75 || rep.ValAccuracy < 0.7 {
		t.Errorf("validation AUC %.3f, accuracy %.3f: want at least 0.75, 0.7", rep.ValAUC, rep.ValAccuracy)
	}
	// Overall ability: mean P over all prompts.
	all := func(int) bool { return true }
	ab := meanProbs(p, tw.emb, all)
	truth := make([]float64, len(tw.models))
	for m := range truth {
		truth[m] = tw.w.Truth.Models[m].Ability
	}
	rho := sharedtest.Spearman(ab, truth)
	// Difficulty on held-out prompts.
	var fd, td []float64
	for q, e := range tw.emb {
		if isTest(q) {
			fd = append(fd, p.Difficulty(e))
			td = append(td, tw.diff[q])
		}
	}
	r := sharedtest.Pearson(fd, td)
	// Held-out log-loss against the per-model mean and the truth.
	train, test := splitResp(tw.resp)
	sum := make([]float64, len(tw.models))
	cnt := make([]float64, len(tw.models))
	for _, x := range train {
		sum[x.Model] += x.Score
		cnt[x.Model]++
	}
	var ll, base, oracle float64
	for _, x := range test {
		ll += logLoss(p.Prob(x.Model, tw.emb[x.Prompt]), x.Score)
		base += logLoss(sum[x.Model]/cnt[x.Model], x.Score)
		pc, _ := tw.w.Truth.PCorrect(tw.models[x.Model], tw.w.Prompts[x.Prompt].ID)
		oracle += logLoss(pc, x.Score)
	}
	n := float64(len(test))
	ll, base, oracle = ll/n, base/n, oracle/n
	t.Logf("Spearman(ability) %.3f, Pearson(difficulty, held out) %.3f, held-out log-loss %.4f (per-model mean %.4f, truth %.4f)", rho, r, ll, base, oracle)
	if rho < 0.9 {
		t.Errorf("Spearman of overall ability with the truth %.3f, want >= 0.9", rho)
	}
	if r < 0.6 {
		t.Errorf("Pearson of fitted and true difficulty on held-out prompts %.3f, want >= 0.6", r)
	}
	if ll > base-0.05 {
		t.Errorf("held-out log-loss %.4f, want at least 0.05 below the per-model-mean baseline %.4f", ll, base)
	}
}

func TestAddModel(t *testing.T) {
	tw := getWorld(t)
	M := len(tw.models)
	// Hold out the model of median true ability.
	byAbility := make([]int, M)
	for i := range byAbility {
		byAbility[i] = i
	}
	sort.Slice(byAbility, func(a, b int) bool {
		return tw.w.Truth.Models[byAbility[a]].Ability < tw.w.Truth.Models[byAbility[b]].Ability
	})
	out := byAbility[M/2]
	var models []string
	remap := make([]int, M)
	for m := range tw.models {
		remap[m] = -1
		if m != out {
			remap[m] = len(models)
			models = append(models, tw.models[m])
		}
	}
	var train, newResp []Response
	testSum, testN := 0.0, 0.0
	for _, r := range tw.resp {
		switch {
		case r.Model == out && isTest(r.Prompt):
			testSum += r.Score
			testN++
		case r.Model == out:
			newResp = append(newResp, r)
		case !isTest(r.Prompt):
			train = append(train, Response{Prompt: r.Prompt, Model: remap[r.Model], Score: r.Score})
		}
	}
	p, _, err := Fit(context.Background(), tw.emb, models, train, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 100 answers on training prompts, spread over the prompt range.
	var sample []Response
	for i := 0; i < 100; i++ {
		sample = append(sample, newResp[i*len(newResp)/100])
	}
	if _, _, err := FitAbility(context.Background(), p, tw.emb, sample[:MinAbilityResponses-1], AbilityConfig{}); err == nil {
		t.Errorf("FitAbility with %d responses: no error", MinAbilityResponses-1)
	}
	theta, arep, err := FitAbility(context.Background(), p, tw.emb, sample, AbilityConfig{})
	if err != nil {
		t.Fatal(err)
	}
	name := tw.models[out]
	q, err := p.AddModel(name, theta)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Models) != M-1 || len(p.Theta) != M-1 {
		t.Fatal("AddModel modified its receiver")
	}
	if _, err := q.AddModel(name, theta); err == nil {
		t.Error("AddModel with a duplicate name: no error")
	}
	if _, err := q.AddModel("x", theta[:1]); err == nil {
		t.Error("AddModel with a short theta: no error")
	}
	// Predicted mean P on the held-out prompts against the empirical mean.
	pred := meanProbs(q, tw.emb, isTest)
	got, want := pred[M-1], testSum/testN
	// Rank of the new model among all by predicted mean P, against the
	// true rank (M/2).
	rank := 0
	for m := 0; m < M-1; m++ {
		if pred[m] < got {
			rank++
		}
	}
	t.Logf("new model %s: theta %.2f ± %.2f (%d Newton iterations), predicted held-out mean P %.3f, empirical %.3f, rank %d (true %d)",
		name, theta, arep.StdErr, arep.Iterations, got, want, rank, M/2)
	if math.Abs(got-want) > 0.05 {
		t.Errorf("new model's predicted held-out mean P %.3f, empirical %.3f: want within 0.05", got, want)
	}
	if d := rank - M/2; d < -2 || d > 2 {
		t.Errorf("new model's rank %d, true rank %d: want within ±2", rank, M/2)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	tw, p, _ := getFit(t)
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q Params
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, &q) {
		t.Fatal("round trip changed the parameters")
	}
	d1 := make([]float64, len(p.Models))
	d2 := make([]float64, len(p.Models))
	for _, e := range tw.emb[:200] {
		p.Probs(e, d1)
		q.Probs(e, d2)
		for m := range d1 {
			if math.Float64bits(d1[m]) != math.Float64bits(d2[m]) {
				t.Fatalf("Probs differ after the round trip: %v != %v", d1[m], d2[m])
			}
		}
	}
	// Corrupt inputs.
	withCRC := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
		return b
	}
	badVersion := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(badVersion[4:], 99)
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/2] ^= 0x10
	nan := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(nan[len(nan)-12:], math.Float64bits(math.NaN()))
	bigM := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(bigM[8:], 1<<30)
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"empty":     {nil, "too short"},
		"truncated": {b[:len(b)-9], "checksum"},
		"magic":     {append([]byte("XKIR"), b[4:]...), "magic"},
		"version":   {badVersion, "version 99"},
		"flipped":   {flipped, "checksum"},
		"nan":       {withCRC(nan), "finite"},
		"models":    {withCRC(bigM), "models"},
		"extra":     {withCRC(append(append([]byte(nil), b...), 0, 0, 0, 0, 0, 0, 0, 0)), "bytes of values"},
	}
	for name, c := range cases {
		var r Params
		err := r.UnmarshalBinary(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if name != "version" && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v does not wrap ErrCorrupt", name, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("Config{}: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig(): %v", err)
	}
	bad := []Config{
		{Dims: -1}, {Dims: MaxDims + 1}, {L2: -1}, {L2: math.NaN()}, {L2Theta: math.Inf(1)},
		{MaxIter: -3}, {ValFraction: 0.7}, {ValFraction: -0.1}, {Patience: -1},
		{Optimizer: "sgd"}, {LearningRate: -1}, {BatchPrompts: -1}, {Workers: -2},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
		if _, _, err := Fit(context.Background(), [][]float32{{1}}, []string{"m"}, []Response{{0, 0, 1}}, c, nil); err == nil {
			t.Errorf("Fit with %+v: no error", c)
		}
	}
	err := Config{Dims: -1, L2: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Dims") || !strings.Contains(err.Error(), "L2") {
		t.Errorf("Validate reports %v, want both Dims and L2", err)
	}
}

func TestFitInputErrors(t *testing.T) {
	emb := [][]float32{{1, 0}, {0, 1}, {0.6, 0.8}}
	ms := []string{"a", "b"}
	ok := []Response{{0, 0, 1}, {0, 1, 0}, {1, 0, 0.5}, {2, 1, 1}}
	if _, _, err := Fit(context.Background(), emb, ms, ok, Config{NoValidation: true}, nil); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	cases := map[string]struct {
		emb    [][]float32
		models []string
		resp   []Response
	}{
		"no models":    {emb, nil, ok},
		"dup models":   {emb, []string{"a", "a"}, ok},
		"no responses": {emb, ms, nil},
		"prompt range": {emb, ms, []Response{{3, 0, 1}}},
		"model range":  {emb, ms, []Response{{0, 2, 1}}},
		"score":        {emb, ms, []Response{{0, 0, 1.5}}},
		"nan score":    {emb, ms, []Response{{0, 0, math.NaN()}}},
		"dims":         {[][]float32{{1, 0}, {1}}, ms, []Response{{0, 0, 1}, {1, 0, 1}}},
		"nan emb":      {[][]float32{{float32(math.NaN()), 0}}, ms, []Response{{0, 0, 1}}},
	}
	for name, c := range cases {
		if _, _, err := Fit(context.Background(), c.emb, c.models, c.resp, Config{NoValidation: true}, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// smallResp returns the responses of the first n prompts of the world.
func smallResp(tw *testWorld, n int) []Response {
	var out []Response
	for _, r := range tw.resp {
		if r.Prompt < n {
			out = append(out, r)
		}
	}
	return out
}

func TestFitCancel(t *testing.T) {
	tw := getWorld(t)
	resp := smallResp(tw, 600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Fit(ctx, tw.emb, tw.models, resp, Config{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a cancelled context: %v, want context.Canceled", err)
	}
	for _, opt := range []Optimizer{LBFGS, Adam} {
		ctx, cancel = context.WithCancel(context.Background())
		_, _, err := Fit(ctx, tw.emb, tw.models, resp, Config{Optimizer: opt}, func(fp FitProgress) {
			if fp.Iter == 3 {
				cancel()
			}
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Fit cancelled during fitting: %v, want context.Canceled", opt, err)
		}
	}
	_, p, _ := getFit(t)
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, _, err := FitAbility(ctx, p, tw.emb, resp[:100], AbilityConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("FitAbility with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestDeterminism(t *testing.T) {
	tw := getWorld(t)
	resp := smallResp(tw, 800)
	for _, opt := range []Optimizer{LBFGS, Adam} {
		fit := func(seed uint64, workers int) *Params {
			p, _, err := Fit(context.Background(), tw.emb, tw.models, resp, Config{Seed: seed, Workers: workers, Optimizer: opt, MaxIter: 40}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		a, b, c := fit(7, 1), fit(7, 3), fit(8, 2)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: equal seeds, different workers: different parameters", opt)
		}
		if reflect.DeepEqual(a, c) {
			t.Errorf("%s: different seeds: equal parameters", opt)
		}
	}
}

func TestProbsConsistent(t *testing.T) {
	tw, p, _ := getFit(t)
	e := tw.emb[1]
	a, b := p.Item(e)
	if b != p.Difficulty(e) {
		t.Errorf("Item difficulty %v != Difficulty %v", b, p.Difficulty(e))
	}
	dst := make([]float64, len(p.Models))
	p.Probs(e, dst)
	for m := range dst {
		th := p.Ability(m)
		z := -b
		for j := range a {
			if a[j] <= 0 {
				t.Fatalf("discrimination %v not positive", a[j])
			}
			z += a[j] * th[j]
		}
		want := 1 / (1 + math.Exp(-z))
		if math.Abs(dst[m]-want) > 1e-12 || dst[m] != p.Prob(m, e) {
			t.Errorf("model %d: Probs %v, Prob %v, by hand %v", m, dst[m], p.Prob(m, e), want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { p.Probs(e, dst) }); n != 0 {
		t.Errorf("Probs allocates %v times", n)
	}
}

// TestGradient checks the analytic gradient against central differences.
func TestGradient(t *testing.T) {
	tw := getWorld(t)
	resp := smallResp(tw, 30)
	emb := make([][]float32, 30)
	for i := range emb {
		emb[i] = tw.emb[i][:16]
	}
	cfg := Config{Dims: 3, NoValidation: true, L2: 0.01, L2Theta: 0.02}.Effective()
	ds, err := buildDataset(emb, tw.models, resp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(len(tw.models), 3, 16)
	obj := newObjective(l, ds, cfg.L2, cfg.L2Theta, 2)
	x := initParams(l, ds, 3)
	for i := range x {
		x[i] += 0.3 * math.Sin(float64(i))
	}
	g := make([]float64, len(x))
	obj.eval(x, g, ds.train, ds.nTrain)
	scratch := make([]float64, len(x))
	for i := 0; i < len(x); i += 7 {
		const h = 1e-5
		copy(scratch, x)
		scratch[i] += h
		fp := obj.eval(scratch, make([]float64, len(x)), ds.train, ds.nTrain)
		scratch[i] -= 2 * h
		fm := obj.eval(scratch, make([]float64, len(x)), ds.train, ds.nTrain)
		num := (fp - fm) / (2 * h)
		if math.Abs(num-g[i]) > 1e-6*math.Max(1, math.Abs(num)) {
			t.Errorf("gradient[%d] = %v, numerical %v", i, g[i], num)
		}
	}
}

// TestSelection checks that the default fit selects K and the penalties
// on the validation split, and that fixed fields are respected.
func TestSelection(t *testing.T) {
	tw, p, rep := getFit(t)
	if rep.Candidates != len(SelectDims)*len(SelectPriorPrecisions) {
		t.Errorf("default fit: %d candidates, want %d", rep.Candidates, len(SelectDims)*len(SelectPriorPrecisions))
	}
	if p.K != rep.Dims || !slices.Contains(SelectDims, p.K) {
		t.Errorf("default fit: K = %d (report %d), want one of %v", p.K, rep.Dims, SelectDims)
	}
	n := float64(rep.TrainResponses)
	if !slices.ContainsFunc(SelectPriorPrecisions, func(l float64) bool { return math.Abs(l/n-rep.L2) <= 1e-12*l/n }) ||
		math.Abs(rep.L2Theta-AbilityPriorPrecision/n) > 1e-12/n {
		t.Errorf("default fit: L2 = %v, L2Theta = %v, want λ/%v", rep.L2, rep.L2Theta, n)
	}
	train, _ := splitResp(tw.resp)
	_, rep2, err := Fit(context.Background(), tw.emb, tw.models, train, Config{Dims: 2, L2: 1e-3, MaxIter: 30}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Candidates != 1 || rep2.Dims != 2 || rep2.L2 != 1e-3 || rep2.L2Theta != DefaultL2Theta {
		t.Errorf("fixed config: %+v", *rep2)
	}
}
