package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/routekit/routekit/irt"
	"github.com/routekit/routekit/models/artifact"
)

// TestTrainRecordsEffectiveHyperparameters checks that the manifest's
// hyperparameters.config is the configuration the trainer ran with: the
// defaults filled in, the values given by flag or --config file kept,
// under snake_case keys and nothing else.
func TestTrainRecordsEffectiveHyperparameters(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "2", "--models", "3", "--prompts", "300", "--battles", "0", "--out-dir", world)
	irtFile := filepath.Join(dir, "irt.yaml")
	if err := os.WriteFile(irtFile, []byte("irt: {dims: 2, l2: 0.01}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	irtDefaults := map[string]any{"max_iter": 1000.0, "val_fraction": 0.1, "no_validation": false, "patience": 20.0,
		"optimizer": "lbfgs", "learning_rate": 0.01, "batch_prompts": 256.0}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args []string
		want map[string]any
		// selected: Fit chose dims and the penalties; the config must
		// hold the chosen values, which are also the top-level ones.
		selected bool
	}{
		{"knn", []string{"--router", "knn", "--knn-k", "7"}, map[string]any{"k": 7.0, "prior_weight": 1.0}, false},
		{"mf", []string{"--router", "mf", "--seed", "3", "--epochs", "4"}, map[string]any{
			"dim": 128.0, "alpha": 0.1, "learning_rate": 0.001, "epochs": 4.0, "batch_size": 256.0, "weight_decay": 0.0001,
			"patience": 5.0, "val_fraction": 0.1, "ties": "drop", "seed": 3.0}, false},
		{"mf-dim", []string{"--router", "mf", "--mf-dim", "16", "--epochs", "2"}, map[string]any{
			"dim": 16.0, "alpha": 0.1, "learning_rate": 0.001, "epochs": 2.0, "batch_size": 256.0, "weight_decay": 0.0001,
			"patience": 5.0, "val_fraction": 0.1, "ties": "drop", "seed": 1.0}, false},
		{"irt", []string{"--router", "irt", "--seed", "5"}, with(irtDefaults, "seed", 5.0), true},
		{"irt-file", []string{"--router", "irt", "--config", irtFile},
			with(irtDefaults, "seed", 1.0, "dims", 2.0, "l2", 0.01, "l2_theta", irt.DefaultL2Theta), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name)
			args := append([]string{"train", "--data", filepath.Join(world, "outcomes.parquet"), "--dim", "32", "--out", out}, tc.args...)
			mustRun(t, args...)
			m, _, err := artifact.Read(out)
			if err != nil {
				t.Fatal(err)
			}
			h := m.Hyperparameters
			got, ok := h["config"].(map[string]any)
			if !ok {
				t.Fatalf("hyperparameters.config is %T %v, want an object", h["config"], h["config"])
			}
			want := tc.want
			if tc.selected {
				dims, _ := got["dims"].(float64)
				if !slices.Contains(irt.SelectDims, int(dims)) {
					t.Errorf("config dims %v, want one of %v", got["dims"], irt.SelectDims)
				}
				if l2, _ := got["l2"].(float64); !(l2 > 0) {
					t.Errorf("config l2 %v, want the selected penalty > 0", got["l2"])
				}
				want = with(want, "dims", h["dims"], "l2", h["l2"], "l2_theta", h["l2_theta"])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("hyperparameters.config\n got %v\nwant %v", got, want)
			}
		})
	}
}
