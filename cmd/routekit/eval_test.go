package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"
)

type evalJSON struct {
	NPrompts   int      `json:"n_prompts"`
	Models     []string `json:"models"`
	Strong     string   `json:"strong"`
	BestSingle struct {
		Model   string
		Quality float64
		Cost    float64
	} `json:"best_single"`
	Oracle  map[string]float64 `json:"oracle"`
	Routers map[string]struct {
		APGR              *float64              `json:"apgr"`
		QualityAtBestCost *float64              `json:"quality_at_best_cost"`
		AIQ               *float64              `json:"aiq"`
		Curve             [][2]float64          `json:"curve"`
		CI95              map[string][2]float64 `json:"ci95"`
	} `json:"routers"`
}

func TestEvalTwoAndManyModels(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "8", "--models", "5", "--prompts", "2500", "--battles", "0", "--out-dir", world)
	split := filepath.Join(dir, "split")
	mustRun(t, "data", "split", "--in", filepath.Join(world, "outcomes.parquet"), "--out-dir", split, "--fractions", "0.7,0.1,0.2")
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", filepath.Join(split, "train.parquet"), "--dim", "64", "--out", art)

	// Many models: the single-model pseudo-router sits on its own point,
	// and the oracle bounds everything.
	var many evalJSON
	out := mustRun(t, "eval", "--json", "--data", filepath.Join(split, "test.parquet"), "--artifact", art,
		"--router", "oracle", "--router", "random", "--bootstrap", "200")
	if err := json.Unmarshal([]byte(out), &many); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if many.NPrompts < 400 || len(many.Models) != 5 {
		t.Fatalf("eval saw %d prompts, %d models", many.NPrompts, len(many.Models))
	}
	knn := many.Routers["knn:"+art]
	if knn.QualityAtBestCost == nil || knn.AIQ == nil || len(knn.Curve) < 2 {
		t.Fatalf("knn scores %+v", knn)
	}
	if ci := knn.CI95["quality_at_best_cost"]; !(ci[0] <= *knn.QualityAtBestCost && *knn.QualityAtBestCost <= ci[1]) {
		t.Errorf("95%% interval %v does not hold the estimate %v", ci, *knn.QualityAtBestCost)
	}
	oracle := many.Routers["oracle"]
	if *oracle.AIQ < *knn.AIQ || math.Abs(many.Oracle["quality"]-*oracle.QualityAtBestCost) > 0.05 && *oracle.QualityAtBestCost < many.BestSingle.Quality {
		t.Errorf("oracle AIQ %v below knn's %v", *oracle.AIQ, *knn.AIQ)
	}
	if r := many.Routers["random"]; r.AIQ == nil || *r.AIQ > *oracle.AIQ {
		t.Errorf("random %+v", r)
	}

	// A single-model pseudo-router's curve starts (lambda 0) at that
	// model's own point.
	var single struct {
		Singles map[string]map[string]float64 `json:"singles"`
		Routers map[string]struct {
			Curve [][2]float64 `json:"curve"`
		} `json:"routers"`
	}
	name := many.Models[0]
	out = mustRun(t, "eval", "--json", "--data", filepath.Join(split, "test.parquet"), "--router", "single:"+name, "--bootstrap", "0")
	if err := json.Unmarshal([]byte(out), &single); err != nil {
		t.Fatal(err)
	}
	want := single.Singles[name]
	if c := single.Routers["single:"+name].Curve; len(c) == 0 || math.Abs(c[0][0]-want["cost"]) > 1e-12 || math.Abs(c[0][1]-want["quality"]) > 1e-12 {
		t.Errorf("single:%s curve %v, want it to start at (%v, %v)", name, c, want["cost"], want["quality"])
	}

	// Two models, the best and the worst (a wide gap keeps APGR steady):
	// random routing is APGR 0.5, the oracle far above.
	weak := name
	for m, p := range single.Singles {
		if p["quality"] < single.Singles[weak]["quality"] {
			weak = m
		}
	}
	var two evalJSON
	out = mustRun(t, "eval", "--json", "--data", filepath.Join(split, "test.parquet"), "--artifact", art,
		"--strong", many.BestSingle.Model, "--weak", weak, "--router", "random", "--router", "oracle", "--bootstrap", "0")
	if err := json.Unmarshal([]byte(out), &two); err != nil {
		t.Fatal(err)
	}
	r, o, k := two.Routers["random"], two.Routers["oracle"], two.Routers["knn:"+art]
	if r.APGR == nil || math.Abs(*r.APGR-0.5) > 0.06 {
		t.Errorf("random APGR %v, want about 0.5", deref(r.APGR))
	}
	// The oracle's win (strong minus weak score) ties on most prompts, so
	// its quantile curve stays below the exact bound; still far above.
	if o.APGR == nil || k.APGR == nil || *o.APGR < 0.8 || *k.APGR > *o.APGR || *k.APGR < *r.APGR {
		t.Errorf("oracle APGR %v, knn %v", deref(o.APGR), deref(k.APGR))
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
