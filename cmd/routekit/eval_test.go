package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"strings"
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

	// Each curve point carries its lambda; random is the exact zero-router
	// hull; the intervals hold their estimates.
	var lam struct {
		Routers map[string]struct {
			Curve   [][2]float64 `json:"curve"`
			Lambdas []float64    `json:"lambdas"`
			AIQ     *float64     `json:"aiq"`
		} `json:"routers"`
	}
	if err := json.Unmarshal([]byte(out), &lam); err != nil {
		t.Fatal(err)
	}
	if l := lam.Routers["knn:"+art]; len(l.Lambdas) != len(l.Curve) || l.Lambdas[0] != 0 {
		t.Errorf("knn: %d lambdas for %d curve points, first %v", len(l.Lambdas), len(l.Curve), l.Lambdas)
	}
	if r := lam.Routers["random"]; len(r.Curve) == 0 || r.Curve[len(r.Curve)-1][1] != many.BestSingle.Quality {
		t.Errorf("random curve %v: want the zero-router hull, ending at the best single model", r.Curve)
	}
	if ci, ok := knn.CI95["aiq"]; !ok || !(ci[0] <= *knn.AIQ && *knn.AIQ <= ci[1]) {
		t.Errorf("AIQ 95%% interval %v (present %v) does not hold %v", ci, ok, *knn.AIQ)
	}

	// A single-model pseudo-router is that model's one point.
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
	if c := single.Routers["single:"+name].Curve; len(c) != 1 || math.Abs(c[0][0]-want["cost"]) > 1e-12 || math.Abs(c[0][1]-want["quality"]) > 1e-12 {
		t.Errorf("single:%s curve %v, want the one point (%v, %v)", name, c, want["cost"], want["quality"])
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

// TestEvalThresholdMatchesRoute checks that eval's curve measures the
// routing that serving does: routing the test prompts with
// route --threshold T sends exactly the share of eval's curve point at
// threshold T to the strong model.
func TestEvalThresholdMatchesRoute(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "4", "--models", "2", "--prompts", "1000", "--battles", "0", "--out-dir", world)
	split := filepath.Join(dir, "split")
	mustRun(t, "data", "split", "--in", filepath.Join(world, "outcomes.parquet"), "--out-dir", split, "--fractions", "0.8,0,0.2")
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", filepath.Join(split, "train.parquet"), "--dim", "32", "--out", art)
	test := filepath.Join(split, "test.parquet")

	var ev struct {
		NPrompts int                `json:"n_prompts"`
		Strong   string             `json:"strong"`
		Oracle   map[string]float64 `json:"oracle"`
		Routers  map[string]struct {
			APGR       *float64              `json:"apgr"`
			CPT50      *float64              `json:"cpt50"`
			APGRStd    *float64              `json:"apgr_std"`
			Seeds      int                   `json:"seeds"`
			Curve      [][2]float64          `json:"curve"`
			Thresholds []*float64            `json:"thresholds"`
			CI95       map[string][2]float64 `json:"ci95"`
		} `json:"routers"`
	}
	out := mustRun(t, "eval", "--json", "--data", test, "--artifact", art, "--router", "random", "--bootstrap", "200")
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	texts := distinctPrompts(t, test)
	if len(texts) != ev.NPrompts {
		t.Fatalf("%d test prompts, eval scored %d", len(texts), ev.NPrompts)
	}
	if _, ok := ev.Oracle["apgr"]; !ok {
		t.Errorf("two-model oracle %v has no apgr", ev.Oracle)
	}
	knn := ev.Routers["knn:"+art]
	if len(knn.Thresholds) != len(knn.Curve) || len(knn.Curve) < 5 {
		t.Fatalf("%d thresholds for %d curve points", len(knn.Thresholds), len(knn.Curve))
	}
	if ci, ok := knn.CI95["cpt50"]; !ok || !(ci[0] <= *knn.CPT50 && *knn.CPT50 <= ci[1]) {
		t.Errorf("CPT(50%%) interval %v (present %v) does not hold %v", ci, ok, deref(knn.CPT50))
	}
	r := ev.Routers["random"]
	if len(r.Curve) != len(r.Thresholds) || len(r.Curve) < 5 || r.Seeds < 10 || r.APGRStd == nil || *r.APGRStd <= 0 {
		t.Errorf("random baseline: %d curve points, %d thresholds, %d seeds, APGR std %v", len(r.Curve), len(r.Thresholds), r.Seeds, deref(r.APGRStd))
	}
	checked := 0
	for k, th := range knn.Thresholds {
		if th == nil || k%2 == 1 { // the ends are +-Inf; every other point keeps the test short
			continue
		}
		args := append([]string{"route", "--json", "--artifact", art, "--threshold", strconv.FormatFloat(*th, 'g', -1, 64)}, texts...)
		var routed []struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, args...)), &routed); err != nil {
			t.Fatal(err)
		}
		strong := 0
		for _, d := range routed {
			if d.Model == ev.Strong {
				strong++
			}
		}
		if share := float64(strong) / float64(len(texts)); math.Abs(share-knn.Curve[k][0]) > 1e-12 {
			t.Errorf("threshold %v: route sends %.4f to %s, eval's curve point says %.4f", *th, share, ev.Strong, knn.Curve[k][0])
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("only %d finite thresholds checked", checked)
	}

	// Each router's intervals and the random baseline have their own
	// generators: adding a router changes neither.
	var alone struct {
		Routers map[string]struct {
			APGR *float64              `json:"apgr"`
			CI95 map[string][2]float64 `json:"ci95"`
		} `json:"routers"`
	}
	out = mustRun(t, "eval", "--json", "--data", test, "--artifact", art, "--router", "oracle", "--router", "single:"+ev.Strong, "--router", "random", "--bootstrap", "200")
	if err := json.Unmarshal([]byte(out), &alone); err != nil {
		t.Fatal(err)
	}
	if a := alone.Routers["random"].APGR; a == nil || *a != *r.APGR {
		t.Errorf("random APGR %v with other routers, %v without", deref(a), deref(r.APGR))
	}
	if a := alone.Routers["knn:"+art].CI95; a["apgr"] != knn.CI95["apgr"] || a["cpt50"] != knn.CI95["cpt50"] {
		t.Errorf("knn intervals %v with other routers, %v without", a, knn.CI95)
	}
}

func TestEvalUsageErrors(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "2", "--models", "3", "--prompts", "200", "--battles", "0", "--out-dir", world)
	data := filepath.Join(world, "outcomes.parquet")
	var two struct {
		Models []string `json:"models"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "eval", "--json", "--data", data, "--router", "oracle", "--bootstrap", "0")), &two); err != nil {
		t.Fatal(err)
	}
	m := two.Models[0]
	for _, args := range [][]string{
		{"--bootstrap", "10"},
		{"--bootstrap", "199"},
		{"--bootstrap", "-1"},
		{"--strong", m, "--weak", m},
		{"--strong", m},
	} {
		code, _, errs := runCLI(t, append([]string{"eval", "--data", data, "--router", "oracle"}, args...)...)
		if code != exitUsage {
			t.Errorf("eval %v: exit %d (%s), want %d", args, code, strings.TrimSpace(errs), exitUsage)
		}
	}
}
