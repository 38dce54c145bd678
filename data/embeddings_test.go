package data

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEmbeddingsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for _, n := range []int{0, 1, 7, parquetRowGroup + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rows := make([]Embedding, n)
			for i := range rows {
				dim := 384
				if i%5 == 0 || i >= 200 {
					dim = 3 // vectors of different lengths survive too
				}
				v := make([]float32, dim)
				for j := range v {
					v[j] = float32(r.NormFloat64())
				}
				rows[i] = Embedding{PromptID: fmt.Sprintf("p%06d", i), EncoderID: "builtin-abc", Vector: v}
			}
			path := filepath.Join(t.TempDir(), "emb.parquet")
			if err := WriteEmbeddings(path, rows); err != nil {
				t.Fatal(err)
			}
			var got []Embedding
			if err := ReadEmbeddings(context.Background(), path, func(e *Embedding) error {
				got = append(got, *e)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				if len(got) != 0 {
					t.Fatalf("read %d rows from an empty cache", len(got))
				}
				return
			}
			if d := cmp.Diff(rows, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestEmbeddingsBadFile(t *testing.T) {
	dir := t.TempDir()
	notPQ := filepath.Join(dir, "x.parquet")
	os.WriteFile(notPQ, []byte("hello"), 0o644)
	err := ReadEmbeddings(context.Background(), notPQ, func(*Embedding) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not a Parquet file") {
		t.Errorf("err = %v", err)
	}
	// An outcomes file is not an embedding cache.
	out := filepath.Join(dir, "o.parquet")
	w, err := Create(out, "", KindOutcome)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteOutcome(&Outcome{PromptID: "p", Prompt: "x", Model: "m", Score: 1})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	err = ReadEmbeddings(context.Background(), out, func(*Embedding) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "encoder_id: missing") {
		t.Errorf("err = %v", err)
	}
}
