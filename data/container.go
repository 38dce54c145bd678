package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// Container is the encoding of a file, independent of its layout.
type Container string

// The containers the readers understand.
const (
	JSONL   Container = "jsonl"
	JSON    Container = "json" // a JSON array of objects (or JSON Lines)
	CSV     Container = "csv"
	Parquet Container = "parquet"
)

// ContainerOf guesses a container from a file name: .jsonl, .json, .csv,
// .parquet, each optionally followed by .gz or .zst.
func ContainerOf(path string) (Container, error) {
	name := strings.ToLower(filepath.Base(path))
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zst")
	switch filepath.Ext(name) {
	case ".jsonl", ".ndjson":
		return JSONL, nil
	case ".json":
		return JSON, nil
	case ".csv":
		return CSV, nil
	case ".parquet", ".pq":
		return Parquet, nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension (want .jsonl, .json, .csv or .parquet, optionally .gz or .zst); name it with --format", path)
}

// ParseContainer parses a --format value.
func ParseContainer(s string) (Container, error) {
	switch c := Container(strings.ToLower(s)); c {
	case JSONL, JSON, CSV, Parquet:
		return c, nil
	case "ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown format %q (want jsonl, json, csv or parquet)", s)
}

// openText opens a text file, decompressing .gz and .zst.
func openText(path string) (io.ReadCloser, error) { return openTextProgress(path, nil) }

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// rowSource yields the records of one file in order.
type rowSource interface {
	// keys returns the field names of the file: the header, the schema or
	// the first record's keys.
	keys() []string
	// next returns the next record and its line (or Parquet row); io.EOF
	// at the end. A *ParseError for one record leaves the source usable
	// when recoverable reports true.
	next() (getter, int, error)
	// recoverable reports whether reading can go on after the last error.
	recoverable() bool
	Close() error
}

func decodeObject(b []byte) (mapRow, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if m == nil {
		return nil, errors.New("want a JSON object, got null")
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: more than one value on the line")
	}
	return m, nil
}

// mapKeys returns a record's keys, sorted: the column order of a JSON
// wide table, which must not change from one read to the next.
func mapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonArraySource reads a JSON array of objects, one element at a time.
// A file that does not start with '[' is read as JSON Lines.
type jsonArraySource struct {
	file  string
	rc    io.ReadCloser
	cr    *countingReader
	dec   *json.Decoder
	first []string // the keys of the first good element
	done  bool
}

func newJSONSource(file string, rc io.ReadCloser) (rowSource, error) {
	br := bufio.NewReaderSize(rc, 1<<16)
	// Peek past white space for the first byte, consuming nothing, so the
	// lines before it are counted.
	for i := 0; ; i++ {
		b, err := br.Peek(i + 1)
		if len(b) <= i {
			if err == io.EOF {
				return &jsonArraySource{file: file, rc: rc, done: true}, nil
			}
			if err == bufio.ErrBufferFull { // a long run of white space
				break
			}
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		if c := b[i]; c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			continue
		}
		if b[i] == '[' {
			break
		}
		return newJSONLSource(file, struct {
			io.Reader
			io.Closer
		}{br, rc})
	}
	s := &jsonArraySource{file: file, rc: rc}
	s.cr = &countingReader{r: br, line: 1}
	s.dec = json.NewDecoder(s.cr)
	s.dec.UseNumber()
	if tok, err := s.dec.Token(); err != nil || tok != json.Delim('[') {
		if err == nil {
			err = fmt.Errorf("want an array or JSON Lines, got %v", tok)
		}
		return nil, &ParseError{File: file, Line: s.cr.lineAt(0), Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	return s, nil
}

func (s *jsonArraySource) read() (mapRow, int, error) {
	if s.done || !s.dec.More() {
		if !s.done {
			s.done = true
			if _, err := s.dec.Token(); err != nil { // ]
				return nil, 0, &ParseError{File: s.file, Line: s.cr.lineAt(s.dec.InputOffset()), Err: fmt.Errorf("invalid JSON: %w", err)}
			}
			// Nothing may follow the array: a second array would be lost.
			off := s.dec.InputOffset()
			if _, err := s.dec.Token(); err != io.EOF {
				return nil, 0, &ParseError{File: s.file, Line: s.cr.lineAt(off), Err: errors.New("invalid JSON: data after the closing ]")}
			}
		}
		return nil, 0, io.EOF
	}
	// The offset is at the comma before the element; its line is found
	// once the decoder has read it.
	off := s.dec.InputOffset()
	var m map[string]any
	err := s.dec.Decode(&m)
	line := s.cr.lineAt(off)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// Well-formed JSON of the wrong shape: the decoder is past it.
			return nil, line, &ParseError{File: s.file, Line: line, Err: fmt.Errorf("want an object, got JSON %s", te.Value)}
		}
		s.done = true
		return nil, line, &ParseError{File: s.file, Line: line, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	if m == nil {
		return nil, line, &ParseError{File: s.file, Line: line, Err: errors.New("want an object, got null")}
	}
	return m, line, nil
}

// keys returns the keys of the first good element, once next returned it.
func (s *jsonArraySource) keys() []string { return s.first }

func (s *jsonArraySource) next() (getter, int, error) {
	m, line, err := s.read()
	if err == nil && s.first == nil {
		s.first = mapKeys(m)
	}
	return m, line, err
}

// A bad element of an array can be skipped only when it was well-formed
// JSON of the wrong shape; the decoder stops at malformed JSON.
func (s *jsonArraySource) recoverable() bool { return !s.done }
func (s *jsonArraySource) Close() error      { return s.rc.Close() }

// readAhead gives a JSON source's keys before next has reached its first
// good record (the keys of JSON are those of that record): it reads ahead
// to it, keeping the records and errors read for next.
type readAhead struct {
	rowSource
	ahead     []aheadRecord
	peeked    bool
	fromAhead bool // the last record came from ahead
	ok        bool // it was a recoverable error
}

type aheadRecord struct {
	g    getter
	line int
	err  error
	ok   bool
}

func (p *readAhead) keys() []string {
	if k := p.rowSource.keys(); k != nil || p.peeked {
		return k
	}
	p.peeked = true
	for {
		g, line, err := p.rowSource.next()
		a := aheadRecord{g, line, err, err != nil && p.rowSource.recoverable()}
		p.ahead = append(p.ahead, a)
		if err == nil || !a.ok { // a good record, the end or a fatal error
			return p.rowSource.keys()
		}
	}
}

func (p *readAhead) next() (getter, int, error) {
	if len(p.ahead) > 0 {
		a := p.ahead[0]
		p.ahead = p.ahead[1:]
		p.fromAhead, p.ok = true, a.ok
		return a.g, a.line, a.err
	}
	p.fromAhead = false
	return p.rowSource.next()
}

func (p *readAhead) recoverable() bool {
	if p.fromAhead {
		return p.ok
	}
	return p.rowSource.recoverable()
}

// countingReader keeps the bytes a decoder has read and not yet passed,
// so a decoder offset maps to a line.
type countingReader struct {
	r    io.Reader
	buf  []byte // the bytes from offset base on
	base int64
	line int // the line at offset base
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.buf = append(c.buf, p[:n]...)
	return n, err
}

// lineAt returns the line where the next value starts at or after a byte
// offset: white space and a separating comma are skipped. Offsets must
// not decrease; the bytes before the value are forgotten.
func (c *countingReader) lineAt(off int64) int {
	i := int(off - c.base)
	if i < 0 {
		i = 0
	}
	if i > len(c.buf) {
		i = len(c.buf)
	}
	for i < len(c.buf) && (c.buf[i] == ' ' || c.buf[i] == '\t' || c.buf[i] == '\r' || c.buf[i] == '\n' || c.buf[i] == ',') {
		i++
	}
	c.line += bytes.Count(c.buf[:i], []byte{'\n'})
	c.buf = c.buf[i:]
	c.base += int64(i)
	return c.line
}

// csvSource reads CSV with a header line.
type csvSource struct {
	file   string
	rc     io.ReadCloser
	r      *csv.Reader
	header []string
	index  map[string]int
	ok     bool
}

func newCSVSource(file string, rc io.ReadCloser) (*csvSource, error) {
	r := csv.NewReader(bufio.NewReaderSize(rc, 1<<16))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err == io.EOF {
		return &csvSource{file: file, rc: rc, r: r}, nil
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	index := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := index[h]; dup {
			return nil, &ParseError{File: file, Line: 1, Field: h, Err: fmt.Errorf("column %d repeats a column name", i+1)}
		}
		index[h] = i
	}
	return &csvSource{file: file, rc: rc, r: r, header: header, index: index}, nil
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: file, Line: pe.StartLine, Err: pe.Err}
	}
	return fmt.Errorf("reading %s: %w", file, err)
}

func (s *csvSource) keys() []string { return s.header }

// csvRow is one CSV record; every value is a string.
type csvRow struct {
	index  map[string]int
	values []string
}

func (r csvRow) get(field string) (any, bool) {
	i, ok := r.index[field]
	if !ok || i >= len(r.values) {
		return nil, false
	}
	return r.values[i], true
}

func (s *csvSource) next() (getter, int, error) {
	if s.header == nil {
		return nil, 0, io.EOF
	}
	rec, err := s.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		var pe *csv.ParseError
		// A bare quote is an error of one line, which the reader is past;
		// a bad quoted field may have swallowed the rest of the file.
		s.ok = errors.As(err, &pe) && (pe.Err == csv.ErrFieldCount || pe.Err == csv.ErrBareQuote)
		return nil, 0, csvError(s.file, err)
	}
	line, _ := s.r.FieldPos(0)
	if len(rec) != len(s.header) {
		s.ok = true
		return nil, line, &ParseError{File: s.file, Line: line, Err: fmt.Errorf("%d fields, the header has %d", len(rec), len(s.header))}
	}
	return csvRow{index: s.index, values: rec}, line, nil
}

func (s *csvSource) recoverable() bool { return s.ok }
func (s *csvSource) Close() error      { return s.rc.Close() }
