package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routekit/routekit/models"
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
	if m.Router != "mf" || m.Seed != 7 || c["dim"] != float64(8) || c["epochs"] != float64(3) {
		t.Errorf("router %s, seed %d, config %v: want mf, 7, dim 8, epochs 3", m.Router, m.Seed, c)
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

func TestTrainIntoRegistry(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "4", "--models", "3", "--prompts", "300", "--battles", "0", "--out-dir", world)
	reg := filepath.Join(dir, "reg")
	data := filepath.Join(world, "outcomes.parquet")
	trainTo := func(extra ...string) string {
		return mustRun(t, append([]string{"train", "--router", "knn", "--data", data, "--dim", "16", "--registry", reg, "--name", "qa"}, extra...)...)
	}
	// The first version is promoted, the second only with --promote.
	if got := trainTo(); !strings.Contains(got, "wrote qa v1 to "+filepath.Join(reg, "qa", "v1")+"; it is CURRENT") {
		t.Errorf("first train: %q", got)
	}
	if got := trainTo("--seed", "2"); !strings.Contains(got, "wrote qa v2") || !strings.Contains(got, "not CURRENT (CURRENT is v1") {
		t.Errorf("second train: %q", got)
	}
	if got := trainTo("--seed", "3", "--promote"); !strings.Contains(got, "wrote qa v3") || !strings.Contains(got, "it is CURRENT") {
		t.Errorf("third train with --promote: %q", got)
	}
	r, err := artifact.OpenRegistry(reg)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.Versions("qa")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || !vs[2].Current || vs[2].Router != "knn" || vs[1].Manifest.Seed != 2 {
		t.Errorf("registry versions %+v", vs)
	}
	if _, _, err := artifact.Read(vs[1].Dir); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", filepath.Join(dir, "x"), "--registry", reg, "--name", "qa"}, "exactly one of --out and --registry"},
		{nil, "exactly one of --out and --registry"},
		{[]string{"--registry", reg}, "--registry needs --name"},
		{[]string{"--registry", reg, "--name", "../qa"}, "router name"},
		{[]string{"--out", filepath.Join(dir, "x"), "--promote"}, "go with --registry"},
	} {
		code, _, errs := runCLI(t, append([]string{"train", "--data", data}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("train %v: exit %d, %q; want %d and %q", c.args, code, errs, exitUsage, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a refused command line wrote an artifact")
	}
}

// TestTrainBERTArtifact trains the bert router (multi-label head, from a
// YAML bert section and the --epochs flag), then evaluates and routes
// with its artifact; and the 3-way head on a two-model world.
func TestTrainBERTArtifact(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "5", "--models", "4", "--prompts", "800", "--battles", "400", "--out-dir", world)
	cfg := filepath.Join(dir, "train.yaml")
	if err := os.WriteFile(cfg, []byte("router: bert\nbert: {hidden: 16, epochs: 2, learning_rate: 0.003}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bert")
	got := mustRun(t, "train", "--config", cfg, "--epochs", "6", "--data", filepath.Join(world, "outcomes.parquet"),
		"--data", filepath.Join(world, "battles.parquet"), "--dim", "32", "--out", out)
	if !strings.Contains(got, "trained bert on 800 prompts x 4 models") {
		t.Errorf("train output %q", got)
	}
	m, _, err := artifact.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.Hyperparameters["config"].(map[string]any)
	if m.Router != "bert" || m.Hyperparameters["head"] != "multilabel" || c["hidden"] != float64(16) || c["epochs"] != float64(6) ||
		c["learning_rate"] != 0.003 || c["batch_size"] != float64(256) || c["head"] != "multilabel" || m.Validation["auc"] < 0.6 {
		t.Errorf("manifest: router %s, hyperparameters %v, validation %v", m.Router, m.Hyperparameters, m.Validation)
	}
	ev := mustRun(t, "eval", "--json", "--data", filepath.Join(world, "outcomes.parquet"), "--artifact", out, "--bootstrap", "0")
	if !strings.Contains(ev, `"bert:`+out) {
		t.Errorf("eval output lacks the bert router: %s", ev)
	}
	r := mustRun(t, "route", "--artifact", out, "What is the derivative of x^2?")
	named := false
	for _, mm := range m.Models {
		named = named || strings.Contains(r, mm.Name)
	}
	if !named {
		t.Errorf("route output %q names no model of %v", r, m.Models)
	}

	// The 3-way head needs two models.
	code, _, errs := runCLI(t, "train", "--router", "bert", "--bert-head", "3way", "--data", filepath.Join(world, "outcomes.parquet"), "--dim", "32", "--out", filepath.Join(dir, "x"))
	if code == exitOK || !strings.Contains(errs, "needs 2") {
		t.Errorf("3way on 4 models: exit %d, %q", code, errs)
	}
	if code, _, _ := runCLI(t, "train", "--router", "bert", "--bert-head", "4way", "--data", filepath.Join(world, "outcomes.parquet"), "--out", filepath.Join(dir, "x")); code != exitUsage {
		t.Errorf("--bert-head 4way: exit %d, want %d", code, exitUsage)
	}
	two := filepath.Join(dir, "two")
	mustRun(t, "data", "synth", "--seed", "5", "--models", "2", "--prompts", "600", "--battles", "0", "--out-dir", two)
	out3 := filepath.Join(dir, "bert3")
	mustRun(t, "train", "--router", "bert", "--bert-head", "3way", "--bert-hidden", "8", "--epochs", "3",
		"--data", filepath.Join(two, "outcomes.parquet"), "--dim", "32", "--out", out3)
	l, err := artifact.Load(context.Background(), out3, encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Manifest.Policy.Kind != "threshold" || l.Manifest.Hyperparameters["head"] != "3way" {
		t.Errorf("3way artifact: policy %+v, hyperparameters %v", l.Manifest.Policy, l.Manifest.Hyperparameters)
	}
	d, err := l.Route(context.Background(), "Solve 2x + 3 = 7.", models.Request{})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, s := range d.Scores {
		sum += s
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("3way scores %v do not sum to 1", d.Scores)
	}
}

func TestTrainBERTFinetune(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "o.jsonl")
	// 120 prompts of the tiny model's vocabulary: cheap fails on math.
	var b strings.Builder
	filler := strings.Fields("the what how please write explain code python function sort list data story poem email city weather")
	for i := range 120 {
		words := []string{filler[i%len(filler)], filler[(i*7+3)%len(filler)], filler[(i*5+1)%len(filler)], fmt.Sprint(i)}
		cheap := 1
		if i%2 == 0 {
			words[1], cheap = "prove", 0
		}
		p := strings.Join(words, " ")
		fmt.Fprintf(&b, `{"prompt":%q,"model":"cheap","score":%d,"cost":0.0001}`+"\n", p, cheap)
		fmt.Fprintf(&b, `{"prompt":%q,"model":"big","score":1,"cost":0.01}`+"\n", p)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join("..", "..", "models", "encoder", "testdata", "tinybert")
	// Usage errors come before any work, ORT library or not.
	for _, args := range [][]string{
		{"--router", "knn", "--encoder", "onnx:" + model, "--finetune"},
		{"--router", "bert", "--finetune"},
		{"--router", "bert", "--encoder", "onnx:" + model, "--finetune-epochs", "2"},
	} {
		args = append([]string{"train", "--data", in, "--out", filepath.Join(dir, "x")}, args...)
		if code, _, errs := runCLI(t, args...); code != exitUsage || !strings.Contains(errs, "--finetune") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error about --finetune", args, code, errs)
		}
	}
	lib := os.Getenv("ROUTEKIT_ORT_LIB")
	if lib == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set (make test sets it): skipping the ONNX fine-tuning test")
	}
	// With --encoder-ref a frozen ONNX encoder is named by its absolute
	// directory, so the artifact loads from any working folder (the
	// default, a copy in the artifact: train_onnx_ref_test.go).
	knn := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", in, "--encoder", "onnx:"+model, "--encoder-ref", "--ort-lib", lib, "--out", knn)
	if m, _, err := artifact.Read(knn); err != nil || !filepath.IsAbs(m.EncoderPath) || len(m.EncoderFiles) != 0 {
		t.Fatalf("knn manifest: %v, encoder path %q, files %v", err, m.EncoderPath, m.EncoderFiles)
	}
	mustRun(t, "route", "--artifact", knn, "--ort-lib", lib, "please prove the theorem")

	out := filepath.Join(dir, "bert")
	mustRun(t, "train", "--router", "bert", "--data", in, "--encoder", "onnx:"+model, "--ort-lib", lib,
		"--finetune", "--finetune-epochs", "2", "--finetune-lr", "1e-3", "--epochs", "5", "--out", out)
	m, _, err := artifact.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.EncoderFiles[encoder.ONNXModelFile] == "" || m.EncoderPath != "" || m.Hyperparameters["finetune"] == nil {
		t.Fatalf("manifest: encoder files %v, path %q, hyperparameters %v", m.EncoderFiles, m.EncoderPath, m.Hyperparameters)
	}
	// The effective fine-tuning configuration: the flags, the defaults and
	// the head's configuration.
	ft, _ := m.Hyperparameters["finetune"].(map[string]any)
	head, _ := ft["head"].(map[string]any)
	if ft["epochs"] != float64(2) || ft["learning_rate"] != 1e-3 || ft["batch_size"] != float64(16) || ft["best_epoch"] == nil ||
		head["epochs"] != float64(5) || head["hidden"] != float64(128) {
		t.Errorf("hyperparameters.finetune %v", ft)
	}
	// The artifact holds its fine-tuned encoder: it routes without the model directory.
	l, err := artifact.Load(context.Background(), out, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Route(context.Background(), "please prove the theorem", models.Request{}); err != nil {
		t.Fatal(err)
	}
	orig, err := encoder.NewONNX(context.Background(), model, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if orig.Identity().Equal(m.Encoder) {
		t.Error("the manifest names the original encoder, not the fine-tuned one")
	}
}
