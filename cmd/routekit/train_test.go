package main

import (
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
