package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

func TestTrainKNNArtifact(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "6", "--models", "4", "--prompts", "800", "--battles", "500", "--out-dir", world)
	out := filepath.Join(dir, "knn")
	got := mustRun(t, "train", "--router", "knn", "--data", filepath.Join(world, "outcomes.parquet"),
		"--data", filepath.Join(world, "battles.parquet"), "--dim", "32", "--out", out)
	if !strings.Contains(got, "trained knn on 800 prompts x 4 models") {
		t.Errorf("train output %q", got)
	}
	m, blobs, err := artifact.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Router != "knn" || len(m.Models) != 4 || m.Data.SHA256 == "" || m.Validation["auc"] < 0.6 || m.Policy.Kind != "utility" {
		t.Errorf("manifest %+v", m)
	}
	enc, err := encoder.ReadBuiltin(strings.NewReader(string(blobs[m.EncoderBlob])))
	if err != nil {
		t.Fatal(err)
	}
	if !enc.Identity().Equal(m.Encoder) || enc.Dim() != 32 {
		t.Errorf("the encoder blob is not the manifest's encoder: %v vs %v", enc.Identity(), m.Encoder)
	}
	// Never overwrite an artifact.
	if code, _, errs := runCLI(t, "train", "--router", "knn", "--data", filepath.Join(world, "outcomes.parquet"), "--out", out); code == exitOK || !strings.Contains(errs, "already exists") {
		t.Errorf("second train into the same folder: exit %d, %q", code, errs)
	}
	// A model without a price is an error, not free.
	code, _, errs := runCLI(t, "train", "--router", "knn", "--data", filepath.Join(world, "battles.parquet"), "--out", filepath.Join(dir, "x"))
	if code == exitOK || !strings.Contains(errs, "no cost") {
		t.Errorf("battles without prices: exit %d, %q", code, errs)
	}
}

func TestTrainConfigFile(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "9", "--models", "3", "--prompts", "600", "--battles", "0", "--out-dir", world)
	cfg := filepath.Join(dir, "train.yaml")
	if err := os.WriteFile(cfg, []byte("router: mf\nseed: 7\nmf: {dim: 8, epochs: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "mf")
	// The file chooses mf with 2 epochs; the --epochs flag wins over it.
	mustRun(t, "train", "--config", cfg, "--epochs", "3", "--data", filepath.Join(world, "outcomes.parquet"), "--dim", "32", "--out", out)
	m, _, err := artifact.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.Hyperparameters["config"].(map[string]any)
	if m.Router != "mf" || m.Seed != 7 || c["Dim"] != float64(8) || c["Epochs"] != float64(3) {
		t.Errorf("router %s, seed %d, config %v: want mf, 7, Dim 8, Epochs 3", m.Router, m.Seed, c)
	}
	// Unknown fields are refused, naming the file.
	if err := os.WriteFile(cfg, []byte("mf: {dimension: 8}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "train", "--config", cfg, "--data", filepath.Join(world, "outcomes.parquet"), "--out", filepath.Join(dir, "x"))
	if code == exitOK || !strings.Contains(errs, cfg) || !strings.Contains(errs, "dimension") {
		t.Errorf("unknown field: exit %d, %q", code, errs)
	}
}
