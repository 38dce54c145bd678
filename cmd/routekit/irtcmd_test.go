package main

import (
	"context"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

// writeOutcomes writes outcomes to a new file.
func writeOutcomes(t *testing.T, path string, recs []data.Outcome) {
	t.Helper()
	w, err := data.Create(path, "", data.KindOutcome)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.WriteOutcome(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIRTAddModel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "8", "--models", "6", "--prompts", "800", "--battles", "0", "--out-dir", world)
	all, _, err := data.ReadFiles(ctx, []string{filepath.Join(world, "outcomes.parquet")}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	seen := map[string]bool{}
	for _, o := range all.Outcomes {
		if !seen[o.Model] {
			seen[o.Model] = true
			names = append(names, o.Model)
		}
	}
	if len(names) != 6 {
		t.Fatalf("%d models in the world", len(names))
	}
	// Hold out a middling model (by mean score), not an easy extreme.
	mean := map[string]float64{}
	for _, o := range all.Outcomes {
		mean[o.Model] += o.Score
	}
	sort.Slice(names, func(i, j int) bool { return mean[names[i]] < mean[names[j]] })
	held := names[2]
	var others, heldAns []data.Outcome
	for _, o := range all.Outcomes {
		if o.Model == held {
			heldAns = append(heldAns, o)
		} else {
			others = append(others, o)
		}
	}
	// 100 answers of the held-out model, spread over the prompts.
	var answers []data.Outcome
	for i := 0; i < len(heldAns) && len(answers) < 100; i += len(heldAns) / 100 {
		answers = append(answers, heldAns[i])
	}
	train5 := filepath.Join(dir, "others.parquet")
	writeOutcomes(t, train5, others)
	ansFile := filepath.Join(dir, "answers.jsonl")
	writeOutcomes(t, ansFile, answers)
	fewFile := filepath.Join(dir, "few.jsonl")
	writeOutcomes(t, fewFile, answers[:40])

	art := filepath.Join(dir, "irt5")
	mustRun(t, "train", "--router", "irt", "--data", train5, "--dim", "32", "--out", art)
	out := filepath.Join(dir, "irt6")
	got := mustRun(t, "irt", "add-model", "--artifact", art, "--answers", ansFile, "--model", held, "--cost", "0.002", "--out", out)
	if !strings.Contains(got, "from 100 answers") || !strings.Contains(got, "wrote "+out) {
		t.Errorf("add-model output %q", got)
	}
	l, err := artifact.Load(ctx, out, encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m := l.Manifest
	if len(m.Models) != 6 || m.Models[5].Name != held || m.Models[5].Cost != 0.002 || len(l.Router.Scorer.Models()) != 6 {
		t.Fatalf("new artifact models %+v", m.Models)
	}
	orig, _, err := artifact.Read(art)
	if err != nil {
		t.Fatal(err)
	}
	if m.Policy != orig.Policy || len(orig.Models) != 5 {
		t.Errorf("policy %+v, the original's %+v; original models %d", m.Policy, orig.Policy, len(orig.Models))
	}
	texts := make([]string, len(answers))
	emp := 0.0
	for i, a := range answers {
		texts[i], emp = a.Prompt, emp+a.Score
	}
	emp /= float64(len(answers))
	emb, err := l.Encoder.Encode(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	pred := 0.0
	buf := make([]float64, 6)
	for _, v := range emb {
		l.Router.Scorer.Score(v, buf)
		pred += buf[5]
	}
	pred /= float64(len(emb))
	if math.Abs(pred-emp) > 0.1 {
		t.Errorf("%s: mean predicted P %.3f, mean score %.3f", held, pred, emp)
	}
	// On all its prompts, answered or not, the prediction holds too.
	allTexts := make([]string, len(heldAns))
	empAll := 0.0
	for i, a := range heldAns {
		allTexts[i], empAll = a.Prompt, empAll+a.Score/float64(len(heldAns))
	}
	embAll, err := l.Encoder.Encode(ctx, allTexts)
	if err != nil {
		t.Fatal(err)
	}
	predAll := 0.0
	for _, v := range embAll {
		l.Router.Scorer.Score(v, buf)
		predAll += buf[5] / float64(len(embAll))
	}
	if math.Abs(predAll-empAll) > 0.1 {
		t.Errorf("%s on all %d prompts: mean predicted P %.3f, mean score %.3f", held, len(heldAns), predAll, empAll)
	}
	// The new artifact routes with its (unchanged) policy.
	if _, err := l.Route(ctx, texts[0], models.Request{}); err != nil {
		t.Errorf("routing to the new model: %v", err)
	}

	// Too few answers, an existing model, a non-IRT artifact, no cost.
	if code, _, errs := runCLI(t, "irt", "add-model", "--artifact", art, "--answers", fewFile, "--model", held, "--cost", "0.002", "--out", filepath.Join(dir, "x")); code == exitOK || !strings.Contains(errs, "at least 50") {
		t.Errorf("40 answers: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "irt", "add-model", "--artifact", out, "--answers", ansFile, "--model", held, "--cost", "0.002", "--out", filepath.Join(dir, "x")); code == exitOK || !strings.Contains(errs, "already") {
		t.Errorf("adding a present model: exit %d %q", code, errs)
	}
	knn := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", train5, "--dim", "32", "--out", knn)
	if code, _, errs := runCLI(t, "irt", "add-model", "--artifact", knn, "--answers", ansFile, "--model", held, "--cost", "0.002", "--out", filepath.Join(dir, "x")); code == exitOK || !strings.Contains(errs, "needs an irt router") {
		t.Errorf("knn artifact: exit %d %q", code, errs)
	}
	// The synthetic answers carry costs: without --cost their mean is used;
	// the catalog prices the model too.
	mustRun(t, "irt", "add-model", "--artifact", art, "--answers", ansFile, "--model", held, "--catalog", filepath.Join(world, "catalog.yaml"), "--out", filepath.Join(dir, "cat"))
	if cm, _, err := artifact.Read(filepath.Join(dir, "cat")); err != nil || cm.Models[5].Cost <= 0 {
		t.Errorf("cost from the catalog: %v", err)
	}
	mustRun(t, "irt", "add-model", "--artifact", art, "--answers", ansFile, "--model", held, "--out", filepath.Join(dir, "rec"))
	want := 0.0
	for _, a := range answers {
		want += a.Cost / float64(len(answers))
	}
	if cm, _, err := artifact.Read(filepath.Join(dir, "rec")); err != nil || math.Abs(cm.Models[5].Cost-want) > 1e-12 {
		t.Errorf("cost from the answers: %v, want %v", err, want)
	}
	t.Log(got)

}
