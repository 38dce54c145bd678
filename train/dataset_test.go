package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/data/synth"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

func smallWorld(t testing.TB) (*synth.World, *Dataset) {
	t.Helper()
	w, err := synth.Generate(synth.Config{Seed: 4, Models: 5, Prompts: 1500, Battles: 3000})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder()
	for i := range w.Outcomes {
		b.AddOutcome(&w.Outcomes[i])
	}
	for i := range w.Battles {
		b.AddBattle(&w.Battles[i])
	}
	ds, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return w, ds
}

func TestBuilder(t *testing.T) {
	w, ds := smallWorld(t)
	if len(ds.Models) != 5 || len(ds.Prompts) != 1500 || len(ds.Points) != len(w.Outcomes) || len(ds.Pairs) != len(w.Battles) {
		t.Fatalf("dataset: %d models, %d prompts, %d points, %d pairs", len(ds.Models), len(ds.Prompts), len(ds.Points), len(ds.Pairs))
	}
	for i := 1; i < len(ds.Models); i++ {
		if ds.Models[i-1] >= ds.Models[i] {
			t.Fatalf("models not sorted: %v", ds.Models)
		}
	}
	// Costs are the recorded means, and remapped indices keep each
	// point's model.
	want := map[string][2]float64{}
	for _, o := range w.Outcomes {
		c := want[o.Model]
		want[o.Model] = [2]float64{c[0] + o.Cost, c[1] + 1}
	}
	for i, m := range ds.Models {
		if got, exp := ds.Costs[i], want[m][0]/want[m][1]; math.Abs(got-exp) > 1e-12 {
			t.Errorf("cost of %s = %v, want %v", m, got, exp)
		}
	}
	for i, pt := range ds.Points[:100] {
		if ds.Models[pt.Model] != w.Outcomes[i].Model || ds.Prompts[pt.Prompt] != w.Outcomes[i].PromptID {
			t.Fatalf("point %d maps to %s/%s, want %s/%s", i, ds.Models[pt.Model], ds.Prompts[pt.Prompt], w.Outcomes[i].Model, w.Outcomes[i].PromptID)
		}
	}
}

func TestBuilderNeedsPrices(t *testing.T) {
	b := NewBuilder()
	for _, m := range []string{"a", "b"} {
		b.AddOutcome(&data.Outcome{PromptID: "p", Prompt: "hi", Model: m, Score: 1})
	}
	if _, err := b.Build(nil); err == nil || !strings.Contains(err.Error(), "no cost") {
		t.Errorf("Build without prices: %v", err)
	}
	price := 0.5
	cat, err := data.NewCatalog([]data.ModelInfo{{Name: "a", CostPerQuery: &price}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(cat); err == nil || !strings.Contains(err.Error(), `"b"`) && !strings.Contains(err.Error(), "model b") {
		t.Errorf("Build with b unpriced: %v", err)
	}
	cat, _ = data.NewCatalog([]data.ModelInfo{{Name: "a", CostPerQuery: &price}, {Name: "b", CostPerQuery: &price}})
	ds, err := b.Build(cat)
	if err != nil || ds.Costs[0] != 0.5 {
		t.Errorf("Build with prices: %v, %v", ds, err)
	}
	one := NewBuilder()
	one.AddOutcome(&data.Outcome{PromptID: "p", Prompt: "hi", Model: "a", Score: 1, Cost: 1, HasCost: true})
	if _, err := one.Build(nil); err == nil {
		t.Error("a one-model dataset was accepted")
	}
}

func TestAUC(t *testing.T) {
	// Perfect ranking, reversed ranking, all tied, and a hand-computed mix:
	// positives at 0.8 and 0.4, negatives at 0.6 and 0.2: pairs (0.8>0.6,
	// 0.8>0.2, 0.4<0.6, 0.4>0.2) give 3/4.
	for _, c := range []struct {
		p, y []float64
		want float64
	}{
		{[]float64{0.1, 0.2, 0.8, 0.9}, []float64{0, 0, 1, 1}, 1},
		{[]float64{0.9, 0.8, 0.2, 0.1}, []float64{0, 0, 1, 1}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []float64{0, 1, 0, 1}, 0.5},
		{[]float64{0.8, 0.6, 0.4, 0.2}, []float64{1, 0, 1, 0}, 0.75},
	} {
		if got := auc(c.p, c.y); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("auc(%v, %v) = %v, want %v", c.p, c.y, got, c.want)
		}
	}
}

func TestKNNTrainsAndEvaluates(t *testing.T) {
	_, ds := smallWorld(t)
	enc, err := encoder.FitBuiltin(context.Background(), ds.Texts, encoder.BuiltinConfig{Dim: 64})
	if err != nil {
		t.Fatal(err)
	}
	emb, _, err := ds.Embed(context.Background(), enc, nil, encoder.EmbedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	isVal := ds.SplitPrompts(0.2, 1)
	use := make([]bool, len(isVal))
	for i := range use {
		use[i] = !isVal[i]
	}
	k, err := TrainKNN(ds, emb, use, models.KNNConfig{})
	if err != nil {
		t.Fatal(err)
	}
	sc := Evaluate(k, ds, emb, isVal)
	t.Logf("knn validation: %+v", sc)
	// Text reveals family and level, so neighbours rank answers well
	// above chance; pairwise, the winner of a decisive battle is the
	// model with the higher neighbour score more often than not.
	if sc.Points == 0 || sc.AUC < 0.7 || sc.Pairs == 0 || sc.PairAccuracy < 0.55 {
		t.Errorf("knn validation scores too low: %+v", sc)
	}
	prompts, scores := PointScores(ds, use)
	if len(prompts) != countFalse(isVal) || len(scores[0]) != len(ds.Models) {
		t.Errorf("PointScores: %d prompts, want %d", len(prompts), countFalse(isVal))
	}
}

func countFalse(m []bool) int {
	n := 0
	for _, v := range m {
		if !v {
			n++
		}
	}
	return n
}
