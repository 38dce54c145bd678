package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
)

// readCache reads an embedding cache into prompt id -> (encoder id, dim).
func readCache(t *testing.T, path string) map[string]data.Embedding {
	t.Helper()
	out := map[string]data.Embedding{}
	if err := data.ReadEmbeddings(context.Background(), path, func(e *data.Embedding) error {
		out[e.PromptID] = *e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmbedBuiltinReusesCache(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "5", "--models", "3", "--prompts", "600", "--battles", "0", "--out-dir", world)
	split := filepath.Join(dir, "split")
	mustRun(t, "data", "split", "--in", filepath.Join(world, "outcomes.parquet"), "--out-dir", split)
	out := filepath.Join(dir, "emb.parquet")

	// Fit on train, embed train; the fitted encoder is saved beside.
	got := mustRun(t, "embed", "--data", filepath.Join(split, "train.parquet"), "--encoder", "builtin", "--dim", "32", "--out", out)
	if !strings.Contains(got, "0 from the cache") {
		t.Errorf("first embed: %q", got)
	}
	enc := filepath.Join(dir, "emb.encoder")
	if _, err := os.Stat(enc); err != nil {
		t.Fatalf("fitted encoder not saved: %v", err)
	}
	first := readCache(t, out)
	nTrain := len(first)
	if nTrain < 400 || nTrain > 540 {
		t.Fatalf("%d train prompts embedded, want about 480", nTrain)
	}

	// The saved encoder, on train+test, reuses every train vector and
	// encodes only the test prompts.
	got = mustRun(t, "embed", "--data", filepath.Join(split, "train.parquet"), "--data", filepath.Join(split, "test.parquet"),
		"--encoder", "builtin:"+enc, "--out", out)
	second := readCache(t, out)
	if !strings.Contains(got, "from the cache") || len(second) <= nTrain {
		t.Fatalf("second embed: %q (%d prompts)", got, len(second))
	}
	for id, e := range first {
		s, ok := second[id]
		if !ok || s.EncoderID != e.EncoderID || len(s.Vector) != 32 {
			t.Fatalf("prompt %s lost or changed: %+v", id, s)
		}
		for i := range e.Vector {
			if s.Vector[i] != e.Vector[i] {
				t.Fatalf("prompt %s: vector changed", id)
			}
		}
	}

	// Another encoder adds its rows beside the first one's (each row
	// names its encoder; see cache_test.go).
	got = mustRun(t, "embed", "--data", filepath.Join(split, "test.parquet"), "--encoder", "builtin", "--dim", "16",
		"--save-encoder", filepath.Join(dir, "other.encoder"), "--out", out)
	if !strings.Contains(got, "kept "+strconv.Itoa(len(second))+" rows of 1 other encoder") {
		t.Errorf("re-embed with another encoder: %q", got)
	}
}

func TestEmbedONNX(t *testing.T) {
	lib := os.Getenv("ROUTEKIT_ORT_LIB")
	if lib == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set (make test sets it): skipping the ONNX embed test")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "o.jsonl")
	os.WriteFile(in, []byte(`{"prompt":"What is the capital of France?","model":"m","score":1}
{"prompt":"Écris un poème sur la mer","model":"m","score":0}
`), 0o644)
	out := filepath.Join(dir, "emb.parquet")
	model := filepath.Join("..", "..", "models", "encoder", "testdata", "tinybert")
	got := mustRun(t, "embed", "--data", in, "--encoder", "onnx:"+model, "--ort-lib", lib, "--out", out)
	if !strings.Contains(got, "onnx(") || !strings.Contains(got, "2 encoded") {
		t.Errorf("embed output %q", got)
	}
	if n := len(readCache(t, out)); n != 2 {
		t.Errorf("%d embeddings, want 2", n)
	}
	code, _, errs := runCLI(t, "embed", "--data", in, "--encoder", "onnx:"+model, "--ort-lib", "", "--out", out)
	if code == exitOK || !strings.Contains(errs, "make setup") {
		t.Errorf("without a library: exit %d, stderr %q; want an error saying how to get it", code, errs)
	}
	code, _, errs = runCLI(t, "embed", "--data", in, "--encoder", "bert", "--out", out)
	if code != exitUsage || !strings.Contains(errs, "builtin:FILE or onnx:DIR") {
		t.Errorf("bad spec: exit %d, stderr %q", code, errs)
	}
}
