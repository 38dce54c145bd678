package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/routekit/routekit/data"
)

// cacheByEncoder reads an embedding cache into encoder id -> prompt id -> row.
func cacheByEncoder(t *testing.T, path string) map[string]map[string]data.Embedding {
	t.Helper()
	out := map[string]map[string]data.Embedding{}
	if err := data.ReadEmbeddings(context.Background(), path, func(e *data.Embedding) error {
		if out[e.EncoderID] == nil {
			out[e.EncoderID] = map[string]data.Embedding{}
		}
		out[e.EncoderID][e.PromptID] = *e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTrainCacheKeepsOtherEncoder: 'train --cache' with the default
// encoder (refitted on train-minus-val, so another identity than the one
// 'embed' fitted on all prompts) keeps the embed run's rows, says so, and
// a later embed run still finds all of them.
func TestTrainCacheKeepsOtherEncoder(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "7", "--models", "3", "--prompts", "300", "--battles", "0", "--out-dir", world)
	outcomes := filepath.Join(world, "outcomes.parquet")
	emb := filepath.Join(dir, "emb.parquet")
	mustRun(t, "embed", "--data", outcomes, "--encoder", "builtin", "--dim", "16", "--out", emb)
	before := cacheByEncoder(t, emb)
	if len(before) != 1 {
		t.Fatalf("embed wrote %d encoders", len(before))
	}
	var embedEnc string
	for id := range before {
		embedEnc = id
	}
	n := len(before[embedEnc])

	code, _, errs := runCLI(t, "train", "--router", "knn", "--data", outcomes, "--dim", "16", "--cache", emb, "--out", filepath.Join(dir, "a1"))
	if code != exitOK {
		t.Fatalf("train: exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{"reused=0", "encoded=" + strconv.Itoa(n), "other_encoder_rows_kept=" + strconv.Itoa(n), "other_encoders_kept=1"} {
		if !strings.Contains(errs, want) {
			t.Errorf("train's log lacks %q:\n%s", want, errs)
		}
	}
	after := cacheByEncoder(t, emb)
	if len(after) != 2 {
		t.Fatalf("after train the cache holds %d encoders, want 2 (embed's and train's)", len(after))
	}
	for id, e := range before[embedEnc] {
		a, ok := after[embedEnc][id]
		if !ok || !slices.Equal(a.Vector, e.Vector) || a.TextSHA256 != e.TextSHA256 || a.TextSHA256 == "" {
			t.Fatalf("train changed embed's row of %s: %+v -> %+v", id, e, a)
		}
	}

	// The same training run again refits the same encoder: all reused.
	code, _, errs = runCLI(t, "train", "--router", "knn", "--data", outcomes, "--dim", "16", "--cache", emb, "--out", filepath.Join(dir, "a2"))
	if code != exitOK || !strings.Contains(errs, "reused="+strconv.Itoa(n)) || !strings.Contains(errs, "encoded=0") {
		t.Errorf("second train: exit %d, log:\n%s", code, errs)
	}
	// And embed's encoder still finds every prompt.
	got := mustRun(t, "embed", "--data", outcomes, "--encoder", "builtin:"+filepath.Join(dir, "emb.encoder"), "--out", emb)
	if !strings.Contains(got, strconv.Itoa(n)+" from the cache, 0 encoded") || !strings.Contains(got, "kept "+strconv.Itoa(n)+" rows of 1 other encoder") {
		t.Errorf("embed after train: %q", got)
	}
}

// TestEmbedSameIDOtherText: two data files use prompt id "p1" for
// different texts; the second run must encode its own text.
func TestEmbedSameIDOtherText(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "3", "--models", "2", "--prompts", "200", "--battles", "0", "--out-dir", world)
	encFile := filepath.Join(dir, "fit.encoder")
	mustRun(t, "embed", "--data", filepath.Join(world, "outcomes.parquet"), "--encoder", "builtin", "--dim", "16",
		"--save-encoder", encFile, "--out", filepath.Join(dir, "fit.parquet"))

	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	os.WriteFile(a, []byte(`{"prompt_id":"p1","prompt":"Write a poem about the sea","model":"m","score":1}`+"\n"), 0o644)
	os.WriteFile(b, []byte(`{"prompt_id":"p1","prompt":"Prove that there are infinitely many primes","model":"m","score":0}`+"\n"), 0o644)
	emb := filepath.Join(dir, "emb.parquet")
	got := mustRun(t, "embed", "--data", a, "--encoder", "builtin:"+encFile, "--out", emb)
	if !strings.Contains(got, "0 from the cache, 1 encoded") {
		t.Errorf("first file: %q", got)
	}
	first := readCache(t, emb)["p1"]
	got = mustRun(t, "embed", "--data", b, "--encoder", "builtin:"+encFile, "--out", emb)
	if !strings.Contains(got, "0 from the cache, 1 encoded") || !strings.Contains(got, "1 re-encoded because their text differs") {
		t.Errorf("second file, same id, other text: %q", got)
	}
	second := readCache(t, emb)["p1"]
	if slices.Equal(first.Vector, second.Vector) || second.TextSHA256 != data.TextSHA256("Prove that there are infinitely many primes") {
		t.Errorf("p1 kept the vector of the first file's text")
	}
	// The same text again is a hit.
	got = mustRun(t, "embed", "--data", b, "--encoder", "builtin:"+encFile, "--out", emb)
	if !strings.Contains(got, "1 from the cache, 0 encoded") {
		t.Errorf("third run: %q", got)
	}
}
