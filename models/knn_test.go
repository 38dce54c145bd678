package models

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/data/synth"
	"github.com/routekit/routekit/models/encoder"
)

// knnWorld is a small synthetic world embedded by the built-in encoder,
// split 80/20 by prompt hash: train and test embeddings and score rows.
type knnWorld struct {
	models                []string
	trainEmb, testEmb     [][]float32
	trainScore, testScore [][]float64
}

func newKNNWorld(t testing.TB) *knnWorld {
	t.Helper()
	w, err := synth.Generate(synth.Config{Seed: 2, Models: 6, Prompts: 2500, Battles: 1})
	if err != nil {
		t.Fatal(err)
	}
	models := make([]string, len(w.Models))
	idx := map[string]int{}
	for i, m := range w.Models {
		models[i] = m.Name
		idx[m.Name] = i
	}
	texts := make([]string, len(w.Prompts))
	row := map[string]int{}
	for i, p := range w.Prompts {
		texts[i] = p.Text
		row[p.ID] = i
	}
	enc, err := encoder.FitBuiltin(context.Background(), texts, encoder.BuiltinConfig{Dim: 64})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := enc.Encode(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	scores := make([][]float64, len(texts))
	for i := range scores {
		scores[i] = make([]float64, len(models))
		for m := range scores[i] {
			scores[i][m] = math.NaN()
		}
	}
	for _, o := range w.Outcomes {
		scores[row[o.PromptID]][idx[o.Model]] = o.Score
	}
	kw := &knnWorld{models: models}
	for i, p := range w.Prompts {
		if data.HashUnit(0, p.ID) < 0.8 {
			kw.trainEmb, kw.trainScore = append(kw.trainEmb, emb[i]), append(kw.trainScore, scores[i])
		} else {
			kw.testEmb, kw.testScore = append(kw.testEmb, emb[i]), append(kw.testScore, scores[i])
		}
	}
	return kw
}

// brier is the mean squared error of a scorer's probabilities against
// the recorded scores of held-out prompts.
func brier(s Scorer, emb [][]float32, scores [][]float64) float64 {
	dst := make([]float64, len(s.Models()))
	var sum float64
	n := 0
	for i, e := range emb {
		s.Score(e, dst)
		for m, y := range scores[i] {
			if !math.IsNaN(y) {
				sum += (dst[m] - y) * (dst[m] - y)
				n++
			}
		}
	}
	return sum / float64(n)
}

// priorScorer predicts each model's training mean: the no-query baseline.
type priorScorer struct {
	models []string
	mean   []float64
}

func (p priorScorer) Models() []string                 { return p.models }
func (p priorScorer) Score(_ []float32, dst []float64) { copy(dst, p.mean) }

func TestKNNBeatsModelMeans(t *testing.T) {
	kw := newKNNWorld(t)
	knn, err := NewKNN(kw.models, kw.trainEmb, kw.trainScore, KNNConfig{})
	if err != nil {
		t.Fatal(err)
	}
	prior := priorScorer{kw.models, knn.prior}
	bk, bp := brier(knn, kw.testEmb, kw.testScore), brier(prior, kw.testEmb, kw.testScore)
	t.Logf("held-out Brier: knn %.4f, per-model means %.4f (%d test prompts)", bk, bp, len(kw.testEmb))
	// The prompt text reveals task family and difficulty level, so
	// neighbours must help clearly; 0.01 is well inside the measured gap.
	if bk > bp-0.01 {
		t.Errorf("knn Brier %.4f does not beat the per-model means %.4f", bk, bp)
	}
}

func TestKNNRoundTripAndConcurrency(t *testing.T) {
	kw := newKNNWorld(t)
	knn, err := NewKNN(kw.models, kw.trainEmb[:300], kw.trainScore[:300], KNNConfig{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := knn.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalKNN(b)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(kw.models))
	got := make([]float64, len(kw.models))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := make([]float64, len(kw.models))
			for _, e := range kw.testEmb[:50] {
				back.Score(e, d)
			}
		}()
	}
	for _, e := range kw.testEmb[:50] {
		knn.Score(e, want)
		back.Score(e, got)
		for m := range want {
			if want[m] != got[m] || want[m] < 0 || want[m] > 1 {
				t.Fatalf("after a round trip: %v, before: %v", got, want)
			}
		}
	}
	wg.Wait()
	// Corruption is refused.
	for _, bad := range [][]byte{nil, []byte("RKKN"), b[:len(b)-1], append([]byte("XXXX"), b[4:]...)} {
		if _, err := UnmarshalKNN(bad); err == nil {
			t.Errorf("UnmarshalKNN accepted %d bytes of corrupt input", len(bad))
		}
	}
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/2] ^= 1
	if _, err := UnmarshalKNN(flipped); err == nil {
		t.Error("UnmarshalKNN accepted a flipped bit")
	}
}

func TestKNNErrors(t *testing.T) {
	nan := math.NaN()
	if _, err := NewKNN([]string{"a", "b"}, [][]float32{{1, 0}}, [][]float64{{1, nan}}, KNNConfig{}); err == nil {
		t.Error("a model without scores was accepted")
	}
	if _, err := NewKNN([]string{"a"}, [][]float32{{1, 0}, {1}}, [][]float64{{1}, {0}}, KNNConfig{}); err == nil {
		t.Error("ragged embeddings were accepted")
	}
	if _, err := NewKNN([]string{"a"}, [][]float32{{1, 0}}, [][]float64{{1}}, KNNConfig{K: -1}); err == nil {
		t.Error("K = -1 was accepted")
	}
}

func BenchmarkKNNScore(b *testing.B) {
	kw := newKNNWorld(b)
	knn, err := NewKNN(kw.models, kw.trainEmb, kw.trainScore, KNNConfig{})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float64, len(kw.models))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		knn.Score(kw.testEmb[i%len(kw.testEmb)], dst)
	}
}
