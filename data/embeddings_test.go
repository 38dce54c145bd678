package data

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
)

func TestTextSHA256(t *testing.T) {
	// The well-known SHA-256 of "abc".
	if got := TextSHA256("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("TextSHA256(abc) = %s", got)
	}
	// The exact text counts: texts sharing a prompt id still differ.
	if PromptIDOf("Hello  World") != PromptIDOf("hello world") || TextSHA256("Hello  World") == TextSHA256("hello world") {
		t.Error("TextSHA256 must hash the exact text, not the normalised one")
	}
}

// TestEmbeddingsOldFile reads a cache written before the text_sha256
// column existed: prompt_id, encoder_id, embedding only.
func TestEmbeddingsOldFile(t *testing.T) {
	old := arrow.NewSchema([]arrow.Field{
		{Name: "prompt_id", Type: arrow.BinaryTypes.String},
		{Name: "encoder_id", Type: arrow.BinaryTypes.String},
		{Name: "embedding", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	}, nil)
	path := filepath.Join(t.TempDir(), "old.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(old, struct{ io.Writer }{f}, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, old)
	defer b.Release()
	want := []Embedding{
		{PromptID: "p1", EncoderID: "builtin-abc", Vector: []float32{1, 2}},
		{PromptID: "p2", EncoderID: "builtin-abc", Vector: []float32{3, -4}},
	}
	for _, e := range want {
		b.Field(0).(*array.StringBuilder).Append(e.PromptID)
		b.Field(1).(*array.StringBuilder).Append(e.EncoderID)
		l := b.Field(2).(*array.ListBuilder)
		l.Append(true)
		l.ValueBuilder().(*array.Float32Builder).AppendValues(e.Vector, nil)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var got []Embedding
	if err := ReadEmbeddings(context.Background(), path, func(e *Embedding) error {
		got = append(got, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("old file (-want +got):\n%s", d)
	}
}

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
				if i%3 != 0 { // some rows have an unknown text hash
					rows[i].TextSHA256 = TextSHA256(fmt.Sprintf("prompt %d", i))
				}
				if i%2 == 1 { // a file may hold the rows of several encoders
					rows[i].EncoderID = "onnx-def"
				}
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

// TestReadEmbeddingsCorrupt damages a valid cache file byte by byte and
// by truncation: every read either succeeds with all its rows or fails
// with an error naming the file; none panics.
func TestReadEmbeddingsCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	var rows []Embedding
	for i := range 20 {
		rows = append(rows, Embedding{PromptID: fmt.Sprintf("p%d", i), EncoderID: "builtin:x", Vector: []float32{float32(i), 1, 2, 3}, TextSHA256: TextSHA256(fmt.Sprint(i))})
	}
	if err := WriteEmbeddings(good, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bad.parquet")
	try := func(what string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := ReadEmbeddings(context.Background(), path, func(*Embedding) error { n++; return nil })
		if err == nil {
			if n != len(rows) {
				t.Errorf("%s: read %d rows without an error, want %d", what, n, len(rows))
			}
			return
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.File != path {
			t.Errorf("%s: error %v does not name the file", what, err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 400 {
		c := bytes.Clone(b)
		pos := rng.IntN(len(c))
		c[pos] ^= byte(1 + rng.IntN(255))
		try(fmt.Sprintf("flip %d at %d", i, pos), c)
	}
	for _, n := range []int{0, 4, 8, len(b) / 2, len(b) - 9, len(b) - 1} {
		try(fmt.Sprintf("truncated to %d", n), b[:n])
	}
}
