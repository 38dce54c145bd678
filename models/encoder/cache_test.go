package encoder

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/routekit/routekit/data"
)

// countingEncoder is a real (if trivial) encoder that counts texts.
type countingEncoder struct {
	n   atomic.Int64
	dim int
	id  string
}

func (c *countingEncoder) Encode(_ context.Context, texts []string) ([][]float32, error) {
	c.n.Add(int64(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, c.dim)
		v[len(t)%c.dim] = 1
		out[i] = v
	}
	return out, nil
}
func (c *countingEncoder) Dim() int { return c.dim }
func (c *countingEncoder) Identity() Identity {
	return Identity{Kind: "test", Params: map[string]string{"dim": "4"}, Digest: c.id}
}

func TestEmbedUsesCache(t *testing.T) {
	ctx := context.Background()
	enc := &countingEncoder{dim: 4, id: "a"}
	path := filepath.Join(t.TempDir(), "emb.parquet")
	c, err := LoadCache(ctx, path, enc.Identity(), enc.Dim())
	if err != nil || c.Len() != 0 {
		t.Fatalf("a missing cache file: %v, %d rows", err, c.Len())
	}
	ids := []string{"p1", "p2", "p1", "p3"}
	texts := []string{"a", "bb", "a", "ccc"}
	vecs, n, err := Embed(ctx, enc, c, ids, texts, EmbedConfig{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || enc.n.Load() != 3 {
		t.Errorf("encoded %d (encoder saw %d), want 3: a repeated id is encoded once", n, enc.n.Load())
	}
	if len(vecs) != 4 || vecs[0][1] != 1 || vecs[2][1] != 1 || vecs[3][3] != 1 {
		t.Errorf("vectors %v", vecs)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}

	// A reload of the same encoder encodes only new prompts.
	c2, err := LoadCache(ctx, path, enc.Identity(), enc.Dim())
	if err != nil || c2.Len() != 3 {
		t.Fatalf("reload: %v, %d rows", err, c2.Len())
	}
	_, n, err = Embed(ctx, enc, c2, []string{"p1", "p4"}, []string{"a", "dddd"}, EmbedConfig{})
	if err != nil || n != 1 || enc.n.Load() != 4 {
		t.Errorf("second embed: encoded %d, total %d, err %v", n, enc.n.Load(), err)
	}

	// Another encoder finds nothing of its own, and cannot use c2.
	other := &countingEncoder{dim: 4, id: "b"}
	c3, err := LoadCache(ctx, path, other.Identity(), other.Dim())
	if err != nil || c3.Len() != 0 || !slices.Equal(c3.Others(), []EncoderRows{{enc.Identity().ID(), 3}}) {
		t.Errorf("other encoder: %v, %d rows, others %v", err, c3.Len(), c3.Others())
	}
	if _, _, err := Embed(ctx, other, c2, []string{"p1"}, []string{"a"}, EmbedConfig{}); err == nil {
		t.Error("Embed with a cache of another encoder succeeded")
	}
	// A cache whose vectors have another dimension is refused.
	if _, err := LoadCache(ctx, path, enc.Identity(), 8); err == nil {
		t.Error("LoadCache accepted 4-dim vectors for an 8-dim encoder")
	}
}

// TestCacheTextChanged: two data files use the prompt id "p1" for
// different texts; the second run must not take the first one's vector.
func TestCacheTextChanged(t *testing.T) {
	ctx := context.Background()
	enc := &countingEncoder{dim: 8, id: "a"}
	path := filepath.Join(t.TempDir(), "emb.parquet")
	c := NewCache(enc.Identity())
	if _, _, err := Embed(ctx, enc, c, []string{"p1", "p2"}, []string{"hi", "hello"}, EmbedConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCache(ctx, path, enc.Identity(), enc.Dim())
	if err != nil {
		t.Fatal(err)
	}
	ids, texts := []string{"p1", "p2", "p3"}, []string{"a longer text", "hello", "new"}
	if got, want := c.Check(ids, texts), (Coverage{Reused: 1, Changed: 1, New: 1}); got != want {
		t.Errorf("Check = %+v, want %+v", got, want)
	}
	if _, ok := c.Get("p1", "a longer text"); ok {
		t.Error("Get returned the vector of another text")
	}
	vecs, n, err := Embed(ctx, enc, c, ids, texts, EmbedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || enc.n.Load() != 4 {
		t.Errorf("encoded %d (encoder saw %d in all), want 2 (4)", n, enc.n.Load())
	}
	// countingEncoder sets component len(text)%dim: "a longer text" is 13 long.
	if vecs[0][13%8] != 1 || vecs[0][2] != 0 {
		t.Errorf("p1 got vector %v, the stale one of \"hi\"", vecs[0])
	}
	if v, ok := c.Get("p1", "a longer text"); !ok || v[5] != 1 {
		t.Errorf("the recomputed vector was not cached: %v, %v", v, ok)
	}
	// One call holding one id with two texts gives each its own vector.
	vecs, _, err = Embed(ctx, enc, NewCache(enc.Identity()), []string{"q", "q", "q"}, []string{"ab", "abc", "ab"}, EmbedConfig{})
	if err != nil || vecs[0][2] != 1 || vecs[1][3] != 1 || vecs[2][2] != 1 {
		t.Errorf("one id, two texts: %v, %v", vecs, err)
	}
}

// TestCacheUnhashedRows: rows of a file written before text hashes load
// but are recomputed (their text is unknown), and then get a hash.
func TestCacheUnhashedRows(t *testing.T) {
	ctx := context.Background()
	enc := &countingEncoder{dim: 4, id: "a"}
	path := filepath.Join(t.TempDir(), "emb.parquet")
	id := enc.Identity().ID()
	if err := data.WriteEmbeddings(path, []data.Embedding{
		{PromptID: "p1", EncoderID: id, Vector: []float32{9, 9, 9, 9}},
		{PromptID: "p2", EncoderID: id, Vector: []float32{8, 8, 8, 8}},
	}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCache(ctx, path, enc.Identity(), enc.Dim())
	if err != nil || c.Len() != 2 {
		t.Fatalf("old file: %v, %d rows", err, c.Len())
	}
	if got := c.Check([]string{"p1"}, []string{"x"}); got != (Coverage{Unhashed: 1}) {
		t.Errorf("Check = %+v", got)
	}
	vecs, n, err := Embed(ctx, enc, c, []string{"p1"}, []string{"x"}, EmbedConfig{})
	if err != nil || n != 1 || vecs[0][0] == 9 {
		t.Fatalf("an unhashed row was trusted: %v, %d encoded, %v", vecs, n, err)
	}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	data.ReadEmbeddings(ctx, path, func(e *data.Embedding) error { hashes[e.PromptID] = e.TextSHA256; return nil })
	if hashes["p1"] != data.TextSHA256("x") || hashes["p2"] != "" {
		t.Errorf("hashes after save: %v", hashes)
	}
}

// TestCacheKeepsOtherEncoders: a file holds several encoders; Save keeps
// the others' rows, at most MaxEncoders encoders, dropping the oldest.
func TestCacheKeepsOtherEncoders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "emb.parquet")
	ids := []string{"p1", "p2", "p3"}
	texts := []string{"one", "two", "three"}
	encs := make([]*countingEncoder, MaxEncoders+1)
	for k := range encs {
		encs[k] = &countingEncoder{dim: 4 + k, id: fmt.Sprint("enc", k)}
		c, err := LoadCache(ctx, path, encs[k].Identity(), encs[k].Dim())
		if err != nil {
			t.Fatal(err)
		}
		others := c.Others()
		if want := min(k, MaxEncoders-1); len(others) != want {
			t.Fatalf("encoder %d: %d others kept, want %d", k, len(others), want)
		}
		for j, o := range others { // most recent first
			if o.EncoderID != encs[k-1-j].Identity().ID() || o.Rows != len(ids) {
				t.Errorf("encoder %d: other %d is %+v, want %s with %d rows", k, j, o, encs[k-1-j].Identity().ID(), len(ids))
			}
		}
		if d := c.Dropped(); k == MaxEncoders && (len(d) != 1 || d[0].EncoderID != encs[0].Identity().ID()) {
			t.Errorf("encoder %d dropped %v, want the oldest", k, d)
		} else if k < MaxEncoders && len(d) != 0 {
			t.Errorf("encoder %d dropped %v", k, d)
		}
		if _, _, err := Embed(ctx, encs[k], c, ids, texts, EmbedConfig{}); err != nil {
			t.Fatal(err)
		}
		if err := c.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	// Encoder 1's rows survived four saves by others, intact: nothing to
	// encode, and the vectors are its own (dimension 5).
	c, err := LoadCache(ctx, path, encs[1].Identity(), encs[1].Dim())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Check(ids, texts); got != (Coverage{Reused: 3}) {
		t.Errorf("encoder 1 after others saved: %+v", got)
	}
	if v, ok := c.Get("p3", "three"); !ok || len(v) != 5 || v[0] != 1 {
		t.Errorf("p3 of encoder 1: %v", v)
	}
	// Encoder 0, the oldest, was dropped: the file holds MaxEncoders.
	rows := map[string]int{}
	data.ReadEmbeddings(ctx, path, func(e *data.Embedding) error { rows[e.EncoderID]++; return nil })
	if len(rows) != MaxEncoders || rows[encs[0].Identity().ID()] != 0 {
		t.Errorf("rows by encoder: %v", rows)
	}
}

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Spec
		bad  bool
	}{
		{"builtin", Spec{Kind: "builtin"}, false},
		{"builtin:enc.bin", Spec{Kind: "builtin", Path: "enc.bin"}, false},
		{"onnx:models/minilm", Spec{Kind: "onnx", Path: "models/minilm"}, false},
		{"onnx", Spec{}, true},
		{"openai", Spec{}, true},
		{"", Spec{}, true},
	} {
		got, err := ParseSpec(c.in)
		if c.bad {
			if !errors.Is(err, ErrBadSpec) {
				t.Errorf("ParseSpec(%q) err = %v, want ErrBadSpec", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want || got.String() != c.in {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, got, err)
		}
	}
	if _, err := Open(context.Background(), Spec{Kind: "builtin"}, OpenConfig{}, nil); err == nil {
		t.Error("fitting a builtin on no prompts succeeded")
	}
	enc, err := Open(context.Background(), Spec{Kind: "builtin", Path: "/nonexistent"}, OpenConfig{}, nil)
	if err == nil || enc != nil {
		t.Errorf("Open of a missing file = %v, %v; want a nil Encoder and an error", enc, err)
	}
}
