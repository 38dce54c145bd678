package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Embedding is one cached prompt embedding.
type Embedding struct {
	PromptID string
	// EncoderID is the full identity of the encoder that made Vector.
	EncoderID string
	Vector    []float32
}

// embeddingSchema is the embedding cache's Parquet schema. Vectors are
// list<float32>: FixedSizeList round-trips wrongly through pqarrow.
var embeddingSchema = arrow.NewSchema([]arrow.Field{
	{Name: "prompt_id", Type: arrow.BinaryTypes.String},
	{Name: "encoder_id", Type: arrow.BinaryTypes.String},
	{Name: "embedding", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
}, nil)

// WriteEmbeddings writes an embedding cache as Parquet, atomically: the
// file appears only when everything was written.
func WriteEmbeddings(path string, rows []Embedding) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(parquetRowGroup))
	fw, err := pqarrow.NewFileWriter(embeddingSchema, struct{ io.Writer }{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fail(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, embeddingSchema)
	defer b.Release()
	ids := b.Field(0).(*array.StringBuilder)
	encs := b.Field(1).(*array.StringBuilder)
	lists := b.Field(2).(*array.ListBuilder)
	vals := lists.ValueBuilder().(*array.Float32Builder)
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		return fw.Write(rec)
	}
	for i := range rows {
		ids.Append(rows[i].PromptID)
		encs.Append(rows[i].EncoderID)
		lists.Append(true)
		vals.AppendValues(rows[i].Vector, nil)
		if (i+1)%parquetRowGroup == 0 {
			if err := flush(); err != nil {
				return fail(err)
			}
		}
	}
	if len(rows)%parquetRowGroup != 0 || len(rows) == 0 {
		if err := flush(); err != nil {
			return fail(err)
		}
	}
	if err := fw.Close(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ReadEmbeddings streams an embedding cache. Each Vector is a fresh slice
// the callback may keep.
func ReadEmbeddings(ctx context.Context, path string, fn func(*Embedding) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		return &ParseError{File: path, Err: fmt.Errorf("not a Parquet file: %w", err)}
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, memory.DefaultAllocator)
	if err != nil {
		return &ParseError{File: path, Err: err}
	}
	sc, err := fr.Schema()
	if err != nil {
		return &ParseError{File: path, Err: err}
	}
	var cols [3]int
	for i, name := range []string{"prompt_id", "encoder_id", "embedding"} {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 {
			return &ParseError{File: path, Field: name, Err: errors.New("missing: not an embedding cache")}
		}
		cols[i] = idx[0]
	}
	rr, err := fr.GetRecordReader(ctx, cols[:], nil)
	if err != nil {
		return &ParseError{File: path, Err: err}
	}
	defer rr.Release()
	row := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		ids, ok1 := rec.Column(0).(*array.String)
		encs, ok2 := rec.Column(1).(*array.String)
		lists, ok3 := rec.Column(2).(*array.List)
		if !ok1 || !ok2 || !ok3 {
			return &ParseError{File: path, Err: errors.New("columns of the wrong types: want string, string, list<float32>")}
		}
		vals, ok := lists.ListValues().(*array.Float32)
		if !ok {
			return &ParseError{File: path, Field: "embedding", Err: errors.New("want list<float32>")}
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			if ids.IsNull(i) || encs.IsNull(i) || lists.IsNull(i) {
				return &ParseError{File: path, Line: row, Err: errors.New("null value")}
			}
			start, end := lists.ValueOffsets(i)
			vec := make([]float32, end-start)
			copy(vec, vals.Float32Values()[start:end])
			e := Embedding{PromptID: ids.Value(i), EncoderID: encs.Value(i), Vector: vec}
			e.PromptID = string([]byte(e.PromptID))
			e.EncoderID = string([]byte(e.EncoderID))
			if err := fn(&e); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return &ParseError{File: path, Line: row + 1, Err: err}
	}
	return nil
}
