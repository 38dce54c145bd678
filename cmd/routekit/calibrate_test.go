package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

// distinctPrompts returns the distinct prompt texts of a data file.
func distinctPrompts(t *testing.T, file string) []string {
	t.Helper()
	ds, _, err := data.ReadFiles(context.Background(), []string{file}, data.Options{Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var texts []string
	for _, o := range ds.Outcomes {
		if !seen[o.PromptID] {
			seen[o.PromptID] = true
			texts = append(texts, o.Prompt)
		}
	}
	return texts
}

// routeAll routes every prompt with an artifact's own policy and returns
// the chosen model indices and the score rows.
func routeAll(t *testing.T, dir string, texts []string) (*artifact.Loaded, []int, [][]float64) {
	t.Helper()
	ctx := context.Background()
	l, err := artifact.Load(ctx, dir, encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := l.Encoder.Encode(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	names := l.Router.Scorer.Models()
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	chosen := make([]int, len(texts))
	rows := make([][]float64, len(texts))
	for i, v := range emb {
		d, err := l.Router.Route(ctx, models.Request{Embedding: v})
		if err != nil {
			t.Fatal(err)
		}
		chosen[i] = idx[d.Model]
		rows[i] = make([]float64, len(names))
		for j, n := range names {
			rows[i][j] = d.Scores[n]
		}
	}
	return l, chosen, rows
}

func TestCalibrateStrongShare(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "4", "--models", "2", "--prompts", "800", "--battles", "300", "--out-dir", world)
	outcomes := filepath.Join(world, "outcomes.parquet")
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", outcomes, "--dim", "32", "--out", art)
	before, err := os.ReadFile(filepath.Join(art, artifact.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	cal := filepath.Join(dir, "knn30")
	got := mustRun(t, "calibrate", "--artifact", art, "--data", outcomes, "--data", filepath.Join(world, "battles.parquet"), "--strong-share", "0.3", "--out", cal)
	if !strings.Contains(got, "threshold") || !strings.Contains(got, "wrote "+cal) {
		t.Errorf("calibrate output %q", got)
	}
	after, err := os.ReadFile(filepath.Join(art, artifact.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("calibrate changed the original artifact's manifest")
	}

	texts := distinctPrompts(t, outcomes)
	l, chosen, _ := routeAll(t, cal, texts)
	p := l.Manifest.Policy
	if p.Kind != models.PolicyThreshold || p.Strong == "" {
		t.Fatalf("calibrated policy %+v", p)
	}
	strong := 0
	for _, c := range chosen {
		if l.Router.Scorer.Models()[c] == p.Strong {
			strong++
		}
	}
	if share := float64(strong) / float64(len(texts)); math.Abs(share-0.3) > 0.03 {
		t.Errorf("strong share %.3f after calibrating for 0.3", share)
	}
	rec, ok := l.Manifest.Hyperparameters["calibration"].(map[string]any)
	if !ok || rec["target"] != "strong_share" || rec["prompts"] != float64(len(texts)) {
		t.Errorf("calibration record %v", l.Manifest.Hyperparameters["calibration"])
	}
	// Everything else is the original's.
	orig, _, err := artifact.Read(art)
	if err != nil {
		t.Fatal(err)
	}
	if orig.Router != l.Manifest.Router || orig.Data.SHA256 != l.Manifest.Data.SHA256 || len(orig.Models) != len(l.Manifest.Models) ||
		orig.Hyperparameters["k"] != l.Manifest.Hyperparameters["k"] || orig.Policy.Threshold == p.Threshold {
		t.Errorf("calibrated manifest %+v vs original %+v", l.Manifest, orig)
	}

	// route --json agrees with the Go API.
	var dec []struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "route", "--json", "--artifact", cal, texts[0], texts[1], texts[2])), &dec); err != nil {
		t.Fatal(err)
	}
	for i, d := range dec {
		if want := l.Router.Scorer.Models()[chosen[i]]; d.Model != want {
			t.Errorf("route --json prompt %d: %s, the Go API %s", i, d.Model, want)
		}
	}

	// Usage errors and no overwriting.
	for _, args := range [][]string{
		{"calibrate", "--artifact", art, "--data", outcomes, "--out", filepath.Join(dir, "x")},
		{"calibrate", "--artifact", art, "--data", outcomes, "--strong-share", "0.3", "--target-cost", "0.01", "--out", filepath.Join(dir, "x")},
		{"calibrate", "--artifact", art, "--data", outcomes, "--strong-share", "1.3", "--out", filepath.Join(dir, "x")},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, errs := runCLI(t, "calibrate", "--artifact", art, "--data", outcomes, "--strong-share", "0.5", "--out", cal); code == exitOK || !strings.Contains(errs, "already exists") {
		t.Errorf("calibrate into an existing artifact: exit %d, %q", code, errs)
	}
}

func TestCalibrateTargetCost(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "5", "--models", "5", "--prompts", "800", "--battles", "0", "--out-dir", world)
	outcomes := filepath.Join(world, "outcomes.parquet")
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", outcomes, "--dim", "32", "--out", art)
	before, err := os.ReadFile(filepath.Join(art, artifact.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	texts := distinctPrompts(t, outcomes)
	l0, _, rows := routeAll(t, art, texts)
	costs := l0.Router.Costs
	best, err := models.UtilityAt(rows, costs, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	cheapest := math.Inf(1)
	for _, c := range costs {
		cheapest = math.Min(cheapest, c)
	}
	// routed returns the mean cost and predicted quality of an artifact's
	// own routing of the calibration prompts.
	routed := func(dir string) (cost, quality float64, l *artifact.Loaded) {
		l, chosen, rows := routeAll(t, dir, texts)
		for i, c := range chosen {
			cost += l.Router.Costs[c]
			quality += rows[i][c]
		}
		return cost / float64(len(texts)), quality / float64(len(texts)), l
	}
	var prevQ float64 = math.Inf(1)
	for i, f := range []float64{0.6, 0.3, 0.1} {
		target := cheapest + f*(best.Cost-cheapest)
		out := filepath.Join(dir, "cal"+string(rune('a'+i)))
		mustRun(t, "calibrate", "--artifact", art, "--data", outcomes, "--target-cost", strconvF(target), "--out", out)
		c, q, l := routed(out)
		if l.Manifest.Policy.Kind != models.PolicyUtility || l.Manifest.Policy.Lambda <= 0 {
			t.Errorf("target %v: policy %+v", target, l.Manifest.Policy)
		}
		if c > target*(1+1e-9) {
			t.Errorf("target cost %v: routed cost %v", target, c)
		}
		if q > prevQ {
			t.Errorf("target cost %v: quality %v above the higher target's %v", target, q, prevQ)
		}
		if q > best.Quality+1e-12 || c < target*0.5 {
			t.Errorf("target cost %v: cost %v, quality %v (best %v)", target, c, q, best.Quality)
		}
		prevQ = q
	}
	// Target quality: at least the target, at no more than the best cost.
	tq := (best.Quality + prevQ) / 2
	out := filepath.Join(dir, "calq")
	mustRun(t, "calibrate", "--artifact", art, "--data", outcomes, "--target-quality", strconvF(tq), "--out", out)
	if c, q, _ := routed(out); q < tq || c > best.Cost {
		t.Errorf("target quality %v: quality %v at cost %v", tq, q, c)
	}
	// Unreachable targets are errors.
	if code, _, errs := runCLI(t, "calibrate", "--artifact", art, "--data", outcomes, "--target-cost", strconvF(cheapest/2), "--out", filepath.Join(dir, "x")); code != exitError || !strings.Contains(errs, "cheapest") {
		t.Errorf("target below the cheapest: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "calibrate", "--artifact", art, "--data", outcomes, "--target-quality", "1.5", "--out", filepath.Join(dir, "x")); code != exitError || !strings.Contains(errs, "above") {
		t.Errorf("target quality 1.5: exit %d %q", code, errs)
	}
	// Many models without --strong/--weak: no share calibration.
	if code, _, _ := runCLI(t, "calibrate", "--artifact", art, "--data", outcomes, "--strong-share", "0.3", "--out", filepath.Join(dir, "x")); code != exitUsage {
		t.Errorf("strong share on a utility artifact: exit %d", code)
	}
	after, err := os.ReadFile(filepath.Join(art, artifact.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("calibrate changed the original artifact's manifest")
	}
}

func strconvF(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestRouteThresholdNeedsThresholdPolicy: --threshold on a router that
// routes by utility over several models is refused, not ignored.
func TestRouteThresholdNeedsThresholdPolicy(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "5", "--models", "3", "--prompts", "300", "--battles", "50", "--out-dir", world)
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", filepath.Join(world, "outcomes.parquet"), "--dim", "16", "--out", art)
	code, _, errs := runCLI(t, "route", "--artifact", art, "--threshold", "0.5", "what is 2+2?")
	if code != exitUsage || !strings.Contains(errs, "routes by utility over 3 models") {
		t.Errorf("route --threshold on a utility router: exit %d, stderr %q", code, errs)
	}
	mustRun(t, "route", "--artifact", art, "--lambda", "10", "what is 2+2?")
}
