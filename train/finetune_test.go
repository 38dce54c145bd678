package train

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/onnx-gomlx/onnx"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

// tinyBERTDir is the tiny BERT test model of the encoder package.
const tinyBERTDir = "../models/encoder/testdata/tinybert"

// ortLib is the ONNX Runtime library of ROUTEKIT_ORT_LIB, or skips.
func ortLib(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ROUTEKIT_ORT_LIB")
	if p == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set: skipping ONNX fine-tuning tests (run `make test`, which runs `make setup` and sets it)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("ROUTEKIT_ORT_LIB=%s: %v: skipping ONNX fine-tuning tests (run `make setup`)", p, err)
	}
	return p
}

// keywordTask is a two-model task on n prompts made of the tiny model's
// vocabulary: "cheap" answers well unless the prompt holds one of a few
// math keywords, "big" answers well 90% of the time.
func keywordTask(n int, seed uint64) (texts []string, points []Point) {
	r := rand.New(rand.NewPCG(seed, 7))
	filler := strings.Fields("the what how please write explain code python function sort list data model " +
		"question answer story poem email letter news history city country weather hello world about from")
	hard := strings.Fields("prove theorem equation solve calculate")
	for i := range n {
		words := make([]string, 4+r.IntN(8))
		for k := range words {
			words[k] = filler[r.IntN(len(filler))]
		}
		isHard := i%2 == 0
		if isHard {
			words[r.IntN(len(words))] = hard[r.IntN(len(hard))]
		}
		texts = append(texts, strings.Join(words, " "))
		cheap := 1.0
		if isHard {
			cheap = 0
		}
		big := 1.0
		if r.Float64() < 0.1 {
			big = 0
		}
		points = append(points, Point{Prompt: i, Model: 0, Score: cheap}, Point{Prompt: i, Model: 1, Score: big})
	}
	return texts, points
}

// gomlxEmbed runs model bytes through GoMLX as FinetuneBERT does.
func gomlxEmbed(t *testing.T, enc *encoder.ONNX, model []byte, texts []string) [][]float32 {
	t.Helper()
	m, err := onnx.Parse(model)
	if err != nil {
		t.Fatal(err)
	}
	ids, mask, types, err := enc.Tokenize(texts)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := bertBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	ft := &finetuner{enc: enc, model: m, ids: ids, mask: mask, types: types, batch: 16, ctx: mlctx.New()}
	if err := m.VariablesToContext(ft.ctx); err != nil {
		t.Fatal(err)
	}
	if err := ft.newEmbedExec(backend); err != nil {
		t.Fatal(err)
	}
	defer ft.embedExec.Finalize()
	emb, err := ft.embed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return emb
}

func maxAbsDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return d
}

func TestFinetuneBERT(t *testing.T) {
	lib := ortLib(t)
	ctx := context.Background()
	enc, err := encoder.NewONNX(ctx, tinyBERTDir, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	texts, points := keywordTask(200, 1)
	names := []string{"cheap", "big"}
	var epochs []EpochStats
	cfg := FinetuneConfig{Head: BERTConfig{Hidden: 16, Epochs: 40, BatchSize: 32, ValFraction: 0.25, Patience: 10}, Epochs: 4, LearningRate: 3e-3}
	res, err := FinetuneBERT(ctx, enc, tinyBERTDir, texts, names, nil, points, cfg, Hooks{OnEpoch: func(s EpochStats) { epochs = append(epochs, s) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range epochs {
		t.Logf("epoch %d: train %.4f val %.4f acc %.3f (%v)", s.Epoch, s.TrainLoss, s.ValLoss, s.ValAccuracy, s.Elapsed.Round(1e6))
	}
	t.Logf("frozen head: val loss %.4f acc %.3f; fine-tuned: val loss %.4f acc %.3f (best epoch %d)",
		res.HeadReport.ValLoss, res.HeadReport.ValAccuracy, res.Report.ValLoss, res.Report.ValAccuracy, res.Report.BestEpoch)

	// (b) The validation loss is not worse than the frozen head's and the
	// encoder's weights changed.
	if !(res.Report.ValLoss <= res.HeadReport.ValLoss) {
		t.Errorf("fine-tuned val loss %v > frozen head's %v", res.Report.ValLoss, res.HeadReport.ValLoss)
	}
	if res.Report.BestEpoch == 0 {
		t.Errorf("no fine-tuning epoch improved on the frozen head (val loss %v)", res.HeadReport.ValLoss)
	}
	orig, err := os.ReadFile(filepath.Join(tinyBERTDir, encoder.ONNXModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(orig, res.Files[encoder.ONNXModelFile]) {
		t.Fatal("model.onnx is unchanged")
	}

	// (a) ONNX Runtime on the written model equals GoMLX's forward pass.
	dir := t.TempDir()
	for name, b := range res.Files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tuned, err := encoder.NewONNX(ctx, dir, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tuned.Close()
	ortEmb, err := tuned.Encode(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	gEmb := gomlxEmbed(t, tuned, res.Files[encoder.ONNXModelFile], texts)
	if d := maxAbsDiff(ortEmb, gEmb); d > 1e-4 {
		t.Errorf("ONNX Runtime and GoMLX embeddings of the fine-tuned model differ by %g", d)
	} else {
		t.Logf("ONNX Runtime and GoMLX embeddings of the fine-tuned model differ by at most %.2g", d)
	}
	origEmb, err := enc.Encode(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(origEmb, ortEmb); d < 1e-3 {
		t.Errorf("fine-tuning moved the embeddings by only %g", d)
	}

	// (c) An artifact holding the fine-tuned encoder loads and routes.
	// Lambda 40 charges big 0.4 more than cheap: with big's P(good) near
	// 0.9, a prompt goes to big when cheap's P(good) is below about 0.5.
	sb, err := res.Head.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := artifact.Manifest{Router: "bert", Created: time.Now().UTC(),
		Models:  []artifact.Model{{Name: "cheap", Cost: 0.0001}, {Name: "big", Cost: 0.01}},
		Encoder: tuned.Identity(), ScorerBlob: "scorer.bin", Policy: models.Policy{Kind: models.PolicyUtility, Lambda: 40}}
	blobs := map[string][]byte{"scorer.bin": sb}
	if err := artifact.AddEncoderFiles(&m, blobs, res.Files); err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(t.TempDir(), "art")
	if err := artifact.Write(art, m, blobs); err != nil {
		t.Fatal(err)
	}
	l, err := artifact.Load(ctx, art, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := l.Encoder.(interface{ Close() error }); ok {
		defer c.Close()
	}
	right := 0
	probs := make([]float64, 2)
	for i, text := range texts {
		d, err := l.Route(ctx, text, models.Request{})
		if err != nil {
			t.Fatal(err)
		}
		res.Head.Score(ortEmb[i], probs)
		if math.Abs(d.Scores["cheap"]-probs[0]) > 1e-5 || math.Abs(d.Scores["big"]-probs[1]) > 1e-5 {
			t.Fatalf("prompt %d: routed scores %v, the head on the fine-tuned embedding gives %v", i, d.Scores, probs)
		}
		if (d.Model == "big") == (points[2*i].Score == 0) {
			right++
		}
	}
	t.Logf("the artifact routes %d/%d prompts to the right model", right, len(texts))
	if right < len(texts)*3/4 {
		t.Errorf("the artifact routes only %d/%d prompts to the right model", right, len(texts))
	}
}

// BenchmarkFinetuneStep measures one fine-tuning step (forward and
// backward through encoder and head, Adam update) on 16 prompts of 32
// tokens, with the tiny test model or the model directory named by
// ROUTEKIT_FINETUNE_BENCH_MODEL (e.g. a MiniLM-shaped model written by
// scripts/gen_tinybert.py with D, NH, F, L = 384, 12, 1536, 6).
func BenchmarkFinetuneStep(b *testing.B) {
	lib := ortLib(b)
	dir := tinyBERTDir
	if d := os.Getenv("ROUTEKIT_FINETUNE_BENCH_MODEL"); d != "" {
		dir = d
	}
	ctx := context.Background()
	enc, err := encoder.NewONNX(ctx, dir, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	const batch = 16
	texts, points := keywordTask(batch, 2)
	for i := range texts { // 30 words: 32 tokens with [CLS] and [SEP]
		w := strings.Fields(texts[i])
		for len(w) < 30 {
			w = append(w, "the")
		}
		texts[i] = strings.Join(w[:30], " ")
	}
	files, err := finetuneReadDir(enc, dir)
	if err != nil {
		b.Fatal(err)
	}
	m, err := onnx.Parse(files[encoder.ONNXModelFile])
	if err != nil {
		b.Fatal(err)
	}
	ids, mask, types, err := enc.Tokenize(texts)
	if err != nil {
		b.Fatal(err)
	}
	backend, err := bertBackend()
	if err != nil {
		b.Fatal(err)
	}
	defer backend.Finalize()
	ft := &finetuner{enc: enc, model: m, ids: ids, mask: mask, types: types, batch: batch, ctx: mlctx.New()}
	if err := m.VariablesToContext(ft.ctx); err != nil {
		b.Fatal(err)
	}
	d := enc.Dim()
	emb := make([][]float32, batch)
	for i := range emb {
		emb[i] = make([]float32, d)
	}
	names := []string{"cheap", "big"}
	w := make([]float32, d*2)
	for i := range w {
		w[i] = 0.01 * float32(i%7-3)
	}
	head, err := models.NewMLP(names, HeadMultiLabel, 0, false, []models.MLPLayer{{In: d, Out: 2, W: w, B: make([]float32, 2)}})
	if err != nil {
		b.Fatal(err)
	}
	hc := BERTConfig{}.Effective()
	bd, err := bertExamples(emb, names, nil, points, hc)
	if err != nil {
		b.Fatal(err)
	}
	trainer, lt, err := ft.newTrainer(backend, head, emb, bd, hc, batch, 1e-4)
	if err != nil {
		b.Fatal(err)
	}
	lt.fill(bd.examples)
	if _, err := ft.step(trainer, bd.examples, lt); err != nil { // compiles
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := ft.step(trainer, bd.examples, lt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
}
