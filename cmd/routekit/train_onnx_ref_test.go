package main

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

func TestTrainEncoderRefUsage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "o.jsonl")
	if err := os.WriteFile(in, []byte(`{"prompt":"what is 2 plus 2","model":"m","score":1,"cost":0.001}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join("..", "..", "models", "encoder", "testdata", "tinybert")
	// Refused before any work, ONNX Runtime or not.
	for _, args := range [][]string{
		{"--router", "knn", "--encoder-ref"},
		{"--router", "knn", "--encoder", "builtin", "--encoder-ref"},
		{"--router", "bert", "--encoder", "onnx:" + model, "--finetune", "--encoder-ref"},
	} {
		args = append([]string{"train", "--data", in, "--out", filepath.Join(dir, "x")}, args...)
		if code, _, errs := runCLI(t, args...); code != exitUsage || !strings.Contains(errs, "--encoder-ref") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error about --encoder-ref", args, code, errs)
		}
	}
}

// TestTrainONNXSelfContained trains IRT routers on a frozen ONNX encoder
// (a copy of the tiny test BERT, so that it can be moved away): by default
// the artifact holds the model directory's files and keeps routing, with
// identical scores, once copied elsewhere and the directory gone, and
// calibrate and irt add-model carry the files over; with --encoder-ref it
// names the directory and, the directory gone, fails saying how to fix it.
func TestTrainONNXSelfContained(t *testing.T) {
	lib := os.Getenv("ROUTEKIT_ORT_LIB")
	if lib == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set (make test sets it): skipping the self-contained ONNX artifact test")
	}
	ctx := context.Background()
	dir := t.TempDir()
	encDir := filepath.Join(dir, "encoders", "tinybert")
	if err := os.MkdirAll(filepath.Dir(encDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(encDir, os.DirFS(filepath.Join("..", "..", "models", "encoder", "testdata", "tinybert"))); err != nil {
		t.Fatal(err)
	}
	refEnc, err := encoder.NewONNX(ctx, encDir, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	refEnc.Close()
	dirFiles, err := encoder.ReadONNXDir(encDir)
	if err != nil {
		t.Fatal(err)
	}

	// Four models to train on, a fifth one's answers for irt add-model.
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "8", "--models", "5", "--prompts", "300", "--battles", "0", "--out-dir", world)
	all, _, err := data.ReadFiles(ctx, []string{filepath.Join(world, "outcomes.parquet")}, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	held := all.Outcomes[0].Model
	var others, answers []data.Outcome
	for _, o := range all.Outcomes {
		if o.Model != held {
			others = append(others, o)
		} else if len(answers) < 60 {
			answers = append(answers, o)
		}
	}
	trainFile, ansFile := filepath.Join(dir, "others.parquet"), filepath.Join(dir, "answers.jsonl")
	writeOutcomes(t, trainFile, others)
	writeOutcomes(t, ansFile, answers)

	reg := filepath.Join(dir, "reg")
	ort := []string{"--ort-lib", lib, "--onnx-sessions", "1"}
	trainArgs := append([]string{"train", "--router", "irt", "--data", trainFile, "--encoder", "onnx:" + encDir}, ort...)
	mustRun(t, append(trainArgs, "--registry", reg, "--name", "irt")...)
	refArt := filepath.Join(dir, "irt-ref")
	mustRun(t, append(trainArgs, "--encoder-ref", "--out", refArt)...)

	v1 := filepath.Join(reg, "irt", "v1")
	m, blobs, err := artifact.Read(v1)
	if err != nil {
		t.Fatal(err)
	}
	if m.EncoderPath != "" || len(m.EncoderFiles) != len(dirFiles) || !m.Encoder.Equal(refEnc.Identity()) {
		t.Fatalf("manifest: encoder_path %q, encoder_files %v, encoder %s (the directory's: %s)", m.EncoderPath, m.EncoderFiles, m.Encoder, refEnc.Identity())
	}
	for name, b := range dirFiles {
		if got := blobs[m.EncoderFiles[name]]; string(got) != string(b) {
			t.Errorf("encoder_files %s: blob %q differs from the directory's file", name, m.EncoderFiles[name])
		}
	}
	var size int64
	for _, bl := range m.Blobs {
		size += bl.Size
	}
	t.Logf("self-contained tinybert IRT artifact: %d bytes of blobs (%d of them the encoder's)", size, size-int64(len(blobs[m.ScorerBlob])))
	if mr, _, err := artifact.Read(refArt); err != nil || mr.EncoderPath != encDir || len(mr.EncoderFiles) != 0 {
		t.Fatalf("--encoder-ref manifest: %v, encoder_path %q (want %s), encoder_files %v", err, mr.EncoderPath, encDir, mr.EncoderFiles)
	}

	prompts := []string{"please prove the theorem", "what is 12 plus 30", "write a python function that sorts a list"}
	route := func(art string) string {
		return mustRun(t, append(append([]string{"route", "--json", "--artifact", art}, ort...), prompts...)...)
	}
	want, wantRef := route(v1), route(refArt)
	if want != wantRef {
		t.Errorf("the stored and the referenced encoder route differently:\n%s\n%s", want, wantRef)
	}

	// Copy the registry elsewhere and move the model directory away.
	moved := filepath.Join(dir, "reg-copy")
	if err := os.CopyFS(moved, os.DirFS(reg)); err != nil {
		t.Fatal(err)
	}
	away := encDir + ".away"
	if err := os.Rename(encDir, away); err != nil {
		t.Fatal(err)
	}
	if got := route(filepath.Join(moved, "irt", "v1")); got != want {
		t.Errorf("the copied artifact routes differently without the model directory:\n%s\nwant\n%s", got, want)
	}
	mustRun(t, "registry", "list", "--registry", moved, "--verify")

	// calibrate and irt add-model carry the stored encoder over unchanged.
	cal, added := filepath.Join(dir, "irt-cal"), filepath.Join(dir, "irt-plus")
	mustRun(t, append([]string{"calibrate", "--artifact", v1, "--data", trainFile, "--target-cost", "1", "--out", cal}, ort...)...)
	mustRun(t, append([]string{"irt", "add-model", "--artifact", v1, "--answers", ansFile, "--model", held, "--cost", "0.002", "--out", added}, ort...)...)
	encBlobs := func(m *artifact.Manifest) map[string]string {
		sums := map[string]string{}
		for _, bl := range m.Blobs {
			if strings.HasPrefix(bl.Name, "encoder-") {
				sums[bl.Name] = bl.SHA256
			}
		}
		return sums
	}
	for _, art := range []string{cal, added} {
		l, err := artifact.Load(ctx, art, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1})
		if err != nil {
			t.Fatalf("%s: %v", art, err)
		}
		l.Close()
		if !maps.Equal(l.Manifest.EncoderFiles, m.EncoderFiles) || !maps.Equal(encBlobs(l.Manifest), encBlobs(m)) ||
			!l.Manifest.Encoder.Equal(m.Encoder) || l.Manifest.EncoderPath != "" {
			t.Errorf("%s: encoder_files %v, blobs %v, encoder %s; want those of %s", art, l.Manifest.EncoderFiles, encBlobs(l.Manifest), l.Manifest.Encoder, v1)
		}
	}

	// The --encoder-ref artifact fails, naming the field and the path and
	// saying what to do; restoring the directory fixes it.
	code, _, errs := runCLI(t, append(append([]string{"route", "--artifact", refArt}, ort...), prompts[0])...)
	if code != exitError {
		t.Errorf("route with the referenced directory gone: exit %d, want %d", code, exitError)
	}
	for _, s := range []string{"encoder_path", encDir, "restore", "without --encoder-ref"} {
		if !strings.Contains(errs, s) {
			t.Errorf("route with the referenced directory gone: stderr %q does not say %q", errs, s)
		}
	}
	if _, err := artifact.Load(ctx, refArt, encoder.ONNXConfig{LibraryPath: lib, Sessions: 1}); !errors.Is(err, artifact.ErrEncoderMissing) {
		t.Errorf("artifact.Load with the referenced directory gone: err = %v, want ErrEncoderMissing", err)
	}
	if err := os.Rename(away, encDir); err != nil {
		t.Fatal(err)
	}
	if got := route(refArt); got != want {
		t.Errorf("the --encoder-ref artifact routes differently with its directory restored:\n%s\nwant\n%s", got, want)
	}
}
