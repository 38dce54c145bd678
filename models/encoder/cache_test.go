package encoder

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
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
	if err != nil || c3.Len() != 0 || c3.Stale != 3 {
		t.Errorf("other encoder: %v, %d rows, %d stale", err, c3.Len(), c3.Stale)
	}
	if _, _, err := Embed(ctx, other, c2, []string{"p1"}, []string{"a"}, EmbedConfig{}); err == nil {
		t.Error("Embed with a cache of another encoder succeeded")
	}
	// A cache whose vectors have another dimension is refused.
	if _, err := LoadCache(ctx, path, enc.Identity(), 8); err == nil {
		t.Error("LoadCache accepted 4-dim vectors for an 8-dim encoder")
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
