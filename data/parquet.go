package data

import (
	"context"
	"errors"
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
//
// arrow-go panics on some corrupt files (an invalid logical type in the
// footer, a page length out of range, a missing page header). Every call
// into it is guarded: a panic becomes a *ParseError naming the file and,
// when known, the row and row group, and the source stays failed. Reads
// are not parallel within arrow-go, so columns are decoded on a goroutine
// of the source's own, where a panic can be recovered. (arrow-go still opens the children of
// a struct column on an errgroup goroutine; the canonical layouts have
// no struct columns.) A footer whose row count disagrees with its row
// groups or pages is an error, never a silent loss of rows.
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
	// rowGroupEnds are the cumulative row counts of the row groups.
	rowGroupEnds []int64
	total        int64
	progress     func(file string, done, total int64)
	err          error // sticky: the reader is unusable after a failure
	// Batches are decoded one ahead on a goroutine of the source's own
	// (decoding and converting rows then overlap on two cores): it sends
	// each retained batch on batches, which it closes when it is done;
	// closing stop makes it quit early.
	batches chan pqBatch
	stop    chan struct{}
	done    chan struct{} // closed when the decoding goroutine has returned
	eof     bool
}

// pqBatch is one step of the decoding goroutine: a retained record batch,
// or the end of the file (rec nil, err nil), or a failure.
type pqBatch struct {
	rec arrow.RecordBatch
	err error
}

// newParquetSource opens a Parquet file. progress, when not nil, is called
// with the rows read so far and the file's row count: once on opening,
// then for each record batch and at the end.
func newParquetSource(ctx context.Context, path string, progress func(file string, done, total int64)) (s *parquetSource, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	stage := "reading the footer"
	defer func() {
		if p := recover(); p != nil {
			f.Close()
			s, err = nil, &ParseError{File: path, Err: fmt.Errorf("corrupt Parquet file: %s: %v", stage, p)}
		}
	}()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("not a Parquet file: %w", err)}
	}
	stage = "reading the schema"
	dropStoredSchema(pr)
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{Parallel: false, BatchSize: parquetBatch}, memory.DefaultAllocator)
	if err != nil {
		pr.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("reading Parquet schema: %w", err)}
	}
	stage = "opening the columns"
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		pr.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("reading Parquet: %w", err)}
	}
	s = &parquetSource{file: path, f: f, rr: rr, index: make(map[string]int), progress: progress}
	md := pr.MetaData()
	for g := range pr.NumRowGroups() {
		s.total += md.RowGroup(g).NumRows()
		s.rowGroupEnds = append(s.rowGroupEnds, s.total)
	}
	if n := pr.NumRows(); n != s.total {
		rr.Release()
		f.Close()
		return nil, &ParseError{File: path, Err: fmt.Errorf("corrupt Parquet file: the footer counts %d rows, its row groups %d", n, s.total)}
	}
	sc := rr.Schema()
	for i, fld := range sc.Fields() {
		s.names = append(s.names, fld.Name)
		s.index[fld.Name] = i
		s.cols = append(s.cols, &columnReader{intern: make(map[string]string)})
	}
	s.batches, s.stop, s.done = make(chan pqBatch, 1), make(chan struct{}), make(chan struct{})
	go s.decode()
	s.report(0)
	return s, nil
}

// decode runs on its own goroutine, reading batches until the end of the
// file, a failure, or stop.
func (s *parquetSource) decode() {
	defer close(s.done)
	defer close(s.batches)
	var rows int64
	for {
		b := s.decodeBatch(&rows)
		select {
		case s.batches <- b:
		case <-s.stop:
			if b.rec != nil {
				b.rec.Release()
			}
			return
		}
		if b.rec == nil {
			return
		}
	}
}

// decodeBatch decodes the next batch, checking what arrow-go took from the
// file; rows counts the rows decoded so far.
func (s *parquetSource) decodeBatch(rows *int64) (b pqBatch) {
	defer func() {
		if p := recover(); p != nil {
			if b.rec != nil {
				b.rec.Release()
			}
			b = pqBatch{err: fmt.Errorf("corrupt Parquet data: %v", p)}
		}
	}()
	if !s.rr.Next() {
		if err := s.rr.Err(); err != nil && err != io.EOF {
			return pqBatch{err: fmt.Errorf("reading Parquet: %w", err)}
		}
		if *rows != s.total {
			// Never a silent loss of rows.
			return pqBatch{err: fmt.Errorf("corrupt Parquet file: the footer counts %d rows, the pages hold %d", s.total, *rows)}
		}
		return pqBatch{}
	}
	rec := s.rr.RecordBatch()
	if int(rec.NumCols()) != len(s.cols) {
		return pqBatch{err: fmt.Errorf("corrupt Parquet data: %d columns, want %d", rec.NumCols(), len(s.cols))}
	}
	for c := range s.cols {
		// Offsets and dictionary indices come from the file: check them
		// before values are taken out.
		if v, ok := rec.Column(c).(interface{ ValidateFull() error }); ok {
			if err := v.ValidateFull(); err != nil {
				return pqBatch{err: fmt.Errorf("corrupt Parquet data in column %q: %w", s.names[c], err)}
			}
		}
	}
	*rows += rec.NumRows()
	rec.Retain() // the reader reuses it at its next Next
	return pqBatch{rec: rec}
}

// dropStoredSchema removes the Arrow schema that Arrow writers store in
// the footer (ARROW:schema, a base64 IPC message), so the columns' Arrow
// types come from the Parquet schema alone. arrow-go trusts the lengths
// in that message: a corrupt one makes it allocate terabytes, a fatal
// error no recover catches. The Parquet logical types carry all the
// readers need (strings, numbers, UTC timestamps, lists, maps).
func dropStoredSchema(pr *file.Reader) {
	md := pr.MetaData()
	kv := md.KeyValueMetadata()
	keep := kv[:0:0]
	for _, e := range kv {
		if e.GetKey() != "ARROW:schema" {
			keep = append(keep, e)
		}
	}
	md.FileMetaData.KeyValueMetadata = keep
}

// report calls the progress hook, if any.
func (s *parquetSource) report(done int64) {
	if s.progress != nil {
		s.progress(s.file, done, s.total)
	}
}

// rowGroupOf returns the 0-based row group holding the 1-based row, or -1.
func (s *parquetSource) rowGroupOf(row int) int {
	for g, end := range s.rowGroupEnds {
		if int64(row) <= end {
			return g
		}
	}
	return -1
}

// fail makes err the source's sticky error, wrapped as a *ParseError at
// the next row.
func (s *parquetSource) fail(err error) error {
	line := s.row + 1
	if g := s.rowGroupOf(line); g >= 0 {
		err = fmt.Errorf("row group %d: %w", g, err)
	}
	s.err = &ParseError{File: s.file, Line: line, Err: err}
	return s.err
}

func (s *parquetSource) keys() []string { return s.names }

// nextBatch moves to the next record batch, returning false at the end.
func (s *parquetSource) nextBatch() (ok bool, err error) {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	if s.eof {
		return false, nil
	}
	b, open := <-s.batches
	switch {
	case !open:
		return false, s.fail(errors.New("reading Parquet: the source is closed"))
	case b.err != nil:
		return false, s.fail(b.err)
	case b.rec == nil:
		s.eof = true
		return false, nil
	}
	s.rec = b.rec
	s.i, s.n = 0, int(b.rec.NumRows())
	for c := range s.cols {
		s.cols[c].arr = b.rec.Column(c)
	}
	return true, nil
}

func (s *parquetSource) next() (getter, int, error) {
	if s.err != nil {
		return nil, 0, s.err
	}
	for s.rec == nil || s.i >= s.n {
		ok, err := s.nextBatch()
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			s.report(int64(s.row))
			return nil, 0, io.EOF
		}
		s.report(int64(s.row))
	}
	r := parquetRow{s: s, i: s.i}
	s.i++
	s.row++
	return r, s.row, nil
}

// A Parquet read error is about a page, not a row, and the reader stays
// failed: skipping it would retry the same error forever.
func (s *parquetSource) recoverable() bool { return false }

func (s *parquetSource) Close() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &ParseError{File: s.file, Err: fmt.Errorf("corrupt Parquet file: closing: %v", p)}
		}
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}()
	if s.stop != nil {
		close(s.stop)
		for b := range s.batches {
			if b.rec != nil {
				b.rec.Release()
			}
		}
		<-s.done
	}
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	s.rr.Release()
	return nil
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
