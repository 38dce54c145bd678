package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	// TextSHA256 is the TextSHA256 of the exact text that was encoded,
	// or "" when unknown (files written before the column existed).
	TextSHA256 string
}

// TextSHA256 returns the hex SHA-256 of a prompt's exact text, the key an
// embedding cache checks besides the prompt id. It hashes the text as the
// encoder sees it, not NormalizePrompt's form: prompt ids are derived from
// the normalised text, so two texts sharing an id may still encode
// differently (a cased tokenizer, another file reusing an id).
func TextSHA256(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// embeddingSchema is the embedding cache's Parquet schema. Vectors are
// list<float32>: FixedSizeList round-trips wrongly through pqarrow.
// text_sha256 is null when unknown; files without the column still read.
var embeddingSchema = arrow.NewSchema([]arrow.Field{
	{Name: "prompt_id", Type: arrow.BinaryTypes.String},
	{Name: "encoder_id", Type: arrow.BinaryTypes.String},
	{Name: "embedding", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	{Name: "text_sha256", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// WriteEmbeddings writes an embedding cache as Parquet (prompt_id,
// encoder_id, embedding list<float32>, text_sha256 null when unknown),
// atomically: the file appears only when everything was written.
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
	hashes := b.Field(3).(*array.StringBuilder)
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
		if rows[i].TextSHA256 == "" {
			hashes.AppendNull()
		} else {
			hashes.Append(rows[i].TextSHA256)
		}
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
// the callback may keep. A file without the text_sha256 column (written
// before it existed) reads with every TextSHA256 "".
func ReadEmbeddings(ctx context.Context, path string, fn func(*Embedding) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// arrow-go panics on some corrupt files: every call into it below is
	// guarded and a panic becomes an error naming the file.
	var pr *file.Reader
	if perr := guard(path, "reading the footer", func() error {
		var err error
		if pr, err = file.NewParquetReader(f); err != nil {
			return &ParseError{File: path, Err: fmt.Errorf("not a Parquet file: %w", err)}
		}
		dropStoredSchema(pr)
		return nil
	}); perr != nil {
		return perr
	}
	defer pr.Close()
	var fr *pqarrow.FileReader
	if perr := guard(path, "reading the schema", func() error {
		fr, err = pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{Parallel: false, BatchSize: parquetBatch}, memory.DefaultAllocator)
		return err
	}); perr != nil {
		return perr
	}
	sc, err := fr.Schema()
	if err != nil {
		return &ParseError{File: path, Err: err}
	}
	cols := make([]int, 3, 4)
	for i, name := range []string{"prompt_id", "encoder_id", "embedding"} {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 {
			return &ParseError{File: path, Field: name, Err: errors.New("missing: not an embedding cache")}
		}
		cols[i] = idx[0]
	}
	switch idx := sc.FieldIndices("text_sha256"); len(idx) {
	case 0: // an old file: hashes unknown
	case 1:
		cols = append(cols, idx[0])
	default:
		return &ParseError{File: path, Field: "text_sha256", Err: errors.New("repeated column")}
	}
	var rr pqarrow.RecordReader
	if perr := guard(path, "opening the columns", func() error {
		rr, err = fr.GetRecordReader(ctx, cols, nil)
		return err
	}); perr != nil {
		return perr
	}
	defer rr.Release()
	total := pr.NumRows()
	row := 0
	for {
		var rec arrow.RecordBatch
		more := false
		if perr := guard(path, fmt.Sprintf("after row %d", row), func() error {
			if more = rr.Next(); !more {
				return nil
			}
			rec = rr.RecordBatch()
			for c := range int(rec.NumCols()) {
				// Offsets come from the file: check them before use.
				if v, ok := rec.Column(c).(interface{ ValidateFull() error }); ok {
					if err := v.ValidateFull(); err != nil {
						return err
					}
				}
			}
			return nil
		}); perr != nil {
			return perr
		}
		if !more {
			break
		}
		if int(rec.NumCols()) != len(cols) {
			return &ParseError{File: path, Line: row + 1, Err: fmt.Errorf("corrupt Parquet data: %d columns, want %d", rec.NumCols(), len(cols))}
		}
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
		var hashes *array.String
		if len(cols) == 4 {
			if hashes, ok = rec.Column(3).(*array.String); !ok {
				return &ParseError{File: path, Field: "text_sha256", Err: errors.New("want a string column")}
			}
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
			if hashes != nil && !hashes.IsNull(i) {
				e.TextSHA256 = string([]byte(hashes.Value(i)))
			}
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
	if int64(row) != total {
		// Never a silent loss of rows.
		return &ParseError{File: path, Err: fmt.Errorf("corrupt Parquet file: the footer counts %d rows, the pages hold %d", total, row)}
	}
	return nil
}

// guard runs fn, turning a panic inside arrow-go into an error naming the
// file and the stage of reading it was in.
func guard(path, stage string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &ParseError{File: path, Err: fmt.Errorf("corrupt Parquet file: %s: %v", stage, p)}
		}
	}()
	if err := fn(); err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return err
		}
		return &ParseError{File: path, Err: fmt.Errorf("%s: %w", stage, err)}
	}
	return nil
}
