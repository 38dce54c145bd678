package data

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatch is the number of rows decoded at a time.
const parquetBatch = 64 << 10

// parquetSource reads a Parquet file batch by batch through Arrow.
type parquetSource struct {
	file  string
	f     *os.File
	rr    pqarrow.RecordReader
	names []string
	index map[string]int
	rec   arrow.RecordBatch
	i, n  int // row within rec, rows in rec
	row   int // rows returned so far
	cols  []*columnReader
}

func newParquetSource(ctx context.Context, path string) (*parquetSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	pr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("not a Parquet file: %w", err)}
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{Parallel: true, BatchSize: parquetBatch}, memory.DefaultAllocator)
	if err != nil {
		pr.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("reading Parquet schema: %w", err)}
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		pr.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("reading Parquet: %w", err)}
	}
	sc := rr.Schema()
	s := &parquetSource{file: path, f: f, rr: rr, index: make(map[string]int)}
	for i, fld := range sc.Fields() {
		s.names = append(s.names, fld.Name)
		s.index[fld.Name] = i
		s.cols = append(s.cols, &columnReader{intern: make(map[string]string)})
	}
	return s, nil
}

func (s *parquetSource) keys() []string { return s.names }

func (s *parquetSource) next() (getter, int, error) {
	for s.rec == nil || s.i >= s.n {
		if !s.rr.Next() {
			if err := s.rr.Err(); err != nil && err != io.EOF {
				return nil, 0, &ParseError{File: s.file, Line: s.row + 1, Err: fmt.Errorf("reading Parquet: %w", err)}
			}
			return nil, 0, io.EOF
		}
		s.rec = s.rr.RecordBatch()
		s.i, s.n = 0, int(s.rec.NumRows())
		for c := range s.cols {
			s.cols[c].arr = s.rec.Column(c)
		}
	}
	r := parquetRow{s: s, i: s.i}
	s.i++
	s.row++
	return r, s.row, nil
}

// A Parquet read error is about a page, not a row, and the reader stays
// failed: skipping it would retry the same error forever.
func (s *parquetSource) recoverable() bool { return false }

func (s *parquetSource) Close() error {
	s.rr.Release()
	return s.f.Close()
}

type parquetRow struct {
	s *parquetSource
	i int
}

func (r parquetRow) get(field string) (any, bool) {
	c, ok := r.s.index[field]
	if !ok {
		return nil, false
	}
	return r.s.cols[c].value(r.i), true
}

// columnReader converts one column's values, interning short strings so
// repeated model names and tasks share memory and do not pin Arrow buffers.
type columnReader struct {
	arr    arrow.Array
	intern map[string]string
	last   string
}

const maxInterned = 4096

func (c *columnReader) str(s string) string {
	if len(s) <= 64 {
		if v, ok := c.intern[s]; ok {
			return v
		}
		v := strings.Clone(s)
		if len(c.intern) < maxInterned {
			c.intern[v] = v
		}
		return v
	}
	if s == c.last {
		return c.last
	}
	c.last = strings.Clone(s)
	return c.last
}

func (c *columnReader) value(i int) any {
	switch a := c.arr.(type) {
	case *array.String:
		if a.IsNull(i) {
			return nil
		}
		return c.str(a.Value(i))
	case *array.LargeString:
		if a.IsNull(i) {
			return nil
		}
		return c.str(a.Value(i))
	}
	return arrowValue(c.arr, i)
}

// arrowValue converts one value of an Arrow array to a generic value.
func arrowValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return string(a.Value(i))
	case *array.LargeBinary:
		return string(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float16:
		return float64(a.Value(i).Float32())
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return float64(a.Value(i))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Date64:
		return a.Value(i).ToTime().UTC()
	case *array.Dictionary:
		return arrowValue(a.Dictionary(), a.GetValueIndex(i))
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		m := make(map[string]any, end-start)
		for j := start; j < end; j++ {
			k, err := toString(arrowValue(keys, int(j)))
			if err != nil {
				k = fmt.Sprint(arrowValue(keys, int(j)))
			}
			m[k] = arrowValue(items, int(j))
		}
		return m
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		vals := a.ListValues()
		l := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			l = append(l, arrowValue(vals, int(j)))
		}
		return l
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		m := make(map[string]any, a.NumField())
		for f := 0; f < a.NumField(); f++ {
			m[st.Field(f).Name] = arrowValue(a.Field(f), i)
		}
		return m
	}
	return arr.ValueStr(i)
}

// timestampType is the Arrow type of the canonical timestamp columns.
var timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

func toTimestamp(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMicro()) }
